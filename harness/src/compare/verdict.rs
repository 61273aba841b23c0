//! The verdicts: every series and metric of two sides compared, one Benjamini-Hochberg family.

use super::*;

pub(super) fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

pub(super) fn reason_for(c: &Comparison, q: f64, cfg: &CompareConfig) -> String {
    let ci = format!(
        "ratio {:.3} ({:.1}% CI {:.3}..{:.3})",
        c.ratio.ratio,
        c.ratio.level * 100.0,
        c.ratio.low,
        c.ratio.high
    );
    let t = cfg.threshold * 100.0;
    let exact = if c.exact { "exact " } else { "" };
    let test = if q.is_finite() && q != c.p_value {
        format!("{exact}Mann-Whitney p={:.2e}, q={q:.2e}", c.p_value)
    } else {
        format!("{exact}Mann-Whitney p={:.2e}", c.p_value)
    };
    match &c.verdict {
        Verdict::Faster | Verdict::Slower => format!("{ci} beyond ±{t:.1}%, {test}"),
        Verdict::Same => format!("{ci} within ±{t:.1}%: any change is smaller than {t:.1}%"),
        Verdict::Unknown {
            reason,
            more_samples,
        } => match more_samples {
            Some(m) => format!("{reason}; about {m} more samples per side may settle it"),
            None => reason.clone(),
        },
    }
}

pub(super) fn verdict_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Faster => "faster",
        Verdict::Slower => "slower",
        Verdict::Same => "same",
        Verdict::Unknown { .. } => "unknown",
    }
}

/// What one verdict is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// The repetitions: each repetition's median is one sample, so the verdict accounts for the
    /// variation between runs (processes, pages), which on a shared or virtual machine is often
    /// several times the noise within one run. Needs `min_samples` (5) repetitions a side;
    /// fewer is `unknown`, with what the steps alone would say in the reason.
    Repetitions,
    /// Every measured step of every repetition pooled: sensitive, but a difference between two
    /// runs of the same build counts as real. For a quiet, dedicated machine.
    Steps,
}

/// The per-repetition medians of `reps`.
pub(super) fn rep_medians(reps: &BTreeMap<String, Vec<f64>>) -> Vec<f64> {
    reps.values().map(|v| stats::median(v)).collect()
}

pub(super) fn pooled(reps: &BTreeMap<String, Vec<f64>>) -> Vec<f64> {
    reps.values().flatten().copied().collect()
}

/// Compare the candidate run with the baseline run, series by series, on every metric that has
/// raw samples (except loss). `threshold` is the smallest relative change that matters (0.02 = 2%);
/// `by` says whether repetitions or steps are the samples of the test.
pub fn compare_runs(
    baseline: &Path,
    candidate: &Path,
    threshold: f64,
    by: Unit,
) -> Result<CompareReport, String> {
    compare_dirs(baseline, candidate, &Options::new(threshold, by))
}

/// How [`compare_sides`] tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Smallest relative change that matters (0.02 = 2%).
    pub threshold: f64,
    pub by: Unit,
    /// The false-discovery rate the verdicts keep (q <= alpha), and 1 - the intervals' level.
    pub alpha: f64,
    /// Only these sample metrics (e.g. `step_time_rel`); empty: every metric but loss.
    pub metrics: Vec<String>,
}

impl Options {
    pub fn new(threshold: f64, by: Unit) -> Options {
        Options {
            threshold,
            by,
            alpha: CompareConfig::default().alpha,
            metrics: Vec::new(),
        }
    }
}

/// [`compare_runs`] with every option.
pub fn compare_dirs(
    baseline: &Path,
    candidate: &Path,
    opts: &Options,
) -> Result<CompareReport, String> {
    let mut warnings = Vec::new();
    let base = Side::load(baseline, &mut warnings)?;
    let cand = Side::load(candidate, &mut warnings)?;
    let mut report = compare_sides(&base, &cand, opts)?;
    report.warnings = warnings;
    Ok(report)
}

