//! "Is the probe the bottleneck?" (`scenarios/efficiency.toml`): per engine and workload, our
//! probe's training throughput next to TF.js's best wasm setting, and the GEMM kernel's compute
//! rate as a fraction of the engine's measured SIMD128 multiply-add limit (`gemm` `peak`).

use super::doc::{Section, Table};
use super::gap::{gap, gap_interval};
use super::{Agg, NOT_MEASURED, Run, engine_label, fig, num, of_metric, ratio_fig};
use crate::record::{CaseInfo, Record};
use crate::stats::Summary;
use std::collections::{BTreeMap, BTreeSet};

/// Where a figure was measured: run, target, context, SIMD build.
type Place = (usize, String, String, String);
/// What was measured there: workload and size.
type Job = (String, String);

fn place(i: usize, c: &CaseInfo) -> Place {
    (i, c.target.clone(), c.context.clone(), c.simd.clone())
}

/// The figures of `metric` by place, job and backend (repetitions pooled), with an engine label
/// per place.
#[allow(clippy::type_complexity)]
fn collect(
    runs: &[Run],
    metric: &str,
) -> (
    BTreeMap<(Place, Job), BTreeMap<String, (Agg, String)>>,
    BTreeMap<Place, String>,
) {
    let mut by: BTreeMap<(Place, Job, String), (Vec<&Summary>, String)> = BTreeMap::new();
    let mut labels = BTreeMap::new();
    for (i, r, s) in of_metric(runs, |r: &Record| r.metric == metric) {
        let c = &r.case;
        let p = place(i, c);
        labels.entry(p.clone()).or_insert_with(|| {
            let context = if c.context.is_empty() || c.target.starts_with("native-") {
                String::new()
            } else {
                format!(" {}", c.context)
            };
            let simd = match c.simd.as_str() {
                "no-simd" => " no-simd",
                "relaxed" => " relaxed",
                _ => "",
            };
            format!("{}{context}{simd}", engine_label(c))
        });
        let e = by
            .entry((p, (c.workload.clone(), c.size.clone()), c.backend.clone()))
            .or_insert_with(|| (Vec::new(), r.unit.clone()));
        e.0.push(s);
    }
    let mut out: BTreeMap<(Place, Job), BTreeMap<String, (Agg, String)>> = BTreeMap::new();
    for ((p, j, backend), (list, unit)) in by {
        if let Some(a) = Agg::combine(&list) {
            out.entry((p, j)).or_default().insert(backend, (a, unit));
        }
    }
    (out, labels)
}

/// Native targets run one backend each (`native-flex` is flex): fold them into one place per
/// run so the table has a native row with both backends.
fn native_folded(p: &Place) -> Place {
    if p.1.starts_with("native-") {
        (p.0, "native".into(), String::new(), String::new())
    } else {
        p.clone()
    }
}

/// Figures by place and job with the native places folded into one "native" place per run
/// (labelled "native"), keeping only the jobs `keep` accepts; with the label of each place.
#[allow(clippy::type_complexity)]
fn fold_native(
    by: &BTreeMap<(Place, Job), BTreeMap<String, (Agg, String)>>,
    labels: &BTreeMap<Place, String>,
    keep: impl Fn(&Job) -> bool,
) -> (
    BTreeMap<(Place, Job), BTreeMap<String, (Agg, String)>>,
    BTreeMap<Place, String>,
) {
    let mut folded: BTreeMap<(Place, Job), BTreeMap<String, (Agg, String)>> = BTreeMap::new();
    let mut folded_labels = BTreeMap::new();
    for ((p, job), backends) in by.iter().filter(|((_, j), _)| keep(j)) {
        let f = native_folded(p);
        folded_labels.entry(f.clone()).or_insert_with(|| {
            if f.1 == "native" {
                "native".into()
            } else {
                labels.get(p).cloned().unwrap_or_default()
            }
        });
        let e = folded.entry((f, job.clone())).or_default();
        for (b, v) in backends {
            e.insert(b.clone(), v.clone());
        }
    }
    (folded, folded_labels)
}

