//! Case-by-metric tables: the Teachable Machine verdict and the pivots of the page meters.

use super::*;

pub(super) fn teachable_machine(runs: &[Run], twins: &Twins, multi: bool) -> Section {
    let mut s = Section::new("teachable-machine", "Teachable Machine verdict");
    let recs = of_metric(runs, |r| {
        r.case.workload == "tm-image" && r.metric == "train_time"
    });
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return s;
    }
    s.para(
        "Time to train the Teachable-Machine-style image classifier (tm-image) in seconds: the wall \
         time of all its training steps, warm-up included (train_time). A scenario that sets \
         epochs = 50 measures Teachable Machine's whole 50-epoch training; with a fixed step count \
         it is the time of those steps only. train_time is one value per case (n=1 per \
         repetition), so it has no CI of its own; compare the step-time CIs above.",
    );
    type Key = (usize, String, String, String, String, String);
    let mut groups: BTreeMap<Key, (Vec<&Summary>, &Record)> = BTreeMap::new();
    for (i, r, sum) in &recs {
        let c = &r.case;
        let key = (
            *i,
            c.size.clone(),
            c.target.clone(),
            engine_label(c),
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
        "size",
        "target",
        "engine",
        "variant",
        "context",
        "train time",
        "vs native",
    ];
    if multi {
        header.insert(0, "run");
    }
    let mut t = Table::new(&header);
    let mut verdict = Vec::new();
    for ((i, size, target, engine, var, context), (sums, r)) in &groups {
        let Some(agg) = Agg::combine(sums) else {
            continue;
        };
        let to_s = if r.unit == "ms" { 1e-3 } else { 1.0 };
        let secs = agg.scaled(to_s);
        let vs = twins
            .find(*i, r)
            .and_then(|tw| {
                gap(agg.median, tw.agg.median, true)
                    .map(|g| ratio_fig(g, gap_interval(&agg, &tw.agg, true)))
            })
            .unwrap_or_else(|| "–".into());
        if !is_native(target) {
            verdict.push(format!(
                "{engine} {var} {context} ({size}): {} s ({vs} native)",
                num(secs.median)
            ));
        }
        let mut row = vec![
            size.clone(),
            target.clone(),
            engine.clone(),
            var.clone(),
            context.clone(),
            fig(&secs, "s"),
            vs,
        ];
        if multi {
            row.insert(0, runs[*i].manifest.run_id.clone());
        }
        t.push(row);
    }
    if !verdict.is_empty() {
        s.para(format!("Verdict: {}.", verdict.join("; ")));
    }
    s.table(t);
    s
}

/// A matrix of cases (rows) by metrics (columns) for the metrics `wanted` accepts.
pub(super) fn pivot(
    runs: &[Run],
    multi: bool,
    id: &str,
    title: &str,
    about: &str,
    wanted: impl Fn(&str) -> bool,
) -> Section {
    let mut s = Section::new(id, title);
    let recs = of_metric(runs, |r| wanted(&r.metric));
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return s;
    }
    s.para(about);
    let mut metrics: BTreeMap<String, String> = BTreeMap::new();
    type Row = (String, String, BTreeMap<String, String>);
    let mut rows: BTreeMap<(usize, String), Row> = BTreeMap::new();
    for (i, r, sum) in &recs {
        metrics
            .entry(r.metric.clone())
            .or_insert_with(|| r.unit.clone());
        let row = rows
            .entry((*i, r.case.case_id.clone()))
            .or_insert_with(|| (case_label(r, multi), engine_label(&r.case), BTreeMap::new()));
        row.2.insert(r.metric.clone(), fig(&Agg::of(sum), &r.unit));
    }
    let mut header = vec!["case".to_string(), "engine".to_string()];
    header.extend(metrics.iter().map(|(m, u)| {
        if u.is_empty() {
            m.clone()
        } else {
            format!("{m} ({u})")
        }
    }));
    let mut t = Table::new(&header);
    for (_, (case, engine, values)) in rows {
        let mut row = vec![case, engine];
        row.extend(
            metrics
                .keys()
                .map(|m| values.get(m).cloned().unwrap_or_else(|| "–".into())),
        );
        t.push(row);
    }
    s.table(t);
    s
}
