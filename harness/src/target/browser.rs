//! The browser targets: the wasm probe in Chromium, Firefox and WebKitGTK's MiniBrowser, driven
//! over WebDriver (fantoccini). One driver per target, one browser session at a time, a fresh
//! navigation per case. A crash, a hang or a timeout is a measurement: it is recorded, the session
//! is thrown away (its processes killed) and the next case gets a new one.
//!
//! The memory cap: where a cgroup memory controller is writable (`cgroup.rs`), a local browser
//! lives in a memory cgroup of its own. The WebDriver server is started inside it, so the browser
//! and every process it starts are born there (moving them in later would leave what they
//! allocated first outside, and a v1 cgroup does not take charges along); the driver's few MiB
//! count against the cap. Xvfb is started outside it: the display is not the case's. Before each
//! case the limit is set to that case's cap, the peak reset and the OOM-kill count noted; if the
//! count rose when the case ends, the kernel's OOM killer ended a browser process inside the
//! cgroup (never machine-wide): the case is `oom`, and the session is thrown away so the next
//! case gets a fresh browser. Closing the target kills every task of the cgroup and removes it.
//! Elsewhere, and for a remote endpoint, the PSS watchdog (`meter/cap.rs`) is the cap.

#[path = "driver.rs"]
mod driver;
#[path = "pagepoll.rs"]
mod pagepoll;

use super::{CaseWatch, Outcome, Processes, Reply, Target};
use crate::cgroup::CaseCgroup;
use crate::plan::Case;
use crate::record::Status;
use crate::server::ProbeServer;
use driver::{Spawned, TAG_VAR, Xvfb};
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::wd::{Capabilities, TimeoutConfiguration};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a driver may take to create a session (WebKitWebDriver never answers when the
/// browser cannot start).
const SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a driver may take to answer `/status` after it starts.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Page load limit (the bundle is local; this is generous).
const LOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the page may take to set `window.gapbench.ready` after it loaded.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Limit for the small commands (ending a session, checking it is alive).
const SHORT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much longer than the script timeout we wait for the driver to report it.
const SCRIPT_GRACE: Duration = Duration::from_secs(30);
/// Session starts that may fail in a row before the engine is given up for the run.
const MAX_FAILED_STARTS: u32 = 2;

/// Runs one case on the page and hands back the probe's JSON reply (always a string).
const RUN_SCRIPT: &str = "const [spec, done] = arguments; \
     window.gapbench.run(spec).then(done, e => done(JSON.stringify({status:'failed', message:String(e)})));";
const READY_SCRIPT: &str = "return !!(window.gapbench && window.gapbench.ready);";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Chromium,
    Firefox,
    Webkit,
}

impl Engine {
    fn parse(name: &str) -> Option<Engine> {
        match name {
            "chromium" => Some(Engine::Chromium),
            "firefox" => Some(Engine::Firefox),
            "webkit" => Some(Engine::Webkit),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
            Engine::Webkit => "webkit",
        }
    }

    fn driver_name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromedriver",
            Engine::Firefox => "geckodriver",
            Engine::Webkit => "WebKitWebDriver",
        }
    }
}

/// The programs an engine needs on this machine.
#[derive(Debug, Clone)]
struct Binaries {
    driver: PathBuf,
    browser: PathBuf,
    xvfb: Option<PathBuf>,
}

fn home_join(rel: &str) -> Vec<PathBuf> {
    std::env::var_os("HOME")
        .map(|h| vec![PathBuf::from(h).join(rel)])
        .unwrap_or_default()
}

fn first_existing(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|p| p.is_file()).cloned()
}

/// Find what `engine` needs; the error says what is missing and how to install it. A browser
/// binary named in `GAPBENCH_<ENGINE>_BINARY` (what `gapbench ab` sets for a side) replaces the
/// installed one.
fn find_binaries(engine: Engine) -> Result<Binaries, String> {
    let mut b = find_installed(engine)?;
    let var = format!("GAPBENCH_{}_BINARY", engine.name().to_uppercase());
    if let Some(p) = std::env::var_os(&var) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(format!("{var}={}: no such file", p.display()));
        }
        b.browser = p;
    }
    Ok(b)
}

