//! Browser sessions: the capabilities asked for, opening one (with a retry on a fresh driver),
//! ending one and everything it left, and the whole target shut down.

use super::*;

/// An open browser session.
pub(super) struct Session {
    pub(super) client: Client,
    /// Its profile directory (Chromium, Firefox); WebKit's lives with the driver.
    pub(super) profile: Option<PathBuf>,
    /// The device it runs on (`device.rs`); its page facts are read after its first case.
    pub(super) device: crate::manifest::Device,
    pub(super) facts_read: bool,
}

impl BrowserTarget {
    pub(super) fn capabilities(&self, profile: Option<&Path>) -> Capabilities {
        // A remote end never gets this machine's browser path: its node picks its own browser
        // (a real node with another layout refuses a binary it does not have).
        let browser = match (&self.bins, &self.remote) {
            (_, Some(_)) => String::new(),
            (Some(b), None) => b.browser.display().to_string(),
            (None, None) => unreachable!("binaries found before a local session"),
        };
        let profile = profile.map(|p| p.display().to_string()).unwrap_or_default();
        let caps = self.engine().capabilities(&browser, &profile);
        let mut caps = match caps {
            Json::Object(map) => map,
            _ => unreachable!("capabilities are an object"),
        };
        strip_local_paths(&mut caps, &browser, &profile);
        // The probe comes over https with a certificate made for this run (server/tls.rs).
        if self.remote.is_some() {
            caps.insert("acceptInsecureCerts".into(), Json::Bool(true));
        }
        caps
    }

    /// Open a browser session; on failure restart the driver and try once more.
    pub(super) fn open_session(&mut self) -> Result<(), String> {
        let engine = self.engine();
        let mut last = String::new();
        for _attempt in 0..2 {
            self.ensure_driver()?;
            let profile = match engine.profile_with_driver() {
                true => None,
                _ if self.remote.is_some() => None,
                _ => Some(self.new_profile_dir()?),
            };
            let caps = self.capabilities(profile.as_deref());
            let url = match &self.remote {
                Some(url) => url.clone(),
                None => {
                    let port = self
                        .driver
                        .as_ref()
                        .map(|d| d.port)
                        .expect("driver started");
                    format!("http://127.0.0.1:{port}")
                }
            };
            let rt = self.rt.as_ref().expect("runtime started");
            let connected = rt.block_on(async {
                let connect = async {
                    ClientBuilder::new(HttpConnector::new())
                        .capabilities(caps)
                        .connect(&url)
                        .await
                };
                match tokio::time::timeout(SESSION_TIMEOUT, connect).await {
                    Err(_) => Err(None),
                    Ok(Err(e)) => Err(Some(e.to_string())),
                    Ok(Ok(client)) => {
                        // Page loads get a limit of their own; scripts get theirs per case.
                        let t = TimeoutConfiguration::new(
                            Some(SESSION_TIMEOUT),
                            Some(LOAD_TIMEOUT),
                            Some(Duration::ZERO),
                        );
                        match tokio::time::timeout(SHORT_TIMEOUT, client.update_timeouts(t)).await {
                            Ok(Ok(())) => Ok(client),
                            Ok(Err(e)) => Err(Some(format!("setting timeouts failed: {e}"))),
                            Err(_) => Err(Some("setting timeouts did not answer".into())),
                        }
                    }
                }
            });
            match connected {
                Ok(client) => {
                    // W3C `browserVersion`; `version` from an endpoint speaking the old dialect.
                    if let Some(v) = client.capabilities().and_then(|c| {
                        c.get("browserVersion")
                            .or_else(|| c.get("version"))
                            .and_then(Json::as_str)
                    }) {
                        self.version = v.to_string();
                    }
                    let device = self.session_device(&client);
                    self.session = Some(Session {
                        client,
                        profile,
                        device,
                        facts_read: false,
                    });
                    return Ok(());
                }
                Err(why) => {
                    let tail = self
                        .driver
                        .as_ref()
                        .map(|d| d.proc.log_tail(3))
                        .unwrap_or_default();
                    let label = self.driver_label();
                    last = match why {
                        None => format!(
                            "{label} did not create a session within {} s (the browser could not start?): {tail}",
                            SESSION_TIMEOUT.as_secs()
                        ),
                        Some(e) => format!("{label} could not create a session: {e}"),
                    };
                    self.stop_driver();
                    if let Some(p) = profile {
                        let _ = std::fs::remove_dir_all(p);
                    }
                }
            }
        }
        Err(last)
    }

    /// End the session (best effort, bounded), kill what it left, and drop a dead driver.
    pub(super) fn drop_session(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        if let Some(rt) = &self.rt {
            let client = session.client;
            rt.block_on(async {
                let _ = tokio::time::timeout(SHORT_TIMEOUT, client.close()).await;
            });
        }
        if self.remote.is_none() {
            let keep = self.keep_pids();
            let profile = session.profile.as_ref().map(|p| p.display().to_string());
            let needles: Vec<&str> = profile.iter().map(String::as_str).collect();
            driver::kill_matching(&needles, Some(&self.tag_entry()), &keep);
            // And anything in the browser's cgroup but its driver (a process whose environment
            // no longer shows the tag).
            if let Some(cg) = &self.cgroup {
                for _ in 0..10 {
                    let left: Vec<u32> = cg
                        .pids()
                        .into_iter()
                        .filter(|p| !keep.contains(p))
                        .collect();
                    if left.is_empty() {
                        break;
                    }
                    crate::proc::kill_or_warn(&left);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        if let Some(p) = session.profile {
            let _ = std::fs::remove_dir_all(p);
        }
        let driver_dead = self.driver.as_mut().is_some_and(|d| !d.proc.alive());
        if driver_dead {
            self.stop_driver();
        }
    }

    /// Everything down: session, driver, Xvfb, leftover processes, profile directories, server.
    pub(super) fn shutdown(&mut self) {
        self.drop_session();
        self.stop_driver();
        // Its tasks killed, the cgroup removed.
        self.cgroup = None;
        self.xvfb = None;
        if self.engine.is_some()
            && self.remote.is_none()
            && (self.rt.is_some() || !self.profiles.is_empty())
        {
            driver::kill_matching(&[&self.profile_prefix()], Some(&self.tag_entry()), &[]);
        }
        for p in self.profiles.drain(..) {
            let _ = std::fs::remove_dir_all(p);
        }
        self.server = None;
    }
}

/// Drop the path options left empty (a remote session: no local profile directory, no browser
/// binary known here): `binary`, `--user-data-dir=`, `-profile ""`.
pub(super) fn strip_local_paths(
    caps: &mut fantoccini::wd::Capabilities,
    browser: &str,
    profile: &str,
) {
    for key in [
        "goog:chromeOptions",
        "moz:firefoxOptions",
        "webkitgtk:browserOptions",
    ] {
        let Some(Json::Object(opts)) = caps.get_mut(key) else {
            continue;
        };
        if browser.is_empty() {
            opts.remove("binary");
        }
        if !profile.is_empty() {
            continue;
        }
        if let Some(Json::Array(args)) = opts.get_mut("args") {
            let mut kept = Vec::new();
            let mut skip_next = false;
            for a in args.drain(..) {
                if std::mem::take(&mut skip_next) {
                    continue;
                }
                match a.as_str() {
                    Some("--user-data-dir=") => {}
                    Some("-profile") => skip_next = true,
                    _ => kept.push(a),
                }
            }
            *args = kept;
        }
    }
}