/// Whether a backend is one of the probe's peers at a setting the efficiency table compares
/// (not TF.js's plain-JS `cpu`, WebGL or WebGPU: other devices).
fn is_peer(b: &str) -> bool {
    crate::target::peer::peer_label(b).is_some()
        && !matches!(
            b,
            "tfjs-cpu" | "tfjs-webgl" | "tfjs-webgpu" | "jaxjs-webgpu"
        )
}

/// The peer settings in the order the table shows them: the catalog's (TF.js, jax-js, ORT-Web,
/// then Keras), then any other peer backend by name.
fn peer_settings<'a>(backends: impl Iterator<Item = &'a String>) -> Vec<String> {
    let order: Vec<&str> = crate::target::peer::PEERS
        .iter()
        .flat_map(|p| p.backends.iter())
        .chain(crate::target::peer::NATIVE_PEERS.iter())
        .map(|(b, _)| *b)
        .collect();
    let set: BTreeSet<&String> = backends.filter(|b| is_peer(b)).collect();
    let rank = |b: &str| order.iter().position(|o| *o == b).unwrap_or(order.len());
    let mut v: Vec<String> = set.into_iter().cloned().collect();
    v.sort_by(|a, b| (rank(a), a).cmp(&(rank(b), b)));
    v
}

/// What a peer setting is, in words.
fn peer_name(b: &str) -> String {
    crate::target::peer::peer_label(b).unwrap_or(b).into()
}

/// The step windows (measured steps a repetition) of `metric`'s records by place (native
/// folded), job and backend: figures over different windows are not compared.
fn step_windows(runs: &[Run], metric: &str) -> BTreeMap<(Place, Job, String), BTreeSet<usize>> {
    let mut out: BTreeMap<(Place, Job, String), BTreeSet<usize>> = BTreeMap::new();
    for (i, r, s) in of_metric(runs, |r: &Record| r.metric == metric) {
        let c = &r.case;
        out.entry((
            native_folded(&place(i, c)),
            (c.workload.clone(), c.size.clone()),
            c.backend.clone(),
        ))
        .or_default()
        .insert(s.n);
    }
    out
}

