//! What a verdict can detect on this machine: from one run with many repetitions of the same
//! build, random splits into baseline and candidate (the null: any `slower`/`faster` is false)
//! and the same splits with a known slow-down applied to the candidate (the power).

use crate::compare::{self, Side};
use crate::stats::Rng;
use serde::Serialize;

/// One (metric, repetitions a side) row of [`power`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerRow {
    pub metric: String,
    pub series: usize,
    pub repetitions: usize,
    pub splits: usize,
    /// Rows called `slower` or `faster` with no change applied, over all splits and series.
    pub false_calls: usize,
    pub tested: usize,
    /// The smallest slow-down (of `slowdowns`) called `slower` in at least `target` of the
    /// splits for every series; None when none was.
    pub detected: Option<f64>,
}

/// Knobs of [`power`].
#[derive(Debug, Clone)]
pub struct PowerOptions {
    pub compare: compare::Options,
    /// Random splits per (metric, repetitions).
    pub splits: usize,
    /// Slow-downs tried, ascending (0.05 = 5%).
    pub slowdowns: Vec<f64>,
    /// The power a slow-down must reach to count as detected (0.8).
    pub target: f64,
    pub seed: u64,
}

/// For each metric and each `n` of `repetitions`: `splits` random disjoint draws of n
/// repetitions a side from `side` (which must hold at least 2n of each series), compared with
/// and without a candidate slowed by each of `slowdowns`.
pub fn power(
    side: &Side,
    metrics: &[String],
    repetitions: &[usize],
    opts: &PowerOptions,
) -> Result<Vec<PowerRow>, String> {
    let mut rows = Vec::new();
    for metric in metrics {
        let mut cmp = opts.compare.clone();
        cmp.metrics = vec![metric.clone()];
        // series -> its repetitions (case ids)
        let mut by_series: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for id in side.repetitions_of(metric) {
            by_series
                .entry(compare::series_id(&id).to_string())
                .or_default()
                .push(id);
        }
        if by_series.is_empty() {
            // a metric this run has none of (step_cpu in a browser run): nothing to say
            continue;
        }
        let available = by_series.values().map(Vec::len).min().unwrap_or(0);
        for &n in repetitions {
            if n == 0 || 2 * n > available {
                return Err(format!(
                    "{n} repetitions a side need {} of every series; {} has {available} of `{metric}`",
                    2 * n,
                    side.run_id
                ));
            }
            let mut rng = Rng::new(opts.seed ^ (n as u64).wrapping_mul(0x9E37_79B9));
            // the splits: disjoint draws of n repetitions a side, per series
            let splits: Vec<(Side, Side)> = (0..opts.splits)
                .map(|_| {
                    let mut a_ids = std::collections::BTreeSet::new();
                    let mut b_ids = std::collections::BTreeSet::new();
                    for reps in by_series.values() {
                        let mut r = reps.clone();
                        // Fisher-Yates on the first 2n places
                        for i in 0..2 * n {
                            let j = i + rng.below(r.len() - i);
                            r.swap(i, j);
                        }
                        a_ids.extend(r[..n].iter().cloned());
                        b_ids.extend(r[n..2 * n].iter().cloned());
                    }
                    (
                        side.select(|id| a_ids.contains(id)),
                        side.select(|id| b_ids.contains(id)),
                    )
                })
                .collect();
            let (mut false_calls, mut tested) = (0, 0);
            for (a, b) in &splits {
                let null = compare::compare_sides(a, b, &cmp)?;
                tested += null.rows.len();
                false_calls += null
                    .rows
                    .iter()
                    .filter(|r| r.verdict == "slower" || r.verdict == "faster")
                    .count();
            }
            // the smallest slow-down found `slower` in `target` of the splits, every series
            let need = (opts.target * opts.splits as f64).ceil() as usize;
            let mut detected = None;
            for s in &opts.slowdowns {
                let mut hits = vec![0usize; by_series.len()];
                for (a, b) in &splits {
                    let slowed = compare::compare_sides(a, &b.slowed(1.0 + s), &cmp)?;
                    for (i, r) in slowed.rows.iter().enumerate() {
                        if r.verdict == "slower" {
                            hits[i] += 1;
                        }
                    }
                }
                if hits.iter().all(|&x| x >= need) {
                    detected = Some(*s);
                    break;
                }
            }
            rows.push(PowerRow {
                metric: metric.clone(),
                series: by_series.len(),
                repetitions: n,
                splits: opts.splits,
                false_calls,
                tested,
                detected,
            });
        }
    }
    Ok(rows)
}

/// The table as Markdown.
pub fn markdown(run: &str, rows: &[PowerRow], opts: &PowerOptions) -> String {
    let mut out = format!(
        "What `gapbench compare` detects from run `{run}`: {} random splits of its repetitions \
         per row; a slow-down counts as detected when at least {:.0}% of the splits call every \
         series `slower` (threshold ±{:.1}%, α = {}).\n\n\
         | metric | repetitions a side | false slower/faster (null) | smallest slow-down detected |\n\
         |---|---|---|---|\n",
        opts.splits,
        opts.target * 100.0,
        opts.compare.threshold * 100.0,
        opts.compare.alpha
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} of {} ({:.2}%) | {} |\n",
            r.metric,
            r.repetitions,
            r.false_calls,
            r.tested,
            100.0 * r.false_calls as f64 / r.tested.max(1) as f64,
            r.detected.map_or_else(
                || format!(
                    "none up to {:.0}%",
                    opts.slowdowns.last().unwrap_or(&0.0) * 100.0
                ),
                |s| format!("{:.0}%", s * 100.0)
            )
        ));
    }
    out
}
