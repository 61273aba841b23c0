//! Options for opening targets that do not come from the scenario: remote WebDriver endpoints
//! (`--webdriver ENGINE=URL`: a Selenium Grid, a cloud provider, a driver already running) and the
//! host remote browsers reach the probe server at (`--serve-host HOST`).

use super::browser::engines;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// How targets are opened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetOptions {
    /// Engine ("chromium", "firefox", "webkit") -> WebDriver URL used instead of a local driver.
    pub webdriver: BTreeMap<String, String>,
    /// The host browsers fetch the probe from; the probe server binds its address (`server::bind_address`).
    pub serve_host: Option<String>,
}

impl TargetOptions {
    /// Options from the command line's `--webdriver` values and `--serve-host`; the error is one
    /// line naming the flag.
    pub fn from_flags(webdriver: &[String], serve_host: Option<&str>) -> Result<Self, String> {
        let mut opts = TargetOptions::default();
        for value in webdriver {
            let (engine, url) = parse_webdriver(value)?;
            if opts.webdriver.contains_key(&engine) {
                return Err(format!(
                    "--webdriver: `{engine}` is given more than once (one endpoint per engine)"
                ));
            }
            opts.webdriver.insert(engine, url);
        }
        if let Some(h) = serve_host {
            opts.serve_host = Some(parse_serve_host(h)?);
        }
        Ok(opts)
    }

    /// The remote endpoint for `engine`, if one was given.
    pub fn endpoint(&self, engine: &str) -> Option<&str> {
        self.webdriver.get(engine).map(String::as_str)
    }
}

/// `ENGINE=URL`, e.g. `chromium=http://127.0.0.1:4444/wd/hub`.
pub fn parse_webdriver(value: &str) -> Result<(String, String), String> {
    let Some((engine, url)) = value.split_once('=') else {
        return Err(format!(
            "--webdriver `{value}`: expected ENGINE=URL, e.g. chromium=http://127.0.0.1:4444/wd/hub"
        ));
    };
    let engine = engine.trim();
    // A remote endpoint can stand in for any browser engine.
    if engines::by_name(engine).is_none() {
        let names: Vec<&str> = engines::ENGINES.iter().map(|e| e.name()).collect();
        return Err(format!(
            "--webdriver `{value}`: unknown engine `{engine}` (one of {})",
            names.join(", ")
        ));
    }
    let url = url.trim();
    let Some(rest) = url.strip_prefix("http://") else {
        let why = if url.starts_with("https://") {
            "https is not supported (this build talks plain http to WebDriver; use a tunnel)"
        } else {
            "expected an http:// URL"
        };
        return Err(format!("--webdriver `{value}`: {why}"));
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_ok = usable_authority(host);
    if !host_ok {
        return Err(format!(
            "--webdriver `{value}`: `{url}` has no usable host[:port]"
        ));
    }
    // With a trailing slash: the client joins `session` onto it (`/wd/hub` would become `/wd/session`).
    Ok((
        engine.to_string(),
        format!("{}/", url.trim_end_matches('/')),
    ))
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn usable_authority(a: &str) -> bool {
    let port_ok = |p: &str| p.is_empty() || p.parse::<u16>().is_ok_and(|p| p > 0);
    if let Some(rest) = a.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        return v6.parse::<Ipv6Addr>().is_ok()
            && (after.is_empty()
                || after
                    .strip_prefix(':')
                    .is_some_and(|p| !p.is_empty() && port_ok(p)));
    }
    let (host, port) = a.split_once(':').unwrap_or((a, ""));
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    host_ok && port_ok(port) && !(a.contains(':') && port.is_empty())
}

/// A host name or IP address (no scheme, port or path).
pub fn parse_serve_host(value: &str) -> Result<String, String> {
    let v = value.trim();
    let plain = !v.is_empty()
        && v.len() <= 253
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !v.starts_with(['-', '.']);
    if plain || v.parse::<Ipv6Addr>().is_ok() {
        Ok(v.to_string())
    } else {
        Err(format!(
            "--serve-host `{value}`: expected a host name or IP address the remote browser can reach (no scheme, port or path)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webdriver_values_parse_or_name_the_flag() {
        assert_eq!(
            parse_webdriver("chromium=http://127.0.0.1:4444/wd/hub/").unwrap(),
            (
                "chromium".to_string(),
                "http://127.0.0.1:4444/wd/hub/".to_string()
            )
        );
        assert!(parse_webdriver("webkit=http://grid.example:80").is_ok());
        assert!(parse_webdriver("firefox=http://[::1]:4444").is_ok());
        for bad in [
            "chromium",
            "safari=http://h:1",
            "chromium=https://h:1",
            "chromium=ftp://h",
            "chromium=http://",
            "chromium=http://h:notaport/",
            "chromium=http://::1:4444",
        ] {
            let e = parse_webdriver(bad).unwrap_err();
            assert!(e.starts_with("--webdriver `"), "{bad}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let twice = TargetOptions::from_flags(
            &["chromium=http://a:1".into(), "chromium=http://b:1".into()],
            None,
        )
        .unwrap_err();
        assert!(twice.contains("more than once"), "{twice}");
        let o =
            TargetOptions::from_flags(&["firefox=http://a:1".into()], Some("10.0.0.5")).unwrap();
        assert_eq!(o.endpoint("firefox"), Some("http://a:1/"));
        assert_eq!(o.endpoint("chromium"), None);
        assert_eq!(o.serve_host.as_deref(), Some("10.0.0.5"));
    }

    #[test]
    fn serve_hosts_are_bare_hosts() {
        for ok in ["10.0.0.5", "host.docker.internal", "::1", "fe80::1"] {
            assert_eq!(parse_serve_host(ok).unwrap(), ok);
        }
        for bad in ["", "http://h", "h:8080", "h/x", "a b", "-x"] {
            let e = parse_serve_host(bad).unwrap_err();
            assert!(e.starts_with("--serve-host"), "{e}");
        }
    }
}
