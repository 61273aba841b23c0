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

    let any = ProbeServer::start(&scratch.root(), IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).unwrap();
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
