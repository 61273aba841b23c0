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

/// A running static file server; stops on [`ProbeServer::shutdown`] or when dropped.
pub struct ProbeServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ProbeServer {
    /// Serve `root` (a directory) on `bind` (IP) and `port` (0 = a free port). Runs on its own thread with its own tokio
    /// current-thread runtime so callers need no runtime. Returns once listening.
    pub fn start(root: &Path, bind: IpAddr, port: u16) -> io::Result<ProbeServer> {
        Self::start_with(root, bind, port, Limits::default())
    }

    /// As [`ProbeServer::start`] with other limits (tests use short timeouts).
    pub fn start_with(
        root: &Path,
        bind: IpAddr,
        port: u16,
        limits: Limits,
    ) -> io::Result<ProbeServer> {
        let root = root.canonicalize().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("probe server root {}: {e}", root.display()),
            )
        })?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("probe server root {} is not a directory", root.display()),
            ));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            // File reads (one chunk each) and lookups: a few threads, whatever the clients do.
            .max_blocking_threads(8)
            .build()?;
        let (listener, addr) = {
            let _guard = rt.enter();
            let socket = match bind {
                IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
                IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
            };
            socket.set_reuseaddr(true)?;
            socket.bind(SocketAddr::new(bind, port))?;
            // A long listen queue: connections past the limit wait there, not refused.
            let listener = socket.listen(LISTEN_BACKLOG)?;
            let addr = listener.local_addr()?;
            (listener, addr)
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let root = Arc::new(root);
        let thread = std::thread::Builder::new()
            .name("probe-server".into())
            .spawn(move || {
                rt.block_on(accept_loop(listener, root, limits, stop_rx));
                // Drops open keep-alive connections; bounded wait for any in-flight file read.
                rt.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(ProbeServer {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// URL a browser uses, e.g. `http://127.0.0.1:PORT/`; `host` overrides the host part (for remote browsers,
    /// `--serve-host`). Without an override an unspecified bind address (0.0.0.0, ::) becomes loopback.
    pub fn base_url(&self, host: Option<&str>) -> String {
        let port = self.addr.port();
        let host = match host {
            Some(h) => match h.parse::<Ipv6Addr>() {
                Ok(v6) => format!("[{v6}]"),
                Err(_) => h.to_string(),
            },
            None => match self.addr.ip() {
                IpAddr::V4(v4) if v4.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) if v6.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
                IpAddr::V6(v6) => format!("[{v6}]"),
            },
        };
        format!("http://{host}:{port}/")
    }

    /// Stop accepting, drop open connections and join the server thread.
    pub fn shutdown(self) {
        // Drop does the work.
    }

    fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ProbeServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The address the probe server binds so that browsers reaching it at `host` (`--serve-host`)
/// can connect: loopback without a host; the host's own address (IPv4 or IPv6) when it is an
/// address of this machine; otherwise (a name behind NAT, such as `host.docker.internal`) the
/// unspecified address of its family, with a note saying so. An error line when the host does not
/// resolve.
pub fn bind_address(host: Option<&str>) -> Result<(IpAddr, Option<String>), String> {
    use std::net::ToSocketAddrs;
    let Some(host) = host else {
        return Ok((IpAddr::V4(Ipv4Addr::LOCALHOST), None));
    };
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => (host, 0u16)
            .to_socket_addrs()
            .map_err(|e| format!("--serve-host `{host}` does not resolve: {e}"))?
            .map(|a| a.ip())
            .collect(),
    };
    let Some(first) = addrs.first().copied() else {
        return Err(format!("--serve-host `{host}` resolves to no address"));
    };
    for ip in &addrs {
        if std::net::TcpListener::bind(SocketAddr::new(*ip, 0)).is_ok() {
            return Ok((*ip, None));
        }
    }
    let any = match first {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    Ok((
        any,
        Some(format!(
            "--serve-host `{host}` ({first}) is not an address of this machine; the probe server listens on {any} (all interfaces of that family)"
        )),
    ))
}

/// What bounds the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; more wait in the kernel's listen queue.
    pub connections: usize,
    /// A request's headers must be complete within this.
    pub header_timeout: Duration,
    /// A connection waiting this long to read or to write is closed.
    pub io_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: MAX_CONNECTIONS,
            header_timeout: HEADER_TIMEOUT,
            io_timeout: IO_TIMEOUT,
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    root: Arc<PathBuf>,
    limits: Limits,
    mut stop: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(limits.connections.max(1)));
    loop {
        // A free slot first: past the limit, connections wait in the listen queue.
        let permit = tokio::select! {
            _ = &mut stop => return,
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                // Transient (e.g. EMFILE, aborted handshake): back off briefly and keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let root = Arc::clone(&root);
        let io = TimedIo::new(stream, limits.io_timeout);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let root = Arc::clone(&root);
                async move { Ok::<_, std::convert::Infallible>(handle(req, root).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(io), service)
                .await;
            drop(permit);
        });
    }
}

/// A TCP stream whose reads and writes fail with `TimedOut` once one has waited `limit`.
struct TimedIo {
    inner: tokio::net::TcpStream,
    limit: Duration,
    read_wait: Option<Pin<Box<tokio::time::Sleep>>>,
    write_wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TimedIo {
    fn new(inner: tokio::net::TcpStream, limit: Duration) -> Self {
        TimedIo {
            inner,
            limit,
            read_wait: None,
            write_wait: None,
        }
    }
}

/// `Pending` from the stream: start (or check) the wait; past `limit` it is an error.
fn waited<T>(
    wait: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    limit: Duration,
    cx: &mut Context<'_>,
    what: &str,
) -> Poll<io::Result<T>> {
    let sleep = wait.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
    match sleep.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no {what} for {} s", limit.as_secs()),
        ))),
        Poll::Pending => Poll::Pending,
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => waited(&mut this.read_wait, this.limit, cx, "request"),
            ready => {
                this.read_wait = None;
                ready
            }
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending => waited(&mut this.write_wait, this.limit, cx, "progress writing"),
            ready => {
                this.write_wait = None;
                ready
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => waited(&mut this.write_wait, this.limit, cx, "progress writing"),
            ready => {
                this.write_wait = None;
                ready
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A response body: a short text, or a file read chunk by chunk (one chunk in memory at a time,
/// each read on the blocking pool; a slow reader holds no thread).
pub struct Body {
    state: BodyState,
}

enum BodyState {
    Bytes(Option<Bytes>),
    FileIdle(std::fs::File, u64),
    FileReading(tokio::task::JoinHandle<(std::fs::File, u64, io::Result<Vec<u8>>)>),
    Done,
}

impl Body {
    fn bytes(b: Bytes) -> Body {
        Body {
            state: BodyState::Bytes(Some(b)),
        }
    }

    fn file(f: std::fs::File, len: u64) -> Body {
        Body {
            state: BodyState::FileIdle(f, len),
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, BodyState::Done) {
                BodyState::Done => return Poll::Ready(None),
                BodyState::Bytes(b) => {
                    return Poll::Ready(b.filter(|b| !b.is_empty()).map(|b| Ok(Frame::data(b))));
                }
                BodyState::FileIdle(_, 0) => return Poll::Ready(None),
                BodyState::FileIdle(mut f, left) => {
                    this.state = BodyState::FileReading(tokio::task::spawn_blocking(move || {
                        use std::io::Read;
                        let want = (left as usize).min(CHUNK);
                        let mut buf = vec![0u8; want];
                        let r = f.read(&mut buf).map(|n| {
                            buf.truncate(n);
                            buf
                        });
                        (f, left, r)
                    }));
                }
                BodyState::FileReading(mut h) => match Pin::new(&mut h).poll(cx) {
                    Poll::Pending => {
                        this.state = BodyState::FileReading(h);
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(e)) => {
                        return Poll::Ready(Some(Err(io::Error::other(e.to_string()))));
                    }
                    Poll::Ready(Ok((_, _, Err(e)))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(Ok((_, _, Ok(buf)))) if buf.is_empty() => {
                        // The file shrank under us: the promised length cannot be sent.
                        return Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file shorter than when it was opened",
                        ))));
                    }
                    Poll::Ready(Ok((f, left, Ok(buf)))) => {
                        this.state = BodyState::FileIdle(f, left - buf.len() as u64);
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))));
                    }
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.state {
            BodyState::Done | BodyState::FileIdle(_, 0) => true,
            BodyState::Bytes(b) => b.as_ref().is_none_or(|b| b.is_empty()),
            _ => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.state {
            BodyState::Bytes(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            BodyState::FileIdle(_, left) => SizeHint::with_exact(*left),
            _ => SizeHint::default(),
        }
    }
}

async fn handle(req: Request<Incoming>, root: Arc<PathBuf>) -> Resp {
    let head = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut resp = simple(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
    };
    let Some(rel) = sanitize(req.uri().path()) else {
        return simple(StatusCode::NOT_FOUND, "not found\n");
    };
    // All filesystem work (canonicalize, stat, open) happens in one blocking hop.
    let looked_up = tokio::task::spawn_blocking(move || lookup(&root, &rel, head)).await;
    match looked_up {
        Ok(Ok(Found { path, len, file })) => {
            let body = match file {
                Some(f) => Body::file(f, len),
                None => Body::bytes(Bytes::new()),
            };
            let mut resp = Response::new(body);
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            );
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            resp.headers_mut().insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            add_common_headers(&mut resp);
            resp
        }
        Ok(Err(LookupError::NotFound)) => simple(StatusCode::NOT_FOUND, "not found\n"),
        Ok(Err(LookupError::Io)) | Err(_) => {
            simple(StatusCode::INTERNAL_SERVER_ERROR, "read error\n")
        }
    }
}

