//! Memory ceilings: bounded searches for the most a target can hold before training fails.
//!
//! - `samples`: the Teachable Machine pattern. A tm-image class set keeps N samples of 1280 f32
//!   (5,120 bytes each) in memory and trains on them. The search doubles N from a start until a
//!   trial fails (wasm allocation trap, RangeError, tab crash, over the memory cap, ...), then
//!   bisects to ~10% precision; at most [`MAX_TRIALS`] trials. Records `ceiling_samples` (the
//!   largest N that trained) and `ceiling_samples_bytes`, with a message naming the failure that
//!   stopped the next step.
//! - `model`: walks the mlp presets upward until one fails to complete its training steps; records
//!   `ceiling_model_params`.
//!
//! Every trial is a plain case on the target (a fresh page for browsers; a crashed session is
//! replaced by the target), recorded like any other case, so nothing is lost. Trial ids are
//! `ceiling-<search>/<target>/<variant>/<context>/<n|size>/r<rep>`; the ceiling's own records use
//! the cell id `ceiling-<search>/<target>/<variant>/<context>/r<rep>`.

use crate::plan::Case;
use crate::record::{CaseInfo, Record, Status};
use crate::scenario::{Catalog, Scenario, ScenarioError};
use crate::target::Outcome;

pub use crate::scenario::{MAX_TRIALS, SEARCHES, workload_of};
/// Bytes one tm-image sample holds (1280 f32).
pub const BYTES_PER_SAMPLE: u64 = 1280 * 4;
/// Bisection stops when the bracket is this tight (relative).
pub const PRECISION: f64 = 0.10;
/// Samples per class of the first trial when the group sets none (3 x 4096 samples = 60 MiB).
pub const DEFAULT_START_PER_CLASS: u64 = 4096;
/// No trial asks for more than this (per class): far past any cap.
const MAX_PER_CLASS: u64 = 1 << 26;

/// One (target, backend, SIMD, context, repetition) of a search group.
#[derive(Debug, Clone)]
pub struct Cell {
    pub search: String,
    pub id: String,
    /// The first case of the cell: its settings (warm-up, steps, timeout, meters) serve every trial.
    pub base: Case,
    /// Model search: the sizes to walk, smallest first.
    pub sizes: Vec<String>,
}

/// The scenario without its search groups (their cells run through `cells`).
pub fn without_searches(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    s.groups.retain(|g| g.search.is_none());
    s
}

fn cell_id(search: &str, c: &Case) -> String {
    format!(
        "ceiling-{search}/{}/{}/{}/{}/r{}",
        c.target,
        c.variant(),
        c.context,
        c.settings_id(),
        c.repetition
    )
}

/// The search cells of a scenario, in plan order. A cell that a later group plans again is an
/// error naming that group's line.
pub fn cells(scenario: &Scenario, catalog: &dyn Catalog) -> Result<Vec<Cell>, ScenarioError> {
    let mut out: Vec<Cell> = Vec::new();
    // cell id -> the group (number, line) that planned it
    let mut owner: std::collections::HashMap<String, (usize, usize)> =
        std::collections::HashMap::new();
    for (gi, g) in scenario.groups.iter().enumerate() {
        let Some(search) = &g.search else { continue };
        let mut one = scenario.clone();
        one.groups = vec![g.clone()];
        one.shuffle = false;
        let presets = catalog.sizes(workload_of(search));
        for case in crate::plan::expand(&one, catalog)? {
            let id = cell_id(search, &case);
            match owner.get(&id) {
                Some(&(first, line)) if first != gi + 1 => {
                    return Err(ScenarioError {
                        file: scenario.path.clone(),
                        line: Some(g.line),
                        column: None,
                        key: Some("group".into()),
                        message: format!(
                            "[[group]] {} plans the search `{id}` again, already planned by [[group]] {first} (line {line}); change the settings of one group or remove the repeat",
                            gi + 1
                        ),
                    });
                }
                Some(_) => {}
                None => {
                    owner.insert(id.clone(), (gi + 1, g.line));
                }
            }
            match out.iter_mut().find(|c| c.id == id) {
                Some(cell) => {
                    if !cell.sizes.contains(&case.size) {
                        cell.sizes.push(case.size.clone());
                    }
                }
                None => out.push(Cell {
                    search: search.clone(),
                    id,
                    sizes: vec![case.size.clone()],
                    base: case,
                }),
            }
        }
        for cell in &mut out {
            if cell.search == "model" {
                if cell.sizes.len() == 1 {
                    // One size given (or the default): walk every preset from it upward.
                    let from = presets
                        .iter()
                        .position(|p| *p == cell.sizes[0])
                        .unwrap_or(0);
                    cell.sizes = presets[from..].to_vec();
                } else {
                    cell.sizes
                        .sort_by_key(|s| presets.iter().position(|p| p == s).unwrap_or(usize::MAX));
                }
            }
        }
    }
    Ok(out)
}

