//! Run directories read, and a metric's samples aggregated across repetitions.

use super::*;

/// One run directory, read.
pub(crate) struct Run {
    pub manifest: Manifest,
    pub records: Vec<Record>,
}

/// Read a run directory's `manifest.json` and `records.csv`; warnings are appended.
pub(crate) fn load_run(dir: &Path, warnings: &mut Vec<String>) -> Result<Run, String> {
    if !dir.is_dir() {
        return Err(format!("{}: not a run directory", dir.display()));
    }
    let manifest = Manifest::read(dir)?;
    let (rows, w) = record::read_records(&dir.join("records.csv")).map_err(|e| e.to_string())?;
    warnings.extend(w);
    Ok(Run {
        manifest,
        records: rows.into_iter().map(|r| r.record).collect(),
    })
}

/// The summary of a record that measured something: status ok, a metric, finite samples.
pub(crate) fn measured(r: &Record) -> Option<&Summary> {
    if r.status == Status::Ok && r.metric != "case" {
        r.summary.as_ref()
    } else {
        None
    }
}

/// A median with its CI, possibly over several repetitions of a case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Agg {
    pub median: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The samples the CI is drawn from: steps for one repetition, repetitions for several.
    pub n: usize,
    pub reps: usize,
    /// The CI's coverage: 95% for one repetition's steps (bootstrap), the exact coverage of
    /// the order statistics over repetitions (below 95% when they are too few to reach it).
    pub level: f64,
}

impl Agg {
    pub fn of(s: &Summary) -> Agg {
        Agg {
            median: s.median,
            ci_low: s.ci_low,
            ci_high: s.ci_high,
            n: s.n,
            reps: 1,
            level: stats::DEFAULT_LEVEL,
        }
    }

    /// Several repetitions: the median of their medians, with the order-statistics interval of
    /// those medians (n = repetitions: the variation between runs is what the interval is
    /// about, not the steps within one).
    pub fn combine(list: &[&Summary]) -> Option<Agg> {
        match list {
            [] => None,
            [one] => Some(Agg::of(one)),
            _ => {
                let medians: Vec<f64> = list.iter().map(|s| s.median).collect();
                let (ci_low, ci_high, level) =
                    stats::median_ci_order(&medians, stats::DEFAULT_LEVEL);
                Some(Agg {
                    median: stats::median(&medians),
                    ci_low,
                    ci_high,
                    n: list.len(),
                    reps: list.len(),
                    level,
                })
            }
        }
    }

    /// `k / x` of every value (samples/s from ms a step with k = batch·1000): the median and
    /// the interval's ends map over, the ends swapping places.
    pub fn inverted(&self, k: f64) -> Agg {
        Agg {
            median: k / self.median,
            ci_low: k / self.ci_high,
            ci_high: k / self.ci_low,
            ..self.clone()
        }
    }

    /// Whether the interval reaches the level a report states (95%, less a rounding slack).
    pub fn full_level(&self) -> bool {
        self.n >= 2 && self.level >= 0.94
    }

    /// The same figure in another unit (`factor` multiplies every value).
    pub fn scaled(&self, factor: f64) -> Agg {
        Agg {
            median: self.median * factor,
            ci_low: self.ci_low * factor,
            ci_high: self.ci_high * factor,
            ..self.clone()
        }
    }

    pub(super) fn point(&self, x: f64) -> Point {
        Point {
            x,
            y: self.median,
            lo: self.ci_low,
            hi: self.ci_high,
        }
    }
}

/// Every measured record that `pred` accepts, with the index of its run.
pub(crate) fn of_metric(
    runs: &[Run],
    pred: impl Fn(&Record) -> bool,
) -> Vec<(usize, &Record, &Summary)> {
    runs.iter()
        .enumerate()
        .flat_map(|(i, run)| run.records.iter().map(move |r| (i, r)))
        .filter(|(_, r)| pred(r))
        .filter_map(|(i, r)| measured(r).map(|s| (i, r, s)))
        .collect()
}