fn find_installed(engine: Engine) -> Result<Binaries, String> {
    let missing = |what: &str, install: &str| {
        format!(
            "{what} not found ({install}); {} cases are skipped",
            engine.name()
        )
    };
    match engine {
        Engine::Chromium => {
            let driver = driver::find_binary("chromedriver", &[])
                .ok_or_else(|| missing("chromedriver (on PATH)", "apt install chromium-driver"))?;
            let browser = first_existing(&[PathBuf::from("/usr/lib/chromium/chromium")])
                .or_else(|| {
                    ["chromium", "chromium-browser", "google-chrome"]
                        .iter()
                        .find_map(|n| driver::find_binary(n, &[]))
                })
                .ok_or_else(|| {
                    missing(
                        "the Chromium browser (/usr/lib/chromium/chromium)",
                        "apt install chromium",
                    )
                })?;
            Ok(Binaries {
                driver,
                browser,
                xvfb: None,
            })
        }
        Engine::Firefox => {
            let driver = driver::find_binary("geckodriver", &home_join(".cargo/bin/geckodriver"))
                .ok_or_else(|| {
                missing(
                    "geckodriver (on PATH or in ~/.cargo/bin)",
                    "cargo install geckodriver",
                )
            })?;
            let browser = first_existing(&[PathBuf::from("/usr/bin/firefox-esr")])
                .or_else(|| {
                    ["firefox-esr", "firefox"]
                        .iter()
                        .find_map(|n| driver::find_binary(n, &[]))
                })
                .ok_or_else(|| {
                    missing("Firefox (/usr/bin/firefox-esr)", "apt install firefox-esr")
                })?;
            Ok(Binaries {
                driver,
                browser,
                xvfb: None,
            })
        }
        Engine::Webkit => {
            let driver = driver::find_binary(
                "WebKitWebDriver",
                &[PathBuf::from("/usr/bin/WebKitWebDriver")],
            )
            .ok_or_else(|| missing("WebKitWebDriver (on PATH)", "apt install webkit2gtk-driver"))?;
            let browser = first_existing(&[
                PathBuf::from("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"),
                PathBuf::from("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser"),
                PathBuf::from("/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser"),
                PathBuf::from("/usr/lib/aarch64-linux-gnu/webkit2gtk-4.0/MiniBrowser"),
                PathBuf::from("/usr/libexec/webkit2gtk-4.1/MiniBrowser"),
                PathBuf::from("/usr/libexec/webkit2gtk-4.0/MiniBrowser"),
            ])
            .ok_or_else(|| {
                missing(
                    "MiniBrowser (in /usr/lib/x86_64-linux-gnu/webkit2gtk-4.1 or -4.0, or /usr/libexec)",
                    "apt install webkit2gtk-driver libwebkit2gtk-4.1-0",
                )
            })?;
            let xvfb = driver::find_binary("Xvfb", &[])
                .ok_or_else(|| missing("Xvfb (on PATH)", "apt install xvfb"))?;
            Ok(Binaries {
                driver,
                browser,
                xvfb: Some(xvfb),
            })
        }
    }
}

/// A running WebDriver server.
struct Driver {
    proc: Spawned,
    port: u16,
    /// Started inside the browser's cgroup (so is every browser process it starts).
    in_cgroup: bool,
}

/// An open browser session.
struct Session {
    client: Client,
    /// Its profile directory (Chromium, Firefox); WebKit's lives with the driver.
    profile: Option<PathBuf>,
}

/// Why a case gave no reply.
#[derive(Debug)]
struct Failure {
    status: Status,
    message: String,
    /// The session cannot be trusted for the next case.
    reset: bool,
}

/// A browser target: Chromium, Firefox or WebKit. Cheap to create; starts everything (probe
/// server, Xvfb, driver, browser) at its first case.
pub struct BrowserTarget {
    engine: Option<Engine>,
    name: String,
    /// The host browsers reach the probe server at (a remote browser); loopback when None.
    serve_host: Option<String>,
    /// A running WebDriver endpoint to use instead of a local driver (`--webdriver`): nothing is
    /// started or killed here, the session is only opened and ended.
    remote: Option<String>,
    rt: Option<tokio::runtime::Runtime>,
    server: Option<ProbeServer>,
    base_url: String,
    bins: Option<Binaries>,
    xvfb: Option<Xvfb>,
    driver: Option<Driver>,
    session: Option<Session>,
    /// WebKit's data directory (its XDG dirs), made with the driver.
    driver_profile: Option<PathBuf>,
    /// Every profile directory made, removed at close.
    profiles: Vec<PathBuf>,
    next_profile: u32,
    /// When set, no case of this target can run here: each gets this status and message.
    blocked: Option<(Status, String)>,
    failed_starts: u32,
    /// The local browser's memory cgroup (with its driver), made at the first case with a cap.
    cgroup: Option<CaseCgroup>,
    /// Making or joining the cgroup failed once: the watchdog caps this target's cases.
    cgroup_failed: bool,
    version: String,
    /// `GAPBENCH_BROWSER_TAG` value for every process this target starts.
    tag: String,
    /// Probe builds beyond the default bundle (e.g. "webgpu"), built at the first case that
    /// needs one; a failed build fails every case that needs it.
    extra_builds: std::collections::HashMap<&'static str, Result<(), String>>,
}

