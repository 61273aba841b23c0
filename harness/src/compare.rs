//! Comparing two runs (baseline vs candidate) on their raw samples, with Markdown, JSON,
//! Perfherder and JUnit renderings, and the history page of every run under a results directory.

use crate::record::{self, Status};
use crate::report::charts::{self, Point};
use crate::report::doc::{Block, Doc, Section, Table};
use crate::report::{self, Agg, Run, fig, html, num};
use crate::stats::{self, CompareConfig, Comparison, Verdict};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One (series, metric) compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// The case id without its `/r<N>` repetition suffix.
    pub series: String,
    pub metric: String,
    pub unit: String,
    pub lower_is_better: bool,
    pub baseline_median: Option<f64>,
    pub candidate_median: Option<f64>,
    /// candidate/baseline ratio (Hodges-Lehmann: the median of the pairwise ratios) with its
    /// (1 - alpha) distribution-free interval (`stats::ratio_ci`).
    pub ratio: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// The interval's real coverage (exact order statistics at small n; see `stats::ratio_ci`).
    pub ci_level: Option<f64>,
    /// Two-sided Mann-Whitney p (exact at small n).
    pub p_value: Option<f64>,
    /// Benjamini-Hochberg q over every row of this comparison that has a p: the verdict is
    /// decided on q, so that a comparison of many series keeps its false discoveries at alpha.
    pub q_value: Option<f64>,
    /// Samples of the test a side: repetitions, or steps with `Unit::Steps`.
    pub n_baseline: usize,
    pub n_candidate: usize,
    /// "faster", "slower", "same" or "unknown".
    pub verdict: String,
    pub reason: String,
}

/// Every series compared; `regressions` counts the rows whose verdict is "slower".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareReport {
    pub baseline: String,
    pub candidate: String,
    pub threshold: f64,
    pub rows: Vec<CompareRow>,
    pub regressions: usize,
    /// Problems that did not stop the comparison (e.g. a cut-short last line that was dropped).
    pub warnings: Vec<String>,
}

