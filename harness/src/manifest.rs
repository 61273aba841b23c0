//! The run manifest: host, software versions, allocator and times, written by rename so a reader
//! never sees half of it.

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub run_id: String,
    pub scenario: String,
    pub scenario_path: String,
    pub command: Vec<String>,
    pub gapbench_version: String,
    pub git_commit: String,
    pub rustc: String,
    pub burn: String,
    pub allocator: String,
    pub native_threads: u32,
    pub host_cpu: String,
    pub cores: usize,
    pub ram_bytes: u64,
    pub os: String,
    pub kernel: String,
    pub started: String,
    pub ended: Option<String>,
    pub cases_planned: usize,
    pub cases_done: usize,
    /// The memory cap every case ran under (PSS of its process tree; `--memory-cap`).
    #[serde(default)]
    pub memory_cap_bytes: Option<u64>,
    /// How the cap is enforced here: a cgroup per case process, or the PSS watchdog.
    #[serde(default)]
    pub memory_cap_mechanism: Option<String>,
    /// Engine settings from the environment the browsers and Node.js inherit (`JSC_*`, `MOZ_*`,
    /// `WEBKIT_*`, `NODE_OPTIONS`), as `NAME=value`: a run with any of them did not measure the
    /// engines as shipped, and the report says so.
    #[serde(default)]
    pub engine_env: Vec<String>,
}

/// The variables of `vars` that change how an engine runs, sorted, as `NAME=value`.
pub fn engine_env(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut out: Vec<String> = vars
        .into_iter()
        .filter(|(k, _)| {
            ["JSC_", "MOZ_", "WEBKIT_"].iter().any(|p| k.starts_with(p)) || k == "NODE_OPTIONS"
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    out.sort();
    out
}

fn first_match(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find(|l| l.starts_with(key)).and_then(|l| {
        l.split_once([':', '='])
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
    })
}

/// Total RAM of this machine in bytes (0 when unknown).
pub fn ram_bytes() -> u64 {
    first_match("/proc/meminfo", "MemTotal")
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn git_commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(c) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{c}-dirty") } else { c }
        }
        None => "unknown".into(),
    }
}

impl Manifest {
    pub fn new(run_id: &str, scenario: &str, scenario_path: &Path, planned: usize) -> Self {
        Manifest {
            run_id: run_id.into(),
            scenario: scenario.into(),
            scenario_path: scenario_path.display().to_string(),
            command: std::env::args().collect(),
            gapbench_version: env!("CARGO_PKG_VERSION").into(),
            git_commit: git_commit(),
            rustc: env!("GAPBENCH_RUSTC_VERSION").into(),
            burn: "0.22.1".into(),
            allocator: crate::ALLOCATOR.into(),
            native_threads: 1,
            host_cpu: first_match("/proc/cpuinfo", "model name")
                .unwrap_or_else(|| "unknown".into()),
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            ram_bytes: ram_bytes(),
            os: first_match("/etc/os-release", "PRETTY_NAME")
                .unwrap_or_else(|| std::env::consts::OS.into()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            started: now_utc(),
            ended: None,
            cases_planned: planned,
            cases_done: 0,
            memory_cap_bytes: None,
            memory_cap_mechanism: None,
            engine_env: engine_env(std::env::vars_os().filter_map(|(k, v)| {
                Some((k.into_string().ok()?, v.to_string_lossy().into_owned()))
            })),
        }
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        crate::record::write_atomic(&dir.join("manifest.json"), &json)
    }

    pub fn read(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}: not a gapbench manifest: {e}",
                path.display(),
                e.line()
            )
        })
    }
}

/// Civil UTC time from the Unix clock, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_env_keeps_engine_settings_only() {
        let vars = [
            ("PATH", "/bin"),
            ("JSC_useWasmIPInt", "false"),
            ("NODE_OPTIONS", "--max-old-space-size=4096"),
            ("MOZ_LOG", "wasm:5"),
            ("HOME", "/root"),
            ("XJSC_no", "1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(
            engine_env(vars),
            [
                "JSC_useWasmIPInt=false",
                "MOZ_LOG=wasm:5",
                "NODE_OPTIONS=--max-old-space-size=4096"
            ]
        );
    }
}
