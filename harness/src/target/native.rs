//! Native targets: each case runs in a child process (`gapbench native-case`) so a crash, a hang
//! or an allocation failure is recorded as a measurement and the run goes on.

use super::{CaseWatch, Outcome, Reply, Target, child};
use crate::plan::{Case, native_backend};
use crate::record::Status;
use std::io::Read;
use std::process::Command;
use std::time::Duration;

pub struct NativeTarget {
    name: String,
}

impl NativeTarget {
    pub fn new(name: &str) -> Self {
        Self { name: name.into() }
    }
}

/// The engine version recorded for native cases: the compiler and burn.
pub fn engine_version() -> String {
    format!("{}; burn 0.22.1", env!("GAPBENCH_RUSTC_VERSION"))
}

impl Target for NativeTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&mut self, case: &Case, watch: &mut dyn CaseWatch) -> Outcome {
        let version = engine_version();
        if let Some(skip) = child::page_only(case, "native", &version) {
            return skip;
        }
        let mut spec = case.spec();
        spec.backend = native_backend(&self.name).unwrap_or("ndarray").into();
        let input = serde_json::to_vec(&spec).expect("a case spec serializes");
        let exe = match std::env::current_exe() {
            Ok(e) => e,
            Err(e) => {
                return Outcome::bare(
                    Status::Failed,
                    format!("cannot find gapbench itself: {e}"),
                    "native",
                    &version,
                );
            }
        };
        let mut cmd = Command::new(exe);
        cmd.arg("native-case");
        let started = child::run(cmd, &input, Duration::from_secs(case.timeout_s), watch);
        child::reply_outcome(started, "the case process", "native", &version)
    }
}

/// Set the x86 FTZ and DAZ bits (as TensorFlow does in its thread pools). Wasm has no such mode,
/// so this is off by default; `GAPBENCH_FTZ=1` shows what denormals cost natively.
#[allow(deprecated)]
fn flush_denormals_to_zero() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: only changes how this thread rounds subnormal floats.
    unsafe {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        _mm_setcsr(_mm_getcsr() | (1 << 15) | (1 << 6));
    }
}

fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The child side: read a `CaseSpec` on stdin, run it, print one JSON `Reply` line.
pub fn native_case_main() -> i32 {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("gapbench native-case: cannot read stdin: {e}");
        return 2;
    }
    let spec: wasm_probe::CaseSpec = match serde_json::from_str(&input) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gapbench native-case: expected a case spec as JSON on stdin: {e}");
            return 2;
        }
    };
    std::panic::set_hook(Box::new(|_| {}));
    // `GAPBENCH_FTZ=1` sets it, `0` (or unset) leaves it off; the run checked the value.
    if crate::manifest::flush_to_zero().unwrap_or(false) {
        flush_denormals_to_zero();
    }
    let outcome = std::panic::catch_unwind(|| wasm_probe::measure::run_native(&spec));
    let reply = match outcome {
        Ok(Ok(Ok(result))) => Reply {
            status: "ok".into(),
            message: None,
            result: Some(result),
            peak_rss_bytes: peak_rss_bytes(),
            meters: serde_json::Value::Null,
        },
        Ok(Ok(Err(msg))) => Reply {
            status: "failed".into(),
            message: Some(msg),
            result: None,
            peak_rss_bytes: peak_rss_bytes(),
            meters: serde_json::Value::Null,
        },
        Ok(Err(why)) => Reply {
            status: "skipped".into(),
            message: Some(why),
            result: None,
            peak_rss_bytes: None,
            meters: serde_json::Value::Null,
        },
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Reply {
                status: "failed".into(),
                message: Some(format!("panicked: {msg}")),
                result: None,
                peak_rss_bytes: peak_rss_bytes(),
                meters: serde_json::Value::Null,
            }
        }
    };
    println!(
        "{}",
        serde_json::to_string(&reply).expect("a reply serializes")
    );
    0
}