fn simple(status: StatusCode, text: &'static str) -> Resp {
    let mut resp = Response::new(Body::bytes(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    add_common_headers(&mut resp);
    resp
}

fn add_common_headers(resp: &mut Resp) {
    for (name, value) in COMMON_HEADERS {
        resp.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
}

/// Turn a request path (query already excluded) into safe relative segments, or `None` (→ 404).
/// Decodes percent-escapes exactly once, then rejects `.`/`..`/empty segments (so `//x`, `/a//b` and any
/// decoded `%2e%2e` or `%2f` trick fail), backslashes, NUL and `:`. A trailing `/` means the directory's
/// `index.html`; `/` itself is `index.html`.
fn sanitize(raw: &str) -> Option<Vec<String>> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    let rest = decoded.strip_prefix('/')?;
    let (rest, dir_index) = match rest.strip_suffix('/') {
        Some(r) => (r, true),
        None => (rest, rest.is_empty()),
    };
    let mut segments = Vec::new();
    if !rest.is_empty() {
        for seg in rest.split('/') {
            let bad =
                seg.is_empty() || seg.chars().all(|c| c == '.') || seg.contains(['\\', '\0', ':']);
            if bad {
                return None;
            }
            segments.push(seg.to_string());
        }
    }
    if dir_index {
        segments.push("index.html".to_string());
    }
    Some(segments)
}

struct Found {
    path: PathBuf,
    len: u64,
    /// Open for reading (None for HEAD).
    file: Option<std::fs::File>,
}

enum LookupError {
    NotFound,
    Io,
}

/// Resolve `rel` under the canonical `root`, following symlinks only while the target stays under `root`.
/// A directory resolves to its `index.html`. With `head`, only the length is read.
fn lookup(root: &Path, rel: &[String], head: bool) -> Result<Found, LookupError> {
    let mut path = contained(root, root.join(rel.iter().collect::<PathBuf>()))?;
    let mut meta = std::fs::metadata(&path).map_err(|_| LookupError::NotFound)?;
    if meta.is_dir() {
        path = contained(root, path.join("index.html"))?;
        meta = std::fs::metadata(&path).map_err(|_| LookupError::NotFound)?;
    }
    if !meta.is_file() {
        return Err(LookupError::NotFound);
    }
    if head {
        return Ok(Found {
            path,
            len: meta.len(),
            file: None,
        });
    }
    let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => LookupError::NotFound,
        _ => LookupError::Io,
    })?;
    // The length of what was opened (a rebuild may have replaced the file since the stat).
    let len = file.metadata().map_err(|_| LookupError::Io)?.len();
    Ok(Found {
        path,
        len,
        file: Some(file),
    })
}

