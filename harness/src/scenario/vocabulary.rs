//! The scenario's vocabulary: what a scenario is (its groups, defaults and limits), the catalog it
//! is checked against, and its error type. Free of the runner: plan, ceiling and the targets read it.

use super::*;

/// The searches a scenario group can ask for (`search`; run by `ceiling`).
pub const SEARCHES: [&str; 2] = ["samples", "model"];
/// Most trials of one search.
pub const MAX_TRIALS: usize = 12;

/// The workload a search runs.
pub fn workload_of(search: &str) -> &'static str {
    match search {
        "samples" => "tm-image",
        _ => "mlp",
    }
}

/// The backend a native target always uses; None for targets that run the wasm probe.
pub fn native_backend(target: &str) -> Option<&'static str> {
    match target {
        "native-ndarray" => Some("ndarray"),
        "native-flex" => Some("flex"),
        "native-wgpu" => Some("wgpu"),
        "native-keras" => Some("keras"),
        "native-keras-fit" => Some("keras-fit"),
        _ => None,
    }
}

/// A wasm build's SIMD, one value of a group's `simd` axis: `false` (scalar wasm), `true`
/// (SIMD128) or `"relaxed"` (SIMD128 plus relaxed SIMD: the matrix kernel's multiply-add is
/// `f32x4.relaxed_madd`, fused where the engine and the host have an FMA), or `"memory64"`
/// (SIMD128 in a wasm64 build with a 64-bit memory: past wasm32's 4 GiB and its 2 GiB largest
/// allocation, where the engine has memory64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Simd {
    Off,
    On,
    Relaxed,
    Memory64,
}

impl Simd {
    /// The value as a scenario writes it.
    pub fn toml(self) -> &'static str {
        match self {
            Simd::Off => "false",
            Simd::On => "true",
            Simd::Relaxed => "\"relaxed\"",
            Simd::Memory64 => "\"memory64\"",
        }
    }
}

/// Default `seed` when the file gives none.
pub const DEFAULT_SEED: u64 = 42;
/// Default `repetitions` (per case).
pub const DEFAULT_REPETITIONS: u32 = 1;
/// Default `warmup` (warm-up steps, not measured).
pub const DEFAULT_WARMUP: u32 = 3;
/// Default `max_extra_warmup`: the most warm-up steps run past `warmup` until the step time
/// has settled (the probe's rule, `wasm_probe::measure::settled`); 0 turns the extension off.
pub const DEFAULT_MAX_EXTRA_WARMUP: u32 = 20;
/// Default `steps` (measured steps).
pub const DEFAULT_STEPS: u32 = 20;
/// Default `timeout_s` (per case).
pub const DEFAULT_TIMEOUT_S: u64 = 600;
/// Execution contexts a group may ask for.
pub const CONTEXTS: [&str; 3] = ["main", "main-frame", "worker"];
/// Bounds on what a scenario may ask for, checked before anything is planned or allocated.
/// A scenario file larger than this is refused unread.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Most cases one scenario may plan (a search group counts its most trials, [`MAX_TRIALS`]
/// per cell, plus the cell).
pub const MAX_CASES: u64 = 100_000;
/// Most `repetitions` of a case.
pub const MAX_REPETITIONS: u32 = 10_000;
/// The largest `threads` count a group may ask for (a pool of workers or OS threads).
pub const MAX_THREADS: u32 = 64;
/// Most measured `steps` and `warmup` steps of a case.
pub const MAX_STEPS: u32 = 1_000_000;
/// Most `epochs` of a case.
pub const MAX_EPOCHS: u32 = 10_000;
/// Longest `timeout_s` of a case: one week.
pub const MAX_TIMEOUT_S: u64 = 7 * 24 * 3600;
/// Most `classes` of a Teachable Machine workload.
pub const MAX_CLASSES: u32 = 1_000;
/// Most `samples_per_class` (the memory-ceiling search's own limit).
pub const MAX_SAMPLES_PER_CLASS: u32 = 1 << 26;
/// Longest scenario `name` (it names the run directory).
pub const MAX_NAME_CHARS: usize = 64;
/// Size keywords accepted for any workload, resolved by [`Group::sizes_for`].
pub const SIZE_KEYWORDS: [&str; 4] = ["smallest", "largest", "all", "default"];

