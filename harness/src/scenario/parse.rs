//! Reading a scenario: the file (bounded in size, UTF-8), its top-level keys, and the typed
//! readers every key goes through, each error at the key's line and column.

use super::*;

pub(super) const TOP_KEYS: [&str; 10] = [
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

pub(super) const GROUP_KEYS: [&str; 18] = [
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
    "threads",
];

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

pub(super) struct Defaults {
    pub(super) repetitions: u32,
    pub(super) warmup: u32,
    pub(super) max_extra_warmup: u32,
    pub(super) steps: u32,
    pub(super) timeout_s: u64,
}

/// One `key = value` entry plus where it lives (`""` or `" in [[group]] N"`).
pub(super) struct Field<'a, 'i> {
    pub(super) key: &'a str,
    pub(super) key_span: Range<usize>,
    pub(super) value: &'a Spanned<DeValue<'i>>,
    pub(super) place: String,
}

impl<'a, 'i> Field<'a, 'i> {
    pub(super) fn new(
        key: &'a Spanned<DeString<'i>>,
        value: &'a Spanned<DeValue<'i>>,
        place: String,
    ) -> Self {
        Field {
            key: key.get_ref().as_ref(),
            key_span: key.span(),
            value,
            place,
        }
    }

    /// "`steps`" or "`steps` in [[group]] 2", for messages.
    pub(super) fn name(&self) -> String {
        format!("`{}`{}", esc(self.key), self.place)
    }
}

pub(super) struct Cx<'a> {
    pub(super) text: &'a str,
    pub(super) path: &'a Path,
}

impl Cx<'_> {
    pub(super) fn err(
        &self,
        span: Option<Range<usize>>,
        key: Option<&str>,
        message: String,
    ) -> ScenarioError {
        let at = span.map(|s| line_col(self.text, s.start));
        ScenarioError {
            file: self.path.to_path_buf(),
            line: at.map(|a| a.0),
            column: at.map(|a| a.1),
            key: key.map(str::to_string),
            message: message.replace(['\n', '\r'], " "),
        }
    }

    pub(super) fn at_value(&self, f: &Field<'_, '_>, message: String) -> ScenarioError {
        self.err(Some(f.value.span()), Some(f.key), message)
    }

    pub(super) fn at(
        &self,
        f: &Field<'_, '_>,
        span: Range<usize>,
        message: String,
    ) -> ScenarioError {
        self.err(Some(span), Some(f.key), message)
    }

    pub(super) fn string<'v>(&self, f: &'v Field<'_, '_>) -> Result<&'v str, ScenarioError> {
        match f.value.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            other => Err(self.at_value(
                f,
                format!("{} must be a string, found {}", f.name(), found(other)),
            )),
        }
    }

    pub(super) fn boolean(&self, f: &Field<'_, '_>) -> Result<bool, ScenarioError> {
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
    pub(super) fn int(
        &self,
        f: &Field<'_, '_>,
        min: i128,
        max: i128,
    ) -> Result<i128, ScenarioError> {
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

    pub(super) fn u32(&self, f: &Field<'_, '_>, min: u32, max: u32) -> Result<u32, ScenarioError> {
        // The range check makes the conversion lossless.
        self.int(f, min.into(), max.into()).map(|n| n as u32)
    }

    /// The `threads` axis: a non-empty array of thread counts, each in `1..=MAX_THREADS`, each
    /// at most once.
    pub(super) fn thread_counts(&self, f: &Field<'_, '_>) -> Result<Vec<u32>, ScenarioError> {
        let items = self.array(f, "integers")?;
        let mut out: Vec<u32> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let n = match item.get_ref() {
                DeValue::Integer(int) => i128::from_str_radix(int.as_str(), int.radix()).ok(),
                _ => None,
            };
            let Some(n) = n.filter(|n| (1..=MAX_THREADS as i128).contains(n)) else {
                return Err(self.at(
                    f,
                    item.span(),
                    format!(
                        "{} must be an array of thread counts (integers 1 to {MAX_THREADS}), found {} at index {i}",
                        f.name(),
                        found(item.get_ref())
                    ),
                ));
            };
            let n = n as u32;
            if out.contains(&n) {
                return Err(self.at(
                    f,
                    item.span(),
                    format!("duplicate thread count {n}{}", f.place),
                ));
            }
            out.push(n);
        }
        Ok(out)
    }

    /// A non-empty array whose items are all strings, with each item's span; no duplicates.
    pub(super) fn strings(
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

    /// The `simd` axis: booleans (SIMD128 or not), `"relaxed"` and `"memory64"`, each at most once.
    pub(super) fn simd_values(&self, f: &Field<'_, '_>) -> Result<Vec<Simd>, ScenarioError> {
        let items = self.array(f, "booleans, \"relaxed\" or \"memory64\"")?;
        let mut out: Vec<Simd> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let v = match item.get_ref() {
                DeValue::Boolean(true) => Simd::On,
                DeValue::Boolean(false) => Simd::Off,
                DeValue::String(s) if s.as_ref() == "relaxed" => Simd::Relaxed,
                DeValue::String(s) if s.as_ref() == "memory64" => Simd::Memory64,
                other => {
                    return Err(self.at(
                        f,
                        item.span(),
                        format!(
                            "{} must be an array of booleans (true/false), \"relaxed\" or \"memory64\", found {} at index {i}",
                            f.name(),
                            found(other)
                        ),
                    ));
                }
            };
            if out.contains(&v) {
                return Err(self.at(
                    f,
                    item.span(),
                    format!("duplicate {} value `{}`{}", esc(f.key), v.toml(), f.place),
                ));
            }
            out.push(v);
        }
        Ok(out)
    }

    pub(super) fn array<'v, 'i>(
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
    pub(super) fn known(
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
}