impl BrowserTarget {
    /// A target for `engine` ("chromium", "firefox" or "webkit"). Starts nothing.
    pub fn new(engine: &str) -> Self {
        let tag = format!("gapbench-{engine}-{}", std::process::id());
        BrowserTarget {
            engine: Engine::parse(engine),
            name: engine.to_string(),
            serve_host: None,
            remote: None,
            rt: None,
            server: None,
            base_url: String::new(),
            bins: None,
            xvfb: None,
            driver: None,
            session: None,
            driver_profile: None,
            profiles: Vec::new(),
            next_profile: 0,
            blocked: None,
            failed_starts: 0,
            cgroup: None,
            cgroup_failed: false,
            version: String::new(),
            tag,
            extra_builds: Default::default(),
        }
    }

    /// Serve the probe on `host`'s address (`server::bind_address`) and tell the browser to fetch
    /// it from `host` (for a browser on another machine). Must be set before the first case.
    pub fn with_serve_host(mut self, host: Option<String>) -> Self {
        self.serve_host = host;
        self
    }

    /// Open sessions on the WebDriver endpoint `url` (e.g. a Selenium Grid hub) instead of
    /// starting a local driver. Capabilities stay the same, without the local profile directory;
    /// the browser `binary` is sent only where this machine has it at that path.
    pub fn with_remote(mut self, url: Option<String>) -> Self {
        self.remote = url;
        self
    }

    /// Who answers WebDriver commands, for messages.
    fn driver_label(&self) -> String {
        match &self.remote {
            Some(url) => format!("the WebDriver endpoint {url}"),
            None => self.engine().driver_name().to_string(),
        }
    }

    fn engine(&self) -> Engine {
        self.engine.expect("checked before use")
    }

    fn tag_entry(&self) -> String {
        format!("{TAG_VAR}={}", self.tag)
    }

    /// Every profile directory of this target starts with this.
    fn profile_prefix(&self) -> String {
        std::env::temp_dir()
            .join(format!(
                "gapbench-profile-{}-{}-",
                self.name,
                std::process::id()
            ))
            .display()
            .to_string()
    }

    fn new_profile_dir(&mut self) -> Result<PathBuf, String> {
        let dir = PathBuf::from(format!("{}{}", self.profile_prefix(), self.next_profile));
        self.next_profile += 1;
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create the profile {}: {e}", dir.display()))?;
        self.profiles.push(dir.clone());
        Ok(dir)
    }

