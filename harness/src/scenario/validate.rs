//! One `[[group]]` validated against the catalog, and the plan's size bounded before any case exists.

use super::*;

impl Cx<'_> {
    pub(super) fn group(
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
            simd: vec![Simd::On],
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
            threads: Vec::new(),
        };
        let mut threads_at = None;
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
                "simd" => g.simd = self.simd_values(&f)?,
                "threads" => {
                    g.threads = self.thread_counts(&f)?;
                    threads_at = Some(f);
                }
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
                    if !(v == "panic" || v == "pool-panic" || v == "hang" || alloc_ok || slow_ok) {
                        return Err(self.at_value(
                            &f,
                            format!(
                                "{} must be \"panic\", \"pool-panic\", \"hang\", \"alloc:<MiB>\" (test-only fault injection) or \"slowdown:<fraction>\" (0 < fraction <= 10: every step that much slower, to check what a verdict detects), found \"{}\"",
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
        if let Some(f) = &threads_at {
            // The threaded wasm build is the probe's ndarray backend with SIMD128 (bundle.rs).
            let fits = g.backends.iter().all(|b| b == "ndarray") && g.simd == [Simd::On];
            if !fits || g.search.is_some() {
                return Err(self.at_value(
                    f,
                    format!(
                        "{} runs the probe's ndarray backend with SIMD128 (the `threads` build): set backends = [\"ndarray\"] and simd = [true]{}",
                        f.name(),
                        if g.search.is_some() { ", and no `search`" } else { "" }
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
    pub(super) fn check_plan_size(
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
        let per_wasm = (g.backends.len() as u64)
            .checked_mul(g.simd.len() as u64)
            .and_then(|n| n.checked_mul(g.threads.len().max(1) as u64));
        let variants: Option<u64> = g.targets.iter().try_fold(0u64, |acc, t| {
            let n = if native_backend(t).is_some() {
                Some(g.threads.len().max(1) as u64)
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
