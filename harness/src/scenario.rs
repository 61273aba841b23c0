//! Scenario files: a TOML suite of workloads × sizes × targets × contexts × repetitions,
//! validated against a caller-supplied [`Catalog`], with `file:line:column` errors naming the key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

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
        _ => None,
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

const TOP_KEYS: [&str; 10] = [
    "name",
    "description",
    "seed",
    "repetitions",
    "warmup",
    "max_extra_warmup",
    "steps",
    "timeout_s",
    "shuffle",
    "group",
];

const GROUP_KEYS: [&str; 17] = [
    "workloads",
    "sizes",
    "targets",
    "contexts",
    "simd",
    "backends",
    "epochs",
    "steps",
    "warmup",
    "max_extra_warmup",
    "repetitions",
    "timeout_s",
    "meters",
    "classes",
    "samples_per_class",
    "fault",
    "search",
];

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
    pub simd: Vec<bool>,
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
    /// Test-only fault injection handed to the probe: "panic", "hang" or "alloc:<MiB>"; or
    /// "slowdown:<fraction>", every step that much slower (what a verdict detects).
    /// Used by the fault-injection tests; never set it in a real measurement.
    pub fault: Option<String>,
    /// A memory-ceiling search instead of plain cases: "samples" (tm-image) or "model" (mlp
    /// presets); see ceiling.rs.
    pub search: Option<String>,
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

/// Reads and validates the scenario file at `path`.
pub fn load(path: &Path, catalog: &dyn Catalog) -> Result<Scenario, ScenarioError> {
    load_with_text(path, catalog).map(|(s, _)| s)
}

/// Reads and validates the scenario file at `path`; also returns the text that was validated
/// (a run keeps a copy of it).
pub fn load_with_text(
    path: &Path,
    catalog: &dyn Catalog,
) -> Result<(Scenario, String), ScenarioError> {
    use std::io::Read;
    let bare = |line: Option<(usize, usize)>, message: String| ScenarioError {
        file: path.to_path_buf(),
        line: line.map(|l| l.0),
        column: line.map(|l| l.1),
        key: None,
        message,
    };
    let cannot = |e: std::io::Error| bare(None, format!("cannot read scenario file: {e}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    // Read one byte past the limit to tell a file that is too large without reading it all.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(bare(
            None,
            format!(
                "scenario file is larger than {} KiB (the most a scenario may be); is this a scenario?",
                MAX_FILE_BYTES / 1024
            ),
        ));
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let prefix = std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or("");
            let at = line_col(prefix, prefix.len());
            return Err(bare(Some(at), "file is not valid UTF-8".to_string()));
        }
    };
    let scenario = parse(&text, path, catalog)?;
    Ok((scenario, text))
}

/// Validates scenario `text`; `path` is only used to label errors and [`Scenario::path`].
pub fn parse(text: &str, path: &Path, catalog: &dyn Catalog) -> Result<Scenario, ScenarioError> {
    let cx = Cx { text, path };
    let root = DeTable::parse(text).map_err(|e| {
        let first = e.message().lines().next().unwrap_or("").trim();
        cx.err(e.span(), None, format!("not valid TOML: {first}"))
    })?;
    let root = root.get_ref();
    if root.is_empty() {
        return Err(cx.err(
            None,
            None,
            "file is empty (expected at least `name` and one [[group]])".to_string(),
        ));
    }

    let mut name = None;
    let mut description = None;
    let mut seed = DEFAULT_SEED;
    let mut shuffle = true;
    let mut defaults = Defaults {
        repetitions: DEFAULT_REPETITIONS,
        warmup: DEFAULT_WARMUP,
        max_extra_warmup: DEFAULT_MAX_EXTRA_WARMUP,
        steps: DEFAULT_STEPS,
        timeout_s: DEFAULT_TIMEOUT_S,
    };
    let mut group_entry = None;
    for (key, value) in in_source_order(root) {
        let f = Field::new(key, value, String::new());
        match f.key {
            "name" => {
                let s = cx.string(&f)?;
                if s.trim().is_empty() {
                    return Err(cx.at_value(
                        &f,
                        format!(
                            "`name` must be a non-empty string, found {}",
                            found(f.value.get_ref())
                        ),
                    ));
                }
                if !is_plain_name(s) {
                    return Err(cx.at_value(
                        &f,
                        format!(
                            "`name` names the run directory: expected at most {MAX_NAME_CHARS} letters, digits, `-`, `_` or `.`, not starting with `.`, found {}",
                            found(f.value.get_ref())
                        ),
                    ));
                }
                name = Some(s.to_string());
            }
            "description" => description = Some(cx.string(&f)?.to_string()),
            "seed" => seed = cx.int(&f, 0, u64::MAX.into())? as u64,
            "shuffle" => shuffle = cx.boolean(&f)?,
            "repetitions" => defaults.repetitions = cx.u32(&f, 1, MAX_REPETITIONS)?,
            "warmup" => defaults.warmup = cx.u32(&f, 0, MAX_STEPS)?,
            "max_extra_warmup" => defaults.max_extra_warmup = cx.u32(&f, 0, MAX_STEPS)?,
            "steps" => defaults.steps = cx.u32(&f, 1, MAX_STEPS)?,
            "timeout_s" => defaults.timeout_s = cx.int(&f, 1, MAX_TIMEOUT_S.into())? as u64,
            "group" => group_entry = Some(f),
            other => {
                let hint = if GROUP_KEYS.contains(&other) {
                    format!(
                        "`{other}` is a [[group]] key at the top level; put it under a [[group]] header"
                    )
                } else {
                    unknown(
                        &format!("key `{}`", esc(other)),
                        other,
                        " at the top level",
                        &TOP_KEYS,
                    )
                };
                return Err(cx.err(Some(key.span()), Some(other), hint));
            }
        }
    }

    let Some(name) = name else {
        return Err(cx.err(
            None,
            Some("name"),
            "missing required key `name` (a non-empty string naming the scenario)".to_string(),
        ));
    };
    let no_groups = "no [[group]] tables (a scenario needs at least one [[group]] with `workloads` and `targets`)";
    let Some(g) = group_entry else {
        return Err(cx.err(None, Some("group"), no_groups.to_string()));
    };
    let tables = match g.value.get_ref() {
        DeValue::Array(items) if items.is_empty() => {
            return Err(cx.at_value(&g, no_groups.to_string()));
        }
        DeValue::Array(items) => items,
        other => {
            return Err(cx.at_value(
                &g,
                format!(
                    "`group` must be an array of tables ([[group]]), found {}",
                    found(other)
                ),
            ));
        }
    };
    let mut groups = Vec::with_capacity(tables.len());
    let mut planned: u64 = 0;
    for (i, item) in tables.iter().enumerate() {
        let DeValue::Table(table) = item.get_ref() else {
            return Err(cx.err(
                Some(item.span()),
                Some("group"),
                format!(
                    "`group` entries must be tables ([[group]]), found {}",
                    found(item.get_ref())
                ),
            ));
        };
        groups.push(cx.group(i + 1, item.span(), table, &defaults, catalog, &mut planned)?);
    }

    Ok(Scenario {
        path: path.to_path_buf(),
        name,
        description,
        seed,
        shuffle,
        groups,
    })
}

struct Defaults {
    repetitions: u32,
    warmup: u32,
    max_extra_warmup: u32,
    steps: u32,
    timeout_s: u64,
}

