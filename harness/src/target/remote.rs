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
    /// A Selenium Grid (`--grid URL`): the endpoint of every browser engine without its own
    /// `--webdriver`.
    pub grid: Option<String>,
    /// Concurrent remote sessions the cases are sharded over (`--sessions N`; 1: one at a time).
    pub sessions: usize,
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

    /// With `--grid URL` and `--sessions N`: the error is one line naming the flag.
    pub fn with_grid(
        mut self,
        grid: Option<&str>,
        sessions: Option<usize>,
    ) -> Result<Self, String> {
        if let Some(g) = grid {
            let (_, url) = parse_webdriver(&format!("chromium={g}"))
                .map_err(|e| e.replacen("--webdriver `chromium=", "--grid `", 1))?;
            self.grid = Some(url);
        }
        self.sessions = sessions.unwrap_or(1);
        if self.sessions == 0 {
            return Err("--sessions 0: expected at least 1".into());
        }
        if self.sessions > 1 && self.grid.is_none() && self.webdriver.is_empty() {
            return Err(format!(
                "--sessions {}: shards cases over remote sessions only; give --grid URL or --webdriver ENGINE=URL (local browsers share this machine and are measured one at a time)",
                self.sessions
            ));
        }
        Ok(self)
    }

    /// The remote endpoint for `engine`, if one was given (its own `--webdriver`, else `--grid`).
    pub fn endpoint(&self, engine: &str) -> Option<&str> {
        self.webdriver
            .get(engine)
            .or(self
                .grid
                .as_ref()
                .filter(|_| engines::by_name(engine).is_some()))
            .map(String::as_str)
    }

    /// Whether any browser runs remotely.
    pub fn any_remote(&self) -> bool {
        self.grid.is_some() || !self.webdriver.is_empty()
    }

    /// What to warn about before a run: remote browsers on another machine sent to this
    /// machine's loopback address (no `--serve-host`), where they find nothing.
    pub fn warnings(&self) -> Vec<String> {
        if self.serve_host.is_some() {
            return Vec::new();
        }
        self.webdriver
            .values()
            .chain(&self.grid)
            .filter(|url| !is_loopback_url(url))
            .map(|url| {
                format!(
                    "remote browsers at {url} are sent to the probe at 127.0.0.1 (this machine's loopback, not theirs): pass --serve-host HOST with an address they reach, unless the endpoint tunnels to this machine"
                )
            })
            .collect()
    }
}

/// Whether an endpoint URL's host is loopback (the endpoint runs on this machine).
fn is_loopback_url(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
    fn a_grid_serves_every_engine_without_its_own_endpoint() {
        let o = TargetOptions::from_flags(&["firefox=http://ff:1".into()], None)
            .unwrap()
            .with_grid(Some("http://hub:4444/wd/hub"), Some(2))
            .unwrap();
        assert_eq!(o.endpoint("firefox"), Some("http://ff:1/"));
        assert_eq!(o.endpoint("chromium"), Some("http://hub:4444/wd/hub/"));
        assert_eq!(o.endpoint("native-ndarray"), None);
        assert_eq!(o.sessions, 2);
        assert_eq!(o.warnings().len(), 2, "{:?}", o.warnings());
        let local = TargetOptions::default()
            .with_grid(Some("http://127.0.0.1:4444/wd/hub"), None)
            .unwrap();
        assert!(local.warnings().is_empty());
        assert_eq!(local.sessions, 1);
        for (grid, sessions, flag) in [
            (Some("https://hub"), None, "--grid"),
            (None, Some(2), "--sessions 2"),
            (Some("http://hub:1"), Some(0), "--sessions 0"),
        ] {
            let e = TargetOptions::default()
                .with_grid(grid, sessions)
                .unwrap_err();
            assert!(e.starts_with(flag), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
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