/// What the harness can run; scenario names are checked against it.
pub trait Catalog {
    /// Known workload names.
    fn workloads(&self) -> Vec<String>;
    /// Size preset names of `workload`, smallest first.
    fn sizes(&self, workload: &str) -> Vec<String>;
    /// The preset used for `"default"`.
    fn default_size(&self, workload: &str) -> String;
    /// Known target names (native backends, node, browsers).
    fn targets(&self) -> Vec<String>;
    /// Known wasm-side backend names.
    fn backends(&self) -> Vec<String>;
    /// Known meter names.
    fn meters(&self) -> Vec<String>;
}

/// A parsed, validated scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scenario {
    pub path: PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub shuffle: bool,
    pub groups: Vec<Group>,
}

/// One `[[group]]`, with file-level defaults already merged in (group values win).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// 1-based line of the `[[group]]` header (or of the inline table).
    pub line: usize,
    pub workloads: Vec<String>,
    /// Raw size names as written: preset names and/or `smallest`/`largest`/`all`/`default`.
    pub sizes: Vec<String>,
    pub targets: Vec<String>,
    pub contexts: Vec<String>,
    /// The SIMD builds to run: `true`, `false`, `"relaxed"`, `"memory64"` (see [`Simd`]).
    pub simd: Vec<Simd>,
    pub backends: Vec<String>,
    /// Train this many full epochs instead of `warmup` + `steps`.
    pub epochs: Option<u32>,
    pub warmup: u32,
    /// The most warm-up steps past `warmup` the probe runs until the step time settles; 0: a
    /// fixed warm-up. Not used with `epochs` or `warmup = 0`.
    pub max_extra_warmup: u32,
    pub steps: u32,
    pub repetitions: u32,
    pub timeout_s: u64,
    pub meters: Vec<String>,
    pub classes: Option<u32>,
    pub samples_per_class: Option<u32>,
    /// Test-only fault injection handed to the probe: "panic", "pool-panic", "hang" or
    /// "alloc:<MiB>"; or "slowdown:<fraction>", every step that much slower (what a verdict
    /// detects).
    /// Used by the fault-injection tests; never set it in a real measurement.
    pub fault: Option<String>,
    /// A memory-ceiling search instead of plain cases: "samples" (tm-image) or "model" (mlp
    /// presets); see ceiling.rs.
    pub search: Option<String>,
    /// The `threads` axis: train on each of these thread counts (natively a pool of OS threads,
    /// in wasm the `threads` build with a pool of workers). Empty: not set, the single-threaded
    /// builds as before the axis existed.
    pub threads: Vec<u32>,
}

impl Group {
    /// A concrete size list for one workload of a group ("smallest"/"largest"/"all"/"default"
    /// resolved), in the order written, without duplicates.
    pub fn sizes_for(&self, workload: &str, catalog: &dyn Catalog) -> Vec<String> {
        let presets = catalog.sizes(workload);
        let mut out: Vec<String> = Vec::new();
        let mut push = |s: &str| {
            if !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        };
        for size in &self.sizes {
            match size.as_str() {
                "smallest" => match presets.first() {
                    Some(p) => push(p),
                    None => push(&catalog.default_size(workload)),
                },
                "largest" => match presets.last() {
                    Some(p) => push(p),
                    None => push(&catalog.default_size(workload)),
                },
                "all" if presets.is_empty() => push(&catalog.default_size(workload)),
                "all" => presets.iter().for_each(|p| push(p)),
                "default" => push(&catalog.default_size(workload)),
                other => push(other),
            }
        }
        out
    }
}

/// A scenario that could not be read or is invalid; `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: PathBuf,
    /// 1-based line, where the problem has a place in the file.
    pub line: Option<usize>,
    /// 1-based column (in characters), where the problem has a place in the file.
    pub column: Option<usize>,
    /// The offending key (e.g. `steps`), where there is one.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}
