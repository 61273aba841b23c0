//! "Is the probe the bottleneck?" (`scenarios/efficiency.toml`): per engine and workload, our
//! probe's training throughput next to TF.js's best wasm setting, and the GEMM kernel's compute
//! rate as a fraction of the engine's measured SIMD128 multiply-add limit (`gemm` `peak`).

use super::doc::{Section, Table};
use super::{Agg, NOT_MEASURED, Run, engine_label, fig, num, of_metric};
use crate::record::{CaseInfo, Record};
use crate::stats::Summary;
use std::collections::BTreeMap;

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

pub(super) fn section(runs: &[Run]) -> Section {
    let mut s = Section::new(
        "efficiency",
        "Probe efficiency: probe vs TF.js, GEMM vs SIMD128 peak",
    );
    let (tp, labels) = collect(runs, "throughput");
    let (gf, _) = collect(runs, "compute");
    let (shares, _) = collect(runs, "peak_share");
    let mut any = false;

    // Probe vs its peer: same engine, context and workload. The native targets fold into one
    // "native" place, where TF-Keras (`native-keras`) is the peer of burn's native ndarray.
    let (folded, folded_labels) = fold_native(&tp, &labels, |_| true);
    let mut t = Table::new(&[
        "engine",
        "workload",
        "probe ndarray",
        "probe flex",
        "peer: best of TF.js wasm, jax-js and ORT-Web (native: TF-Keras)",
        "probe / peer",
        "TF.js cpu",
    ]);
    for ((p, (workload, size)), backends) in &folded {
        let peer = backends
            .iter()
            .filter(|(b, _)| {
                b.starts_with("tfjs-wasm")
                    || b.as_str() == "jaxjs-wasm"
                    || b.starts_with("ortweb-wasm")
                    || b.as_str() == "keras"
            })
            .max_by(|a, b| a.1.0.median.total_cmp(&b.1.0.median));
        let Some((tb, (ta, unit))) = peer else {
            continue;
        };
        let probe = backends.get("ndarray");
        let cell =
            |b: Option<&(Agg, String)>| b.map(|(a, u)| fig(a, u)).unwrap_or_else(|| "–".into());
        let ratio = probe
            .map(|(a, _)| {
                let r = a.median / ta.median;
                format!(
                    "{:.2}× [{:.2}, {:.2}] {}",
                    r,
                    a.ci_low / ta.ci_high,
                    a.ci_high / ta.ci_low,
                    if r >= 1.0 { "≥ 1" } else { "< 1" }
                )
            })
            .unwrap_or_else(|| "–".into());
        t.push(vec![
            folded_labels.get(p).cloned().unwrap_or_default(),
            format!("{workload} {size}"),
            cell(probe),
            cell(backends.get("flex")),
            format!("{} ({tb})", fig(ta, unit)),
            ratio,
            cell(backends.get("tfjs-cpu")),
        ]);
    }
    if !t.rows.is_empty() {
        any = true;
        s.para(
            "Training throughput (samples/s) of our wasm probe and of its CPU peers \
             (TensorFlow.js, jax-js, ONNX Runtime Web training) on the same workload, batch and \
             optimizer in the same page; the ratio is probe (ndarray) over the best peer setting \
             (TF.js wasm with or without threads, trainOnBatch or fitDataset; jax-js wasm; ORT-Web \
             wasm with or without threads), which the peer column names; the \
             ratio's bracket is the ratio of the CI ends. On the native row the probe is burn's \
             native ndarray and the peer is TensorFlow's Keras on the CPU, both on 1 thread.",
        );
        s.table(t);
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
             there. Limits of the `peak` cases: {}.",
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
