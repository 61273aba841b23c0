//! The browser/native gap: which native record ("twin") a record is measured against, the gap
//! ratio (>1: slower than native), and `summary.csv`, one row per measured record with its gap.

use super::doc::{Block, Section, Table};
use super::{
    Agg, NOT_MEASURED, Run, charts, engine_label, fig, is_native, measured, of_metric, ratio_fig,
    variant,
};
use crate::record::Record;
use crate::stats::Summary;
use std::collections::{BTreeMap, BTreeSet};

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

/// The geometric mean of one variant's gap per engine, context and run, over the one case set
/// every engine and context of that variant has (empty when they share none).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Geo {
    pub variant: String,
    /// `workload/size` of the shared cases.
    pub cases: Vec<String>,
    /// (engine label, context, run id when the report has several runs, geometric mean).
    pub engines: Vec<(String, String, String, f64)>,
}

/// variant -> (engine, context, run) -> workload/size -> gap
type PerEngine = BTreeMap<String, BTreeMap<(String, String, String), BTreeMap<String, f64>>>;

/// Per variant (the probe's ndarray-simd, a peer's backend, ...), geometric means over the one
/// case set every engine and context of that variant has.
fn geomeans(per_engine: &PerEngine) -> Vec<Geo> {
    let mut out = Vec::new();
    for (var, engines) in per_engine {
        let mut shared: BTreeSet<&String> = engines
            .values()
            .next()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        for m in engines.values() {
            shared.retain(|k| m.contains_key(*k));
        }
        let per = if shared.is_empty() {
            Vec::new()
        } else {
            engines
                .iter()
                .map(|((e, ctx, run), gs)| {
                    let logs: Vec<f64> = shared.iter().map(|k| gs[*k].ln()).collect();
                    let geo = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
                    (e.clone(), ctx.clone(), run.clone(), geo)
                })
                .collect()
        };
        out.push(Geo {
            variant: var.clone(),
            cases: shared.into_iter().cloned().collect(),
            engines: per,
        });
    }
    out
}

/// The geometric means as sentences, one per variant.
pub(crate) fn geo_lines(geos: &[Geo]) -> Vec<String> {
    geos.iter()
        .map(|g| {
            if g.cases.is_empty() {
                return format!(
                    "{}: no workload and size has a gap in every engine and context, so no \
                     geometric mean (means over different cases would not compare)",
                    g.variant
                );
            }
            let parts: Vec<String> = g
                .engines
                .iter()
                .map(|(e, ctx, run, geo)| {
                    let run = if run.is_empty() {
                        String::new()
                    } else {
                        format!(" ({run})")
                    };
                    format!("{e} {ctx}{run} {geo:.2}×")
                })
                .collect();
            format!(
                "{}, over the same {} case(s) ({}): {}",
                g.variant,
                g.cases.len(),
                g.cases.join(", "),
                parts.join("; ")
            )
        })
        .collect()
}