/// A trial that did not train.
#[derive(Debug, Clone)]
pub struct Stop {
    /// Its size: samples (samples search) or the preset name (model search).
    pub at: String,
    pub status: Status,
    pub message: String,
}

/// What a search found.
#[derive(Debug, Clone)]
pub struct Ceiling {
    /// The largest trial that trained: its case, outcome and value (samples or parameters).
    pub best: Option<(Case, Outcome, u64)>,
    /// The failure that stopped the next step (None: the search ran out of trials or sizes).
    pub stop: Option<Stop>,
    pub trials: usize,
}

impl Ceiling {
    /// One line for the summary and the records.
    pub fn message(&self, search: &str) -> String {
        let unit = if search == "samples" {
            "samples"
        } else {
            "parameters"
        };
        let best = match &self.best {
            Some((c, _, v)) if search == "model" => {
                format!("largest that trained: {} ({v} {unit})", c.size)
            }
            Some((_, _, v)) => format!("largest that trained: {v} {unit}"),
            None => "nothing trained".into(),
        };
        let stop = match &self.stop {
            Some(s) => format!(
                "; stopped by {} at {}: {}",
                s.status.as_str(),
                s.at,
                s.message
            ),
            None => "; no failure within the search bounds".into(),
        };
        format!("{best}{stop} ({} trials)", self.trials)
    }
}

/// The trial case of the samples search with `per_class` samples per class.
pub fn samples_trial(base: &Case, per_class: u64) -> Case {
    let classes = base.classes.unwrap_or(3);
    let n = classes as u64 * per_class;
    let mut c = base.clone();
    c.workload = "tm-image".into();
    c.size = "default".into();
    c.classes = Some(classes);
    c.samples_per_class = Some(per_class.min(u32::MAX as u64) as u32);
    c.epochs = None;
    c.id = trial_id(base, "samples", &format!("n{n}"));
    c
}

fn trial_id(base: &Case, search: &str, what: &str) -> String {
    let cell = cell_id(search, base);
    let (head, rep) = cell.rsplit_once('/').unwrap_or((&cell, "r1"));
    format!("{head}/{what}/{rep}")
}

/// Search the largest sample count that trains. `run` runs one trial case and hands back its
/// outcome (the caller records it).
pub fn search_samples(base: &Case, run: &mut dyn FnMut(&Case) -> Outcome) -> Ceiling {
    let classes = base.classes.unwrap_or(3) as u64;
    let start = base
        .samples_per_class
        .map(|s| s as u64)
        .unwrap_or(DEFAULT_START_PER_CLASS)
        .max(2);
    let mut ceiling = Ceiling {
        best: None,
        stop: None,
        trials: 0,
    };
    let mut try_one = |per_class: u64, ceiling: &mut Ceiling| -> bool {
        let case = samples_trial(base, per_class);
        let outcome = run(&case);
        ceiling.trials += 1;
        let n = classes * per_class;
        if outcome.status == Status::Ok {
            if ceiling.best.as_ref().is_none_or(|b| b.2 < n) {
                ceiling.best = Some((case, outcome, n));
            }
            true
        } else {
            ceiling.stop = Some(Stop {
                at: format!("{n} samples"),
                status: outcome.status,
                message: outcome.message.clone(),
            });
            false
        }
    };
    // Bracket: (largest ok, smallest failed), per class.
    let (mut lo, mut hi): (Option<u64>, Option<u64>) = (None, None);
    let mut p = start;
    if try_one(p, &mut ceiling) {
        lo = Some(p);
        while !crate::interrupt::interrupted() && ceiling.trials < MAX_TRIALS && p < MAX_PER_CLASS {
            p *= 2;
            if try_one(p, &mut ceiling) {
                lo = Some(p);
            } else {
                hi = Some(p);
                break;
            }
        }
    } else if !skipped(&ceiling) {
        // (A skipped trial, e.g. a build this engine cannot load, ends the search: no size runs.)
        hi = Some(p);
        while !crate::interrupt::interrupted() && ceiling.trials < MAX_TRIALS && p > 2 {
            p /= 2;
            if try_one(p, &mut ceiling) {
                lo = Some(p);
                break;
            }
            hi = Some(p);
        }
    }
    let last_fail = ceiling.stop.clone();
    if let (Some(mut l), Some(mut h)) = (lo, hi) {
        let mut stop = last_fail;
        while !crate::interrupt::interrupted()
            && ceiling.trials < MAX_TRIALS
            && (h as f64) > (l as f64) * (1.0 + PRECISION)
        {
            let mid = l + (h - l) / 2;
            if mid == l {
                break;
            }
            if try_one(mid, &mut ceiling) {
                l = mid;
            } else {
                h = mid;
                stop = ceiling.stop.clone();
            }
        }
        // The failure that bounds the ceiling: the smallest failed size.
        ceiling.stop = stop;
    }
    ceiling
}

