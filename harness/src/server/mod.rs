//! Static file server for the in-browser probe bundle (wasm + JS + HTML) that WebDriver-driven browsers load.
//! Owns path sanitising, content types and the cross-origin-isolation headers; runs on its own thread and runtime.
//!
//! Bounded whatever its clients do: files are streamed in 64 KiB chunks (never read whole), at most
//! [`MAX_CONNECTIONS`] connections are served at once (the rest wait in the listen queue), a
//! request's headers must arrive within [`HEADER_TIMEOUT`], and a connection that neither reads
//! nor writes for [`IO_TIMEOUT`] is closed. It binds loopback, or the address `--serve-host`
//! names (IPv4 or IPv6).

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, oneshot};

/// Connections served at once; more wait in the kernel's listen queue.
pub const MAX_CONNECTIONS: usize = 64;
/// A request's headers must be complete within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection waiting this long to read or to write is closed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections the kernel queues for us (capped by net.core.somaxconn).
const LISTEN_BACKLOG: u32 = 4096;
/// Files are sent in chunks of this size.
const CHUNK: usize = 64 * 1024;

type Resp = Response<Body>;

/// Headers every response carries: cross-origin isolation (needed for SharedArrayBuffer and precise timers)
/// and no caching, so a rebuilt bundle is always picked up.
const COMMON_HEADERS: [(&str, &str); 4] = [
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-embedder-policy", "require-corp"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cache-control", "no-store"),
];

mod body;
mod files;
mod listen;
mod timed_io;
mod tls;

pub use body::*;
use files::*;
pub use listen::*;
use timed_io::*;

#[cfg(test)]
mod tests;
