//! The plan: a scenario expanded into concrete cases (workload x size x target x backend x simd x
//! context x repetition), with stable ids, in a seeded shuffled order so drift favours no target.
//!
//! A case id names everything that changes what the case measures:
//! `workload/size/target/variant/context/settings/r<rep>`, where `settings` is
//! `w<warm-up>-s<steps>` (or `w<warm-up>-e<epochs>`), then `-c<classes>`, `-n<samples per class>`
//! when set, `-seed<seed>`, `-t<threads>` when the `threads` axis is set, `-fault-<fault>` for an injected fault, and `-xw<N>` when the warm-up
//! extension's bound differs from the default ([`crate::scenario::DEFAULT_MAX_EXTRA_WARMUP`];
//! `-xw0`: off). `w` stays the fixed warm-up and `s` the measured steps: the extension's extra
//! warm-up steps are recorded (`warmup_steps`), not part of the id. Two groups that plan the
//! same id are an error, not a silent merge.

use crate::scenario::{Catalog, Scenario, ScenarioError, Simd};
use serde::{Deserialize, Serialize};
use wasm_probe::measure::CaseSpec;
use wasm_probe::workload::WorkloadSpec;

/// One case to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub workload: String,
    pub size: String,
    pub target: String,
    pub backend: String,
    /// The wasm build's SIMD; None for a native target.
    pub simd: Option<Simd>,
    pub context: String,
    pub repetition: u32,
    pub seed: u64,
    pub warmup: u32,
    pub steps: u32,
    pub epochs: Option<u32>,
    pub timeout_s: u64,
    pub meters: Vec<String>,
    pub classes: Option<u32>,
    pub samples_per_class: Option<u32>,
    pub fault: Option<String>,
    /// The most warm-up steps run past `warmup` until the step time settles (0: off). Plans
    /// written before the extension existed read 0: they ran a fixed warm-up.
    #[serde(default)]
    pub max_extra_warmup: u32,
    /// Train on this many threads (the group's `threads` axis); None: not set, the
    /// single-threaded build. Plans written before the axis read None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
}

impl Case {
    /// What the probe receives.
    pub fn spec(&self) -> CaseSpec {
        CaseSpec {
            workload: WorkloadSpec {
                workload: self.workload.clone(),
                size: self.size.clone(),
                classes: self.classes.map(|c| c as usize),
                samples_per_class: self.samples_per_class.map(|c| c as usize),
            },
            backend: self.backend.clone(),
            seed: self.seed,
            warmup: self.warmup,
            steps: self.steps,
            epochs: self.epochs,
            fault: self.fault.clone(),
            max_extra_warmup: self.max_extra_warmup,
            threads: self.threads,
        }
    }

    /// The id segment of the settings that change what the case measures (module docs).
    pub fn settings_id(&self) -> String {
        let mut s = match self.epochs {
            Some(e) => format!("w{}-e{e}", self.warmup),
            None => format!("w{}-s{}", self.warmup, self.steps),
        };
        if let Some(c) = self.classes {
            s.push_str(&format!("-c{c}"));
        }
        if let Some(n) = self.samples_per_class {
            s.push_str(&format!("-n{n}"));
        }
        s.push_str(&format!("-seed{}", self.seed));
        // `-t<N>` only where the axis is set, so ids planned before it keep their names.
        if let Some(t) = self.threads {
            s.push_str(&format!("-t{t}"));
        }
        if let Some(f) = &self.fault {
            s.push_str(&format!("-fault-{}", f.replace([':', '/'], "")));
        }
        // Only where the bound applies (not with epochs or warm-up 0) and is not the default, so
        // ids planned before the extension keep their names.
        if self.epochs.is_none()
            && self.warmup > 0
            && self.max_extra_warmup != crate::scenario::DEFAULT_MAX_EXTRA_WARMUP
        {
            s.push_str(&format!("-xw{}", self.max_extra_warmup));
        }
        s
    }