/// Whether the search's last trial was skipped (the target cannot run it at any size).
fn skipped(ceiling: &Ceiling) -> bool {
    ceiling
        .stop
        .as_ref()
        .is_some_and(|s| s.status == Status::Skipped)
}

/// The trial case of the model search for `size`.
pub fn model_trial(base: &Case, size: &str) -> Case {
    let mut c = base.clone();
    c.workload = "mlp".into();
    c.size = size.into();
    c.classes = None;
    c.samples_per_class = None;
    c.epochs = None;
    c.id = trial_id(base, "model", size);
    c
}

/// Walk `sizes` (mlp presets, smallest first) until one fails.
pub fn search_model(
    base: &Case,
    sizes: &[String],
    run: &mut dyn FnMut(&Case) -> Outcome,
) -> Ceiling {
    let mut ceiling = Ceiling {
        best: None,
        stop: None,
        trials: 0,
    };
    for size in sizes.iter().take(MAX_TRIALS) {
        // Ctrl-C: no further trial (the runner records nothing of an interrupted cell).
        if crate::interrupt::interrupted() {
            break;
        }
        let case = model_trial(base, size);
        let outcome = run(&case);
        ceiling.trials += 1;
        if outcome.status != Status::Ok {
            ceiling.stop = Some(Stop {
                at: size.clone(),
                status: outcome.status,
                message: outcome.message.clone(),
            });
            break;
        }
        let params = outcome
            .result
            .as_ref()
            .map(|r| r.params)
            .or_else(|| {
                wasm_probe::Workload::resolve(&case.spec().workload)
                    .ok()
                    .map(|w| w.params())
            })
            .unwrap_or(0);
        ceiling.best = Some((case, outcome, params));
    }
    ceiling
}

/// Run one cell's search.
pub fn run_cell(cell: &Cell, run: &mut dyn FnMut(&Case) -> Outcome) -> Ceiling {
    match cell.search.as_str() {
        "samples" => search_samples(&cell.base, run),
        _ => search_model(&cell.base, &cell.sizes, run),
    }
}

/// The case and outcome the ceiling's records describe (the best trial, under the cell id).
pub fn record_subject(cell: &Cell, ceiling: &Ceiling) -> (Case, Outcome) {
    match &ceiling.best {
        Some((c, o, _)) => {
            let mut c = c.clone();
            c.id = cell.id.clone();
            (c, o.clone())
        }
        None => {
            let mut c = cell.base.clone();
            c.id = cell.id.clone();
            let (status, msg) = ceiling
                .stop
                .as_ref()
                .map(|s| (s.status, s.message.clone()))
                .unwrap_or((Status::Failed, String::new()));
            (c, Outcome::bare(status, msg, &cell.base.target, ""))
        }
    }
}

