//! The browser/native gap: which native record ("twin") a record is measured against, the gap
//! ratio (>1: slower than native), and `summary.csv`, one row per measured record with its gap.

use super::{Agg, Run, measured};
use crate::record::Record;
use crate::stats::Summary;
use std::collections::BTreeMap;

/// Native targets a twin is taken from, in order of preference.
pub(crate) const TWIN_TARGETS: [&str; 2] = ["native-ndarray", "native-flex"];

/// The columns of `summary.csv`.
pub const SUMMARY_COLUMNS: [&str; 19] = [
    "run_id",
    "case_id",
    "workload",
    "size",
    "params",
    "target",
    "backend",
    "simd",
    "context",
    "engine",
    "engine_version",
    "metric",
    "unit",
    "n",
    "median",
    "ci_low",
    "ci_high",
    "native_median",
    "gap_ratio",
];

type Key<'a> = (usize, &'a str, &'a str, &'a str, &'a str);

/// Native records by (run index, workload, size, metric, target), over repetitions.
pub(crate) struct Twins<'a> {
    map: BTreeMap<Key<'a>, Vec<&'a Summary>>,
    runs: usize,
}

/// A record's native twin: the target it came from and its median over repetitions.
#[derive(Debug, Clone)]
pub(crate) struct Twin {
    pub target: &'static str,
    pub agg: Agg,
}

impl<'a> Twins<'a> {
    pub fn new(runs: &'a [Run]) -> Self {
        let mut map: BTreeMap<Key<'a>, Vec<&'a Summary>> = BTreeMap::new();
        for (i, run) in runs.iter().enumerate() {
            for r in run.records.iter() {
                let Some(s) = measured(r) else { continue };
                if TWIN_TARGETS.contains(&r.case.target.as_str()) {
                    let key = (
                        i,
                        r.case.workload.as_str(),
                        r.case.size.as_str(),
                        r.metric.as_str(),
                        r.case.target.as_str(),
                    );
                    map.entry(key).or_default().push(s);
                }
            }
        }
        Twins {
            map,
            runs: runs.len(),
        }
    }

    /// The twin of `rec` (a record of run `run`): `native-ndarray`, else `native-flex`, with the
    /// same workload, size and metric, from the same run and over the same step window (as
    /// many measured steps a repetition): a native case of another run, hours apart on a
    /// drifting machine, or over another window (tm-image slows ~3.5× from denormals past ~700
    /// steps) is no twin. Several repetitions give the median of their medians.
    pub fn find(&self, run: usize, rec: &Record) -> Option<Twin> {
        let c = &rec.case;
        let steps = measured(rec).map(|s| s.n)?;
        debug_assert!(run < self.runs);
        for t in TWIN_TARGETS {
            let key = (
                run,
                c.workload.as_str(),
                c.size.as_str(),
                rec.metric.as_str(),
                t,
            );
            let Some(list) = self.map.get(&key) else {
                continue;
            };
            let window: Vec<&Summary> = list.iter().copied().filter(|s| s.n == steps).collect();
            if let Some(agg) = Agg::combine(&window) {
                return Some(Twin { target: t, agg });
            }
        }
        None
    }
}

/// How many times slower than native: native/this for higher-is-better metrics, this/native for
/// lower-is-better ones. None unless both are positive and finite.
pub(crate) fn gap(this: f64, native: f64, lower_is_better: bool) -> Option<f64> {
    let fine = |x: f64| x > 0.0 && x.is_finite();
    if !fine(this) || !fine(native) {
        return None;
    }
    Some(if lower_is_better {
        this / native
    } else {
        native / this
    })
}

/// A conservative interval for the gap from the two medians' CIs (the extreme ratios of their ends);
/// none when either side's CI does not reach 95% (a single value, or too few repetitions).
pub(crate) fn gap_interval(this: &Agg, native: &Agg, lower_is_better: bool) -> Option<(f64, f64)> {
    if !this.full_level() || !native.full_level() {
        return None;
    }
    let a = gap(this.ci_high, native.ci_low, lower_is_better)?;
    let b = gap(this.ci_low, native.ci_high, lower_is_better)?;
    Some((a.min(b), a.max(b)))
}

fn f(x: f64) -> String {
    format!("{x}")
}

/// `summary.csv`: one row per (run, case, metric) for status-ok measured records.
pub(crate) fn summary_csv(runs: &[Run], twins: &Twins) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| format!("summary.csv: cannot write: {e}");
    w.write_record(SUMMARY_COLUMNS).map_err(e)?;
    for (i, run) in runs.iter().enumerate() {
        for r in &run.records {
            let Some(s) = measured(r) else { continue };
            let c = &r.case;
            let twin = twins.find(i, r);
            let native = twin.as_ref().map(|t| t.agg.median);
            let ratio = native.and_then(|n| gap(s.median, n, r.lower_is_better));
            w.write_record([
                c.run_id.clone(),
                c.case_id.clone(),
                c.workload.clone(),
                c.size.clone(),
                c.params.to_string(),
                c.target.clone(),
                c.backend.clone(),
                c.simd.clone(),
                c.context.clone(),
                c.engine.clone(),
                c.engine_version.clone(),
                r.metric.clone(),
                r.unit.clone(),
                s.n.to_string(),
                f(s.median),
                f(s.ci_low),
                f(s.ci_high),
                native.map(f).unwrap_or_default(),
                ratio.map(f).unwrap_or_default(),
            ])
            .map_err(e)?;
        }
    }
    w.into_inner()
        .map_err(|e| format!("summary.csv: cannot write: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_direction_follows_the_metric() {
        assert_eq!(gap(50.0, 100.0, false), Some(2.0)); // throughput: half as fast
        assert_eq!(gap(20.0, 10.0, true), Some(2.0)); // step time: twice as long
        assert_eq!(gap(0.0, 10.0, true), None);
        assert_eq!(gap(1.0, f64::NAN, true), None);
    }

    #[test]
    fn gap_interval_spans_the_extremes() {
        let a = |m: f64, l: f64, h: f64| Agg {
            median: m,
            ci_low: l,
            ci_high: h,
            n: 10,
            reps: 1,
            level: 0.95,
        };
        let (lo, hi) = gap_interval(&a(50.0, 40.0, 60.0), &a(100.0, 90.0, 110.0), false).unwrap();
        assert_eq!((lo, hi), (1.5, 110.0 / 40.0));
        let (lo, hi) = gap_interval(&a(20.0, 18.0, 22.0), &a(10.0, 9.0, 11.0), true).unwrap();
        assert_eq!((lo, hi), (18.0 / 11.0, 22.0 / 9.0));
    }
}
