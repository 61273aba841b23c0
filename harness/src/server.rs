//! Static file server for the in-browser probe bundle (wasm + JS + HTML) that WebDriver-driven browsers load.
//! Owns path sanitising, content types and the cross-origin-isolation headers; runs on its own thread and runtime.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::oneshot;

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
        let std_listener = std::net::TcpListener::bind(SocketAddr::new(bind, port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let root = Arc::new(root);
        let thread = std::thread::Builder::new()
            .name("probe-server".into())
            .spawn(move || {
                rt.block_on(accept_loop(listener, root, stop_rx));
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

async fn accept_loop(
    listener: tokio::net::TcpListener,
    root: Arc<PathBuf>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
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
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let root = Arc::clone(&root);
                async move { Ok::<_, std::convert::Infallible>(handle(req, root).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(req: Request<Incoming>, root: Arc<PathBuf>) -> Response<Full<Bytes>> {
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
    // All filesystem work (canonicalize, stat, read) happens in one blocking hop.
    let looked_up = tokio::task::spawn_blocking(move || lookup(&root, &rel, head)).await;
    match looked_up {
        Ok(Ok(Found { path, len, body })) => {
            let mut resp = Response::new(Full::new(body));
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

fn simple(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    add_common_headers(&mut resp);
    resp
}

fn add_common_headers(resp: &mut Response<Full<Bytes>>) {
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
    body: Bytes,
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
            body: Bytes::new(),
        });
    }
    let data = std::fs::read(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => LookupError::NotFound,
        _ => LookupError::Io,
    })?;
    Ok(Found {
        path,
        len: data.len() as u64,
        body: Bytes::from(data),
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
}