/// The ceiling's records: the cell's outcome row and the ceiling metrics.
pub fn records(info: &CaseInfo, cell: &Cell, ceiling: &Ceiling) -> Vec<Record> {
    let message = ceiling.message(&cell.search);
    let status = match (&ceiling.best, &ceiling.stop) {
        (Some(_), _) => Status::Ok,
        (None, Some(s)) => s.status,
        (None, None) => Status::Failed,
    };
    let mut out = vec![Record::outcome(info, status, &message)];
    let metric = |name: &str, unit: &str, value: Option<f64>| {
        let mut r = match value {
            Some(v) => Record::measured(info, name, unit, false, &[v]),
            None => {
                let mut r = Record::outcome(info, status, "");
                r.metric = name.into();
                r.unit = unit.into();
                r
            }
        };
        r.message = message.clone();
        r
    };
    let best = ceiling.best.as_ref().map(|b| b.2 as f64);
    if cell.search == "samples" {
        out.push(metric("ceiling_samples", "samples", best));
        out.push(metric(
            "ceiling_samples_bytes",
            "bytes",
            best.map(|n| n * BYTES_PER_SAMPLE as f64),
        ));
    } else {
        out.push(metric("ceiling_model_params", "params", best));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Case {
        Case {
            id: "tm-image/default/node/ndarray-simd/main/r1".into(),
            workload: "tm-image".into(),
            size: "default".into(),
            target: "node".into(),
            backend: "ndarray".into(),
            simd: Some(crate::scenario::Simd::On),
            context: "main".into(),
            repetition: 1,
            seed: 1,
            warmup: 0,
            steps: 2,
            epochs: None,
            timeout_s: 60,
            meters: vec![],
            classes: None,
            samples_per_class: Some(100),
            fault: None,
            max_extra_warmup: 0,
            threads: None,
        }
    }

    fn fake(limit: u64) -> impl FnMut(&Case) -> Outcome {
        move |c: &Case| {
            let n = c.classes.unwrap() as u64 * c.samples_per_class.unwrap() as u64;
            if n <= limit {
                Outcome::bare(Status::Ok, "", "node", "")
            } else {
                Outcome::bare(Status::Oom, format!("RangeError at {n}"), "node", "")
            }
        }
    }

    #[test]
    fn samples_search_brackets_within_precision_and_bounds() {
        for limit in [250, 1000, 7777, 123_456] {
            let mut seen = Vec::new();
            let mut f = fake(limit);
            let c = search_samples(&base(), &mut |case| {
                seen.push(case.id.clone());
                f(case)
            });
            assert!(c.trials <= MAX_TRIALS && c.trials == seen.len(), "{seen:?}");
            let (_, _, n) = c.best.clone().expect("something trained");
            assert!(n <= limit, "{n} > {limit}");
            let stop = c.stop.clone().expect("stopped by a failure");
            let failed: u64 = stop.at.trim_end_matches(" samples").parse().unwrap();
            assert!(failed > limit);
            assert!(
                failed as f64 <= n as f64 * (1.0 + PRECISION) + 3.0 || c.trials == MAX_TRIALS,
                "{n} .. {failed} after {} trials",
                c.trials
            );
            assert!(c.message("samples").contains("RangeError"));
            assert!(
                seen[0] == "ceiling-samples/node/ndarray-simd/main/w0-s2-n100-seed1/n300/r1",
                "{}",
                seen[0]
            );
        }
        // Below the start: halving finds it.
        let c = search_samples(&base(), &mut fake(40));
        assert!(c.best.as_ref().is_some_and(|b| b.2 <= 40));
        // Nothing trains.
        let c = search_samples(&base(), &mut fake(0));
        assert!(c.best.is_none() && c.stop.is_some() && c.trials <= MAX_TRIALS);
        let info = CaseInfo::default();
        let cell = Cell {
            search: "samples".into(),
            id: "ceiling-samples/node/ndarray-simd/main/r1".into(),
            base: base(),
            sizes: vec![],
        };
        let r = records(&info, &cell, &c);
        assert_eq!(r[1].metric, "ceiling_samples");
        assert!(r[1].summary.is_none() && r[1].status == Status::Oom);
    }

    #[test]
    fn model_search_stops_at_the_first_failure() {
        let sizes: Vec<String> = ["0.1m", "0.3m", "1m", "3m"].map(String::from).to_vec();
        let mut m = base();
        m.workload = "mlp".into();
        let c = search_model(&m, &sizes, &mut |case| {
            if case.size == "1m" {
                Outcome::bare(Status::Crashed, "tab crashed", "node", "")
            } else {
                Outcome::bare(Status::Ok, "", "node", "")
            }
        });
        assert_eq!(c.trials, 3);
        let (case, _, params) = c.best.clone().unwrap();
        assert_eq!(case.size, "0.3m");
        assert!(params > 100_000 && params < 1_000_000, "{params}");
        assert!(c.message("model").contains("crashed at 1m: tab crashed"));
        let cell = Cell {
            search: "model".into(),
            id: "ceiling-model/node/ndarray-simd/main/r1".into(),
            base: m,
            sizes,
        };
        let r = records(&CaseInfo::default(), &cell, &c);
        assert_eq!(r[1].metric, "ceiling_model_params");
        assert_eq!(r[1].summary.as_ref().unwrap().median, params as f64);
    }

    /// A build the engine cannot load (memory64 in WebKit) skips every size: one trial, recorded
    /// skipped with the reason, not a halving down to 2 samples of skips.
    #[test]
    fn a_skipped_first_trial_ends_the_samples_search() {
        let mut n = 0;
        let c = search_samples(&base(), &mut |_| {
            n += 1;
            Outcome::bare(Status::Skipped, "no memory64 here", "webkit", "")
        });
        assert_eq!((n, c.trials), (1, 1));
        assert!(c.best.is_none());
        let info = CaseInfo::default();
        let cell = Cell {
            search: "samples".into(),
            id: "ceiling-samples/webkit/ndarray-memory64/main/r1".into(),
            base: base(),
            sizes: vec![],
        };
        let r = records(&info, &cell, &c);
        assert!(r.iter().all(|r| r.status == Status::Skipped), "{r:?}");
        assert!(
            r[1].message
                .contains("skipped at 300 samples: no memory64 here")
        );
    }
}