    /// The id of this case from its fields (module docs).
    pub fn make_id(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}/{}/r{}",
            self.workload,
            self.size,
            self.target,
            self.variant(),
            self.context,
            self.settings_id(),
            self.repetition
        )
    }

    /// `ndarray-simd`, `ndarray-nosimd`, `ndarray-relaxed`, `ndarray-memory64`, or the native
    /// backend alone.
    pub fn variant(&self) -> String {
        match self.simd {
            Some(Simd::On) => format!("{}-simd", self.backend),
            Some(Simd::Off) => format!("{}-nosimd", self.backend),
            Some(Simd::Relaxed) => format!("{}-relaxed", self.backend),
            Some(Simd::Memory64) => format!("{}-memory64", self.backend),
            None => self.backend.clone(),
        }
    }

    /// The records' `simd` column: `simd`, `no-simd`, `relaxed`, `memory64` or `-` (native).
    pub fn simd_label(&self) -> &'static str {
        match self.simd {
            Some(Simd::On) => "simd",
            Some(Simd::Off) => "no-simd",
            Some(Simd::Relaxed) => "relaxed",
            Some(Simd::Memory64) => "memory64",
            None => "-",
        }
    }

    /// The case id without the repetition: the same across repetitions and runs.
    pub fn series(&self) -> String {
        self.id
            .rsplit_once("/r")
            .map(|(s, _)| s.to_string())
            .unwrap_or_else(|| self.id.clone())
    }
}

/// Expand a scenario into cases. Native targets fix their backend; wasm targets (node, browsers)
/// take the group's backends, SIMD variants and contexts. A case that a later group plans again
/// is an error naming that group's line.
pub fn expand(scenario: &Scenario, catalog: &dyn Catalog) -> Result<Vec<Case>, ScenarioError> {
    let mut cases = Vec::new();
    // id -> (group number, its line)
    let mut seen: std::collections::HashMap<String, (usize, usize)> =
        std::collections::HashMap::new();
    for (gi, g) in scenario.groups.iter().enumerate() {
        for workload in &g.workloads {
            for size in g.sizes_for(workload, catalog) {
                for target in &g.targets {
                    let variants: Vec<(String, Option<Simd>, String)> = match native_backend(target)
                    {
                        Some(b) => vec![(b.to_string(), None, "main".to_string())],
                        None => {
                            let contexts: Vec<String> = if target == "node" {
                                vec!["main".into()]
                            } else {
                                g.contexts.clone()
                            };
                            let mut v = Vec::new();
                            for b in &g.backends {
                                for &s in &g.simd {
                                    for c in &contexts {
                                        v.push((b.clone(), Some(s), c.clone()));
                                    }
                                }
                            }
                            v
                        }
                    };
                    let thread_counts: Vec<Option<u32>> = if g.threads.is_empty() {
                        vec![None]
                    } else {
                        g.threads.iter().map(|&t| Some(t)).collect()
                    };
                    let variants: Vec<_> = variants
                        .into_iter()
                        .flat_map(|v| thread_counts.iter().map(move |&t| (v.clone(), t)))
                        .collect();
                    for ((backend, simd, context), threads) in variants {
                        for rep in 1..=g.repetitions {
                            let mut case = Case {
                                id: String::new(),
                                workload: workload.clone(),
                                size: size.clone(),
                                target: target.clone(),
                                backend: backend.clone(),
                                simd,
                                context: context.clone(),
                                repetition: rep,
                                seed: scenario.seed,
                                warmup: g.warmup,
                                steps: g.steps,
                                epochs: g.epochs,
                                timeout_s: g.timeout_s,
                                meters: g.meters.clone(),
                                classes: g.classes,
                                samples_per_class: g.samples_per_class,
                                fault: g.fault.clone(),
                                max_extra_warmup: g.max_extra_warmup,
                                threads,
                            };
                            case.id = case.make_id();
                            if let Some(&(first, line)) = seen.get(&case.id) {
                                return Err(ScenarioError {
                                    file: scenario.path.clone(),
                                    line: Some(g.line),
                                    column: None,
                                    key: Some("group".into()),
                                    message: format!(
                                        "[[group]] {} plans case `{}` again, already planned by [[group]] {first} (line {line}); a case runs once per run: change the settings of one group or remove the repeat",
                                        gi + 1,
                                        case.id
                                    ),
                                });
                            }
                            seen.insert(case.id.clone(), (gi + 1, g.line));
                            cases.push(case);
                        }
                    }
                }
            }
        }
    }
    if scenario.shuffle {
        let mut rng = wasm_probe::rng::Rng::derive(scenario.seed, "case-order");
        rng.shuffle(&mut cases);
    }
    Ok(cases)
}

pub use crate::scenario::native_backend;