/// [`compare_runs`] on sides already read. The rows' p-values form one family: each verdict is
/// decided on its Benjamini-Hochberg q ([`stats::benjamini_hochberg`]).
pub fn compare_sides(base: &Side, cand: &Side, opts: &Options) -> Result<CompareReport, String> {
    let (threshold, by) = (opts.threshold, opts.by);
    if !threshold.is_finite() || !(0.0..1.0).contains(&threshold) {
        return Err(format!(
            "threshold {threshold}: expected a fraction in [0, 1), e.g. 0.02 for 2%"
        ));
    }
    if !(opts.alpha > 0.0 && opts.alpha < 1.0) {
        return Err(format!(
            "alpha {}: expected a fraction in (0, 1)",
            opts.alpha
        ));
    }
    let cfg = CompareConfig {
        threshold,
        alpha: opts.alpha,
        ..CompareConfig::default()
    };
    let keys: BTreeSet<&(String, String)> = base
        .samples
        .keys()
        .chain(cand.samples.keys())
        .filter(|(_, m)| opts.metrics.is_empty() || opts.metrics.contains(m))
        .collect();
    let mut rows = Vec::new();
    // per row: the comparison that carries the verdict (None: nothing to test)
    let mut tested: Vec<Option<Comparison>> = Vec::new();
    for key in keys {
        let (series, metric) = key;
        let (unit, lower) = base
            .info
            .get(key)
            .or_else(|| cand.info.get(key))
            .cloned()
            .unwrap_or_else(|| (String::new(), true));
        let b = base.samples.get(key).map(|r| (pooled(r), rep_medians(r)));
        let c = cand.samples.get(key).map(|r| (pooled(r), rep_medians(r)));
        let median = |v: &Option<(Vec<f64>, Vec<f64>)>| {
            v.as_ref().and_then(|(all, _)| finite(stats::median(all)))
        };
        let count = |v: &Option<(Vec<f64>, Vec<f64>)>| {
            v.as_ref().map_or(0, |(all, reps)| match by {
                Unit::Steps => all.len(),
                Unit::Repetitions => reps.len(),
            })
        };
        let mut row = CompareRow {
            series: series.clone(),
            metric: metric.clone(),
            unit,
            lower_is_better: lower,
            baseline_median: median(&b),
            candidate_median: median(&c),
            ratio: None,
            ci_low: None,
            ci_high: None,
            ci_level: None,
            p_value: None,
            q_value: None,
            n_baseline: count(&b),
            n_candidate: count(&c),
            verdict: "unknown".into(),
            reason: String::new(),
        };
        match (&b, &c) {
            (Some((b_all, b_reps)), Some((c_all, c_reps))) => {
                let steps = stats::compare(b_all, c_all, lower, &cfg);
                let few =
                    by == Unit::Repetitions && b_reps.len().min(c_reps.len()) < cfg.min_samples;
                if few {
                    // Too few repetitions: the steps' ratio and CI are shown, the verdict stays
                    // open.
                    show(&mut row, &steps);
                    row.reason = format!(
                        "{} and {} repetition(s), fewer than {} a side: the variation between runs \
                         is not measured (rerun with `repetitions = {}` or more, or compare steps \
                         with `--steps` on a quiet machine); the steps alone would say {}: {}",
                        b_reps.len(),
                        c_reps.len(),
                        cfg.min_samples,
                        cfg.min_samples,
                        verdict_name(&steps.verdict),
                        reason_for(&steps, steps.p_value, &cfg)
                    );
                    tested.push(None);
                } else {
                    let cmp = match by {
                        Unit::Steps => steps,
                        Unit::Repetitions => stats::compare(b_reps, c_reps, lower, &cfg),
                    };
                    show(&mut row, &cmp);
                    tested.push(Some(cmp));
                }
            }
            (Some(_), None) => {
                row.reason = match cand.failures.get(series) {
                    Some(f) => format!("only in baseline (candidate case {f})"),
                    None => "only in baseline".into(),
                };
                tested.push(None);
            }
            _ => {
                row.reason = match base.failures.get(series) {
                    Some(f) => format!("only in candidate (baseline case {f})"),
                    None => "only in candidate".into(),
                };
                tested.push(None);
            }
        }
        rows.push(row);
    }
    let p: Vec<f64> = tested
        .iter()
        .map(|t| t.as_ref().map_or(f64::NAN, |c| c.p_value))
        .collect();
    let q = stats::benjamini_hochberg(&p);
    for ((row, t), q) in rows.iter_mut().zip(&tested).zip(q) {
        let Some(cmp) = t else { continue };
        let verdict = stats::decide(
            cmp,
            if q.is_nan() { cmp.p_value } else { q },
            row.lower_is_better,
            &cfg,
        );
        row.q_value = finite(q);
        row.verdict = verdict_name(&verdict).into();
        let decided = Comparison {
            verdict,
            ..cmp.clone()
        };
        let reason = reason_for(&decided, q, &cfg);
        row.reason = match by {
            Unit::Steps => reason,
            Unit::Repetitions => format!(
                "{reason} (over the medians of {} and {} repetitions)",
                row.n_baseline, row.n_candidate
            ),
        };
    }
    let regressions = rows.iter().filter(|r| r.verdict == "slower").count();
    Ok(CompareReport {
        baseline: base.run_id.clone(),
        candidate: cand.run_id.clone(),
        threshold,
        rows,
        regressions,
        warnings: Vec::new(),
    })
}

/// A comparison's numbers into its row.
pub(super) fn show(row: &mut CompareRow, c: &Comparison) {
    row.ratio = finite(c.ratio.ratio);
    row.ci_low = finite(c.ratio.low);
    row.ci_high = finite(c.ratio.high);
    row.ci_level = finite(c.ratio.level);
    row.p_value = finite(c.p_value);
}