/// The series of a case id: the id without a trailing `/r<N>`.
pub fn series_id(case_id: &str) -> &str {
    match case_id.rsplit_once("/r") {
        Some((s, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => s,
        _ => case_id,
    }
}

/// Sample metrics that are not compared (loss is a training outcome, not a cost).
const NOT_COMPARED: [&str; 1] = ["loss"];

/// One side of a comparison, read from a run directory.
#[derive(Debug, Clone)]
pub struct Side {
    pub run_id: String,
    /// (series, metric) -> repetition (case id) -> its measured samples
    samples: BTreeMap<(String, String), BTreeMap<String, Vec<f64>>>,
    /// (series, metric) -> (unit, lower_is_better) from records.csv
    info: BTreeMap<(String, String), (String, bool)>,
    /// series -> why a case of it did not finish
    failures: BTreeMap<String, String>,
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

fn load_side(dir: &Path, warnings: &mut Vec<String>) -> Result<Side, String> {
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

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn reason_for(c: &Comparison, q: f64, cfg: &CompareConfig) -> String {
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

fn verdict_name(v: &Verdict) -> &'static str {
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
fn rep_medians(reps: &BTreeMap<String, Vec<f64>>) -> Vec<f64> {
    reps.values().map(|v| stats::median(v)).collect()
}

fn pooled(reps: &BTreeMap<String, Vec<f64>>) -> Vec<f64> {
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
fn show(row: &mut CompareRow, c: &Comparison) {
    row.ratio = finite(c.ratio.ratio);
    row.ci_low = finite(c.ratio.low);
    row.ci_high = finite(c.ratio.high);
    row.ci_level = finite(c.ratio.level);
    row.p_value = finite(c.p_value);
}

fn opt(x: Option<f64>, unit: &str) -> String {
    match x {
        Some(x) if unit.is_empty() => num(x),
        Some(x) => format!("{} {unit}", num(x)),
        None => "–".into(),
    }
}

/// The comparison as a Markdown table, then a one-line total.
pub fn markdown(report: &CompareReport) -> String {
    let mut t = Table::new(&[
        "series",
        "metric",
        "baseline",
        "candidate",
        "ratio [CI, coverage]",
        "p",
        "q",
        "n (base/cand)",
        "verdict",
        "reason",
    ]);
    for r in &report.rows {
        let ratio = match (r.ratio, r.ci_low, r.ci_high) {
            (Some(x), Some(l), Some(h)) => format!(
                "{x:.3} [{l:.3}, {h:.3}, {:.1}%]",
                r.ci_level.unwrap_or(f64::NAN) * 100.0
            ),
            (Some(x), _, _) => format!("{x:.3}"),
            _ => "–".into(),
        };
        t.push(vec![
            r.series.clone(),
            r.metric.clone(),
            opt(r.baseline_median, &r.unit),
            opt(r.candidate_median, &r.unit),
            ratio,
            r.p_value
                .map(|p| format!("{p:.2e}"))
                .unwrap_or_else(|| "–".into()),
            r.q_value
                .map(|q| format!("{q:.2e}"))
                .unwrap_or_else(|| "–".into()),
            format!("{}/{}", r.n_baseline, r.n_candidate),
            r.verdict.clone(),
            r.reason.clone(),
        ]);
    }
    let count = |v: &str| report.rows.iter().filter(|r| r.verdict == v).count();
    let mut out = format!(
        "Comparing candidate `{}` with baseline `{}`.\n\n",
        report.candidate, report.baseline
    );
    out.push_str(&report::markdown::table(&t));
    out.push_str(&format!(
        "\n**Total: {} compared: {} faster, {} slower, {} same, {} unknown; {} regression(s) beyond ±{:.1}%.**\n",
        report.rows.len(),
        count("faster"),
        count("slower"),
        count("same"),
        count("unknown"),
        report.regressions,
        report.threshold * 100.0
    ));
    out
}

/// The comparison as JSON (the fields of [`CompareReport`]; unknown numbers are null).
pub fn json(report: &CompareReport) -> String {
    serde_json::to_string_pretty(report).expect("a compare report serializes")
}

/// Suite (`workload/size`) and subtest (`target/variant/context metric`) names of a row.
fn perf_names(r: &CompareRow) -> (String, String) {
    let parts: Vec<&str> = r.series.splitn(3, '/').collect();
    match parts.as_slice() {
        [w, s, rest] => (format!("{w}/{s}"), format!("{rest} {}", r.metric)),
        _ => (r.series.clone(), r.metric.clone()),
    }
}

/// Mozilla Perfherder data for the candidate's medians, one suite per workload/size whose value
/// is the geometric mean of its subtests; printed with the `PERFHERDER_DATA: ` prefix.
pub fn perfherder(report: &CompareReport, framework: &str) -> String {
    let mut suites: BTreeMap<String, Vec<(String, &CompareRow, f64)>> = BTreeMap::new();
    for r in &report.rows {
        let Some(v) = r.candidate_median.filter(|v| *v > 0.0) else {
            continue;
        };
        let (suite, sub) = perf_names(r);
        suites.entry(suite).or_default().push((sub, r, v));
    }
    let suites: Vec<serde_json::Value> = suites
        .into_iter()
        .map(|(name, subs)| {
            let geo = (subs.iter().map(|(_, _, v)| v.ln()).sum::<f64>() / subs.len() as f64).exp();
            let lower = subs.iter().all(|(_, r, _)| r.lower_is_better);
            let units: BTreeSet<&str> = subs.iter().map(|(_, r, _)| r.unit.as_str()).collect();
            let subtests: Vec<serde_json::Value> = subs
                .iter()
                .map(|(sub, r, v)| {
                    serde_json::json!({"name": sub, "value": v, "unit": r.unit, "lowerIsBetter": r.lower_is_better})
                })
                .collect();
            let mut suite = serde_json::json!({"name": name, "lowerIsBetter": lower, "value": geo, "subtests": subtests});
            if let ([unit], Some(map)) = (units.into_iter().collect::<Vec<_>>().as_slice(), suite.as_object_mut()) {
                map.insert("unit".into(), serde_json::Value::from(*unit));
            }
            suite
        })
        .collect();
    let data = serde_json::json!({"framework": {"name": framework}, "suites": suites});
    format!("PERFHERDER_DATA: {data}")
}

/// The comparison as a JUnit XML test suite: one test case per row, failing when slower.
pub fn junit(report: &CompareReport) -> String {
    let e = html::escape;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">\n",
        e(&format!(
            "gapbench compare {} -> {}",
            report.baseline, report.candidate
        )),
        report.rows.len(),
        report.regressions
    ));
    for r in &report.rows {
        let (suite, sub) = perf_names(r);
        out.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{}\" time=\"0\">\n",
            e(&format!("gapbench.{suite}")),
            e(&sub)
        ));
        let summary = format!(
            "{}: baseline {}, candidate {}, {}",
            r.verdict,
            opt(r.baseline_median, &r.unit),
            opt(r.candidate_median, &r.unit),
            r.reason
        );
        if r.verdict == "slower" {
            out.push_str(&format!(
                "    <failure type=\"regression\" message=\"{}\">{}</failure>\n",
                e(&summary),
                e(&format!("{} {}: {summary}", r.series, r.metric))
            ));
        } else {
            out.push_str(&format!("    <system-out>{}</system-out>\n", e(&summary)));
        }
        out.push_str("  </testcase>\n");
    }
    out.push_str("</testsuite>\n");
    out
}

/// Which side of the ±`threshold` band around `level` a value lies on: 1 above, -1 below, 0 inside.
fn side(level: f64, x: f64, threshold: f64) -> i8 {
    if x > level * (1.0 + threshold) {
        1
    } else if x < level * (1.0 - threshold) {
        -1
    } else {
        0
    }
}

/// Indices `i` where `medians[i]` leaves the ±`threshold` band around the previous run's median
/// and every later median stays beyond that band on the same side (a step, not a spike). A
/// one-run spike (out of the band, but the runs after it come back) is not a change, and the run
/// after it is measured against the level before the spike.
pub fn change_points(medians: &[f64], threshold: f64) -> Vec<usize> {
    changes(medians, threshold)
        .into_iter()
        .map(|(i, _)| i)
        .collect()
}

/// [`change_points`] with the level each change left.
fn changes(medians: &[f64], threshold: f64) -> Vec<(usize, f64)> {
    let mut out = Vec::new();
    let Some(&first) = medians.first() else {
        return out;
    };
    let mut level = first;
    for i in 1..medians.len() {
        let m = medians[i];
        if !(level > 0.0 && level.is_finite()) {
            level = m;
            continue;
        }
        let s = side(level, m, threshold);
        if s == 0 {
            level = m;
        } else if medians[i + 1..]
            .iter()
            .all(|&x| side(level, x, threshold) == s)
        {
            out.push((i, level));
            level = m;
        }
    }
    out
}

/// Metrics the history follows.
const HISTORY_METRICS: [&str; 2] = ["throughput", "step_time"];

/// An engine version short enough for an axis label: parenthesized parts dropped, at most 28
/// characters (`rustc 1.95.0 (59807616e 2026-04-14); burn 0.22.1` -> `rustc 1.95.0; burn 0.22.1`).
fn short_version(v: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in v.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let out = out
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" ;", ";");
    if out.chars().count() > 28 {
        format!("{}…", out.chars().take(27).collect::<String>())
    } else {
        out
    }
}

/// Short date of an ISO time: `2025-11-26T10:00:00Z` -> `2025-11-26`.
fn short_date(started: &str) -> &str {
    started.get(..10).unwrap_or(started)
}

/// Write `out/history.html`: for every series and metric (throughput, step_time), a chart of its
/// median over the runs under `results_root` (ordered by start time) with change points marked.
pub fn history(results_root: &Path, out: &Path, threshold: f64) -> Result<PathBuf, String> {
    if !threshold.is_finite() || !(0.0..1.0).contains(&threshold) {
        return Err(format!(
            "threshold {threshold}: expected a fraction in [0, 1), e.g. 0.05 for 5%"
        ));
    }
    let entries = std::fs::read_dir(results_root)
        .map_err(|e| format!("{}: cannot read: {e}", results_root.display()))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    let mut warnings = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    for d in dirs {
        if !d.join("records.csv").is_file() {
            warnings.push(format!(
                "{}: no records.csv (no case finished); left out",
                d.display()
            ));
            continue;
        }
        runs.push(report::load_run(&d, &mut warnings)?);
    }
    if runs.is_empty() {
        return Err(format!(
            "{}: no run directories (with manifest.json and records.csv)",
            results_root.display()
        ));
    }
    runs.sort_by(|a, b| {
        (&a.manifest.started, &a.manifest.run_id).cmp(&(&b.manifest.started, &b.manifest.run_id))
    });

    // (series, metric) -> run index -> (summaries over repetitions, unit, engine version)
    type PerRun<'a> = BTreeMap<usize, (Vec<&'a stats::Summary>, String, String)>;
    let mut series: BTreeMap<(String, &str), PerRun> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for r in &run.records {
            let Some(metric) = HISTORY_METRICS.iter().find(|m| **m == r.metric) else {
                continue;
            };
            let Some(s) = report::measured(r) else {
                continue;
            };
            let e = series
                .entry((series_id(&r.case.case_id).to_string(), metric))
                .or_default()
                .entry(i)
                .or_insert_with(|| (Vec::new(), r.unit.clone(), r.case.engine_version.clone()));
            e.0.push(s);
        }
    }

    let mut sections = Vec::new();
    let mut changes_table = Table::new(&["series", "metric", "run", "before", "after", "change"]);
    for (k, ((id, metric), per_run)) in series.iter().enumerate() {
        let mut labels = Vec::new();
        let mut points = Vec::new();
        let mut aggs = Vec::new();
        for (&i, (sums, unit, version)) in per_run {
            let Some(agg) = Agg::combine(sums) else {
                continue;
            };
            let date = short_date(&runs[i].manifest.started);
            labels.push(if version.is_empty() {
                date.to_string()
            } else {
                format!(
                    "{} {}",
                    short_version(version),
                    date.get(5..).unwrap_or(date)
                )
            });
            points.push(Some(Point {
                x: points.len() as f64,
                y: agg.median,
                lo: agg.ci_low,
                hi: agg.ci_high,
            }));
            aggs.push((i, agg, unit.clone()));
        }
        let medians: Vec<f64> = aggs.iter().map(|(_, a, _)| a.median).collect();
        let found = changes(&medians, threshold);
        let changes: Vec<usize> = found.iter().map(|c| c.0).collect();
        let title = format!("{id} {metric}");
        let unit = aggs.first().map(|a| a.2.clone()).unwrap_or_default();
        let mut s = Section::new(&format!("s{k}"), &title);
        match charts::over_runs(
            &format!("history-{k}.svg"),
            &title,
            &format!("{metric} ({unit})"),
            &labels,
            &points,
            &changes,
        ) {
            Ok(c) => s.blocks.push(Block::Chart(c)),
            Err(e) => s.note(e),
        }
        let mut t = Table::new(&["run", "started", "engine version", metric, ""]);
        for (j, (i, agg, unit)) in aggs.iter().enumerate() {
            let m = &runs[*i].manifest;
            let mark = if let Some(&(_, prev)) = found.iter().find(|c| c.0 == j) {
                let now = agg.median;
                changes_table.push(vec![
                    id.clone(),
                    metric.to_string(),
                    m.run_id.clone(),
                    format!("{} {unit}", num(prev)),
                    format!("{} {unit}", num(now)),
                    format!("{:+.1}%", (now / prev - 1.0) * 100.0),
                ]);
                "change point".to_string()
            } else {
                String::new()
            };
            let version = &per_run[i].2;
            t.push(vec![
                m.run_id.clone(),
                m.started.clone(),
                version.clone(),
                fig(agg, unit),
                mark,
            ]);
        }
        s.table(t);
        sections.push(s);
    }
    let mut top = Section::new("changes", "Change points");
    top.para(format!(
        "A change point is a run whose median differs from the previous run's by more than ±{:.1}% \
         and after which every later run stays beyond that band on the same side.",
        threshold * 100.0
    ));
    if changes_table.rows.is_empty() {
        top.note("No change points.");
    } else {
        top.table(changes_table);
    }
    sections.insert(0, top);
    if !warnings.is_empty() {
        let mut s = Section::new("warnings", "Warnings while reading");
        for w in &warnings {
            s.para(w.clone());
        }
        sections.push(s);
    }
    let first = &runs[0].manifest.started;
    let last = &runs[runs.len() - 1].manifest.started;
    let doc = Doc {
        title: "gapbench history".into(),
        intro: vec![
            format!("{} run(s) under {}, from {first} to {last}.", runs.len(), results_root.display()),
            "Each point is a run's median (the median of its repetitions' medians) with its 95% CI; \
             x-axis labels are the engine version and date of the run."
                .into(),
        ],
        sections,
    };
    std::fs::create_dir_all(out).map_err(|e| format!("{}: cannot create: {e}", out.display()))?;
    let path = out.join("history.html");
    record::write_atomic(&path, html::render(&doc).as_bytes())
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::{TempDir, case, noisy, throughput_case, write_run};

    /// A run with two series: chromium (two repetitions) and native, step times around `ms`.
    fn run(dir: &Path, id: &str, seed: u64, scale: f64) {
        let cases = vec![
            throughput_case(
                &case(id, "mlp", "small", "chromium", 1),
                &noisy(seed, 30, 20.0 * scale, 0.03),
            ),
            throughput_case(
                &case(id, "mlp", "small", "chromium", 2),
                &noisy(seed + 1, 30, 20.0 * scale, 0.03),
            ),
            throughput_case(
                &case(id, "mlp", "small", "native-ndarray", 1),
                &noisy(seed + 2, 30, 10.0 * scale, 0.03),
            ),
        ];
        write_run(dir, id, "2025-11-26T10:00:00Z", &cases);
    }

    /// A native series with `reps` repetitions of 30 steps; each repetition's centre is off by
    /// its own few percent (the variation between processes), all scaled by `scale`.
    fn reps_run(dir: &Path, id: &str, seed: u64, scale: f64, reps: u32) {
        let centres = noisy(seed, reps as usize, 10.0, 0.02);
        let cases: Vec<_> = (1..=reps)
            .map(|r| {
                throughput_case(
                    &case(id, "mlp", "small", "native-ndarray", r),
                    &noisy(
                        seed + 100 + r as u64,
                        30,
                        centres[r as usize - 1] * scale,
                        0.03,
                    ),
                )
            })
            .collect();
        write_run(dir, id, "2025-11-26T10:00:00Z", &cases);
    }

    #[test]
    fn too_few_repetitions_leave_the_verdict_open() {
        let tmp = TempDir::new("cmp-fewreps");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        run(&a, "base", 1, 1.0);
        run(&b, "cand", 1, 1.2);
        let rep = compare_runs(&a, &b, 0.02, Unit::Repetitions).unwrap();
        assert_eq!(rep.regressions, 0, "{rep:?}");
        for r in &rep.rows {
            assert_eq!(r.verdict, "unknown", "{r:?}");
            assert!(
                r.reason.contains("fewer than 5 a side")
                    && r.reason.contains("the steps alone would say slower"),
                "{}",
                r.reason
            );
            assert!(
                (r.ratio.unwrap() - 1.2).abs() < 1e-9,
                "the steps' ratio is shown"
            );
        }
        let native = &rep.rows[1];
        assert_eq!(
            (native.n_baseline, native.n_candidate),
            (1, 1),
            "repetitions"
        );
    }

    #[test]
    fn repetitions_carry_the_verdict() {
        let tmp = TempDir::new("cmp-reps");
        let (a, b, c) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("c"),
        );
        reps_run(&a, "base", 1, 1.0, 8);
        reps_run(&b, "again", 1000, 1.0, 8);
        reps_run(&c, "slow", 1, 1.2, 8);
        let same = compare_runs(&a, &b, 0.02, Unit::Repetitions).unwrap();
        assert_eq!(same.regressions, 0, "{same:?}");
        assert!(
            matches!(same.rows[0].verdict.as_str(), "same" | "unknown"),
            "{:?}",
            same.rows[0]
        );
        assert_eq!(same.rows[0].n_baseline, 8);
        let slow = compare_runs(&a, &c, 0.02, Unit::Repetitions).unwrap();
        assert_eq!(slow.regressions, 1, "{slow:?}");
        let r = &slow.rows[0];
        assert_eq!(r.verdict, "slower", "{r:?}");
        assert!(
            r.reason.contains("over the medians of 8 and 8 repetitions"),
            "{}",
            r.reason
        );
        assert!(
            r.ci_low.unwrap() > 1.02 && r.p_value.unwrap() <= 0.01,
            "{r:?}"
        );
    }

    #[test]
    fn series_strips_the_repetition() {
        assert_eq!(
            series_id("mlp/small/chromium/ndarray-simd/main/r12"),
            "mlp/small/chromium/ndarray-simd/main"
        );
        assert_eq!(
            series_id("mlp/small/chromium/ndarray-simd/main"),
            "mlp/small/chromium/ndarray-simd/main"
        );
        assert_eq!(series_id("a/run"), "a/run");
    }

    #[test]
    fn same_distribution_has_no_regressions() {
        let tmp = TempDir::new("cmp-same");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        run(&a, "base", 1, 1.0);
        run(&b, "cand", 101, 1.0);
        let rep = compare_runs(&a, &b, 0.02, Unit::Steps).unwrap();
        assert_eq!(rep.rows.len(), 2, "{rep:?}");
        assert_eq!(rep.regressions, 0);
        for r in &rep.rows {
            assert_eq!(r.metric, "step_time");
            assert!(r.verdict == "same" || r.verdict == "unknown", "{r:?}");
            assert!(r.lower_is_better);
            assert_eq!(r.unit, "ms");
        }
        let chromium = &rep.rows[0];
        assert_eq!(chromium.series, "mlp/small/chromium/ndarray-simd/main");
        assert_eq!(
            (chromium.n_baseline, chromium.n_candidate),
            (60, 60),
            "pooled over repetitions"
        );
        assert_eq!(
            (rep.baseline.as_str(), rep.candidate.as_str()),
            ("base", "cand")
        );
    }

    #[test]
    fn slower_candidate_is_a_regression_in_every_format() {
        let tmp = TempDir::new("cmp-slow");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        run(&a, "base", 1, 1.0);
        run(&b, "cand", 1, 1.2); // the same draws, every step 1.2x as long
        let rep = compare_runs(&a, &b, 0.02, Unit::Steps).unwrap();
        assert_eq!(rep.regressions, 2, "{rep:?}");
        for r in &rep.rows {
            assert_eq!(r.verdict, "slower", "{r:?}");
            assert!((r.ratio.unwrap() - 1.2).abs() < 1e-9);
            assert!(r.ci_low.unwrap() > 1.02 && r.p_value.unwrap() < 0.01);
            assert!(r.reason.contains("beyond ±2.0%"), "{}", r.reason);
        }

        let md = markdown(&rep);
        assert!(md.contains("| series | metric | baseline | candidate |"));
        assert!(
            md.contains("| mlp/small/native-ndarray/ndarray/main | step_time |"),
            "{md}"
        );
        assert!(
            md.trim_end().ends_with("2 regression(s) beyond ±2.0%.**"),
            "{md}"
        );

        let j: serde_json::Value = serde_json::from_str(&json(&rep)).unwrap();
        assert_eq!(j["regressions"], 2);
        assert_eq!(j["rows"][0]["verdict"], "slower");

        let p = perfherder(&rep, "gapbench");
        let body = p.strip_prefix("PERFHERDER_DATA: ").expect("prefix");
        assert!(!body.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["framework"]["name"], "gapbench");
        let suite = &v["suites"][0];
        assert_eq!(suite["name"], "mlp/small");
        assert_eq!(suite["lowerIsBetter"], true);
        let subs = suite["subtests"].as_array().unwrap();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0]["name"], "chromium/ndarray-simd/main step_time");
        assert_eq!(subs[0]["unit"], "ms");
        let geo = (subs[0]["value"].as_f64().unwrap() * subs[1]["value"].as_f64().unwrap()).sqrt();
        assert!((suite["value"].as_f64().unwrap() - geo).abs() < 1e-9);

        let x = junit(&rep);
        assert!(
            x.starts_with("<?xml")
                && x.contains("<testsuite ")
                && x.trim_end().ends_with("</testsuite>")
        );
        assert_eq!(x.matches("<testcase ").count(), 2);
        assert_eq!(x.matches("<failure ").count(), 2);
        assert!(x.contains("tests=\"2\" failures=\"2\""));

        // and the other way round it is faster, not a regression
        let rep = compare_runs(&b, &a, 0.02, Unit::Steps).unwrap();
        assert_eq!(rep.regressions, 0);
        assert!(rep.rows.iter().all(|r| r.verdict == "faster"));
        assert_eq!(junit(&rep).matches("<failure").count(), 0);
    }

    #[test]
    fn one_sided_series_are_unknown() {
        let tmp = TempDir::new("cmp-onesided");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        run(&a, "base", 1, 1.0);
        let failed = case("cand", "mlp", "small", "chromium", 1);
        let cases = vec![
            (
                vec![record::Record::outcome(
                    &failed,
                    Status::Timeout,
                    "no reply in 600 s",
                )],
                vec![],
            ),
            throughput_case(
                &case("cand", "mlp", "small", "native-ndarray", 1),
                &noisy(3, 30, 10.0, 0.03),
            ),
            throughput_case(
                &case("cand", "cnn", "small", "native-ndarray", 1),
                &noisy(4, 30, 10.0, 0.03),
            ),
        ];
        write_run(&b, "cand", "2025-11-26T11:00:00Z", &cases);
        let rep = compare_runs(&a, &b, 0.02, Unit::Steps).unwrap();
        let find = |s: &str| rep.rows.iter().find(|r| r.series.starts_with(s)).unwrap();
        let gone = find("mlp/small/chromium");
        assert_eq!(gone.verdict, "unknown");
        assert_eq!(
            gone.reason,
            "only in baseline (candidate case timeout: no reply in 600 s)"
        );
        assert_eq!((gone.n_candidate, gone.candidate_median), (0, None));
        let new = find("cnn/small/native-ndarray");
        assert_eq!(
            (new.verdict.as_str(), new.reason.as_str()),
            ("unknown", "only in candidate")
        );
        assert_eq!(rep.regressions, 0);
        // a row without a candidate median has no Perfherder subtest
        assert!(!perfherder(&rep, "f").contains("chromium"));
    }

    #[test]
    fn malformed_input_is_an_error_naming_file_and_line() {
        let tmp = TempDir::new("cmp-bad");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        run(&a, "base", 1, 1.0);
        run(&b, "cand", 2, 1.0);
        let path = b.join("records.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let cut = &lines[3][..lines[3].len() / 3];
        lines[3] = cut;
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let e = compare_runs(&a, &b, 0.02, Unit::Steps).unwrap_err();
        assert!(e.contains("b/records.csv:4:"), "{e}");

        run(&b, "cand", 2, 1.0);
        let path = b.join("samples.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen(",measured,0,", ",measured,0,slow", 1)).unwrap();
        let e = compare_runs(&a, &b, 0.02, Unit::Steps).unwrap_err();
        assert!(
            e.contains("b/samples.csv:") && e.contains("value (number)"),
            "{e}"
        );

        assert!(
            compare_runs(&a, &tmp.path().join("missing"), 0.02, Unit::Steps)
                .unwrap_err()
                .contains("not a run directory")
        );
        assert!(compare_runs(&a, &a, f64::NAN, Unit::Steps).is_err());
    }

    #[test]
    fn axis_labels_shorten_versions() {
        assert_eq!(
            short_version("rustc 1.95.0 (59807616e 2026-04-14); burn 0.22.1"),
            "rustc 1.95.0; burn 0.22.1"
        );
        assert_eq!(short_version("131.0.6778.85"), "131.0.6778.85");
        assert_eq!(short_version(&"x".repeat(40)).chars().count(), 28);
    }

    #[test]
    fn change_points_are_steps_not_spikes() {
        assert_eq!(
            change_points(&[10.0, 10.1, 9.9, 13.0, 13.2, 12.9], 0.05),
            vec![3]
        );
        assert_eq!(
            change_points(&[10.0, 10.0, 14.0, 10.0, 10.0], 0.05),
            Vec::<usize>::new()
        );
        assert_eq!(
            change_points(&[10.0, 10.0, 7.0], 0.05),
            vec![2],
            "a last run may be a change"
        );
        assert_eq!(
            change_points(&[10.0, 13.0, 10.4], 0.05),
            Vec::<usize>::new(),
            "came back inside the band"
        );
        assert_eq!(
            change_points(&[10.0, 10.4, 10.0], 0.05),
            Vec::<usize>::new()
        );
        assert_eq!(
            change_points(&[10.0, 13.0, 16.0, 16.0], 0.05),
            vec![1, 2],
            "two steps in a row"
        );
        assert_eq!(
            change_points(&[10.0, 10.0, 14.0, 9.0, 9.0], 0.05),
            vec![3],
            "spike, then a real drop"
        );
        assert!(change_points(&[], 0.05).is_empty() && change_points(&[1.0], 0.05).is_empty());
    }

    #[test]
    fn history_marks_a_step_in_a_series() {
        let tmp = TempDir::new("history");
        let root = tmp.path().join("results");
        // step times 10, 10, 10, 13, 13 ms over five runs (written out of order)
        for (k, ms) in [(3, 13.0), (0, 10.0), (4, 13.0), (1, 10.0), (2, 10.0)] {
            let id = format!("run-{k}");
            let mut c = case(&id, "mlp", "small", "chromium", 1);
            c.engine_version = format!("13{k}.0");
            let cases = vec![throughput_case(&c, &noisy(k, 20, ms, 0.01))];
            write_run(
                &root.join(format!("z{}", 9 - k)),
                &id,
                &format!("2025-11-2{k}T10:00:00Z"),
                &cases,
            );
        }
        std::fs::create_dir_all(root.join("not-a-run")).unwrap();
        let out = tmp.path().join("hist");
        let path = history(&root, &out, 0.05).unwrap();
        assert_eq!(path, out.join("history.html"));
        let html = std::fs::read_to_string(&path).unwrap();
        // two charts: throughput and step_time of the one series
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(
            html.contains("133.0 11-23"),
            "x labels are engine version and date"
        );
        // run-3 is the change point for both metrics, in the summary table and on the charts
        let changes = html.split("<section id=\"s0\"").next().unwrap();
        assert_eq!(changes.matches("<td>run-3</td>").count(), 2, "{changes}");
        assert_eq!(html.matches("<td>change point</td>").count(), 2);
        assert_eq!(
            html.matches(">\nchange\n</text>").count(),
            2,
            "marked on both charts"
        );
        let stripped = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(
            !stripped.contains("http://")
                && !stripped.contains("https://")
                && !html.contains("<script")
        );
        // runs ordered by start time: run-0 first
        let order: Vec<usize> = (0..5)
            .map(|k| html.find(&format!("<td>run-{k}</td><td>2025")).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");

        assert!(history(&tmp.path().join("none"), &out, 0.05).is_err());
    }
}
