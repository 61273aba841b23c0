//! The history page: every run under a results directory, one chart per series and metric, with change points.

use super::*;

/// Which side of the ±`threshold` band around `level` a value lies on: 1 above, -1 below, 0 inside.
pub(super) fn side(level: f64, x: f64, threshold: f64) -> i8 {
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
pub(super) fn changes(medians: &[f64], threshold: f64) -> Vec<(usize, f64)> {
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
pub(super) const HISTORY_METRICS: [&str; 2] = ["throughput", "step_time"];

/// An engine version short enough for an axis label: parenthesized parts dropped, at most 28
/// characters (`rustc 1.95.0 (59807616e 2026-04-14); burn 0.22.1` -> `rustc 1.95.0; burn 0.22.1`).
pub(super) fn short_version(v: &str) -> String {
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
pub(super) fn short_date(started: &str) -> &str {
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