/// One `key = value` entry plus where it lives (`""` or `" in [[group]] N"`).
struct Field<'a, 'i> {
    key: &'a str,
    key_span: Range<usize>,
    value: &'a Spanned<DeValue<'i>>,
    place: String,
}

impl<'a, 'i> Field<'a, 'i> {
    fn new(key: &'a Spanned<DeString<'i>>, value: &'a Spanned<DeValue<'i>>, place: String) -> Self {
        Field {
            key: key.get_ref().as_ref(),
            key_span: key.span(),
            value,
            place,
        }
    }

    /// "`steps`" or "`steps` in [[group]] 2", for messages.
    fn name(&self) -> String {
        format!("`{}`{}", esc(self.key), self.place)
    }
}

struct Cx<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Cx<'_> {
    fn err(&self, span: Option<Range<usize>>, key: Option<&str>, message: String) -> ScenarioError {
        let at = span.map(|s| line_col(self.text, s.start));
        ScenarioError {
            file: self.path.to_path_buf(),
            line: at.map(|a| a.0),
            column: at.map(|a| a.1),
            key: key.map(str::to_string),
            message: message.replace(['\n', '\r'], " "),
        }
    }

    fn at_value(&self, f: &Field<'_, '_>, message: String) -> ScenarioError {
        self.err(Some(f.value.span()), Some(f.key), message)
    }

    fn at(&self, f: &Field<'_, '_>, span: Range<usize>, message: String) -> ScenarioError {
        self.err(Some(span), Some(f.key), message)
    }

    fn string<'v>(&self, f: &'v Field<'_, '_>) -> Result<&'v str, ScenarioError> {
        match f.value.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            other => Err(self.at_value(
                f,
                format!("{} must be a string, found {}", f.name(), found(other)),
            )),
        }
    }

    fn boolean(&self, f: &Field<'_, '_>) -> Result<bool, ScenarioError> {
        match f.value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            other => Err(self.at_value(
                f,
                format!(
                    "{} must be a boolean (true or false), found {}",
                    f.name(),
                    found(other)
                ),
            )),
        }
    }

    /// An integer in `min..=max`; the message states the bound that was broken.
    fn int(&self, f: &Field<'_, '_>, min: i128, max: i128) -> Result<i128, ScenarioError> {
        let want = format!("{} must be an integer >= {min}", f.name());
        let DeValue::Integer(int) = f.value.get_ref() else {
            return Err(self.at_value(f, format!("{want}, found {}", found(f.value.get_ref()))));
        };
        let shown = esc(&int.to_string());
        match i128::from_str_radix(int.as_str(), int.radix()) {
            Ok(n) if n < min => Err(self.at_value(f, format!("{want}, found {shown}"))),
            Ok(n) if n <= max => Ok(n),
            _ => Err(self.at_value(
                f,
                format!("{want}, found {shown} (too large: the maximum is {max})"),
            )),
        }
    }

    fn u32(&self, f: &Field<'_, '_>, min: u32, max: u32) -> Result<u32, ScenarioError> {
        // The range check makes the conversion lossless.
        self.int(f, min.into(), max.into()).map(|n| n as u32)
    }

    /// A non-empty array whose items are all strings, with each item's span; no duplicates.
    fn strings(
        &self,
        f: &Field<'_, '_>,
        what: &str,
    ) -> Result<Vec<(String, Range<usize>)>, ScenarioError> {
        let items = self.array(f, "strings")?;
        let mut out: Vec<(String, Range<usize>)> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let DeValue::String(s) = item.get_ref() else {
                return Err(self.at(
                    f,
                    item.span(),
                    format!(
                        "{} must be an array of strings, found {} at index {i}",
                        f.name(),
                        found(item.get_ref())
                    ),
                ));
            };
            if out.iter().any(|(o, _)| o == s.as_ref()) {
                return Err(self.at(
                    f,
                    item.span(),
                    format!("duplicate {what} `{}`{}", esc(s), f.place),
                ));
            }
            out.push((s.to_string(), item.span()));
        }
        Ok(out)
    }

    fn booleans(&self, f: &Field<'_, '_>) -> Result<Vec<bool>, ScenarioError> {
        let items = self.array(f, "booleans")?;
        let mut out: Vec<bool> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let DeValue::Boolean(b) = item.get_ref() else {
                return Err(self.at(
                    f,
                    item.span(),
                    format!(
                        "{} must be an array of booleans (true/false), found {} at index {i}",
                        f.name(),
                        found(item.get_ref())
                    ),
                ));
            };
            if out.contains(b) {
                return Err(self.at(
                    f,
                    item.span(),
                    format!("duplicate {} value `{b}`{}", esc(f.key), f.place),
                ));
            }
            out.push(*b);
        }
        Ok(out)
    }

    fn array<'v, 'i>(
        &self,
        f: &'v Field<'_, 'i>,
        of: &str,
    ) -> Result<&'v [Spanned<DeValue<'i>>], ScenarioError> {
        match f.value.get_ref() {
            DeValue::Array(items) if items.is_empty() => Err(self.at_value(
                f,
                format!(
                    "{} must be a non-empty array of {of}, found an empty array",
                    f.name()
                ),
            )),
            DeValue::Array(items) => Ok(items),
            other => {
                let hint = match other {
                    DeValue::String(s) => {
                        format!(" (write `{} = [{:?}]`)", esc(f.key), truncate(s))
                    }
                    DeValue::Boolean(b) => format!(" (write `{} = [{b}]`)", esc(f.key)),
                    _ => String::new(),
                };
                Err(self.at_value(
                    f,
                    format!(
                        "{} must be an array of {of}, found {}{hint}",
                        f.name(),
                        found(other)
                    ),
                ))
            }
        }
    }

    /// Checks every name against `known`, pointing at the first unknown one.
    fn known(
        &self,
        f: &Field<'_, '_>,
        what: &str,
        names: &[(String, Range<usize>)],
        known: &[String],
    ) -> Result<(), ScenarioError> {
        for (name, span) in names {
            if !known.iter().any(|k| k == name) {
                let msg = unknown(&format!("{what} `{}`", esc(name)), name, &f.place, known);
                return Err(self.at(f, span.clone(), msg));
            }
        }
        Ok(())
    }

    fn group(
        &self,
        index: usize,
        span: Range<usize>,
        table: &DeTable<'_>,
        defaults: &Defaults,
        catalog: &dyn Catalog,
        planned: &mut u64,
    ) -> Result<Group, ScenarioError> {
        let place = format!(" in [[group]] {index}");
        // Where each key of this group is written, for errors found after the loop.
        let mut spans: Vec<(&'static str, Range<usize>)> = Vec::new();
        let line = line_col(self.text, span.start).0;
        let mut g = Group {
            line,
            workloads: Vec::new(),
            sizes: vec!["default".to_string()],
            targets: Vec::new(),
            contexts: vec!["main".to_string()],
            simd: vec![true],
            backends: vec!["ndarray".to_string()],
            epochs: None,
            warmup: defaults.warmup,
            max_extra_warmup: defaults.max_extra_warmup,
            steps: defaults.steps,
            repetitions: defaults.repetitions,
            timeout_s: defaults.timeout_s,
            meters: vec!["throughput".to_string()],
            classes: None,
            samples_per_class: None,
            fault: None,
            search: None,
        };
        let mut search_at = None;
        let mut workloads = false;
        let mut sizes = None;
        let mut targets = false;
        let strip =
            |v: Vec<(String, Range<usize>)>| v.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        for (key, value) in in_source_order(table) {
            let f = Field::new(key, value, place.clone());
            if let Some(k) = GROUP_KEYS.iter().find(|k| **k == f.key) {
                spans.push((*k, f.value.span()));
            }
            match f.key {
                "workloads" => {
                    let names = self.strings(&f, "workload")?;
                    self.known(&f, "workload", &names, &catalog.workloads())?;
                    g.workloads = strip(names);
                    workloads = true;
                }
                "sizes" => {
                    // Checked against the workloads below, once both are known.
                    let names = self.strings(&f, "size")?;
                    sizes = Some((f, names));
                }
                "targets" => {
                    let names = self.strings(&f, "target")?;
                    self.known(&f, "target", &names, &catalog.targets())?;
                    g.targets = strip(names);
                    targets = true;
                }
                "contexts" => {
                    let names = self.strings(&f, "context")?;
                    let known: Vec<String> = CONTEXTS.iter().map(|c| c.to_string()).collect();
                    self.known(&f, "context", &names, &known)?;
                    g.contexts = strip(names);
                }
                "backends" => {
                    let names = self.strings(&f, "backend")?;
                    self.known(&f, "backend", &names, &catalog.backends())?;
                    g.backends = strip(names);
                }
                "meters" => {
                    let names = self.strings(&f, "meter")?;
                    self.known(&f, "meter", &names, &catalog.meters())?;
                    g.meters = strip(names);
                }
                "simd" => g.simd = self.booleans(&f)?,
                "epochs" => g.epochs = Some(self.u32(&f, 1, MAX_EPOCHS)?),
                "steps" => g.steps = self.u32(&f, 1, MAX_STEPS)?,
                "warmup" => g.warmup = self.u32(&f, 0, MAX_STEPS)?,
                "max_extra_warmup" => g.max_extra_warmup = self.u32(&f, 0, MAX_STEPS)?,
                "repetitions" => g.repetitions = self.u32(&f, 1, MAX_REPETITIONS)?,
                "timeout_s" => g.timeout_s = self.int(&f, 1, MAX_TIMEOUT_S.into())? as u64,
                "classes" => g.classes = Some(self.u32(&f, 2, MAX_CLASSES)?),
                "samples_per_class" => {
                    g.samples_per_class = Some(self.u32(&f, 1, MAX_SAMPLES_PER_CLASS)?)
                }
                "fault" => {
                    let v = self.string(&f)?;
                    let alloc_ok = v
                        .strip_prefix("alloc:")
                        .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0));
                    let slow_ok = wasm_probe::measure::slowdown_of(v).is_some_and(|s| s.is_ok());
                    if !(v == "panic" || v == "hang" || alloc_ok || slow_ok) {
                        return Err(self.at_value(
                            &f,
                            format!(
                                "{} must be \"panic\", \"hang\", \"alloc:<MiB>\" (test-only fault injection) or \"slowdown:<fraction>\" (0 < fraction <= 10: every step that much slower, to check what a verdict detects), found \"{}\"",
                                f.name(),
                                esc(v)
                            ),
                        ));
                    }
                    g.fault = Some(v.to_string());
                }
                "search" => {
                    let v = self.string(&f)?;
                    if !SEARCHES.contains(&v) {
                        return Err(self.at_value(
                            &f,
                            format!(
                                "{} must be \"samples\" or \"model\" (a memory-ceiling search), found \"{}\"",
                                f.name(),
                                esc(v)
                            ),
                        ));
                    }
                    g.search = Some(v.to_string());
                    search_at = Some(f);
                }
                other => {
                    let hint = if TOP_KEYS.contains(&other) {
                        format!(
                            "`{other}` is a top-level key, not allowed{place} (move it above the first [[group]])"
                        )
                    } else {
                        unknown(&format!("key `{}`", esc(other)), other, &place, &GROUP_KEYS)
                    };
                    return Err(self.err(Some(f.key_span), Some(other), hint));
                }
            }
        }
        let missing = |key: &str, what: &str| {
            self.err(
                Some(span.clone()),
                Some(key),
                format!("[[group]] {index} is missing required key `{key}` ({what})"),
            )
        };
        if !workloads {
            return Err(missing(
                "workloads",
                "a non-empty array of workload names, e.g. [\"mlp\"]",
            ));
        }
        if !targets {
            return Err(missing(
                "targets",
                "a non-empty array of target names, e.g. [\"native-ndarray\"]",
            ));
        }
        if let Some((f, names)) = sizes {
            for (size, at) in &names {
                if SIZE_KEYWORDS.contains(&size.as_str()) {
                    continue;
                }
                for workload in &g.workloads {
                    let mut presets = catalog.sizes(workload);
                    if presets.contains(size) {
                        continue;
                    }
                    for k in SIZE_KEYWORDS {
                        if !presets.iter().any(|p| p == k) {
                            presets.push(k.to_string());
                        }
                    }
                    let subject = format!("size `{}` for workload `{}`", esc(size), esc(workload));
                    let msg = unknown(&subject, size, &f.place, &presets);
                    return Err(self.at(&f, at.clone(), msg));
                }
            }
            g.sizes = strip(names);
        }
        if let (Some(f), Some(search)) = (&search_at, &g.search) {
            let want = workload_of(search);
            if g.workloads.iter().any(|w| w != want) {
                return Err(self.at_value(
                    f,
                    format!(
                        "{} = \"{search}\" searches workload `{want}`: set workloads = [\"{want}\"]",
                        f.name()
                    ),
                ));
            }
        }
        self.check_plan_size(index, &span, &spans, &g, catalog, planned)?;
        Ok(g)
    }

    /// Count the cases `g` plans (with checked arithmetic, from the parsed counts, before any
    /// case exists) and add them to `planned`; past [`MAX_CASES`] is an error naming the field
    /// that multiplies most.
    fn check_plan_size(
        &self,
        index: usize,
        span: &Range<usize>,
        spans: &[(&'static str, Range<usize>)],
        g: &Group,
        catalog: &dyn Catalog,
        planned: &mut u64,
    ) -> Result<(), ScenarioError> {
        let sizes: u64 = g
            .workloads
            .iter()
            .map(|w| g.sizes_for(w, catalog).len() as u64)
            .sum();
        // Variants per size: a native target runs one; node one per backend x SIMD; a browser
        // one per backend x SIMD x context.
        let per_wasm = (g.backends.len() as u64).checked_mul(g.simd.len() as u64);
        let variants: Option<u64> = g.targets.iter().try_fold(0u64, |acc, t| {
            let n = if native_backend(t).is_some() {
                Some(1)
            } else if t == "node" {
                per_wasm
            } else {
                per_wasm.and_then(|p| p.checked_mul(g.contexts.len() as u64))
            }?;
            acc.checked_add(n)
        });
        let per_case = if g.search.is_some() {
            MAX_TRIALS as u64 + 1
        } else {
            1
        };
        let total = variants
            .and_then(|v| v.checked_mul(sizes))
            .and_then(|n| n.checked_mul(g.repetitions as u64))
            .and_then(|n| n.checked_mul(per_case))
            .and_then(|n| n.checked_add(*planned));
        match total {
            Some(t) if t <= MAX_CASES => {
                *planned = t;
                Ok(())
            }
            _ => {
                let factors = [
                    ("repetitions", g.repetitions as u64),
                    ("sizes", sizes),
                    ("targets", variants.unwrap_or(u64::MAX)),
                ];
                let (key, _) = factors
                    .iter()
                    .max_by_key(|(_, n)| *n)
                    .copied()
                    .unwrap_or(("repetitions", 0));
                let at = spans
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_else(|| span.clone());
                let search = if per_case > 1 {
                    format!(" x {per_case} trials of a search")
                } else {
                    String::new()
                };
                let count = match total {
                    Some(t) => t.to_string(),
                    None => "more than 2^64".to_string(),
                };
                Err(self.err(
                    Some(at),
                    Some(key),
                    format!(
                        "`{key}` in [[group]] {index}: the scenario would plan {count} cases ({sizes} workload size(s) x {} target variant(s) x {} repetition(s){search}, plus {} before this group); the most a scenario may plan is {MAX_CASES}: lower `{key}`",
                        variants.map_or("too many".to_string(), |v| v.to_string()),
                        g.repetitions,
                        *planned,
                    ),
                ))
            }
        }
    }
}

/// Whether `name` can name a directory under `results/`: at most [`MAX_NAME_CHARS`] ASCII
/// letters, digits, `-`, `_` or `.`, not starting with `.` (no `..`, no `/`, nothing hidden).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Entries of a table in the order they appear in the file (toml's map is sorted by key).
fn in_source_order<'a, 'i>(
    table: &'a DeTable<'i>,
) -> Vec<(&'a Spanned<DeString<'i>>, &'a Spanned<DeValue<'i>>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

/// "unknown {subject}{place}: did you mean `x`? (expected one of: a, b)", where `subject`
/// names the unknown `name`, e.g. "workload `mlpp`".
fn unknown<S: AsRef<str>>(subject: &str, name: &str, place: &str, known: &[S]) -> String {
    let mut msg = format!("unknown {subject}{place}");
    if let Some(best) = closest(name, known) {
        msg.push_str(&format!(": did you mean `{}`?", esc(best)));
    }
    if known.is_empty() {
        msg.push_str(" (the catalog has none)");
    } else {
        let list: Vec<String> = known.iter().map(|k| esc(k.as_ref())).collect();
        msg.push_str(&format!(" (expected one of: {})", list.join(", ")));
    }
    msg
}

/// The known name closest to `name`, if within edit distance 2 (case-insensitively).
fn closest<'k, S: AsRef<str>>(name: &str, known: &'k [S]) -> Option<&'k str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .map(|k| k.as_ref())
        .filter_map(|k| edit_distance(&lower, &k.to_lowercase(), 2).map(|d| (d, k)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance between `a` and `b`, or `None` when it exceeds `limit`.
fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= limit).then_some(d)
}

/// How a value that had the wrong type or range reads in a message.
fn found(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) if s.is_empty() => "an empty string".to_string(),
        DeValue::String(s) => format!("string {:?}", truncate(s)),
        DeValue::Integer(i) => format!("integer {}", esc(&i.to_string())),
        DeValue::Float(x) => format!("float {}", esc(x.as_str())),
        DeValue::Boolean(b) => format!("boolean {b}"),
        DeValue::Datetime(d) => format!("datetime {d}"),
        DeValue::Array(a) if a.is_empty() => "an empty array".to_string(),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

/// At most 40 characters of user text, so an error stays readable.
fn truncate(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

/// User text shown between backticks: truncated, control characters escaped.
fn esc(s: &str) -> String {
    truncate(s).escape_debug().to_string()
}

/// 1-based (line, column in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestCatalog;

    fn owned(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    impl Catalog for TestCatalog {
        fn workloads(&self) -> Vec<String> {
            owned(&["tm-image", "mlp"])
        }
        fn sizes(&self, workload: &str) -> Vec<String> {
            match workload {
                "tm-image" => owned(&["default"]),
                "mlp" => owned(&["0.1m", "1m", "10m", "100m"]),
                _ => Vec::new(),
            }
        }
        fn default_size(&self, workload: &str) -> String {
            match workload {
                "mlp" => "1m".to_string(),
                _ => "default".to_string(),
            }
        }
        fn targets(&self) -> Vec<String> {
            owned(&[
                "native-ndarray",
                "native-flex",
                "native-wgpu",
                "node",
                "chromium",
                "firefox",
                "webkit",
            ])
        }
        fn backends(&self) -> Vec<String> {
            owned(&["ndarray", "flex", "webgpu"])
        }
        fn meters(&self) -> Vec<String> {
            owned(&["throughput", "memory"])
        }
    }

    const PATH: &str = "scenarios/x.toml";

    const VALID: &str = r#"name = "native-smoke"
description = "smoke test"
seed = 7
repetitions = 2
warmup = 1
steps = 5
timeout_s = 300
shuffle = false

[[group]]
workloads = ["tm-image", "mlp"]
sizes = ["smallest"]
targets = ["native-ndarray"]

[[group]]
workloads = ["mlp"]
sizes = ["1m", "largest", "all"]
targets = ["node", "chromium"]
contexts = ["main", "worker"]
simd = [true, false]
backends = ["ndarray", "webgpu"]
epochs = 50
steps = 10
warmup = 0
repetitions = 3
timeout_s = 60
meters = ["throughput", "memory"]
classes = 3
samples_per_class = 300
"#;

    const MINIMAL: &str = "name = \"m\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n";

    fn ok(text: &str) -> Scenario {
        match parse(text, Path::new(PATH), &TestCatalog) {
            Ok(s) => s,
            Err(e) => panic!("expected a valid scenario, got: {e}"),
        }
    }

    fn err(text: &str) -> ScenarioError {
        match parse(text, Path::new(PATH), &TestCatalog) {
            Ok(s) => panic!("expected an error, parsed: {s:?}"),
            Err(e) => e,
        }
    }

    /// Asserts the error's line, key and a message fragment; returns it for more checks.
    fn expect(text: &str, line: Option<usize>, key: Option<&str>, fragment: &str) -> ScenarioError {
        let e = err(text);
        assert_eq!(e.line, line, "line of: {e}");
        assert_eq!(e.key.as_deref(), key, "key of: {e}");
        assert!(e.message.contains(fragment), "`{fragment}` not in: {e}");
        assert_eq!(e.file, Path::new(PATH));
        assert!(!e.to_string().contains('\n'), "not one line: {e:?}");
        e
    }

    /// MINIMAL with `extra` lines appended inside its [[group]] (which starts on line 2).
    fn in_group(extra: &str) -> String {
        format!("{MINIMAL}{extra}\n")
    }

    #[test]
    fn valid_file_applies_overrides() {
        let s = ok(VALID);
        assert_eq!(s.path, Path::new(PATH));
        assert_eq!(s.name, "native-smoke");
        assert_eq!(s.description.as_deref(), Some("smoke test"));
        assert_eq!(s.seed, 7);
        assert!(!s.shuffle);
        assert_eq!(s.groups.len(), 2);

        let g = &s.groups[0];
        assert_eq!(g.line, 10);
        assert_eq!(g.workloads, ["tm-image", "mlp"]);
        assert_eq!(g.sizes, ["smallest"]);
        assert_eq!(g.targets, ["native-ndarray"]);
        assert_eq!(g.contexts, ["main"]);
        assert_eq!(g.simd, [true]);
        assert_eq!(g.backends, ["ndarray"]);
        assert_eq!(g.meters, ["throughput"]);
        assert_eq!(
            (g.warmup, g.steps, g.repetitions, g.timeout_s),
            (1, 5, 2, 300)
        );
        assert_eq!(
            (g.epochs, g.classes, g.samples_per_class),
            (None, None, None)
        );

        let g = &s.groups[1];
        assert_eq!(g.line, 15);
        assert_eq!(g.workloads, ["mlp"]);
        assert_eq!(g.sizes, ["1m", "largest", "all"]);
        assert_eq!(g.targets, ["node", "chromium"]);
        assert_eq!(g.contexts, ["main", "worker"]);
        assert_eq!(g.simd, [true, false]);
        assert_eq!(g.backends, ["ndarray", "webgpu"]);
        assert_eq!(g.meters, ["throughput", "memory"]);
        assert_eq!(
            (g.warmup, g.steps, g.repetitions, g.timeout_s),
            (0, 10, 3, 60)
        );
        assert_eq!(
            (g.epochs, g.classes, g.samples_per_class),
            (Some(50), Some(3), Some(300))
        );
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let s = ok(MINIMAL);
        assert_eq!(s.name, "m");
        assert_eq!(s.description, None);
        assert_eq!(s.seed, DEFAULT_SEED);
        assert!(s.shuffle);
        let g = &s.groups[0];
        assert_eq!(g.line, 2);
        assert_eq!(g.sizes, ["default"]);
        assert_eq!(g.contexts, ["main"]);
        assert_eq!(g.simd, [true]);
        assert_eq!(g.backends, ["ndarray"]);
        assert_eq!(g.meters, ["throughput"]);
        assert_eq!(
            (g.warmup, g.steps, g.repetitions, g.timeout_s),
            (
                DEFAULT_WARMUP,
                DEFAULT_STEPS,
                DEFAULT_REPETITIONS,
                DEFAULT_TIMEOUT_S
            )
        );
        assert_eq!(
            (s.seed, g.warmup, g.steps, g.repetitions, g.timeout_s),
            (42, 3, 20, 1, 600)
        );
    }

    #[test]
    fn inline_group_array_and_any_key_order() {
        let text =
            "group = [{ targets = [\"webkit\"], workloads = [\"tm-image\"] }]\nname = \"late\"\n";
        let s = ok(text);
        assert_eq!(s.name, "late");
        assert_eq!(s.groups[0].line, 1);
        assert_eq!(s.groups[0].targets, ["webkit"]);
    }

    #[test]
    fn sizes_resolve_per_workload() {
        let s = ok(VALID);
        let cat = TestCatalog;
        assert_eq!(s.groups[0].sizes_for("tm-image", &cat), ["default"]);
        assert_eq!(s.groups[0].sizes_for("mlp", &cat), ["0.1m"]);
        assert_eq!(
            s.groups[1].sizes_for("mlp", &cat),
            ["1m", "100m", "0.1m", "10m"]
        );
        let s = ok(MINIMAL);
        assert_eq!(s.groups[0].sizes_for("mlp", &cat), ["1m"]);
        let s = ok(&in_group(
            "sizes = [\"largest\", \"default\", \"smallest\"]",
        ));
        assert_eq!(s.groups[0].sizes_for("mlp", &cat), ["100m", "1m", "0.1m"]);
        assert_eq!(s.groups[0].sizes_for("unknown", &cat), ["default"]);
    }

    /// The file parses; the plan then refuses the repeated cases (plan.rs, tests/bad_input.rs).
    #[test]
    fn duplicate_groups_are_fine() {
        let text = format!("{MINIMAL}[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n");
        let s = ok(&text);
        assert_eq!(s.groups.len(), 2);
        assert_eq!(s.groups[0].workloads, s.groups[1].workloads);
        assert_eq!(s.groups[1].line, 5);
    }

    #[test]
    fn display_is_one_line_with_position() {
        let e = err(
            "name = \"x\"\n\nsteps = -5\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n",
        );
        assert_eq!(
            e.to_string(),
            "scenarios/x.toml:3:9: `steps` must be an integer >= 1, found -5"
        );
        assert_eq!(
            (e.line, e.column, e.key.as_deref()),
            (Some(3), Some(9), Some("steps"))
        );
        let e = err("");
        assert_eq!(
            e.to_string(),
            "scenarios/x.toml: file is empty (expected at least `name` and one [[group]])"
        );
        let e: Box<dyn std::error::Error> = Box::new(e);
        assert!(e.to_string().starts_with("scenarios/x.toml: "));
    }

    #[test]
    fn not_toml() {
        let e = expect(
            "name = \"x\"\n[[group]\nworkloads = []\n",
            Some(2),
            None,
            "not valid TOML: ",
        );
        assert!(e.column.is_some());
        assert!(e.to_string().starts_with("scenarios/x.toml:2:"), "{e}");
        expect(
            "name = \"x\"\nname = \"y\"\n",
            Some(2),
            None,
            "not valid TOML: duplicate key",
        );
        expect("name = \"unterminated\n", Some(1), None, "not valid TOML");
    }

    #[test]
    fn empty_file() {
        for text in ["", "   \n\t\n", "# only a comment\n\n# another\n"] {
            let e = expect(
                text,
                None,
                None,
                "file is empty (expected at least `name` and one [[group]])",
            );
            assert_eq!(e.column, None);
        }
    }

    #[test]
    fn missing_name() {
        expect(
            "[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n",
            None,
            Some("name"),
            "missing required key `name`",
        );
        expect(
            &MINIMAL.replace("\"m\"", "\"  \""),
            Some(1),
            Some("name"),
            "`name` must be a non-empty string",
        );
    }

    #[test]
    fn missing_group() {
        expect(
            "name = \"x\"\nseed = 1\n",
            None,
            Some("group"),
            "no [[group]] tables",
        );
        expect(
            "name = \"x\"\ngroup = []\n",
            Some(2),
            Some("group"),
            "no [[group]] tables",
        );
        expect(
            "name = \"x\"\n[group]\nworkloads = [\"mlp\"]\n",
            Some(2),
            Some("group"),
            "`group` must be an array of tables ([[group]]), found a table",
        );
        expect(
            "name = \"x\"\ngroup = [1]\n",
            Some(2),
            Some("group"),
            "`group` entries must be tables",
        );
    }

    #[test]
    fn missing_group_keys_point_at_the_header() {
        let text = "name = \"x\"\n\n[[group]]\ntargets = [\"node\"]\n";
        expect(
            text,
            Some(3),
            Some("workloads"),
            "[[group]] 1 is missing required key `workloads`",
        );
        let text = format!("{MINIMAL}\n[[group]]\nworkloads = [\"mlp\"]\n");
        expect(
            &text,
            Some(6),
            Some("targets"),
            "[[group]] 2 is missing required key `targets`",
        );
    }

    #[test]
    fn unknown_top_level_key() {
        let e = expect(
            "name = \"x\"\nstepz = 3\n",
            Some(2),
            Some("stepz"),
            "unknown key `stepz` at the top level: did you mean `steps`? (expected one of: name, description,",
        );
        assert_eq!(e.column, Some(1));
        expect(
            "name = \"x\"\nworkloads = [\"mlp\"]\n",
            Some(2),
            Some("workloads"),
            "is a [[group]] key",
        );
        expect(
            "name = \"x\"\n[tool.extra]\nx = 1\n",
            Some(2),
            Some("tool"),
            "unknown key `tool`",
        );
    }

    #[test]
    fn unknown_group_key() {
        let text =
            "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n\n  stepz = 3\n";
        let e = expect(
            text,
            Some(6),
            Some("stepz"),
            "unknown key `stepz` in [[group]] 1: did you mean `steps`? (expected one of: workloads, sizes, targets,",
        );
        assert_eq!(e.column, Some(3));
        expect(
            &in_group("seed = 1"),
            Some(5),
            Some("seed"),
            "`seed` is a top-level key, not allowed in [[group]] 1",
        );
        expect(
            &in_group("[group.sub]\nx = 1"),
            Some(5),
            Some("sub"),
            "unknown key `sub` in [[group]] 1",
        );
    }

    #[test]
    fn wrong_types() {
        expect(
            "name = \"x\"\nsteps = \"ten\"\n",
            Some(2),
            Some("steps"),
            "`steps` must be an integer >= 1, found string \"ten\"",
        );
        expect(
            &in_group("steps = 2.5"),
            Some(5),
            Some("steps"),
            "`steps` in [[group]] 1 must be an integer >= 1, found float 2.5",
        );
        expect(
            "name = \"x\"\n[[group]]\nworkloads = \"mlp\"\ntargets = [\"node\"]\n",
            Some(3),
            Some("workloads"),
            "`workloads` in [[group]] 1 must be an array of strings, found string \"mlp\" (write `workloads = [\"mlp\"]`)",
        );
        let e = expect(
            &in_group("simd = [true, \"yes\"]"),
            Some(5),
            Some("simd"),
            "`simd` in [[group]] 1 must be an array of booleans (true/false), found string \"yes\" at index 1",
        );
        assert_eq!(e.column, Some(15));
        expect(
            &in_group("simd = true"),
            Some(5),
            Some("simd"),
            "(write `simd = [true]`)",
        );
        expect(
            "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\", 3]\n",
            Some(4),
            Some("targets"),
            "found integer 3 at index 1",
        );
        expect(
            "name = 5\n",
            Some(1),
            Some("name"),
            "`name` must be a string, found integer 5",
        );
        expect(
            "name = \"x\"\nshuffle = \"yes\"\n",
            Some(2),
            Some("shuffle"),
            "`shuffle` must be a boolean",
        );
        expect(
            "name = \"x\"\ndescription = []\n",
            Some(2),
            Some("description"),
            "found an empty array",
        );
        expect(
            "name = \"x\"\nseed = 1979-05-27\n",
            Some(2),
            Some("seed"),
            "found datetime 1979-05-27",
        );
        expect(
            &in_group("contexts = []"),
            Some(5),
            Some("contexts"),
            "must be a non-empty array of strings",
        );
    }

    #[test]
    fn negative_and_zero_counts() {
        let e = expect(
            "name = \"x\"\nsteps = -5\n",
            Some(2),
            Some("steps"),
            "`steps` must be an integer >= 1, found -5",
        );
        assert_eq!(e.column, Some(9));
        expect(
            "name = \"x\"\nsteps = 0\n",
            Some(2),
            Some("steps"),
            "`steps` must be an integer >= 1, found 0",
        );
        expect(
            &in_group("steps = 0"),
            Some(5),
            Some("steps"),
            "`steps` in [[group]] 1 must be an integer >= 1, found 0",
        );
        expect(
            "name = \"x\"\nrepetitions = 0\n",
            Some(2),
            Some("repetitions"),
            "`repetitions` must be an integer >= 1, found 0",
        );
        expect(
            &in_group("repetitions = 0"),
            Some(5),
            Some("repetitions"),
            "must be an integer >= 1, found 0",
        );
        expect(
            "name = \"x\"\ntimeout_s = 0\n",
            Some(2),
            Some("timeout_s"),
            "`timeout_s` must be an integer >= 1, found 0",
        );
        expect(
            &in_group("timeout_s = 0"),
            Some(5),
            Some("timeout_s"),
            "must be an integer >= 1, found 0",
        );
        expect(
            "name = \"x\"\nwarmup = -1\n",
            Some(2),
            Some("warmup"),
            "`warmup` must be an integer >= 0, found -1",
        );
        expect(
            &in_group("epochs = 0"),
            Some(5),
            Some("epochs"),
            "must be an integer >= 1, found 0",
        );
        expect(
            &in_group("classes = 1"),
            Some(5),
            Some("classes"),
            "must be an integer >= 2, found 1",
        );
        expect(
            &in_group("samples_per_class = 0"),
            Some(5),
            Some("samples_per_class"),
            ">= 1, found 0",
        );
        expect(
            "name = \"x\"\nseed = -1\n",
            Some(2),
            Some("seed"),
            "`seed` must be an integer >= 0, found -1",
        );
        // Zero warm-up is allowed.
        assert_eq!(ok(&in_group("warmup = 0")).groups[0].warmup, 0);
    }

    #[test]
    fn max_extra_warmup_defaults_is_inherited_and_validated() {
        let g = &ok(MINIMAL).groups[0];
        assert_eq!(g.max_extra_warmup, DEFAULT_MAX_EXTRA_WARMUP);
        // a top-level default, a group's own value, and 0 (off)
        let s = ok(&format!("max_extra_warmup = 50\n{MINIMAL}"));
        assert_eq!(s.groups[0].max_extra_warmup, 50);
        assert_eq!(
            ok(&in_group("max_extra_warmup = 0")).groups[0].max_extra_warmup,
            0
        );
        expect(
            &in_group("max_extra_warmup = -1"),
            Some(5),
            Some("max_extra_warmup"),
            "`max_extra_warmup` in [[group]] 1 must be an integer >= 0, found -1",
        );
        expect(
            "name = \"x\"\nmax_extra_warmup = false\n",
            Some(2),
            Some("max_extra_warmup"),
            "`max_extra_warmup` must be an integer",
        );
        expect(
            &in_group("max_extra_warmup = 1000001"),
            Some(5),
            Some("max_extra_warmup"),
            "(too large: the maximum is 1000000)",
        );
    }

    #[test]
    fn the_case_id_names_a_warm_up_bound_other_than_the_default() {
        let ids = |extra: &str| -> Vec<String> {
            crate::plan::expand(&ok(&in_group(extra)), &TestCatalog)
                .unwrap()
                .into_iter()
                .map(|c| c.settings_id())
                .collect()
        };
        // w and s keep their meaning (fixed warm-up, measured steps); the default bound adds
        // nothing, so ids planned before the extension keep their names
        assert!(
            ids("warmup = 2\nsteps = 8")
                .iter()
                .all(|i| i == "w2-s8-seed42")
        );
        assert!(
            ids("warmup = 2\nsteps = 8\nmax_extra_warmup = 0")
                .iter()
                .all(|i| i == "w2-s8-seed42-xw0")
        );
        // no warm-up or epochs: nothing to extend, nothing in the id
        assert!(
            ids("warmup = 0\nmax_extra_warmup = 0")
                .iter()
                .all(|i| i == "w0-s20-seed42")
        );
        // two groups that differ only in the bound plan two cases
        let two = format!(
            "{MINIMAL}max_extra_warmup = 0\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n"
        );
        let cases = crate::plan::expand(&ok(&two), &TestCatalog).unwrap();
        assert_eq!(cases.len(), 2);
        assert_ne!(cases[0].id, cases[1].id);
        assert_eq!(
            cases[0].spec().max_extra_warmup + cases[1].spec().max_extra_warmup,
            20
        );
    }

    #[test]
    fn integer_too_large_for_u32() {
        expect(
            "name = \"x\"\n\nsteps = 5000000000\n",
            Some(3),
            Some("steps"),
            "`steps` must be an integer >= 1, found 5000000000 (too large: the maximum is 1000000)",
        );
        expect(
            &in_group("classes = 0x1_0000_0000"),
            Some(5),
            Some("classes"),
            "found 0x100000000 (too large",
        );
        let s = ok(&format!(
            "seed = 9223372036854775807\ntimeout_s = 604800\n{MINIMAL}"
        ));
        assert_eq!((s.seed, s.groups[0].timeout_s), (i64::MAX as u64, 604_800));
        assert_eq!(ok(&in_group("steps = 1000000")).groups[0].steps, MAX_STEPS);
    }

    #[test]
    fn every_count_is_bounded() {
        for (key, max) in [
            ("steps", MAX_STEPS as u64),
            ("warmup", MAX_STEPS as u64),
            ("repetitions", MAX_REPETITIONS as u64),
            ("epochs", MAX_EPOCHS as u64),
            ("timeout_s", MAX_TIMEOUT_S),
            ("classes", MAX_CLASSES as u64),
            ("samples_per_class", MAX_SAMPLES_PER_CLASS as u64),
        ] {
            let e = expect(
                &in_group(&format!("{key} = {}", max + 1)),
                Some(5),
                Some(key),
                &format!("(too large: the maximum is {max})"),
            );
            assert!(
                e.message.contains(&format!("`{key}` in [[group]] 1")),
                "{e}"
            );
        }
        // timeout_s near u64::MAX is refused, not overflowed later.
        expect(
            "name = \"x\"\ntimeout_s = 9223372036854775807\n",
            Some(2),
            Some("timeout_s"),
            "the maximum is 604800",
        );
    }

    #[test]
    fn plans_past_the_limit_are_refused_naming_the_field() {
        // 4 sizes x (3 targets: 1 native + node 3x2 + chromium 3x2x3) x 10000 repetitions.
        let text = "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\nsizes = [\"all\"]\n\
            targets = [\"native-ndarray\", \"node\", \"chromium\"]\nbackends = [\"ndarray\", \"flex\", \"webgpu\"]\n\
            simd = [true, false]\ncontexts = [\"main\", \"main-frame\", \"worker\"]\nrepetitions = 10000\n";
        let e = expect(
            text,
            Some(9),
            Some("repetitions"),
            "`repetitions` in [[group]] 1: the scenario would plan 1000000 cases (4 workload size(s) x 25 target variant(s) x 10000 repetition(s)",
        );
        assert!(
            e.message.contains("the most a scenario may plan is 100000"),
            "{e}"
        );
        // Many groups that each fit add up.
        let group = "[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"native-ndarray\"]\nrepetitions = 10000\n";
        let many = format!("name = \"x\"\n{}", group.repeat(11));
        let e = expect(
            &many,
            Some(45),
            Some("repetitions"),
            "plus 100000 before this group",
        );
        assert!(e.message.contains("110000 cases"), "{e}");
        // A search group counts its trials.
        let search = "name = \"x\"\n[[group]]\nworkloads = [\"tm-image\"]\ntargets = [\"node\"]\nsearch = \"samples\"\nrepetitions = 10000\n";
        let e = expect(search, Some(6), Some("repetitions"), "trials of a search");
        assert!(e.message.contains("130000 cases"), "{e}");
    }

    #[test]
    fn names_must_be_plain() {
        for bad in ["../../x", "/abs", "a/b", ".hidden", "a b", "x\\y"] {
            let text = MINIMAL.replace("\"m\"", &format!("{bad:?}"));
            let e = expect(
                &text,
                Some(1),
                Some("name"),
                "`name` names the run directory",
            );
            assert!(e.message.contains(&format!("{bad:?}")), "{e}");
        }
        let long = "n".repeat(MAX_NAME_CHARS + 1);
        expect(
            &MINIMAL.replace("\"m\"", &format!("{long:?}")),
            Some(1),
            Some("name"),
            "at most 64",
        );
        for good in ["native-smoke", "a.b_c-1", "X"] {
            assert_eq!(
                ok(&MINIMAL.replace("\"m\"", &format!("{good:?}"))).name,
                good
            );
        }
    }

    #[test]
    fn unknown_workload_suggests_close_names() {
        let text =
            "name = \"x\"\n[[group]]\nworkloads = [\"tm-image\", \"mlpp\"]\ntargets = [\"node\"]\n";
        let e = expect(
            text,
            Some(3),
            Some("workloads"),
            "unknown workload `mlpp` in [[group]] 1: did you mean `mlp`? (expected one of: tm-image, mlp)",
        );
        assert_eq!(e.column, Some(26));
        let text = "name = \"x\"\n[[group]]\nworkloads = [\"resnet\"]\ntargets = [\"node\"]\n";
        let e = expect(
            text,
            Some(3),
            Some("workloads"),
            "unknown workload `resnet` in [[group]] 1 (expected one of: tm-image, mlp)",
        );
        assert!(!e.message.contains("did you mean"));
        let text = "name = \"x\"\n[[group]]\nworkloads = [\"TM-Imag\"]\ntargets = [\"node\"]\n";
        expect(text, Some(3), Some("workloads"), "did you mean `tm-image`?");
    }

    #[test]
    fn unknown_target() {
        let text =
            "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\", \"chrome\"]\n";
        expect(
            text,
            Some(4),
            Some("targets"),
            "unknown target `chrome` in [[group]] 1 (expected one of: native-ndarray,",
        );
        let text = "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"firefx\"]\n";
        expect(text, Some(4), Some("targets"), "did you mean `firefox`?");
    }

    #[test]
    fn unknown_backend() {
        expect(
            &in_group("backends = [\"wasm\"]"),
            Some(5),
            Some("backends"),
            "unknown backend `wasm` in [[group]] 1 (expected one of: ndarray, flex, webgpu)",
        );
    }

    #[test]
    fn unknown_context() {
        expect(
            &in_group("contexts = [\"main\", \"workers\"]"),
            Some(5),
            Some("contexts"),
            "unknown context `workers` in [[group]] 1: did you mean `worker`? (expected one of: main, main-frame, worker)",
        );
    }

    #[test]
    fn unknown_size() {
        expect(
            &in_group("sizes = [\"5m\"]"),
            Some(5),
            Some("sizes"),
            "unknown size `5m` for workload `mlp` in [[group]] 1: did you mean `1m`? (expected one of: 0.1m, 1m, 10m, 100m, smallest, largest, all, default)",
        );
        // A preset of mlp but not of tm-image.
        let text = "name = \"x\"\n[[group]]\nworkloads = [\"mlp\", \"tm-image\"]\nsizes = [\"smallest\", \"10m\"]\ntargets = [\"node\"]\n";
        let e = expect(
            text,
            Some(4),
            Some("sizes"),
            "unknown size `10m` for workload `tm-image` in [[group]] 1",
        );
        assert!(
            e.message
                .contains("(expected one of: default, smallest, largest, all)"),
            "{e}"
        );
        // Keywords work for every workload; sizes may come before workloads.
        let text = "name = \"x\"\n[[group]]\nsizes = [\"all\"]\nworkloads = [\"mlp\", \"tm-image\"]\ntargets = [\"node\"]\n";
        assert_eq!(ok(text).groups[0].sizes, ["all"]);
    }

    #[test]
    fn unknown_meter() {
        expect(
            &in_group("meters = [\"throughput\", \"memry\"]"),
            Some(5),
            Some("meters"),
            "unknown meter `memry` in [[group]] 1: did you mean `memory`? (expected one of: throughput, memory)",
        );
    }

    #[test]
    fn search_key_is_checked() {
        assert_eq!(ok(&in_group("")).groups[0].search, None);
        let e = err(&in_group("search = \"bytes\""));
        assert_eq!(e.key.as_deref(), Some("search"), "{e}");
        assert!(e.to_string().contains("\"samples\" or \"model\""), "{e}");
        let e = err(&in_group("search = \"samples\""));
        assert!(e.to_string().contains("tm-image"), "{e}");
    }

    #[test]
    fn fault_key_is_checked_and_reaches_the_group() {
        let s = ok(&in_group("fault = \"panic\""));
        assert_eq!(s.groups[0].fault.as_deref(), Some("panic"));
        let s = ok(&in_group("fault = \"alloc:64\""));
        assert_eq!(s.groups[0].fault.as_deref(), Some("alloc:64"));
        assert_eq!(ok(&in_group("")).groups[0].fault, None);
        for bad in ["\"boom\"", "\"alloc:\"", "\"alloc:-3\"", "\"alloc:0\""] {
            let e = err(&in_group(&format!("fault = {bad}")));
            assert_eq!(e.key.as_deref(), Some("fault"), "{e}");
            assert!(e.to_string().contains("alloc:<MiB>"), "{e}");
        }
        let e = err(&in_group("fault = 3"));
        assert!(e.to_string().contains("must be a string"), "{e}");
    }

    #[test]
    fn duplicate_entries() {
        let text = "name = \"x\"\n[[group]]\nworkloads = [\"mlp\", \"tm-image\", \"mlp\"]\ntargets = [\"node\"]\n";
        let e = expect(
            text,
            Some(3),
            Some("workloads"),
            "duplicate workload `mlp` in [[group]] 1",
        );
        assert_eq!(e.column, Some(33));
        expect(
            &in_group("simd = [true, true]"),
            Some(5),
            Some("simd"),
            "duplicate simd value `true`",
        );
        expect(
            &in_group("meters = [\"memory\", \"memory\"]"),
            Some(5),
            Some("meters"),
            "duplicate meter `memory`",
        );
    }

    #[test]
    fn later_groups_are_numbered() {
        let text = format!(
            "{MINIMAL}[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\nmeters = [\"x\"]\n"
        );
        expect(
            &text,
            Some(8),
            Some("meters"),
            "unknown meter `x` in [[group]] 2",
        );
    }

    #[test]
    fn user_text_stays_on_one_line() {
        let e = expect(
            "name = \"x\"\n\"a\\nb\" = 1\n",
            Some(2),
            Some("a\nb"),
            "unknown key `a\\nb` at the top level",
        );
        assert!(!e.message.contains('\n'));
        let long = "w".repeat(500);
        let e = expect(
            &in_group(&format!("backends = [\"{long}\"]")),
            Some(5),
            Some("backends"),
            "unknown backend",
        );
        assert!(e.message.len() < 200, "{e}");
    }

    #[test]
    fn columns_count_characters() {
        let e = expect(
            "description = \"é\" # ü\nsteps = 0\n",
            Some(2),
            Some("steps"),
            "found 0",
        );
        assert_eq!(e.column, Some(9));
        let e = expect(
            "name = \"x\"\n\"ß\" = 1\n",
            Some(2),
            Some("ß"),
            "unknown key",
        );
        assert_eq!(e.column, Some(1));
        assert_eq!(line_col("aé\nb", 3), (1, 3));
        assert_eq!(line_col("aé\nb", 2), (1, 2));
        assert_eq!(line_col("aé\nb", 99), (2, 2));
        assert_eq!(line_col("", 0), (1, 1));
    }

    #[test]
    fn edit_distance_limits() {
        assert_eq!(edit_distance("steps", "steps", 2), Some(0));
        assert_eq!(edit_distance("stepz", "steps", 2), Some(1));
        assert_eq!(edit_distance("kitten", "sitting", 2), None);
        assert_eq!(edit_distance("kitten", "sitting", 3), Some(3));
        assert_eq!(edit_distance("", "ab", 2), Some(2));
        assert_eq!(closest("mlpp", &["tm-image", "mlp"]), Some("mlp"));
        assert_eq!(closest("zzzz", &["tm-image", "mlp"]), None);
    }

    #[test]
    fn load_reads_files() {
        let dir = std::env::temp_dir().join(format!("scenario-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();

        let good = dir.join("good.toml");
        std::fs::write(&good, VALID).unwrap();
        let s = load(&good, &TestCatalog).unwrap();
        assert_eq!(s.path, good);
        assert_eq!(s.groups.len(), 2);

        let missing = dir.join("missing.toml");
        let e = load(&missing, &TestCatalog).unwrap_err();
        assert_eq!(e.file, missing);
        assert_eq!(e.line, None);
        assert!(e.message.contains("cannot read scenario file"), "{e}");
        assert!(e.to_string().contains("missing.toml"), "{e}");

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, b"name = \"x\"\nsteps = \xff\n").unwrap();
        let e = load(&bad, &TestCatalog).unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(9)));
        assert!(e.message.contains("not valid UTF-8"), "{e}");

        let invalid = dir.join("invalid.toml");
        std::fs::write(
            &invalid,
            "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"nod\"]\n",
        )
        .unwrap();
        let e = load(&invalid, &TestCatalog).unwrap_err();
        assert!(e.to_string().ends_with("invalid.toml:4:12: unknown target `nod` in [[group]] 1: did you mean `node`? (expected one of: native-ndarray, native-flex, native-wgpu, node, chromium, firefox, webkit)"), "{e}");

        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// xorshift64*: a tiny seeded generator so the fuzz loop is reproducible.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn check_no_panic(text: &str) {
        let result = std::panic::catch_unwind(|| parse(text, Path::new(PATH), &TestCatalog));
        let Ok(result) = result else {
            panic!("parse panicked on {text:?}");
        };
        if let Err(e) = result {
            let shown = e.to_string();
            assert!(
                !shown.contains('\n'),
                "multi-line error {shown:?} for {text:?}"
            );
            let lines = text.split('\n').count();
            if let Some(line) = e.line {
                assert!(
                    line >= 1 && line <= lines,
                    "line {line} out of range for {text:?}"
                );
                assert!(e.column.is_some_and(|c| c >= 1));
            }
        }
    }

    #[test]
    fn fuzz_random_and_mutated_input_never_panics() {
        const PIECES: [&str; 24] = [
            "[", "]", "[[", "]]", "{", "}", "\"", "'", "=", ",", ".", "\n", " ", "#", "-", "0",
            "9", "e", "true", "group", "steps", "\\", "\"\"\"", "é",
        ];
        let mut rng = Rng(0x5eed_1234_abcd_0042);
        let seeds = [VALID, MINIMAL, ""];
        for round in 0..4000 {
            let text = if round % 4 == 0 {
                let len = rng.below(80);
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                let mut text: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
                for _ in 0..1 + rng.below(6) {
                    let at = rng.below(text.len() + 1);
                    match rng.below(4) {
                        0 if at < text.len() => {
                            let end = (at + 1 + rng.below(8)).min(text.len());
                            text.drain(at..end);
                        }
                        1 => {
                            let piece = PIECES[rng.below(PIECES.len())];
                            text.splice(at..at, piece.chars());
                        }
                        2 if at < text.len() => text[at] = char::from(rng.next() as u8 & 0x7f),
                        _ => {
                            let from = rng.below(text.len() + 1);
                            let end = (from + rng.below(30)).min(text.len());
                            let copy: Vec<char> = text[from..end].to_vec();
                            text.splice(at..at, copy);
                        }
                    }
                }
                text.into_iter().collect()
            };
            check_no_panic(&text);
        }
    }
}
