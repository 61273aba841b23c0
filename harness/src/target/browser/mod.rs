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

mod device;
mod discovery;
mod driver;
pub mod engines;
mod memory_cap;
mod pagepoll;
mod protocol;
mod session;
mod xvfb;

pub use device::grid_slots;

use super::{CaseWatch, Outcome, Processes, Reply, Target};
use crate::cgroup::CaseCgroup;
use crate::plan::Case;
use crate::record::Status;
use crate::server::ProbeServer;
use discovery::*;
use driver::*;
use engines::Engine;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::wd::{Capabilities, TimeoutConfiguration};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use protocol::*;
use serde_json::Value as Json;
use session::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xvfb::Xvfb;

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

/// A browser target: Chromium, Firefox or WebKit. Cheap to create; starts everything (probe
/// server, Xvfb, driver, browser) at its first case.
pub struct BrowserTarget {
    engine: Option<&'static dyn Engine>,
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
    /// Probe builds (bundle variants), each built at the first case that needs it; a failed
    /// build fails every case that needs it.
    builds: std::collections::HashMap<&'static str, Result<(), String>>,
}

impl BrowserTarget {
    /// A target for `engine` ("chromium", "firefox" or "webkit"). Starts nothing.
    pub fn new(engine: &str) -> Self {
        let tag = format!("gapbench-{engine}-{}", std::process::id());
        BrowserTarget {
            engine: engines::by_name(engine),
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
            builds: Default::default(),
        }
    }

    /// Serve the probe on `host`'s address (`server::bind_address`) and tell the browser to fetch
    /// it from `host` (for a browser on another machine). Must be set before the first case.
    pub fn with_serve_host(mut self, host: Option<String>) -> Self {
        self.serve_host = host;
        self
    }

    /// Open sessions on the WebDriver endpoint `url` (e.g. a Selenium Grid hub) instead of
    /// starting a local driver. Capabilities stay the same, without the local profile directory
    /// and browser path, with `acceptInsecureCerts`: the probe is served over https.
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

    fn engine(&self) -> &'static dyn Engine {
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
        let mut o = Outcome::bare(status, message, &self.name, &self.version);
        o.device = self.outcome_device();
        o
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
            let bundle = crate::bundle::ensure_js().map_err(|e| (Status::Failed, e))?;
            let (bind, note) = crate::server::bind_address(self.serve_host.as_deref())
                .map_err(|e| (Status::Failed, e))?;
            if let Some(note) = note {
                eprintln!("warning: {note}");
            }
            // A remote browser gets the probe over https: a secure context on any host.
            let server = match self.remote {
                Some(_) => ProbeServer::start_https(&bundle, bind, 0, self.serve_host.as_deref()),
                None => ProbeServer::start(&bundle, bind, 0),
            };
            let server = server.map_err(|e| {
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

    /// Build the probe variant `case` runs on, once per run (each build only when a case
    /// needs it: a first run pays for the variants its scenario uses, no more).
    fn ensure_build(&mut self, case: &Case) -> Result<(), String> {
        if !super::page::needs_build(case, false) {
            return Ok(());
        }
        let name = crate::bundle::variant_for(&case.backend, case.simd, case.threads);
        self.builds
            .entry(name)
            .or_insert_with(|| crate::bundle::ensure_variant(name, true).map(|_| ()))
            .clone()
    }

    fn spec_json(case: &Case) -> String {
        let mut spec = serde_json::to_value(case.spec()).expect("a case spec serializes");
        super::page::add_simd_fields(&mut spec, case);
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
        if let Some(why) = super::page::relaxed_unsupported(case) {
            return self.outcome(Status::Skipped, why);
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
                } else {
                    self.read_page_facts();
                }
                let mut o = super::page::outcome(case, reply, &self.name, &self.version);
                o.device = self.outcome_device();
                o
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
                // The device of the session that ran it, read before that session ends.
                let device = self.outcome_device();
                if f.reset || capped {
                    self.drop_session();
                }
                let mut o = self.outcome(f.status, f.message);
                o.device = device;
                o
            }
        }
    }

    fn close(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests;
