//! https for the probe server: a self-signed certificate made when the server starts, for the
//! host remote browsers reach it at (and loopback). A page from a non-loopback http origin is no
//! secure context (no SharedArrayBuffer, WebGPU or measureUserAgentSpecificMemory); over https it
//! is, once the session accepts the certificate (`acceptInsecureCerts`).

use super::*;
use tokio_rustls::rustls;

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("cannot make the https certificate: {e}"))
}

/// A TLS acceptor with a fresh self-signed certificate naming `host`, `localhost` and loopback.
pub(super) fn acceptor(host: Option<&str>) -> io::Result<tokio_rustls::TlsAcceptor> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Some(h) = host
        && !names.iter().any(|n| n == h)
    {
        names.push(h.to_string());
    }
    let made = rcgen::generate_simple_self_signed(names).map_err(other)?;
    let cert = made.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        made.key_pair.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .map_err(other)?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
