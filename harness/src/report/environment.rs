//! The sections about the runs themselves: the environment, the capabilities, and the cases that did not finish.

use super::*;

pub(super) fn environment(runs: &[Run]) -> Section {
    let mut s = Section::new("environment", "Environment");
    let mut header = vec!["".to_string()];
    header.extend(runs.iter().map(|r| r.manifest.run_id.clone()));
    let mut t = Table::new(&header);
    type Field = (&'static str, fn(&Manifest) -> String);
    let fields: [Field; 16] = [
        ("scenario", |m| m.scenario.clone()),
        ("host CPU", |m| m.host_cpu.clone()),
        ("cores", |m| m.cores.to_string()),
        ("RAM", |m| {
            format!("{:.1} GiB", m.ram_bytes as f64 / (1u64 << 30) as f64)
        }),
        ("OS", |m| m.os.clone()),
        ("kernel", |m| m.kernel.clone()),
        ("commit", |m| m.git_commit.clone()),
        ("gapbench", |m| m.gapbench_version.clone()),
        ("allocator", |m| m.allocator.clone()),
        ("rustc", |m| m.rustc.clone()),
        ("burn", |m| m.burn.clone()),
        ("native threads", |m| m.native_threads.to_string()),
        ("engine settings", |m| {
            if m.engine_env.is_empty() {
                "none from the environment".into()
            } else {
                m.engine_env.join(" ")
            }
        }),
        ("started", |m| m.started.clone()),
        ("ended", |m| {
            m.ended.clone().unwrap_or_else(|| "(not finished)".into())
        }),
        ("cases done", |m| {
            format!("{} of {}", m.cases_done, m.cases_planned)
        }),
    ];
    for (name, get) in fields {
        let mut row = vec![name.to_string()];
        row.extend(runs.iter().map(|r| get(&r.manifest)));
        t.push(row);
    }
    s.table(t);

    // engines and versions seen in records
    let mut engines: BTreeMap<(String, String), (BTreeSet<String>, BTreeSet<String>)> =
        BTreeMap::new();
    let mut devices: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for run in runs {
        for r in &run.records {
            let c = &r.case;
            if !c.engine.is_empty() || !c.engine_version.is_empty() {
                let e = engines
                    .entry((c.engine.clone(), c.engine_version.clone()))
                    .or_default();
                e.0.insert(c.target.clone());
                e.1.insert(c.run_id.clone());
            }
            if !c.device.is_empty() {
                devices.entry(c.device.clone()).or_default().insert(format!(
                    "{} {}",
                    c.target,
                    variant(c)
                ));
            }
        }
    }
    if engines.is_empty() {
        s.note("No engine versions recorded.");
    } else {
        let mut t = Table::new(&["engine", "version", "targets", "runs"]);
        for ((e, v), (targets, run_ids)) in engines {
            t.push(vec![e, v, join(&targets), join(&run_ids)]);
        }
        s.table(t);
    }
    if devices.is_empty() {
        s.note("No devices or adapters recorded.");
    } else {
        let mut t = Table::new(&["device / adapter", "used by"]);
        for (d, users) in devices {
            t.push(vec![d, join(&users)]);
        }
        s.table(t);
    }
    s
}

pub(super) fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

pub(super) fn capabilities(runs: &[Run]) -> Section {
    let mut s = Section::new("capabilities", "Capabilities");
    let recs: Vec<&Record> = runs
        .iter()
        .flat_map(|r| r.records.iter())
        .filter(|r| r.metric.starts_with("cap_"))
        .collect();
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return s;
    }
    s.para("What each engine offers (cap_* records; the value is the record's message).");
    let mut engines = BTreeSet::new();
    let mut cells: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for r in recs {
        let engine = engine_label(&r.case);
        engines.insert(engine.clone());
        let value = if r.status != Status::Ok {
            format!("{}: {}", r.status.as_str(), r.message)
        } else if !r.message.is_empty() {
            r.message.clone()
        } else if let Some(x) = &r.summary {
            format!("{} {}", num(x.median), r.unit)
                .trim_end()
                .to_string()
        } else {
            "?".into()
        };
        cells
            .entry(r.metric.clone())
            .or_default()
            .entry(engine)
            .or_default()
            .insert(value);
    }
    let mut header = vec!["capability".to_string()];
    header.extend(engines.iter().cloned());
    let mut t = Table::new(&header);
    for (cap, by_engine) in cells {
        let mut row = vec![cap.trim_start_matches("cap_").to_string()];
        row.extend(engines.iter().map(|e| {
            by_engine
                .get(e)
                .map(|v| v.iter().cloned().collect::<Vec<_>>().join(" / "))
                .unwrap_or_else(|| "–".into())
        }));
        t.push(row);
    }
    s.table(t);
    s
}

pub(super) fn not_ok(runs: &[Run], multi: bool) -> Section {
    let mut s = Section::new("not-ok", "Cases that did not finish");
    let mut t = Table::new(&["case", "engine", "metric", "status", "message"]);
    for run in runs {
        for r in run.records.iter().filter(|r| r.status != Status::Ok) {
            t.push(vec![
                case_label(r, multi),
                engine_label(&r.case),
                if r.metric == "case" {
                    String::new()
                } else {
                    r.metric.clone()
                },
                r.status.as_str().into(),
                r.message.clone(),
            ]);
        }
    }
    if t.rows.is_empty() {
        s.note("Every case finished ok.");
    } else {
        s.para(format!(
            "{} record(s) with a status other than ok (skipped, failed, crashed, oom, timeout).",
            t.rows.len()
        ));
        s.table(t);
    }
    s
}
