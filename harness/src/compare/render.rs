//! A comparison rendered as Markdown, JSON, Perfherder data and JUnit XML.

use super::*;

pub(super) fn opt(x: Option<f64>, unit: &str) -> String {
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
pub(super) fn perf_names(r: &CompareRow) -> (String, String) {
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