/// Canonicalize `candidate` and require it under `root` (already canonical); anything else is "not found".
fn contained(root: &Path, candidate: PathBuf) -> Result<PathBuf, LookupError> {
    let canon = candidate
        .canonicalize()
        .map_err(|_| LookupError::NotFound)?;
    if canon.starts_with(root) {
        Ok(canon)
    } else {
        Err(LookupError::NotFound)
    }
}

fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "css" => "text/css",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch directory removed on drop: `base/` holds `secret` and `Cargo.toml` outside the served
    /// `base/root/`.
    struct Scratch {
        base: PathBuf,
    }

    impl Scratch {
        fn new() -> Scratch {
            static N: AtomicUsize = AtomicUsize::new(0);
            let base = std::env::temp_dir().join(format!(
                "probe-server-test-{}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            ));
            let root = base.join("root");
            std::fs::create_dir_all(root.join("sub")).unwrap();
            std::fs::write(base.join("secret"), "TOP SECRET").unwrap();
            std::fs::write(base.join("Cargo.toml"), "[package] SECRET").unwrap();
            std::fs::write(root.join("index.html"), "<!doctype html><p>probe</p>").unwrap();
            std::fs::write(root.join("probe_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
            std::fs::write(root.join("sub/app.js"), "export const x = 1;").unwrap();
            std::fs::write(root.join("sub/index.html"), "<p>sub</p>").unwrap();
            std::fs::write(root.join("data.json"), "{}").unwrap();
            std::fs::write(root.join("blob.xyz"), "??").unwrap();
            Scratch { base }
        }

        fn root(&self) -> PathBuf {
            self.base.join("root")
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.base);
        }
    }

    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        fn assert_isolation_headers(&self) {
            assert_eq!(
                self.header("cross-origin-opener-policy"),
                Some("same-origin")
            );
            assert_eq!(
                self.header("cross-origin-embedder-policy"),
                Some("require-corp")
            );
            assert_eq!(
                self.header("cross-origin-resource-policy"),
                Some("same-origin")
            );
            assert_eq!(self.header("cache-control"), Some("no-store"));
        }
    }

    /// One raw HTTP/1.1 request with `Connection: close`; `target` goes on the request line verbatim.
    fn request(addr: SocketAddr, method: &str, target: &str) -> Reply {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let extra = if method == "POST" {
            "Content-Length: 0\r\n"
        } else {
            ""
        };
        write!(
            s,
            "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("no header terminator");
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let body = raw[split + 4..].to_vec();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        Reply {
            status,
            headers,
            body,
        }
    }

    fn start(scratch: &Scratch) -> ProbeServer {
        ProbeServer::start(&scratch.root(), IpAddr::V4(Ipv4Addr::LOCALHOST), 0).unwrap()
    }

    #[test]
    fn serves_index_at_root_with_isolation_headers() {
        let scratch = Scratch::new();
        let server = start(&scratch);
        let r = request(server.addr(), "GET", "/");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.body, b"<!doctype html><p>probe</p>");
        r.assert_isolation_headers();
        let r = request(server.addr(), "GET", "/index.html?run=3&x=%2e%2e");
        assert_eq!(r.status, 200, "query string is ignored");
        assert_eq!(r.body, b"<!doctype html><p>probe</p>");
        server.shutdown();
    }

    #[test]
    fn content_types() {
        let scratch = Scratch::new();
        let server = start(&scratch);
        let r = request(server.addr(), "GET", "/probe_bg.wasm");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/wasm"));
        assert_eq!(r.body, b"\0asm\x01\0\0\0");
        r.assert_isolation_headers();
        let r = request(server.addr(), "GET", "/sub/app.js");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/javascript"));
        let r = request(server.addr(), "GET", "/data.json");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let r = request(server.addr(), "GET", "/blob.xyz");
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        assert_eq!(content_type(Path::new("a.CSS")), "text/css");
        assert_eq!(content_type(Path::new("a.svg")), "image/svg+xml");
        assert_eq!(content_type(Path::new("a.png")), "image/png");
        assert_eq!(content_type(Path::new("a.mjs")), "text/javascript");
        assert_eq!(content_type(Path::new("a.bin")), "application/octet-stream");
    }

    #[test]
    fn directories_serve_their_index() {
        let scratch = Scratch::new();
        let server = start(&scratch);
        for target in ["/sub/", "/sub"] {
            let r = request(server.addr(), "GET", target);
            assert_eq!(r.status, 200, "{target}");
            assert_eq!(r.body, b"<p>sub</p>", "{target}");
        }
    }

    #[test]
    fn traversal_attempts_are_404_with_isolation_headers() {
        let scratch = Scratch::new();
        let server = start(&scratch);
        let attempts = [
            "/../Cargo.toml",
            "/%2e%2e/secret",
            "/%2E%2E/secret",
            "/..%2fsecret",
            "/..%2Fsecret",
            "/%2e%2e%2fsecret",
            "/%252e%252e/secret",
            "/%252e%252e%252fsecret",
            "//etc/passwd",
            "/%2fetc/passwd",
            "/sub/../../secret",
            "/sub/%2e%2e/%2e%2e/secret",
            "/./index.html",
            "/sub//app.js",
            "/..%5csecret",
            "/sub\\..\\..\\secret",
            "/index.html%00.js",
            "/nonexistent.js",
            "/%ff%fe",
        ];
        for target in attempts {
            let r = request(server.addr(), "GET", target);
            assert_eq!(r.status, 404, "{target} must be 404");
            assert!(
                !String::from_utf8_lossy(&r.body).contains("SECRET"),
                "{target} leaked"
            );
            r.assert_isolation_headers();
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlink_out_of_root_is_404_but_inside_is_served() {
        let scratch = Scratch::new();
        let root = scratch.root();
        std::os::unix::fs::symlink(scratch.base.join("secret"), root.join("escape.js")).unwrap();
        std::os::unix::fs::symlink(&scratch.base, root.join("updir")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/app.js"), root.join("alias.js")).unwrap();
        let server = start(&scratch);
        for target in ["/escape.js", "/updir/secret", "/updir/Cargo.toml"] {
            let r = request(server.addr(), "GET", target);
            assert_eq!(r.status, 404, "{target} must be 404");
            r.assert_isolation_headers();
            let r = request(server.addr(), "HEAD", target);
            assert_eq!(r.status, 404, "HEAD {target} must be 404");
        }
        let r = request(server.addr(), "GET", "/alias.js");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"export const x = 1;");
        // A link that leaves root and comes back in resolves inside root: allowed.
        let r = request(server.addr(), "GET", "/updir/root/index.html");
        assert_eq!(r.status, 200);
    }

    #[test]
    fn binds_loopback_when_asked() {
        let scratch = Scratch::new();
        let server = start(&scratch);
        assert!(server.addr().ip().is_loopback());
        assert_ne!(server.addr().port(), 0);
    }

    #[test]
    fn only_get_and_head() {
        let scratch = Scratch::new();
        let server = start(&scratch);
        for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
            let r = request(server.addr(), method, "/index.html");
            assert_eq!(r.status, 405, "{method}");
            assert_eq!(r.header("allow"), Some("GET, HEAD"));
            r.assert_isolation_headers();
        }
        let r = request(server.addr(), "HEAD", "/probe_bg.wasm");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), Some("8"));
        assert_eq!(r.header("content-type"), Some("application/wasm"));
        assert!(r.body.is_empty(), "HEAD has no body");
        r.assert_isolation_headers();
    }

    #[test]
    fn large_file_round_trips() {
        let scratch = Scratch::new();
        let data: Vec<u8> = (0..24 * 1024 * 1024u32)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        std::fs::write(scratch.root().join("big.bin"), &data).unwrap();
        let server = start(&scratch);
        let r = request(server.addr(), "GET", "/big.bin");
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-length"),
            Some(data.len().to_string().as_str())
        );
        assert!(r.body == data, "body differs");
    }

    #[test]
    fn base_url_with_and_without_override() {
        let scratch = Scratch::new();
        let server = start(&scratch);
        let port = server.addr().port();
        assert_eq!(server.base_url(None), format!("http://127.0.0.1:{port}/"));
        assert_eq!(
            server.base_url(Some("10.0.0.7")),
            format!("http://10.0.0.7:{port}/")
        );
        assert_eq!(
            server.base_url(Some("host.docker.internal")),
            format!("http://host.docker.internal:{port}/")
        );
        assert_eq!(
            server.base_url(Some("::1")),
            format!("http://[::1]:{port}/")
        );
        server.shutdown();

        let any =
            ProbeServer::start(&scratch.root(), IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).unwrap();
        let port = any.addr().port();
        assert_eq!(any.base_url(None), format!("http://127.0.0.1:{port}/"));
    }

    #[test]
    fn shutdown_releases_the_port_and_stops_serving() {
        let scratch = Scratch::new();
        let server = start(&scratch);
        let addr = server.addr();
        // An idle keep-alive connection must not hold shutdown up.
        let idle = TcpStream::connect(addr).unwrap();
        server.shutdown();
        drop(idle);
        assert!(
            TcpStream::connect(addr).is_err(),
            "still accepting after shutdown"
        );
        let again = ProbeServer::start(&scratch.root(), addr.ip(), addr.port()).unwrap();
        assert_eq!(request(again.addr(), "GET", "/").status, 200);
    }

    #[test]
    fn start_rejects_missing_or_non_directory_root() {
        let scratch = Scratch::new();
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert!(ProbeServer::start(&scratch.base.join("nope"), lo, 0).is_err());
        assert!(ProbeServer::start(&scratch.root().join("index.html"), lo, 0).is_err());
    }

    #[test]
    fn sanitize_rules() {
        let s = |p: &str| sanitize(p);
        assert_eq!(s("/"), Some(vec!["index.html".to_string()]));
        assert_eq!(
            s("/a/b.js"),
            Some(vec!["a".to_string(), "b.js".to_string()])
        );
        assert_eq!(s("/a%20b.js"), Some(vec!["a b.js".to_string()]));
        // Double encoding decodes once only: a literal "%2e%2e" name, never "..".
        assert_eq!(s("/%252e%252e"), Some(vec!["%2e%2e".to_string()]));
        for bad in [
            "",
            "a",
            "//x",
            "/a//b",
            "/..",
            "/.",
            "/...",
            "/%2e",
            "/a/%2e%2e/b",
            "/%5c",
            "/%00",
            "/c:x",
        ] {
            assert_eq!(s(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn binds_the_serve_hosts_own_address_ipv4_or_ipv6() {
        let lo4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(bind_address(None).unwrap(), (lo4, None));
        assert_eq!(bind_address(Some("127.0.0.1")).unwrap(), (lo4, None));
        // Not an address of this machine (TEST-NET-1, documentation prefix): all interfaces of
        // its family, said.
        let (ip, note) = bind_address(Some("192.0.2.1")).unwrap();
        assert_eq!(ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert!(note.unwrap().contains("192.0.2.1"));
        let (ip, note) = bind_address(Some("2001:db8::1")).unwrap();
        assert_eq!(ip, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert!(note.is_some());
        assert!(bind_address(Some("no-such-host.invalid")).is_err());
        let (ip, _) = bind_address(Some("localhost")).unwrap();
        assert!(ip.is_loopback(), "{ip}");
        // IPv6 loopback, where this machine has it: bound and served there.
        let lo6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        if std::net::TcpListener::bind(SocketAddr::new(lo6, 0)).is_ok() {
            assert_eq!(bind_address(Some("::1")).unwrap(), (lo6, None));
            let scratch = Scratch::new();
            let server = ProbeServer::start(&scratch.root(), lo6, 0).unwrap();
            assert_eq!(server.addr().ip(), lo6);
            assert_eq!(request(server.addr(), "GET", "/").status, 200);
        }
    }

    /// A client that asks for a file and never reads, with a short I/O timeout: the server
    /// gives up on it instead of holding the connection for ever.
    #[test]
    fn a_client_that_never_reads_is_dropped_after_the_io_timeout() {
        let scratch = Scratch::new();
        let data = vec![7u8; 16 << 20];
        std::fs::write(scratch.root().join("big.bin"), &data).unwrap();
        let limits = Limits {
            connections: 1,
            header_timeout: Duration::from_secs(1),
            io_timeout: Duration::from_secs(1),
        };
        let server =
            ProbeServer::start_with(&scratch.root(), IpAddr::V4(Ipv4Addr::LOCALHOST), 0, limits)
                .unwrap();
        let mut stuck = TcpStream::connect(server.addr()).unwrap();
        write!(stuck, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        // The only slot is taken; once the server drops the stuck client, a new one is served.
        let t = std::time::Instant::now();
        let r = request(server.addr(), "GET", "/index.html");
        assert_eq!(r.status, 200);
        assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
        drop(stuck);
    }
}
