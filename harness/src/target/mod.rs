//! Targets: where a case runs (native child process, Node.js, a browser over WebDriver).
//! Each target turns a `Case` into an `Outcome`; it never writes records itself.

pub mod browser;
mod child;
pub mod keras;
mod native;
mod node;
pub mod page;
pub mod peer;
mod remote;

pub use browser::BrowserTarget;
pub use keras::KerasTarget;
pub use native::{NativeTarget, native_case_main};
pub use node::NodeTarget;
pub use remote::TargetOptions;

use crate::plan::Case;
use crate::record::Status;
use serde::{Deserialize, Serialize};
use wasm_probe::CaseResult;

/// What the probe answers for one case, on every target (native child, Node, browser).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reply {
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub result: Option<CaseResult>,
    /// Peak resident memory of the process that ran the case, where the target knows it.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    /// What page-side meters measured, by meter name (browser targets).
    #[serde(default)]
    pub meters: serde_json::Value,
}

/// How one case ended on a target.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub message: String,
    pub result: Option<CaseResult>,
    pub peak_rss_bytes: Option<u64>,
    /// What page-side meters measured, by meter name (`Null` when none ran).
    pub page: serde_json::Value,
    /// The engine that ran it ("native", "node", "chromium", ...) and its exact version.
    pub engine: String,
    pub engine_version: String,
    /// The device that ran it, where a target knows (browser targets); None: this machine.
    pub device: Option<crate::manifest::Device>,
}

impl Outcome {
    pub fn from_reply(reply: Reply, engine: &str, engine_version: &str) -> Self {
        let status = match reply.status.as_str() {
            "ok" if reply.result.is_some() => Status::Ok,
            "skipped" => Status::Skipped,
            "oom" => Status::Oom,
            "crashed" => Status::Crashed,
            "timeout" => Status::Timeout,
            "ok" => Status::Failed,
            _ => Status::Failed,
        };
        let message = match (&reply.message, status) {
            (Some(m), _) => m.clone(),
            (None, Status::Failed) if reply.status == "ok" => {
                "probe answered ok without a result".into()
            }
            _ => String::new(),
        };
        Outcome {
            status,
            message,
            result: reply.result,
            peak_rss_bytes: reply.peak_rss_bytes,
            page: reply.meters,
            engine: engine.into(),
            engine_version: engine_version.into(),
            device: None,
        }
    }

    pub fn bare(
        status: Status,
        message: impl Into<String>,
        engine: &str,
        engine_version: &str,
    ) -> Self {
        Outcome {
            status,
            message: message.into(),
            result: None,
            peak_rss_bytes: None,
            page: serde_json::Value::Null,
            engine: engine.into(),
            engine_version: engine_version.into(),
            device: None,
        }
    }
}

/// The processes that run a case, as a target knows them; resolved to live pids on demand
/// (browsers start and end processes while a case runs).
#[derive(Debug, Clone, PartialEq)]
pub enum Processes {
    /// Fixed pids (a native or Node child process) and their descendants.
    Pids(Vec<u32>),
    /// Every process whose environment holds `env_entry` (`NAME=value`) and their descendants,
    /// except `exclude` (the WebDriver server and Xvfb, which are not the browser).
    Tagged {
        env_entry: String,
        exclude: Vec<u32>,
    },
}

impl Processes {
    /// The live pids now, descendants included.
    pub fn live(&self) -> Vec<u32> {
        match self {
            Processes::Pids(roots) => crate::proc::with_descendants(roots),
            // Descendants too: Chromium's zygote rewrites its environment block for its process
            // title, so its renderers' /proc/PID/environ no longer shows the tag they inherited.
            Processes::Tagged { env_entry, exclude } => {
                crate::proc::with_descendants(&crate::proc::tagged(env_entry))
                    .into_iter()
                    .filter(|p| !exclude.contains(p))
                    .collect()
            }
        }
    }
}

/// What a target tells the meters while a case runs (crossbench's probe start/stop).
pub trait CaseWatch {
    /// The workload is starting in `procs`.
    fn started(&mut self, procs: &Processes);
    /// The workload has ended, whatever the outcome.
    fn finished(&mut self);
    /// The memory cap a target may enforce itself (a cgroup per case process); None: no cap.
    fn memory_cap(&self) -> Option<u64> {
        None
    }
    /// The target enforces the cap from now on (the case runs in a cgroup limited to it): the
    /// watchdog only samples.
    fn cap_by_cgroup(&mut self) {}
    /// The target's own cap ended the case.
    fn capped(&mut self, _trip: Trip) {}
}

/// A watch that does nothing (tests, and cases without harness-side meters).
pub struct NoWatch;

impl CaseWatch for NoWatch {
    fn started(&mut self, _procs: &Processes) {}
    fn finished(&mut self) {}
}

/// A place cases run. Opened once per run, closed (all its processes gone) at the end.
pub trait Target {
    fn name(&self) -> &str;
    fn run(&mut self, case: &Case, watch: &mut dyn CaseWatch) -> Outcome;
    fn close(&mut self) {}
}

/// Open the target named `name`; browser targets use `opts`' remote endpoint and serve host.
pub fn open(name: &str, opts: &TargetOptions) -> Result<Box<dyn Target>, String> {
    match name {
        "native-ndarray" | "native-flex" | "native-wgpu" => Ok(Box::new(NativeTarget::new(name))),
        "native-keras" => Ok(Box::new(KerasTarget::new("native-keras"))),
        "native-keras-fit" => Ok(Box::new(KerasTarget::new("native-keras-fit"))),
        "node" => Ok(Box::new(NodeTarget::new(crate::bundle::ensure_js()))),
        _ if browser::engines::by_name(name).is_some() => Ok(Box::new(
            BrowserTarget::new(name)
                .with_serve_host(opts.serve_host.clone())
                .with_remote(opts.endpoint(name).map(str::to_string)),
        )),
        other => Err(format!(
            "target `{other}` is not available in this build yet"
        )),
    }
}

const MIB: f64 = 1048576.0;

/// What ended a case for passing the cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Via {
    /// The watchdog: the summed PSS of the case's processes passed the cap.
    Pss,
    /// The kernel's OOM killer inside the case's own cgroup, limited to the cap.
    Cgroup(crate::cgroup::Version),
    /// The kernel's OOM killer inside the browser's cgroup, limited to the case's cap.
    BrowserCgroup(crate::cgroup::Version),
}

/// Why a case was killed at the memory cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trip {
    pub cap_bytes: u64,
    /// The memory seen: summed PSS (watchdog), or the cgroup's peak charge.
    pub pss_bytes: u64,
    pub via: Via,
}

impl Trip {
    pub fn message(&self) -> String {
        match self.via {
            Via::Pss => format!(
                "over the memory cap of {:.0} MiB (PSS {:.0} MiB)",
                self.cap_bytes as f64 / MIB,
                self.pss_bytes as f64 / MIB
            ),
            Via::Cgroup(v) => format!(
                "over the memory cap of {:.0} MiB (the kernel's OOM killer ended it in the case's own cgroup, {}; peak {:.0} MiB)",
                self.cap_bytes as f64 / MIB,
                v.limit_file(),
                self.pss_bytes as f64 / MIB
            ),
            Via::BrowserCgroup(v) => format!(
                "over the memory cap of {:.0} MiB (the kernel's OOM killer ended a browser process in the browser's own cgroup, {}; peak {:.0} MiB)",
                self.cap_bytes as f64 / MIB,
                v.limit_file(),
                self.pss_bytes as f64 / MIB
            ),
        }
    }
}
