//! One side of a comparison: a run directory's raw samples, by series and metric.

use super::*;

/// The series of a case id: the id without a trailing `/r<N>`.
pub fn series_id(case_id: &str) -> &str {
    match case_id.rsplit_once("/r") {
        Some((s, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => s,
        _ => case_id,
    }
}

/// Sample metrics that are not compared (loss is a training outcome, not a cost).
pub(super) const NOT_COMPARED: [&str; 1] = ["loss"];

/// One side of a comparison, read from a run directory.
#[derive(Debug, Clone)]
pub struct Side {
    pub run_id: String,
    /// (series, metric) -> repetition (case id) -> its measured samples
    pub(super) samples: BTreeMap<(String, String), BTreeMap<String, Vec<f64>>>,
    /// (series, metric) -> (unit, lower_is_better) from records.csv
    pub(super) info: BTreeMap<(String, String), (String, bool)>,
    /// series -> why a case of it did not finish
    pub(super) failures: BTreeMap<String, String>,
}

impl Side {
    /// Reads `records.csv` and `samples.csv` of a run directory; warnings (a cut-short last
    /// line dropped) are appended to `warnings`.
    pub fn load(dir: &Path, warnings: &mut Vec<String>) -> Result<Side, String> {
        load_side(dir, warnings)
    }

    /// The repetitions (case ids) of every series, in id order.
    pub fn repetitions(&self) -> BTreeSet<String> {
        self.samples
            .values()
            .flat_map(|reps| reps.keys().cloned())
            .collect()
    }

    /// The repetitions (case ids) that have samples of `metric`.
    pub fn repetitions_of(&self, metric: &str) -> BTreeSet<String> {
        self.samples
            .iter()
            .filter(|((_, m), _)| m == metric)
            .flat_map(|(_, reps)| reps.keys().cloned())
            .collect()
    }

    /// The same side keeping only the repetitions (case ids) that `keep` accepts.
    pub fn select(&self, keep: impl Fn(&str) -> bool) -> Side {
        let mut s = self.clone();
        for reps in s.samples.values_mut() {
            reps.retain(|id, _| keep(id));
        }
        s.samples.retain(|_, reps| !reps.is_empty());
        s
    }

    /// This side with every repetition of `other` added under the repetition number `round`
    /// (`series/r<round>`): how `ab` gathers one repetition per round into one side.
    pub fn absorb(&mut self, other: &Side, round: u32) {
        self.absorb_as(other, round, &|s: &str| s.to_string());
    }

    /// [`absorb`](Side::absorb), each series renamed by `rename` (so that two sides whose case
    /// ids differ only by what the sides differ by pair up).
    pub fn absorb_as(&mut self, other: &Side, round: u32, rename: &dyn Fn(&str) -> String) {
        for ((series, metric), reps) in &other.samples {
            let series = rename(series);
            let mine = self
                .samples
                .entry((series.clone(), metric.clone()))
                .or_default();
            for v in reps.values() {
                mine.entry(format!("{series}/r{round}"))
                    .or_default()
                    .extend(v);
            }
        }
        for ((series, metric), v) in &other.info {
            self.info
                .entry((rename(series), metric.clone()))
                .or_insert(v.clone());
        }
        for (series, v) in &other.failures {
            self.failures.entry(rename(series)).or_insert(v.clone());
        }
    }

    /// An empty side named `run_id`, to [`absorb`](Side::absorb) rounds into.
    pub fn empty(run_id: &str) -> Side {
        Side {
            run_id: run_id.into(),
            samples: BTreeMap::new(),
            info: BTreeMap::new(),
            failures: BTreeMap::new(),
        }
    }

    /// The same side made slower by `factor` (1.5: every time ×1.5, every rate ÷1.5): a known
    /// change, to test what a verdict detects.
    pub fn slowed(&self, factor: f64) -> Side {
        let mut s = self.clone();
        for (key, reps) in s.samples.iter_mut() {
            let lower = self.info.get(key).is_none_or(|(_, lower)| *lower);
            let f = if lower { factor } else { 1.0 / factor };
            for x in reps.values_mut().flatten() {
                *x *= f;
            }
        }
        s
    }
}

pub(super) fn load_side(dir: &Path, warnings: &mut Vec<String>) -> Result<Side, String> {
    if !dir.is_dir() {
        return Err(format!("{}: not a run directory", dir.display()));
    }
    let (records, w) = record::read_records(&dir.join("records.csv")).map_err(|e| e.to_string())?;
    warnings.extend(w);
    let (samples, w) = record::read_samples(&dir.join("samples.csv")).map_err(|e| e.to_string())?;
    warnings.extend(w);
    let run_id = records
        .first()
        .map(|r| r.record.case.run_id.clone())
        .unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let mut side = Side {
        run_id,
        samples: BTreeMap::new(),
        info: BTreeMap::new(),
        failures: BTreeMap::new(),
    };
    for r in records.into_iter().map(|r| r.record) {
        let series = series_id(&r.case.case_id).to_string();
        if r.status != Status::Ok {
            let m = if r.message.is_empty() {
                String::new()
            } else {
                format!(": {}", r.message)
            };
            side.failures
                .entry(series.clone())
                .or_insert(format!("{}{m}", r.status.as_str()));
        }
        side.info
            .entry((series, r.metric))
            .or_insert((r.unit, r.lower_is_better));
    }
    for s in samples
        .into_iter()
        .filter(|s| s.phase == "measured" && !NOT_COMPARED.contains(&s.metric.as_str()))
    {
        side.samples
            .entry((series_id(&s.case_id).to_string(), s.metric))
            .or_default()
            .entry(s.case_id)
            .or_default()
            .push(s.value);
    }
    Ok(side)
}
