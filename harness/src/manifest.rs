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
    /// SHA-256 of the scenario text this run plans from; the run directory keeps that text as
    /// [`SCENARIO_COPY`], and `--resume` runs the copy (refusing when the original changed).
    #[serde(default)]
    pub scenario_sha256: String,
    /// The cargo profiles of this gapbench (its native cases) and of the wasm probe it builds:
    /// `native (...): release (opt-level 3, debug false, codegen-units 16, lto off); wasm
    /// probe: ...`.
    #[serde(default)]
    pub build_profile: String,
    /// Third-party crates compiled from gapbench's patched copies in `vendor/` instead of
    /// crates.io, each with a SHA-256 over its tree at build time.
    #[serde(default)]
    pub patched_crates: Vec<PatchedCrate>,
    /// The optimizer implementation each optimizer name in the records runs.
    #[serde(default)]
    pub optimizers: Vec<String>,
    /// Whether native case processes set flush-to-zero (`GAPBENCH_FTZ=1`).
    #[serde(default)]
    pub flush_to_zero: bool,
    /// Engine settings from the environment the browsers and Node.js inherit (`JSC_*`, `MOZ_*`,
    /// `WEBKIT_*`, `NODE_OPTIONS`), as `NAME=value`: a run with any of them did not measure the
    /// engines as shipped, and the report says so.
    #[serde(default)]
    pub engine_env: Vec<String>,
    /// The devices that ran this run's browser cases, once each (the records' `host` column
    /// names them by `id`); empty when every case ran here.
    #[serde(default)]
    pub fleet: Vec<Device>,
}

/// A device that ran cases: this machine (`local`), or a remote browser on a WebDriver endpoint
/// (a Grid node, a cloud device), as far as the endpoint and the page tell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// What records name it by: `local`, the Grid node's URI, or the endpoint's URL.
    pub id: String,
    /// The WebDriver endpoint its sessions were opened on (empty: a local driver).
    #[serde(default)]
    pub endpoint: String,
    pub engine: String,
    #[serde(default)]
    pub engine_version: String,
    /// `navigator.userAgent`, `.platform`, `.hardwareConcurrency`, `.deviceMemory` (GiB,
    /// rounded by the browser), and the WebGPU adapter's info, where the page exposes them.
    #[serde(default)]
    pub user_agent: String,
    #[serde(default)]
    pub platform: String,
    #[serde(default)]
    pub hardware_concurrency: Option<u64>,
    #[serde(default)]
    pub device_memory_gb: Option<f64>,
    #[serde(default)]
    pub gpu: String,
    /// `isSecureContext` and `crossOriginIsolated` of the probe page (None: not read).
    #[serde(default)]
    pub secure_context: Option<bool>,
    #[serde(default)]
    pub cross_origin_isolated: Option<bool>,
    /// What is not measured on this device, and why (empty: everything the meters measure).
    #[serde(default)]
    pub not_measured: String,
}

impl Device {
    /// Whether the browser runs elsewhere (a WebDriver endpoint): no process here to meter.
    pub fn remote(&self) -> bool {
        !self.endpoint.is_empty()
    }
}

/// The most a `manifest.json` may hold.
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// The run directory's copy of the scenario it plans from.
pub const SCENARIO_COPY: &str = "scenario.toml";

/// A crate built from `vendor/` instead of crates.io (see `[patch.crates-io]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchedCrate {
    pub name: String,
    pub version: String,
    /// Its directory in the repository, e.g. `vendor/matrixmultiply`.
    pub path: String,
    /// SHA-256 over every file of that directory when gapbench was built.
    pub sha256: String,
}

/// The patched crates this binary was built with (recorded by build.rs).
pub fn patched_crates() -> Vec<PatchedCrate> {
    env!("GAPBENCH_PATCHED_CRATES")
        .split(';')
        .filter_map(|c| {
            let mut f = c.split(' ');
            Some(PatchedCrate {
                name: f.next().filter(|n| !n.is_empty())?.into(),
                version: f.next()?.into(),
                path: f.next()?.into(),
                sha256: f.next()?.into(),
            })
        })
        .collect()
}

/// What each optimizer name of the workloads runs.
pub fn optimizers() -> Vec<String> {
    use wasm_probe::workload::Optimizer;
    [Optimizer::Adam, Optimizer::RmsProp, Optimizer::Sgd]
        .iter()
        .map(|o| format!("{}: {}", o.name(), o.implementation()))
        .collect()
}

/// `GAPBENCH_FTZ`: unset, empty, `0`, `false`, `off` or `no` leave flush-to-zero off; `1`,
/// `true`, `on` or `yes` set it; anything else is an error naming the variable.
pub fn flush_to_zero_from(value: Option<&std::ffi::OsStr>) -> Result<bool, String> {
    let Some(v) = value else { return Ok(false) };
    match v.to_str().map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("" | "0" | "false" | "off" | "no") => Ok(false),
        Some("1" | "true" | "on" | "yes") => Ok(true),
        _ => Err(format!(
            "GAPBENCH_FTZ: expected 1 (flush-to-zero on) or 0 (off), found `{}`",
            v.to_string_lossy().escape_debug()
        )),
    }
}

