//! The server's thread and runtime, the address it binds, and the accept loop with its limits.

use super::*;

/// A running static file server; stops on [`ProbeServer::shutdown`] or when dropped.
pub struct ProbeServer {
    addr: SocketAddr,
    /// Served over https with a self-signed certificate (`tls.rs`).
    https: bool,
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
        Self::start_inner(root, bind, port, limits, None)
    }

    /// As [`ProbeServer::start`], over https with a certificate made now for `host` (and
    /// loopback): remote browsers get a secure context on any host, accepting the certificate
    /// (`acceptInsecureCerts`).
    pub fn start_https(
        root: &Path,
        bind: IpAddr,
        port: u16,
        host: Option<&str>,
    ) -> io::Result<ProbeServer> {
        let acceptor = super::tls::acceptor(host)?;
        Self::start_inner(root, bind, port, Limits::default(), Some(acceptor))
    }

    fn start_inner(
        root: &Path,
        bind: IpAddr,
        port: u16,
        limits: Limits,
        tls: Option<tokio_rustls::TlsAcceptor>,
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
        let https = tls.is_some();
        let thread = std::thread::Builder::new()
            .name("probe-server".into())
            .spawn(move || {
                rt.block_on(accept_loop(listener, root, limits, tls, stop_rx));
                // Drops open keep-alive connections; bounded wait for any in-flight file read.
                rt.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(ProbeServer {
            addr,
            https,
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
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{host}:{port}/")
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

pub(super) async fn accept_loop(
    listener: tokio::net::TcpListener,
    root: Arc<PathBuf>,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
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
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve(io, root, limits).await,
                // The handshake within the header limit, like a request's headers.
                Some(acceptor) => {
                    let shake = tokio::time::timeout(limits.header_timeout, acceptor.accept(io));
                    if let Ok(Ok(stream)) = shake.await {
                        serve(stream, root, limits).await;
                    }
                }
            }
            drop(permit);
        });
    }
}

/// Serve one connection (plain or TLS) until it closes or breaks a limit.
async fn serve<I>(io: I, root: Arc<PathBuf>, limits: Limits)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
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
}