pub(super) fn section(runs: &[Run]) -> Section {
    let mut s = Section::new(
        "efficiency",
        "Probe efficiency: probe vs TF.js, GEMM vs SIMD128 peak",
    );
    let (tp, labels) = collect(runs, "throughput");
    let (gf, _) = collect(runs, "compute");
    let (shares, _) = collect(runs, "peak_share");
    let mut any = false;

    // Probe vs its peers: same run, engine, context, workload and step window. The native
    // targets fold into one "native" place, where TF-Keras (`native-keras` train_on_batch and
    // `native-keras-fit` fit; the faster is Keras's best path, named) is the peer of burn's
    // native ndarray.
    let (folded, folded_labels) = fold_native(&tp, &labels, |_| true);
    let windows = step_windows(runs, "throughput");
    let settings: Vec<String> = peer_settings(folded.values().flat_map(|b| b.keys()));
    let mut header: Vec<String> = [
        "engine",
        "workload",
        "probe ndarray",
        "probe flex",
        "best peer: TF.js wasm, jax-js, ORT-Web (native: TF-Keras's faster path, keras = train_on_batch, keras-fit = fit)",
        "probe / best peer",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    header.extend(settings.iter().map(|b| format!("probe / {}", peer_name(b))));
    header.push("TF.js cpu".into());
    let mut t = Table::new(&header);
    let mut misses = Vec::new();
    for ((p, job), backends) in &folded {
        let (workload, size) = job;
        let probe = backends.get("ndarray");
        let window = |b: &str| windows.get(&(native_folded(p), job.clone(), b.to_string()));
        // A peer counts against the probe only over the probe's step window.
        let comparable = |b: &str| probe.is_none() || window(b) == window("ndarray");
        let peer = backends
            .iter()
            .filter(|(b, _)| is_peer(b) && comparable(b))
            .max_by(|a, b| a.1.0.median.total_cmp(&b.1.0.median));
        if peer.is_none() && !backends.keys().any(|b| is_peer(b)) {
            continue;
        }
        let cell =
            |b: Option<&(Agg, String)>| b.map(|(a, u)| fig(a, u)).unwrap_or_else(|| "–".into());
        let against = |peer: &Agg| {
            probe
                .and_then(|(a, _)| {
                    let r = gap(a.median, peer.median, true)?;
                    Some(ratio_fig(r, gap_interval(a, peer, true)))
                })
                .unwrap_or_else(|| "–".into())
        };
        let engine = folded_labels.get(p).cloned().unwrap_or_default();
        let (best, best_ratio) = match peer {
            Some((tb, (ta, unit))) => {
                let mark = probe
                    .and_then(|(a, _)| gap(a.median, ta.median, true))
                    .map(|r| {
                        if r >= 1.0 {
                            " ≥ 1"
                        } else {
                            misses.push(format!(
                                "{engine} {workload} {size} ({} {})",
                                peer_name(tb),
                                against(ta)
                            ));
                            " < 1"
                        }
                    })
                    .unwrap_or("");
                (
                    format!("{} ({tb})", fig(ta, unit)),
                    format!("{}{mark}", against(ta)),
                )
            }
            None => ("–".into(), "–".into()),
        };
        let mut row = vec![
            engine,
            format!("{workload} {size}"),
            cell(probe),
            cell(backends.get("flex")),
            best,
            best_ratio,
        ];
        for b in &settings {
            row.push(match backends.get(b.as_str()) {
                Some((a, _)) if comparable(b) => against(a),
                Some(_) => "other step window".into(),
                None => "–".into(),
            });
        }
        row.push(cell(backends.get("tfjs-cpu")));
        t.push(row);
    }
    if !t.rows.is_empty() {
        any = true;
        s.para(
            "Training throughput (samples/s) of our wasm probe and of its CPU peers \
             (TensorFlow.js, jax-js, ONNX Runtime Web training) on the same workload, batch and \
             optimizer in the same page. Each ratio is probe (ndarray) over one peer setting: the \
             best one first (TF.js wasm with or without threads, trainOnBatch or fitDataset; \
             jax-js wasm; ORT-Web wasm with or without threads; the peer column names it), then \
             each setting the runs hold. Both sides come from the same run and the same number \
             of measured steps; over repetitions a figure is the median of their medians. The \
             ratio's interval combines the ends of both intervals (conservative, as the gap's) \
             and is left out when either falls short of 95% (e.g. 3 repetitions: 75%). On the \
             native row the probe is burn's native ndarray and the peer is TensorFlow's Keras \
             on the CPU, both on 1 thread.",
        );
        s.table(t);
        if !misses.is_empty() {
            s.para(format!(
                "Where a peer is faster than the probe (median ratio < 1): {}.",
                misses.join("; ")
            ));
        }
    }

    // GEMM vs the multiply-add limit of the same place.
    let mut peaks: BTreeMap<Place, Agg> = BTreeMap::new();
    for ((p, (workload, size)), backends) in &gf {
        if workload == "gemm" && size == "peak" {
            let best = backends
                .values()
                .max_by(|a, b| a.0.median.total_cmp(&b.0.median));
            if let Some((a, _)) = best {
                peaks.insert(native_folded(p), a.clone());
            }
        }
    }
    let (folded, folded_labels) = fold_native(&gf, &labels, |(workload, _)| workload == "gemm");
    let mut g = Table::new(&[
        "engine",
        "gemm",
        "ndarray",
        "flex",
        "of peak (ndarray, flex)",
        "relaxed / SIMD128 (ndarray)",
    ]);
    for (key, backends) in &folded {
        let (p, (_, size)) = key;
        // Natively the 4-lane loop is not the limit: the kernels use AVX2 and FMA where present.
        let peak = peaks.get(p).filter(|_| p.1 != "native");
        // The share measured step by step against `peak` in the same case where the run has
        // it (`peak_share`); else this case's median over the separate `peak` case's.
        let frac = |b: &str| {
            if size == "peak" || p.1 == "native" {
                return "–".into();
            }
            if let Some((a, _)) = shares.get(key).and_then(|m| m.get(b)) {
                return if a.n < 2 {
                    format!("{:.0}%", a.median)
                } else {
                    format!("{:.0}% [{:.0}–{:.0}]", a.median, a.ci_low, a.ci_high)
                };
            }
            match (backends.get(b), peak) {
                (Some((a, _)), Some(pk)) => {
                    format!("{:.0}% (vs the peak case)", 100.0 * a.median / pk.median)
                }
                _ => "–".into(),
            }
        };
        let cell = |b: &str| {
            backends
                .get(b)
                .map(|(a, u)| fig(a, u))
                .unwrap_or_else(|| "–".into())
        };
        // A relaxed-SIMD row against the SIMD128 build's same product (or limit) in the same run,
        // engine and context: what relaxed_madd buys, with the ratio's interval.
        let vs_simd128 = || {
            if p.3 != "relaxed" {
                return "–".to_string();
            }
            let simd128 = (p.0, p.1.clone(), p.2.clone(), "simd".to_string());
            let pick = |m: Option<&BTreeMap<String, (Agg, String)>>| -> Option<Agg> {
                let m = m?;
                if size == "peak" {
                    m.values()
                        .max_by(|a, b| a.0.median.total_cmp(&b.0.median))
                        .map(|(a, _)| a.clone())
                } else {
                    m.get("ndarray").map(|(a, _)| a.clone())
                }
            };
            let job = (String::from("gemm"), size.clone());
            match (pick(Some(backends)), pick(folded.get(&(simd128, job)))) {
                (Some(r), Some(s)) => match gap(r.median, s.median, true) {
                    Some(x) => ratio_fig(x, gap_interval(&r, &s, true)),
                    None => "–".into(),
                },
                _ => "–".into(),
            }
        };
        let (nd, fl) = if size == "peak" {
            let best = backends
                .values()
                .max_by(|a, b| a.0.median.total_cmp(&b.0.median))
                .map(|(a, u)| fig(a, u))
                .unwrap_or_else(|| "–".into());
            (best, "–".into())
        } else {
            (cell("ndarray"), cell("flex"))
        };
        g.push(vec![
            folded_labels.get(p).cloned().unwrap_or_default(),
            size.clone(),
            nd,
            fl,
            if size == "peak" {
                if p.1 == "native" {
                    "(SSE, not the native limit)".into()
                } else {
                    "(the limit)".into()
                }
            } else {
                format!("{}, {}", frac("ndarray"), frac("flex"))
            },
            vs_simd128(),
        ]);
    }
    if !g.rows.is_empty() {
        any = true;
        let limits: Vec<String> = peaks
            .iter()
            .map(|(p, a)| {
                format!(
                    "{}: {} GFLOP/s",
                    folded_labels
                        .get(p)
                        .or_else(|| labels.get(p))
                        .cloned()
                        .unwrap_or_default(),
                    num(a.median)
                )
            })
            .collect();
        s.para(format!(
            "The matrix product alone (`gemm` MxKxN, -tn: A transposed) in GFLOP/s, against \
             `peak`, the inner loop of a 4x8 register-blocked GEMM on L1-resident panels with \
             4-lane multiply and add (wasm SIMD128, which has no fused multiply-add). The share \
             of peak is the median, with its CI, of each step's rate over that of a `peak` loop \
             run right after it in the same case, so both see the machine at the same moment; \
             where a run has no such pairs, the case's median over the separate `peak` case's \
             (which a shared machine's drifting speed can skew). Natively the same loop runs on \
             SSE, which the native kernels outrun with AVX2 and FMA, so no fraction is given \
             there. A `relaxed` row is the relaxed-SIMD build, whose kernel and `peak` loop \
             multiply and add with one `f32x4.relaxed_madd`: its share is of its own limit, and \
             the last column is its GFLOP/s over the SIMD128 build's in the same run, engine and \
             context, with the ratio's interval. Limits of the `peak` cases (SIMD128 and, where \
             run, relaxed): {}.",
            if limits.is_empty() {
                "none in these runs".to_string()
            } else {
                limits.join("; ")
            }
        ));
        s.table(g);
    }
    if !any {
        s.note(NOT_MEASURED);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{
        TempDir, case, md_section, on_backend as on, throughput_case, write_run,
    };
    use super::super::write_report;

    /// A relaxed-SIMD gemm row is held against its own limit and, in the last column, against
    /// the SIMD128 build's same product in the same engine; both limits are listed.
    #[test]
    fn relaxed_rows_show_their_own_limit_and_the_gain_over_simd128() {
        let tmp = TempDir::new("efficiency-relaxed");
        let dir = tmp.path().join("eff-relaxed");
        let r = "eff-relaxed";
        let relaxed = |mut c: crate::record::CaseInfo| {
            c.case_id = c.case_id.replace("/ndarray-simd/", "/ndarray-relaxed/");
            c.simd = "relaxed".into();
            c
        };
        let gemm = case(r, "gemm", "256x1280x128", "chromium", 1);
        let peak = case(r, "gemm", "peak", "chromium", 1);
        write_run(
            &dir,
            r,
            "2025-11-26T10:00:00Z",
            &[
                // SIMD128: the product 2 ms, the limit 1 ms; relaxed: 1.25 ms and 0.5 ms.
                throughput_case(&gemm, &[1.9, 2.0, 2.1]),
                throughput_case(&peak, &[0.99, 1.0, 1.01]),
                throughput_case(&relaxed(gemm.clone()), &[1.24, 1.25, 1.26]),
                throughput_case(&relaxed(peak.clone()), &[0.49, 0.5, 0.51]),
            ],
        );
        let files = write_report(&[dir], &tmp.path().join("out")).unwrap();
        let md = std::fs::read_to_string(&files.markdown).unwrap();
        let section = md_section(&md, "Probe efficiency");
        assert!(
            section.contains("| relaxed / SIMD128 (ndarray) |"),
            "{section}"
        );
        let row = |label: &str, size: &str| -> Vec<String> {
            section
                .lines()
                .find(|l| l.starts_with(&format!("| {label} | {size} |")))
                .unwrap_or_else(|| panic!("no row {label} {size}:\n{section}"))
                .split(" | ")
                .map(|c| c.trim_matches(|ch| ch == '|' || ch == ' ').to_string())
                .collect()
        };
        let fast = row("chromium 131.0.6778.85 main relaxed", "256x1280x128");
        // 2.0 / 1.25 ms: 1.6x the SIMD128 build's GFLOP/s; of its own (relaxed) limit: 40%.
        assert!(fast[5].starts_with("1.60× ["), "{fast:?}");
        assert!(fast[4].starts_with("40% (vs the peak case)"), "{fast:?}");
        let limit = row("chromium 131.0.6778.85 main relaxed", "peak");
        assert!(limit[5].starts_with("2.00× ["), "{limit:?}");
        let plain = row("chromium 131.0.6778.85 main", "256x1280x128");
        assert!(plain[4].starts_with("50% (vs the peak case)"), "{plain:?}");
        assert_eq!(plain[5], "–");
        assert!(
            section.contains("chromium 131.0.6778.85 main relaxed: ")
                && section.contains("chromium 131.0.6778.85 main: "),
            "both limits listed: {section}"
        );
    }

    /// Per engine and workload the probe is held against every peer setting of the run, each
    /// ratio with its interval; a peer over another step window is not compared; a faster peer
    /// is named.
    #[test]
    fn probe_against_each_peer_setting_and_the_best() {
        let tmp = TempDir::new("efficiency-peers");
        let dir = tmp.path().join("eff-peers");
        let r = "eff-peers";
        let tm = case(r, "tm-image", "default", "firefox", 1);
        let mlp = case(r, "mlp", "medium", "firefox", 1);
        write_run(
            &dir,
            r,
            "2025-11-26T10:00:00Z",
            &[
                // tm-image, batch 10: probe 10 ms; TF.js 1 thread 40, fit 50, jax-js 20,
                // ORT-Web 1 thread 12.5 (the best: 1.25x), ORT-Web threads over 2 steps only
                throughput_case(&tm, &[9.9, 10.0, 10.1]),
                throughput_case(&on(tm.clone(), "tfjs-wasm"), &[39.0, 40.0, 41.0]),
                throughput_case(&on(tm.clone(), "tfjs-wasm-fit"), &[49.0, 50.0, 51.0]),
                throughput_case(&on(tm.clone(), "jaxjs-wasm"), &[19.8, 20.0, 20.2]),
                throughput_case(&on(tm.clone(), "ortweb-wasm"), &[12.4, 12.5, 12.6]),
                throughput_case(&on(tm.clone(), "ortweb-wasm-threads"), &[1.0, 1.0]),
                // mlp: ORT-Web 20 ms against the probe's 25: the probe at 0.80x
                throughput_case(&mlp, &[24.9, 25.0, 25.1]),
                throughput_case(&on(mlp.clone(), "ortweb-wasm"), &[19.9, 20.0, 20.1]),
                throughput_case(&on(mlp.clone(), "tfjs-wasm"), &[99.0, 100.0, 101.0]),
            ],
        );
        let files = write_report(&[dir], &tmp.path().join("out")).unwrap();
        let md = std::fs::read_to_string(&files.markdown).unwrap();
        let section = md_section(&md, "Probe efficiency");
        let header = section
            .lines()
            .find(|l| l.starts_with("| engine | workload |"))
            .expect("a header");
        for col in [
            "| probe / best peer |",
            "| probe / TF.js trainOnBatch 1 thread |",
            "| probe / TF.js fitDataset (as TM) |",
            "| probe / jax-js |",
            "| probe / ORT-Web 1 thread |",
            "| probe / ORT-Web threads |",
        ] {
            assert!(header.contains(col), "{col}: {header}");
        }
        let cells = |first: &str| -> Vec<String> {
            section
                .lines()
                .find(|l| l.starts_with(&format!("| firefox 133.0 main | {first} |")))
                .unwrap_or_else(|| panic!("no row {first}:\n{section}"))
                .split(" | ")
                .map(|c| c.trim_matches(|ch| ch == '|' || ch == ' ').to_string())
                .collect()
        };
        let tm_row = cells("tm-image default");
        assert!(tm_row[4].ends_with("(ortweb-wasm)"), "{tm_row:?}");
        assert!(tm_row[5].starts_with("1.25× ["), "{tm_row:?}");
        assert!(tm_row[5].ends_with("≥ 1"), "{tm_row:?}");
        // TF.js 1 thread, fit, jax-js, ORT-Web 1 thread, threads (TF.js threads is in no run:
        // no column)
        assert!(!header.contains("trainOnBatch threads"), "{header}");
        assert!(tm_row[6].starts_with("4.00× ["), "{tm_row:?}");
        assert!(tm_row[7].starts_with("5.00× ["), "{tm_row:?}");
        assert!(tm_row[8].starts_with("2.00× ["), "{tm_row:?}");
        assert!(tm_row[9].starts_with("1.25× ["), "{tm_row:?}");
        assert_eq!(tm_row[10], "other step window");
        let mlp_row = cells("mlp medium");
        assert!(mlp_row[5].starts_with("0.80× ["), "{mlp_row:?}");
        assert!(mlp_row[5].ends_with("< 1"), "{mlp_row:?}");
        assert!(
            section.contains("Where a peer is faster than the probe (median ratio < 1): firefox 133.0 main mlp medium (ORT-Web 1 thread 0.80× ["),
            "{section}"
        );
    }
}