/// The "Browser/native gap" section, and its per-engine geometric means (the findings and the
/// end of a run show those).
pub(crate) fn section(runs: &[Run], twins: &Twins, multi: bool) -> (Section, Vec<Geo>) {
    let mut s = Section::new("gap", "Browser/native gap");
    // From the step times: throughput is batch / step time, so one distribution gives both
    // figures and the two gaps cannot disagree.
    let recs = of_metric(runs, |r| {
        r.metric == "step_time" && !is_native(&r.case.target)
    });
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return (s, Vec::new());
    }
    s.para(
        "Gap = this step time / native step time = native throughput / this throughput (2.00× \
         means half as fast as native); throughput is batch / step time, from the same medians. \
         The native twin is native-ndarray (else native-flex) on the same workload and size, from \
         the same run and over the same measured steps; a case without one has no gap. Over \
         repetitions a figure is the median of their medians with the order-statistics interval \
         (its coverage stated where it falls short of 95%). The gap's interval combines the ends \
         of both intervals (conservative), and is left out when either falls short of 95%.",
    );
    // (run, workload, size, target, variant, context) -> summaries over repetitions
    type Key = (usize, u64, String, String, String, String, String);
    let mut groups: BTreeMap<Key, (Vec<&Summary>, &Record)> = BTreeMap::new();
    for (i, r, sum) in &recs {
        let c = &r.case;
        let key = (
            *i,
            c.params,
            c.workload.clone(),
            c.size.clone(),
            c.target.clone(),
            variant(c),
            c.context.clone(),
        );
        groups
            .entry(key)
            .or_insert_with(|| (Vec::new(), r))
            .0
            .push(sum);
    }
    let mut header = vec![
        "workload/size",
        "engine",
        "variant",
        "context",
        "throughput",
        "native",
        "gap",
    ];
    if multi {
        header.insert(0, "run");
    }
    let mut t = Table::new(&header);
    // variant -> (engine, context, run) -> workload/size -> gap
    let mut per_engine: PerEngine = BTreeMap::new();
    let mut without = 0;
    let workloads: Vec<&str> = groups
        .keys()
        .map(|k| k.2.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut dots: Vec<(usize, f64, charts::Dot)> = Vec::new();
    for ((i, _, workload, size, _, var, context), (sums, r)) in &groups {
        let Some(agg) = Agg::combine(sums) else {
            continue;
        };
        let twin = twins.find(*i, r);
        // samples/s from ms a step
        let per_s = r.case.batch as f64 * 1e3;
        let (native, ratio) = match &twin {
            Some(tw) => {
                let g = gap(agg.median, tw.agg.median, true);
                if let Some(g) = g {
                    let run = if multi {
                        runs[*i].manifest.run_id.clone()
                    } else {
                        String::new()
                    };
                    per_engine
                        .entry(var.clone())
                        .or_default()
                        .entry((engine_label(&r.case), context.clone(), run))
                        .or_default()
                        .insert(format!("{workload}/{size}"), g);
                }
                let ci = gap_interval(&agg, &tw.agg, true);
                if let Some(g) = g {
                    let group = workloads.iter().position(|w| w == workload).unwrap_or(0);
                    let run = if multi {
                        format!(" ({})", runs[*i].manifest.run_id)
                    } else {
                        String::new()
                    };
                    let (lo, hi) = ci.unwrap_or((g, g));
                    dots.push((
                        group,
                        g,
                        charts::Dot {
                            label: format!(
                                "{workload}/{size} · {} {var} {context}{run}",
                                engine_label(&r.case)
                            ),
                            group,
                            value: g,
                            lo,
                            hi,
                        },
                    ));
                }
                (
                    format!(
                        "{} ({})",
                        fig(&tw.agg.inverted(per_s), "samples/s"),
                        tw.target
                    ),
                    g.map(|g| ratio_fig(g, ci)).unwrap_or_else(|| "–".into()),
                )
            }
            None => {
                without += 1;
                ("no native twin".into(), "–".into())
            }
        };
        let mut row = vec![
            format!("{workload}/{size}"),
            engine_label(&r.case),
            var.clone(),
            context.clone(),
            fig(&agg.inverted(per_s), "samples/s"),
            native,
            ratio,
        ];
        if multi {
            row.insert(0, runs[*i].manifest.run_id.clone());
        }
        t.push(row);
    }
    let geos = geomeans(&per_engine);
    let lines = geo_lines(&geos);
    if !lines.is_empty() {
        s.para(format!(
            "Per engine, geometric means of the gap: {}.",
            lines.join(". ")
        ));
    }
    if !dots.is_empty() {
        dots.sort_by(|a, b| {
            (a.0, a.1)
                .partial_cmp(&(b.0, b.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let rows: Vec<charts::Dot> = dots.into_iter().map(|d| d.2).collect();
        let names: Vec<String> = workloads.iter().map(|w| w.to_string()).collect();
        match charts::dots(
            "gap.svg",
            "Throughput gap to native, per engine and workload",
            "gap = native throughput / this throughput (log; 1× = native, grey line)",
            &rows,
            &names,
            1.0,
        ) {
            Ok(chart) => s.blocks.push(Block::Chart(chart)),
            Err(e) => s.note(e),
        }
    }
    s.table(t);
    if without > 0 {
        s.note(format!("{without} case(s) have no native twin (no native-ndarray or native-flex record of the same workload and size)."));
    }
    (s, geos)
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
