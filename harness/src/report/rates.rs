//! The rate charts and the step time of every case.

use super::*;

/// Label of a chart series: target and variant and context, with the run when there are several.
/// A native target's variant is its backend, already in its name, so it is left out.
pub(super) fn series_label(c: &CaseInfo, multi: bool) -> String {
    let var = variant(c);
    let base = if c.target == format!("native-{var}") {
        format!("{} {}", c.target, c.context)
    } else {
        format!("{} {var} {}", c.target, c.context)
    };
    if multi {
        format!("{base} ({})", c.run_id)
    } else {
        base
    }
}

/// The most series one chart draws.
pub(super) const MAX_SERIES: usize = 8;

pub(super) fn rate_chart(
    runs: &[Run],
    multi: bool,
    metric: &str,
    title: &str,
    file: &str,
    unit: &str,
) -> Section {
    let mut s = Section::new(metric, title);
    let recs = of_metric(runs, |r| r.metric == metric);
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return s;
    }
    // series -> (params, workload, size) -> summaries over repetitions
    type Points<'a> = BTreeMap<(u64, String, String), (Vec<&'a Summary>, String)>;
    let mut series: BTreeMap<String, Points> = BTreeMap::new();
    // The series the chart draws: the probe (ndarray with SIMD) and native ndarray on the main
    // thread; every other series is in the table only, so the chart stays readable.
    let mut charted: BTreeSet<String> = BTreeSet::new();
    let mut no_params = 0;
    // marker groups: one per workload, in name order
    let workloads: Vec<String> = recs
        .iter()
        .map(|(_, r, _)| r.case.workload.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for (_, r, sum) in &recs {
        let c = &r.case;
        if c.params == 0 {
            no_params += 1;
            continue;
        }
        if c.context == "main" && (variant(c) == "ndarray-simd" || c.target == "native-ndarray") {
            charted.insert(series_label(c, multi));
        }
        let e = series
            .entry(series_label(c, multi))
            .or_default()
            .entry((c.params, c.workload.clone(), c.size.clone()))
            .or_insert_with(|| (Vec::new(), r.unit.clone()));
        e.0.push(sum);
    }
    let mut chart_series = Vec::new();
    let mut t = Table::new(&["series", "workload/size", "parameters", metric]);
    for (label, points) in &series {
        let mut pts = Vec::new();
        let mut groups = Vec::new();
        for ((params, workload, size), (sums, unit)) in points {
            let Some(agg) = Agg::combine(sums) else {
                continue;
            };
            pts.push(agg.point(*params as f64));
            groups.push(workloads.iter().position(|w| w == workload).unwrap_or(0));
            t.push(vec![
                label.clone(),
                format!("{workload}/{size}"),
                charts::human(*params as f64),
                fig(&agg, unit),
            ]);
        }
        if charted.contains(label) && chart_series.len() < MAX_SERIES {
            chart_series.push(Series {
                label: label.clone(),
                points: pts,
                groups,
            });
        }
    }
    s.para(format!(
        "{metric} ({unit}) against parameter count, both axes logarithmic; one colour per target \
         (the probe, burn ndarray with SIMD, and native ndarray, on the main thread; at most \
         {MAX_SERIES}), one marker shape per workload (lines join the sizes of one workload); bars \
         are 95% CIs. The table under it has every series ({} here).",
        series.len()
    ));
    if chart_series.is_empty() {
        s.note("No series of the probe or native ndarray on the main thread to chart.");
    } else {
        match charts::log_log(
            file,
            title,
            "parameters (log)",
            &format!("{metric} ({unit}, log)"),
            &chart_series,
            &workloads,
        ) {
            Ok(chart) => s.blocks.push(Block::Chart(chart)),
            Err(_) => s.note("No positive values to chart."),
        }
    }
    s.table(t);
    if no_params > 0 {
        s.note(format!(
            "{no_params} record(s) without a parameter count are left out of the chart."
        ));
    }
    s
}

pub(super) fn step_times(runs: &[Run], multi: bool) -> Section {
    let mut s = Section::new("step-time", "Step time of every case");
    let recs: Vec<(usize, &Record)> = runs
        .iter()
        .enumerate()
        .flat_map(|(i, run)| run.records.iter().map(move |r| (i, r)))
        .filter(|(_, r)| r.metric == "step_time" && r.status == Status::Ok)
        .collect();
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return s;
    }
    // Where each case's warm-up ended (the throughput meter's `warmup_steps` record).
    let warmups: BTreeMap<(usize, &str), &Record> = runs
        .iter()
        .enumerate()
        .flat_map(|(i, run)| run.records.iter().map(move |r| (i, r)))
        .filter(|(_, r)| r.metric == "warmup_steps" && r.status == Status::Ok)
        .map(|(i, r)| ((i, r.case.case_id.as_str()), r))
        .collect();
    let mut t = Table::new(&["case", "engine", "step time", "warm-up", "steady"]);
    let mut sorted = recs;
    sorted.sort_by(|a, b| (a.0, &a.1.case.case_id).cmp(&(b.0, &b.1.case.case_id)));
    let (mut unsteady, mut unsettled) = (0, 0);
    for (i, r) in sorted {
        let value = r
            .summary
            .as_ref()
            .map(|x| fig(&Agg::of(x), &r.unit))
            .unwrap_or_else(|| "no finite samples".into());
        let warmup = match warmups.get(&(i, r.case.case_id.as_str())) {
            Some(w) => {
                let n = w.summary.as_ref().map(|x| x.median).unwrap_or(f64::NAN);
                let how = if w.message.starts_with("settled") {
                    "settled"
                } else if w.message.starts_with("not settled") {
                    unsettled += 1;
                    "not settled (bound)"
                } else {
                    "fixed"
                };
                format!("{n:.0}, {how}")
            }
            // runs recorded before the warm-up extension
            None => "–".into(),
        };
        // the throughput meter's steady-state check leaves its note in the message
        let steady = if r.message.starts_with("not steady") {
            unsteady += 1;
            r.message.clone()
        } else {
            "yes".into()
        };
        t.push(vec![
            case_label(r, multi),
            engine_label(&r.case),
            value,
            warmup,
            steady,
        ]);
    }
    s.para(
        "Warm-up: the steps run before measuring and how warm-up ended: `settled` when the median \
         of the last 4 warm-up steps came within 10% of the 4 before (the probe goes on warming up \
         past `warmup` until then, at most `max_extra_warmup` steps or 10 s more), `not settled` \
         when it stopped at that bound, `fixed` when no extension ran (`max_extra_warmup = 0`, \
         `epochs`, `warmup = 0`, the peer libraries). Steady: the check of the measured window.",
    );
    if unsettled > 0 {
        s.para(format!(
            "{unsettled} case(s) stopped warming up at the bound before their step time settled."
        ));
    }
    if unsteady > 0 {
        s.para(format!(
            "{unsteady} case(s) were still speeding up in their measured window (its first quarter \
             more than 10% slower than its second half): their figures include warm-up, and a \
             longer `warmup` (or `max_extra_warmup`) would measure the steady state."
        ));
    }
    s.table(t);
    s
}