    fn log_path(&self, what: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "gapbench-{}-{}-{what}.log",
            self.name,
            std::process::id()
        ))
    }

    fn outcome(&self, status: Status, message: impl Into<String>) -> Outcome {
        Outcome::bare(status, message, &self.name, &self.version)
    }

    /// The parts that live for the whole run: runtime, binaries, bundle and probe server.
    fn start_base(&mut self) -> Result<(), (Status, String)> {
        let Some(engine) = self.engine else {
            return Err((
                Status::Failed,
                format!("`{}` is not a browser target", self.name),
            ));
        };
        if self.rt.is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| (Status::Failed, format!("cannot start a tokio runtime: {e}")))?;
            self.rt = Some(rt);
        }
        if self.bins.is_none() && self.remote.is_none() {
            self.bins = Some(find_binaries(engine).map_err(|m| (Status::Skipped, m))?);
        }
        if self.server.is_none() {
            let bundle = crate::bundle::ensure(true).map_err(|e| (Status::Failed, e))?;
            let (bind, note) = crate::server::bind_address(self.serve_host.as_deref())
                .map_err(|e| (Status::Failed, e))?;
            if let Some(note) = note {
                eprintln!("warning: {note}");
            }
            let server = ProbeServer::start(&bundle, bind, 0).map_err(|e| {
                (
                    Status::Failed,
                    format!("cannot start the probe server: {e}"),
                )
            })?;
            self.base_url = server.base_url(self.serve_host.as_deref());
            self.server = Some(server);
        }
        Ok(())
    }

    /// Start Xvfb (WebKit) and the driver unless they are running.
    fn ensure_driver(&mut self) -> Result<(), String> {
        if self.remote.is_some() {
            return Ok(());
        }
        if let Some(d) = &mut self.driver {
            if d.proc.alive() {
                return Ok(());
            }
            self.stop_driver();
        }
        let engine = self.engine();
        let bins = self
            .bins
            .clone()
            .expect("binaries found before the driver starts");
        let mut cmd = Command::new(&bins.driver);
        let port = driver::free_port()
            .map_err(|e| format!("no free port for {}: {e}", engine.driver_name()))?;
        match engine {
            Engine::Chromium => {
                cmd.arg(format!("--port={port}"));
            }
            Engine::Firefox => {
                cmd.args(["--port", &port.to_string(), "--host", "127.0.0.1"]);
            }
            Engine::Webkit => {
                let alive = self.xvfb.as_mut().is_some_and(|x| x.alive());
                if !alive {
                    self.xvfb = None;
                    let xvfb_bin = bins.xvfb.as_ref().expect("webkit needs Xvfb");
                    self.xvfb = Some(Xvfb::start(xvfb_bin, &self.log_path("xvfb"), &self.tag)?);
                }
                let display = self.xvfb.as_ref().map(|x| x.display).unwrap_or_default();
                let profile = self.new_profile_dir()?;
                cmd.arg(format!("--port={port}"))
                    .env("DISPLAY", format!(":{display}"))
                    .env("JSC_useSharedArrayBuffer", "true")
                    .env("XDG_DATA_HOME", profile.join("data"))
                    .env("XDG_CACHE_HOME", profile.join("cache"))
                    .env("XDG_CONFIG_HOME", profile.join("config"));
                self.driver_profile = Some(profile);
            }
        }
        cmd.env(TAG_VAR, &self.tag);
        // The driver joins the browser's cgroup between fork and exec: the browser it starts, and
        // all that browser's processes, are born inside.
        let in_cgroup = match &self.cgroup {
            Some(cg) => match cg.join_on_exec(&mut cmd) {
                Ok(()) => true,
                Err(e) => {
                    eprintln!(
                        "warning: {e}; the memory watchdog caps the {} cases",
                        self.name
                    );
                    self.cgroup_failed = true;
                    false
                }
            },
            None => false,
        };
        let mut proc = Spawned::start(cmd, engine.driver_name(), &self.log_path("driver"))?;
        driver::wait_for_status(port, DRIVER_START_TIMEOUT, &mut proc)?;
        self.driver = Some(Driver {
            proc,
            port,
            in_cgroup,
        });
        Ok(())
    }

    fn keep_pids(&self) -> Vec<u32> {
        let mut keep = Vec::new();
        if let Some(d) = &self.driver {
            keep.push(d.proc.pid());
        }
        if let Some(x) = &self.xvfb {
            keep.push(x.pid());
        }
        keep
    }

    /// Kill the driver and every browser process it left.
    fn stop_driver(&mut self) {
        if let Some(mut d) = self.driver.take() {
            d.proc.kill();
        }
        if self.remote.is_some() {
            return;
        }
        let keep: Vec<u32> = self
            .xvfb
            .as_ref()
            .map(|x| vec![x.pid()])
            .unwrap_or_default();
        driver::kill_matching(&[&self.profile_prefix()], Some(&self.tag_entry()), &keep);
        // Without its driver, whatever is left in the browser's cgroup is the browser's.
        if let Some(cg) = &self.cgroup {
            cg.kill_all();
        }
        if let Some(p) = self.driver_profile.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }

    /// Ready the browser's cgroup for a case under `cap`: made at the first case with a cap (a
    /// driver already running outside it is restarted inside), its limit set to `cap`, its peak
    /// reset. The cgroup's OOM-kill count before the case, or None where the watchdog caps the
    /// case (no cap, a remote endpoint, no writable controller, or the cgroup failed).
    fn prepare_cgroup(&mut self, cap: Option<u64>) -> Option<u64> {
        if self.remote.is_some() {
            return None;
        }
        let Some(cap) = cap else {
            // A case without a cap: lift the limit an earlier case set.
            if let Some(cg) = &mut self.cgroup
                && let Err(e) = cg.set_limit(None)
            {
                eprintln!("warning: cannot lift the limit of the browser's cgroup ({e})");
            }
            return None;
        };
        if self.cgroup_failed || crate::cgroup::parent().is_none() {
            return None;
        }
        if self.cgroup.is_none() {
            match CaseCgroup::create(cap) {
                Ok(cg) => {
                    if self.driver.is_some() {
                        self.drop_session();
                        self.stop_driver();
                    }
                    self.cgroup = Some(cg);
                }
                Err(e) => {
                    eprintln!(
                        "warning: cannot make a cgroup for the {} browser ({e}); the memory watchdog caps its cases",
                        self.name
                    );
                    self.cgroup_failed = true;
                    return None;
                }
            }
        }
        let set = self.cgroup.as_mut()?.set_limit(Some(cap));
        if set.is_err() {
            // The browser holds more than this case's cap already (an earlier case had a larger
            // one): a fresh browser, under the new limit.
            self.drop_session();
            if let Err(e) = self.cgroup.as_mut()?.set_limit(Some(cap)) {
                eprintln!(
                    "warning: cannot set the limit of the browser's cgroup ({e}); the memory watchdog caps this case"
                );
                return None;
            }
        }
        let cg = self.cgroup.as_ref()?;
        cg.reset_peak();
        Some(cg.oom_kills())
    }

    /// Whether the kernel's OOM killer ended a process in the browser's cgroup since its count was
    /// `before`; if so the case is recorded as ended by the cap.
    fn cgroup_ended(&self, before: Option<u64>, watch: &mut dyn CaseWatch) -> bool {
        let (Some(before), Some(cg)) = (before, &self.cgroup) else {
            return false;
        };
        if cg.oom_kills() <= before {
            return false;
        }
        let limit = cg.limit();
        watch.capped(super::Trip {
            cap_bytes: limit,
            pss_bytes: cg.peak().unwrap_or(limit).min(limit),
            via: super::Via::BrowserCgroup(cg.version()),
        });
        true
    }

    fn capabilities(&self, profile: Option<&Path>) -> Capabilities {
        // A remote end gets the binary only where this machine has it (a grid on loopback, the
        // same image); otherwise its driver picks its own browser.
        let browser = match (&self.bins, &self.remote) {
            (Some(b), _) => b.browser.display().to_string(),
            (None, Some(_)) => find_binaries(self.engine())
                .map(|b| b.browser.display().to_string())
                .unwrap_or_default(),
            (None, None) => unreachable!("binaries found before a local session"),
        };
        let profile = profile.map(|p| p.display().to_string()).unwrap_or_default();
        let caps = match self.engine() {
            Engine::Chromium => json!({
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": browser,
                    "args": [
                        "--headless=new",
                        "--no-sandbox",
                        format!("--user-data-dir={profile}"),
                        "--enable-unsafe-webgpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--no-first-run",
                        "--disable-sync",
                        "--disable-dev-shm-usage",
                    ],
                    "excludeSwitches": [
                        "disable-background-timer-throttling",
                        "disable-backgrounding-occluded-windows",
                        "enable-automation",
                    ],
                },
            }),
            Engine::Firefox => json!({
                "browserName": "firefox",
                "moz:firefoxOptions": {
                    "binary": browser,
                    "args": ["-headless", "-profile", profile],
                    "prefs": {
                        "dom.webgpu.enabled": true,
                        "gfx.webgpu.ignore-blocklist": true,
                    },
                },
            }),
            Engine::Webkit => json!({
                "browserName": "MiniBrowser",
                "webkitgtk:browserOptions": {
                    "binary": browser,
                    "args": ["--automation"],
                },
            }),
        };
        let mut caps = match caps {
            Json::Object(map) => map,
            _ => unreachable!("capabilities are an object"),
        };
        strip_local_paths(&mut caps, &browser, &profile);
        caps
    }

    /// Open a browser session; on failure restart the driver and try once more.
    fn open_session(&mut self) -> Result<(), String> {
        let engine = self.engine();
        let mut last = String::new();
        for _attempt in 0..2 {
            self.ensure_driver()?;
            let profile = match engine {
                Engine::Webkit => None,
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
                    self.session = Some(Session { client, profile });
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
    fn drop_session(&mut self) {
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
    fn shutdown(&mut self) {
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

    /// Build the probe variant `case` runs on if the default bundle does not hold it (the
    /// WebGPU build: long, so only when a case needs it).
    fn ensure_build(&mut self, case: &Case) -> Result<(), String> {
        let name = crate::bundle::variant_for(&case.backend, case.simd);
        if crate::bundle::VARIANTS.iter().any(|(n, _)| *n == name) {
            return Ok(());
        }
        self.extra_builds
            .entry(name)
            .or_insert_with(|| crate::bundle::ensure_variant(name, true).map(|_| ()))
            .clone()
    }

    fn spec_json(case: &Case) -> String {
        let mut spec = serde_json::to_value(case.spec()).expect("a case spec serializes");
        spec["simd"] = Json::Bool(case.simd != Some(false));
        spec["context"] = Json::String(case.context.clone());
        super::page::add_page_fields(&mut spec, case);
        spec.to_string()
    }
}

impl Drop for BrowserTarget {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Target for BrowserTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&mut self, case: &Case, watch: &mut dyn CaseWatch) -> Outcome {
        if let Some((status, message)) = &self.blocked {
            return self.outcome(*status, message.clone());
        }
        if let Err((status, message)) = self.start_base() {
            self.blocked = Some((status, message.clone()));
            return self.outcome(status, message);
        }
        if let Err(message) = self.ensure_build(case) {
            return self.outcome(Status::Failed, message);
        }
        let oom_before = self.prepare_cgroup(watch.memory_cap());
        if self.session.is_none() {
            match self.open_session() {
                Ok(()) => self.failed_starts = 0,
                Err(message) => {
                    // A browser that cannot start under the cap is ended by it.
                    if self.cgroup_ended(oom_before, watch) {
                        return self.outcome(Status::Oom, message);
                    }
                    self.failed_starts += 1;
                    if self.failed_starts >= MAX_FAILED_STARTS {
                        let why = format!(
                            "{message} (the browser failed to start {} times; not tried again)",
                            self.failed_starts
                        );
                        self.blocked = Some((Status::Failed, why));
                    }
                    return self.outcome(Status::Failed, message);
                }
            }
        }
        let engine = self.engine();
        let client = self
            .session
            .as_ref()
            .map(|s| s.client.clone())
            .expect("session open");
        let url = format!("{}index.html", self.base_url);
        let spec = Self::spec_json(case);
        let timeout = Duration::from_secs(case.timeout_s.max(1));
        let mut exclude: Vec<u32> = self
            .driver
            .as_ref()
            .map(|d| d.proc.pid())
            .into_iter()
            .collect();
        exclude.extend(self.xvfb.as_ref().map(|x| x.pid()));
        // The browser's cgroup is the cap when the driver (so the browser) runs inside it; the
        // watchdog then only samples.
        let in_cgroup = self.driver.as_ref().is_some_and(|d| d.in_cgroup);
        let oom_before = oom_before.filter(|_| in_cgroup);
        if oom_before.is_some() {
            watch.cap_by_cgroup();
        }
        // A remote browser has no process here to watch.
        watch.started(&match self.remote {
            Some(_) => Processes::Pids(Vec::new()),
            None => Processes::Tagged {
                env_entry: self.tag_entry(),
                exclude,
            },
        });
        let label = self.driver_label();
        let rt = self.rt.as_ref().expect("runtime started");
        let polled = pagepoll::needs_polling(case).then_some(case);
        let result = match super::page::prepare_bundle(case) {
            Err(message) => Err(Failure {
                status: Status::Failed,
                message,
                reset: false,
            }),
            Ok(()) => rt.block_on(run_case(&client, &url, spec, timeout, &label, polled)),
        };
        watch.finished();
        drop(client);
        // Ended by the cap in the browser's cgroup: `oom` (the verdict prefers the trip), and a
        // fresh browser for the next case, whatever the killed process left working.
        let capped = self.cgroup_ended(oom_before, watch);
        match result {
            Ok(reply) => {
                if capped {
                    self.drop_session();
                }
                super::page::outcome(case, reply, &self.name, &self.version)
            }
            Err(mut f) => {
                // A dead WebDriver server: say so (the next case starts a new one).
                if let Some(d) = self.driver.as_mut()
                    && !d.proc.alive()
                {
                    f = Failure {
                        status: Status::Crashed,
                        message: format!(
                            "{} died during the case ({}); it is restarted for the next case: {}",
                            engine.driver_name(),
                            d.proc.exit_description(),
                            f.message
                        ),
                        reset: true,
                    };
                }
                if f.reset || capped {
                    self.drop_session();
                }
                self.outcome(f.status, f.message)
            }
        }
    }

    fn close(&mut self) {
        self.shutdown();
    }
}

/// One case on an open session: load the page, wait for the probe, run, read the reply.
async fn run_case(
    client: &Client,
    url: &str,
    spec: String,
    timeout: Duration,
    driver: &str,
    polled: Option<&Case>,
) -> Result<Reply, Failure> {
    bounded(
        client,
        driver,
        "loading the probe page",
        LOAD_TIMEOUT + SHORT_TIMEOUT,
        timeout,
        client.goto(url),
    )
    .await?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let ready = bounded(
            client,
            driver,
            "checking the probe is ready",
            SHORT_TIMEOUT,
            timeout,
            client.execute(READY_SCRIPT, vec![]),
        )
        .await?;
        if ready == Json::Bool(true) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(Failure {
                status: Status::Failed,
                message: format!(
                    "the probe page did not set window.gapbench.ready within {} s",
                    READY_TIMEOUT.as_secs()
                ),
                reset: true,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let limits = TimeoutConfiguration::new(Some(timeout), Some(LOAD_TIMEOUT), Some(Duration::ZERO));
    bounded(
        client,
        driver,
        "setting the script timeout",
        SHORT_TIMEOUT,
        timeout,
        client.update_timeouts(limits),
    )
    .await?;
    if let Some(case) = polled {
        return pagepoll::run_polled(client, case, spec, timeout, driver).await;
    }
    let answer = bounded(
        client,
        driver,
        "running the case",
        timeout + SCRIPT_GRACE,
        timeout,
        client.execute_async(RUN_SCRIPT, vec![Json::String(spec)]),
    )
    .await?;
    match answer {
        Json::String(text) => serde_json::from_str::<Reply>(&text).map_err(|e| Failure {
            status: Status::Failed,
            message: format!(
                "the probe's reply is not readable ({e}): {}",
                clip(&text, 300)
            ),
            reset: false,
        }),
        other => Err(non_string_answer(client, url, &other, driver).await),
    }
}

/// The probe always answers a string; anything else means the page went away under the script.
/// Firefox answers `null` when the tab's content process dies: ask the page where it is now to
/// tell a crash from a broken probe. Either way the next case gets a fresh session.
async fn non_string_answer(client: &Client, url: &str, answer: &Json, driver: &str) -> Failure {
    let answered = clip(&answer.to_string(), 300);
    let now = tokio::time::timeout(
        SHORT_TIMEOUT,
        client.execute("return String(location.href)", vec![]),
    )
    .await;
    let (status, message) = match now {
        Err(_) => (
            Status::Crashed,
            format!(
                "the page stopped answering while running the case (the script answered {answered}; then {driver} did not answer within {} s)",
                SHORT_TIMEOUT.as_secs()
            ),
        ),
        Ok(Err(e)) => (
            Status::Crashed,
            format!(
                "the page's process died while running the case (the script answered {answered}; then {driver}: {})",
                driver_text(&e)
            ),
        ),
        Ok(Ok(Json::String(href))) if href == url => (
            Status::Failed,
            format!("the probe answered something other than a string: {answered}"),
        ),
        Ok(Ok(href)) => (
            Status::Crashed,
            format!(
                "the page's process died while running the case (the script answered {answered}; the tab now shows {})",
                clip(&href.to_string(), 200)
            ),
        ),
    };
    Failure {
        status,
        message,
        reset: true,
    }
}

/// Await one WebDriver command with a limit, turning its failure into a record status.
async fn bounded<T>(
    client: &Client,
    driver: &str,
    what: &str,
    limit: Duration,
    case_timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, CmdError>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(limit, fut).await {
        Err(_) => Err(Failure {
            status: Status::Timeout,
            message: format!(
                "{driver} did not answer within {} s while {what}",
                limit.as_secs()
            ),
            reset: true,
        }),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(client, &e, driver, what, case_timeout).await),
    }
}

/// What the driver said, verbatim (one line).
fn driver_text(e: &CmdError) -> String {
    let text = match e {
        CmdError::Standard(w) => format!("{}: {}", w.error(), w.message),
        CmdError::NotW3C(Json::String(s)) => s.clone(),
        CmdError::NotW3C(v) => v.to_string(),
        other => other.to_string(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Errors that mean the page or the browser is gone: Chromium's non-W3C `tab crashed` and
/// `session deleted because of page crash`, Firefox's lost Marionette connection, WebKit's
/// `Could not parse script result`, a vanished session or window, a lost driver connection.
fn looks_crashed(e: &CmdError) -> bool {
    const SIGNS: [&str; 7] = [
        "crash",
        "Could not parse script result",
        "Failed to decode response from marionette",
        "browser has closed",
        "not connected to DevTools",
        "disconnected",
        "without establishing a connection",
    ];
    match e {
        CmdError::Standard(w) => {
            matches!(
                w.error,
                ErrorStatus::InvalidSessionId | ErrorStatus::NoSuchWindow
            ) || SIGNS.iter().any(|s| w.message.contains(s))
        }
        CmdError::NotW3C(v) => {
            let s = v.to_string();
            SIGNS.iter().any(|sign| s.contains(sign))
        }
        CmdError::Lost(_) | CmdError::Failed(_) | CmdError::FailedC(_) => true,
        _ => false,
    }
}

async fn classify(
    client: &Client,
    e: &CmdError,
    driver: &str,
    what: &str,
    case_timeout: Duration,
) -> Failure {
    let said = driver_text(e);
    if let CmdError::Standard(w) = e
        && w.error == ErrorStatus::ScriptTimeout
    {
        return Failure {
            status: Status::Timeout,
            message: format!(
                "no reply within the case timeout of {} s ({driver}: {said})",
                case_timeout.as_secs()
            ),
            reset: true,
        };
    }
    if looks_crashed(e) {
        return Failure {
            status: Status::Crashed,
            message: format!("the browser crashed while {what} ({driver}: {said})"),
            reset: true,
        };
    }
    // Anything else: crashed if the session no longer answers, failed if it does.
    let alive = matches!(
        tokio::time::timeout(SHORT_TIMEOUT, client.execute("return 1;", vec![])).await,
        Ok(Ok(_))
    );
    if alive {
        Failure {
            status: Status::Failed,
            message: format!("{what} failed ({driver}: {said})"),
            reset: false,
        }
    } else {
        Failure {
            status: Status::Crashed,
            message: format!("the browser stopped answering while {what} ({driver}: {said})"),
            reset: true,
        }
    }
}

/// Drop the path options left empty (a remote session: no local profile directory, no browser
/// binary known here): `binary`, `--user-data-dir=`, `-profile ""`.
fn strip_local_paths(caps: &mut fantoccini::wd::Capabilities, browser: &str, profile: &str) {
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

fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fantoccini::error::WebDriver;

    #[test]
    fn driver_errors_map_to_statuses() {
        let tab = CmdError::NotW3C(Json::String("tab crashed".into()));
        assert!(looks_crashed(&tab));
        assert_eq!(driver_text(&tab), "tab crashed");
        let wk = CmdError::Standard(WebDriver::new(
            ErrorStatus::UnknownError,
            "Could not parse script result",
        ));
        assert!(looks_crashed(&wk));
        assert_eq!(
            driver_text(&wk),
            "unknown error: Could not parse script result"
        );
        let ff = CmdError::Standard(WebDriver::new(
            ErrorStatus::UnknownError,
            "Failed to decode response from marionette",
        ));
        assert!(looks_crashed(&ff));
        let gone = CmdError::Standard(WebDriver::new(
            ErrorStatus::InvalidSessionId,
            "Tried to run command without establishing a connection",
        ));
        assert!(looks_crashed(&gone));
        let js = CmdError::Standard(WebDriver::new(
            ErrorStatus::JavascriptError,
            "ReferenceError: x is not defined",
        ));
        assert!(!looks_crashed(&js));
        let multi = CmdError::Standard(WebDriver::new(
            ErrorStatus::UnknownError,
            "tab crashed\n  (Session info: chrome=1)",
        ));
        assert_eq!(
            driver_text(&multi),
            "unknown error: tab crashed (Session info: chrome=1)"
        );
    }

    #[test]
    fn new_starts_nothing_and_unknown_engines_fail_cleanly() {
        let t = BrowserTarget::new("chromium");
        assert!(t.rt.is_none() && t.driver.is_none() && t.server.is_none());
        assert_eq!(t.name(), "chromium");
        assert!(t.profile_prefix().contains("gapbench-profile-chromium-"));
        let mut bad = BrowserTarget::new("netscape");
        let case = crate::plan::Case {
            id: "mlp/0.1m/netscape/ndarray-simd/main/r1".into(),
            workload: "mlp".into(),
            size: "0.1m".into(),
            target: "netscape".into(),
            backend: "ndarray".into(),
            simd: Some(true),
            context: "main".into(),
            repetition: 1,
            seed: 1,
            warmup: 0,
            steps: 1,
            epochs: None,
            timeout_s: 10,
            meters: vec![],
            classes: None,
            samples_per_class: None,
            fault: None,
            max_extra_warmup: 0,
        };
        let o = bad.run(&case, &mut crate::target::NoWatch);
        assert_eq!(o.status, Status::Failed);
        assert!(o.message.contains("netscape"));
        let spec: Json = serde_json::from_str(&BrowserTarget::spec_json(&case)).unwrap();
        assert_eq!(spec["simd"], Json::Bool(true));
        assert_eq!(spec["context"], Json::String("main".into()));
    }
}
