//! The fleet: the devices that ran a run's browser cases (`manifest.json`'s `fleet`, the records'
//! `host` column), what each is as far as its page told, and every case's result grouped by
//! device, as the other sections group by engine. Shown when a case ran on a remote device.

use super::*;

/// The section, or None when every case ran on this machine.
pub(super) fn fleet(runs: &[Run]) -> Option<Section> {
    let remote = runs.iter().any(|r| {
        r.manifest.fleet.iter().any(|d| d.remote())
            || r.records
                .iter()
                .any(|x| !matches!(x.case.host.as_str(), "" | "local"))
    });
    if !remote {
        return None;
    }
    let mut s = Section::new("fleet", "Devices");
    s.para(
        "Each device that ran cases, as its WebDriver endpoint and its probe page told (a Grid \
         node by its URI; a cloud endpoint by its URL), and each case's median throughput by \
         device. On a remote device nothing is sampled on this machine: no PSS, no memory cap.",
    );
    let mut t = Table::new(&[
        "device",
        "engine",
        "user agent",
        "platform",
        "cores",
        "memory",
        "GPU",
        "secure / isolated",
        "not measured",
    ]);
    for run in runs {
        for d in &run.manifest.fleet {
            let opt = |b: Option<bool>| b.map_or("?".to_string(), |b| b.to_string());
            t.push(vec![
                d.id.clone(),
                format!("{} {}", d.engine, d.engine_version),
                d.user_agent.clone(),
                d.platform.clone(),
                d.hardware_concurrency.map_or("?".into(), |n| n.to_string()),
                d.device_memory_gb
                    .map_or("?".into(), |g| format!("{g} GiB")),
                d.gpu.clone(),
                format!(
                    "{} / {}",
                    opt(d.secure_context),
                    opt(d.cross_origin_isolated)
                ),
                d.not_measured.clone(),
            ]);
        }
    }
    s.table(t);
    // By device, then case (repetitions together): cases ok of all, median samples/s.
    type Key = (String, String, String, String, String);
    let mut by: BTreeMap<Key, (usize, usize, Vec<f64>)> = BTreeMap::new();
    for run in runs {
        for r in &run.records {
            let c = &r.case;
            let host = if c.host.is_empty() { "local" } else { &c.host };
            let key = (
                host.to_string(),
                c.target.clone(),
                format!("{} {}", c.workload, c.size),
                variant(c),
                c.context.clone(),
            );
            let e = by.entry(key).or_default();
            match r.metric.as_str() {
                "case" => {
                    e.1 += 1;
                    if r.status == Status::Ok {
                        e.0 += 1;
                    }
                }
                "throughput" => e.2.extend(r.summary.as_ref().map(|s| s.median)),
                _ => {}
            }
        }
    }
    let mut t = Table::new(&[
        "device",
        "target",
        "workload",
        "variant",
        "context",
        "ok / cases",
        "samples/s (median)",
    ]);
    for ((host, target, workload, variant, context), (ok, all, mut per_s)) in by {
        per_s.sort_by(f64::total_cmp);
        let median = match per_s.len() {
            0 => "-".to_string(),
            n if n % 2 == 1 => format!("{:.1}", per_s[n / 2]),
            n => format!("{:.1}", (per_s[n / 2 - 1] + per_s[n / 2]) / 2.0),
        };
        t.push(vec![
            host,
            target,
            workload,
            variant,
            context,
            format!("{ok} / {all}"),
            median,
        ]);
    }
    s.table(t);
    Some(s)
}