/// Whether this process's environment asks for flush-to-zero ([`flush_to_zero_from`]).
pub fn flush_to_zero() -> Result<bool, String> {
    flush_to_zero_from(std::env::var_os("GAPBENCH_FTZ").as_deref())
}

/// SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

impl Manifest {
    pub fn new(run_id: &str, scenario: &str, scenario_path: &Path, planned: usize) -> Self {
        Manifest {
            run_id: run_id.into(),
            scenario: scenario.into(),
            scenario_path: scenario_path.display().to_string(),
            command: std::env::args().collect(),
            gapbench_version: env!("CARGO_PKG_VERSION").into(),
            // The commit gapbench was built from (build.rs), not the current directory's.
            git_commit: env!("GAPBENCH_GIT_COMMIT").into(),
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
            scenario_sha256: String::new(),
            build_profile: format!(
                "native (gapbench and its native cases): {}; wasm probe: {}",
                env!("GAPBENCH_BUILD_PROFILE"),
                crate::bundle::probe_profile()
            ),
            patched_crates: patched_crates(),
            optimizers: optimizers(),
            flush_to_zero: flush_to_zero().unwrap_or(false),
            engine_env: engine_env(std::env::vars_os().filter_map(|(k, v)| {
                Some((k.into_string().ok()?, v.to_string_lossy().into_owned()))
            })),
            fleet: Vec::new(),
        }
    }

    /// Add `d` to the fleet unless a device with its id and engine is listed (the first read
    /// of its page facts is kept, a later one fills what that lacked).
    pub fn add_device(&mut self, d: &Device) {
        match self
            .fleet
            .iter_mut()
            .find(|f| f.id == d.id && f.engine == d.engine)
        {
            Some(f) if f.user_agent.is_empty() && !d.user_agent.is_empty() => *f = d.clone(),
            Some(_) => {}
            None => self.fleet.push(d.clone()),
        }
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        crate::record::write_atomic(&dir.join("manifest.json"), &json)
    }

    pub fn read(dir: &Path) -> Result<Manifest, String> {
        use std::io::Read;
        let path = dir.join("manifest.json");
        let cannot = |e: std::io::Error| format!("{}: cannot read: {e}", path.display());
        let mut text = String::new();
        // A manifest is a few KiB: a larger file is refused unread (its size, or, where the size
        // says nothing, one byte past the limit).
        let f = std::fs::File::open(&path).map_err(cannot)?;
        let size = f.metadata().map_err(cannot)?.len();
        if size <= MAX_MANIFEST_BYTES {
            f.take(MAX_MANIFEST_BYTES + 1)
                .read_to_string(&mut text)
                .map_err(cannot)?;
        }
        if size > MAX_MANIFEST_BYTES || text.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(format!(
                "{}: larger than {} MiB: not a gapbench manifest",
                path.display(),
                MAX_MANIFEST_BYTES >> 20
            ));
        }
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
    fn provenance_names_the_build() {
        let m = Manifest::new("r", "s", Path::new("s.toml"), 1);
        let names: Vec<&str> = m.patched_crates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["burn-ndarray", "matrixmultiply"], "{m:?}");
        for c in &m.patched_crates {
            assert_eq!(c.path, format!("vendor/{}", c.name));
            assert_eq!(c.sha256.len(), 64, "{c:?}");
            assert!(
                c.version.chars().next().is_some_and(|d| d.is_ascii_digit()),
                "{c:?}"
            );
        }
        assert!(
            m.optimizers
                .iter()
                .any(|o| o.starts_with("adam: FusedAdam")),
            "{:?}",
            m.optimizers
        );
        assert!(!m.build_profile.is_empty() && m.build_profile != "unknown");
        // A commit hash (40 hex digits, maybe `-dirty`) or `unknown` outside git.
        let c = m.git_commit.trim_end_matches("-dirty");
        assert!(
            c == "unknown" || (c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit())),
            "{}",
            m.git_commit
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ftz_zero_means_off() {
        use std::ffi::OsStr;
        let f = |v: Option<&str>| flush_to_zero_from(v.map(OsStr::new));
        for off in [
            None,
            Some(""),
            Some("0"),
            Some("false"),
            Some("OFF"),
            Some("no"),
        ] {
            assert_eq!(f(off), Ok(false), "{off:?}");
        }
        for on in [Some("1"), Some("true"), Some("on"), Some("YES")] {
            assert_eq!(f(on), Ok(true), "{on:?}");
        }
        let e = f(Some("2")).unwrap_err();
        assert!(e.contains("GAPBENCH_FTZ") && e.contains("`2`"), "{e}");
    }

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
