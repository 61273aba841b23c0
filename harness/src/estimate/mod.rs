//! `gapbench estimate`: how long training takes on a platform, and whether it fits, from
//! gapbench's own records (issue 15).
//!
//! A platform is where a case ran: target, context, backend and SIMD (`chromium/worker/ndarray-simd`).
//! Its cost model ([`fit`]) is fitted to the median step times of the training cases measured
//! there, and a request (a workload, its size, its data and how long it trains) is predicted from
//! the workload's exact FLOPs and parameter count. The interval is the range of the model's own
//! errors when each size it was fitted from is held out in turn, so it states how far the model
//! missed sizes it had not seen, not a sampling CI. Memory is analytic (see [`memory`]).

pub mod fit;
pub mod memory;

use crate::record::{Status, read_records};
use fit::{Model, Point};
use std::collections::BTreeMap;
use std::path::PathBuf;
use wasm_probe::workload::{Workload, WorkloadSpec};

/// What is asked: a workload instance and how long it trains.
#[derive(Debug, Clone)]
pub struct Request {
    pub spec: WorkloadSpec,
    /// Full epochs over the training split (the workload's own when None and no `steps`).
    pub epochs: Option<u32>,
    /// Or a number of steps.
    pub steps: Option<u64>,
}

/// The workloads a cost model is fitted from: training, not the GEMM or the page tasks.
fn is_training(workload: &str) -> bool {
    workload.starts_with("tm-") || workload == "mlp" || workload == "cnn"
}

/// Bytes of parameter state the optimizer streams per step: weights, gradients and its moments.
pub fn state_bytes(w: &Workload) -> f64 {
    let per_param = match w.optimizer {
        wasm_probe::workload::Optimizer::Adam => 16.0,
        wasm_probe::workload::Optimizer::RmsProp => 12.0,
        wasm_probe::workload::Optimizer::Sgd => 8.0,
    };
    per_param * w.params() as f64
}

/// Every platform's points (one per workload instance: the median over its repetitions of the
/// step time's median), and the median setup time per platform and workload instance.
#[derive(Debug, Default)]
pub struct Observations {
    pub points: BTreeMap<String, Vec<Point>>,
    pub runs: Vec<String>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Read the runs' records into points.
pub fn observe(dirs: &[PathBuf]) -> Result<Observations, String> {
    // (platform, label) -> (flops, bytes, step medians)
    let mut acc: BTreeMap<(String, String), (f64, f64, Vec<f64>)> = BTreeMap::new();
    let mut obs = Observations::default();
    for dir in dirs {
        let path = dir.join("records.csv");
        let (records, _) = read_records(&path).map_err(|e| e.to_string())?;
        obs.runs.push(dir.display().to_string());
        for r in records {
            let rec = &r.record;
            let c = &rec.case;
            if rec.metric != "step_time" || rec.status != Status::Ok || !is_training(&c.workload) {
                continue;
            }
            let Some(s) = &rec.summary else { continue };
            let spec = WorkloadSpec {
                workload: c.workload.clone(),
                size: c.size.clone(),
                classes: None,
                samples_per_class: None,
            };
            // The records hold the exact parameter and FLOP counts; the optimizer comes from the
            // workload (its state per parameter).
            let per_param = Workload::resolve(&spec)
                .map(|w| state_bytes(&w) / w.params().max(1) as f64)
                .unwrap_or(16.0);
            let platform = platform_of(&c.target, &c.context, &c.backend, &c.simd);
            let label = format!("{} {}", c.workload, c.size);
            let e = acc.entry((platform, label)).or_insert((
                c.flops_per_step as f64,
                per_param * c.params as f64,
                Vec::new(),
            ));
            e.2.push(s.median);
        }
    }
    for ((platform, label), (flops, bytes, ms)) in acc {
        obs.points.entry(platform).or_default().push(Point {
            flops,
            bytes,
            ms: median(ms),
            label,
        });
    }
    Ok(obs)
}

/// A platform's name: `target/context/backend-simd` (`native-ndarray` alone for native twins).
pub fn platform_of(target: &str, context: &str, backend: &str, simd: &str) -> String {
    if target.starts_with("native") {
        return target.to_string();
    }
    let simd = match simd {
        "-" | "" => String::new(),
        "true" | "on" | "simd" => "-simd".into(),
        "false" | "off" | "nosimd" => "-nosimd".into(),
        other => format!("-{other}"),
    };
    format!("{target}/{context}/{backend}{simd}")
}

/// A prediction for one request on one platform.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub platform: String,
    pub model: Model,
    pub steps: u64,
    pub step_ms: f64,
    pub total_s: f64,
    /// The total scaled by the smallest and largest held-out relative error (None with fewer
    /// than three sizes to hold out from).
    pub interval_s: Option<(f64, f64)>,
    pub held_out: usize,
    pub memory: memory::Footprint,
}

/// Predict `req` on every platform of `obs` whose name contains `filter`.
pub fn predict(obs: &Observations, filter: &str, req: &Request) -> Result<Vec<Prediction>, String> {
    let w = Workload::resolve(&req.spec)?;
    let steps = match (req.steps, req.epochs) {
        (Some(s), _) => s,
        (None, e) => e.unwrap_or(w.epochs) as u64 * w.steps_per_epoch() as u64,
    };
    let flops = w.flops_per_step() as f64;
    let bytes = state_bytes(&w);
    let mut out = Vec::new();
    for (platform, points) in obs.points.iter().filter(|(p, _)| p.contains(filter)) {
        let Some(model) = fit::fit(points) else {
            continue;
        };
        let step_ms = model.predict(flops, bytes);
        let total_s = step_ms * steps as f64 / 1000.0;
        let loo = fit::leave_one_size_out(points);
        let interval_s = (loo.len() >= 3).then(|| {
            let errs: Vec<f64> = loo.iter().map(|(_, m, p)| m / p - 1.0).collect();
            let lo = errs.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
            let hi = errs
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
                .max(0.0);
            (total_s * (1.0 + lo).max(0.0), total_s * (1.0 + hi))
        });
        out.push(Prediction {
            platform: platform.clone(),
            model,
            steps,
            step_ms,
            total_s,
            interval_s,
            held_out: loo.len(),
            memory: memory::footprint(&w),
        });
    }
    if out.is_empty() {
        let known: Vec<&str> = obs.points.keys().map(String::as_str).collect();
        return Err(format!(
            "no platform matching `{filter}` has training cases in {} (platforms there: {})",
            obs.runs.join(", "),
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        ));
    }
    Ok(out)
}

/// One held-out row of the validation table.
#[derive(Debug, Clone)]
pub struct Validation {
    pub platform: String,
    pub label: String,
    pub measured_ms: f64,
    pub predicted_ms: f64,
}

impl Validation {
    pub fn error(&self) -> f64 {
        self.predicted_ms / self.measured_ms - 1.0
    }
}

/// Every platform's sizes held out one at a time (see [`fit::leave_one_size_out`]).
pub fn validate(obs: &Observations) -> Vec<Validation> {
    let mut out = Vec::new();
    for (platform, points) in &obs.points {
        for (label, measured_ms, predicted_ms) in fit::leave_one_size_out(points) {
            out.push(Validation {
                platform: platform.clone(),
                label,
                measured_ms,
                predicted_ms,
            });
        }
    }
    out
}

fn secs(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// The predictions as text, one block per platform.
pub fn render(req: &Request, preds: &[Prediction]) -> String {
    let mut t = String::new();
    let Some(first) = preds.first() else {
        return t;
    };
    t.push_str(&format!(
        "{} {}: {} steps; {}\n",
        req.spec.workload,
        req.spec.size,
        first.steps,
        first.memory.describe()
    ));
    for p in preds {
        let interval = match p.interval_s {
            Some((lo, hi)) => format!(
                " (held-out range {}–{} over {} sizes)",
                secs(lo),
                secs(hi),
                p.held_out
            ),
            None => " (too few sizes measured here to state how far it misses)".into(),
        };
        t.push_str(&format!(
            "  {:40} {:>9.3} ms/step  total {}{}; model {:.3} ms + {:.1} GFLOP/s + {:.4} ms/MiB of state\n",
            p.platform,
            p.step_ms,
            secs(p.total_s),
            interval,
            p.model.overhead_ms,
            p.model.gflops(),
            p.model.ms_per_mib
        ));
    }
    t
}

/// The validation rows as a Markdown table with the median absolute error and the worst case.
pub fn render_validation(rows: &[Validation]) -> String {
    let mut t = String::from(
        "| platform | held out | measured ms/step | predicted | error |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        t.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:+.1}% |\n",
            r.platform,
            r.label,
            r.measured_ms,
            r.predicted_ms,
            100.0 * r.error()
        ));
    }
    if !rows.is_empty() {
        let abs: Vec<f64> = rows.iter().map(|r| r.error().abs()).collect();
        let worst = rows
            .iter()
            .max_by(|a, b| a.error().abs().total_cmp(&b.error().abs()))
            .expect("rows is not empty");
        t.push_str(&format!(
            "\nmedian absolute error {:.1}% over {} held-out sizes; worst {} {} at {:+.1}%\n",
            100.0 * median(abs),
            rows.len(),
            worst.platform,
            worst.label,
            100.0 * worst.error()
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names() {
        assert_eq!(
            platform_of("native-ndarray", "main", "ndarray", "-"),
            "native-ndarray"
        );
        assert_eq!(
            platform_of("chromium", "worker", "ndarray", "true"),
            "chromium/worker/ndarray-simd"
        );
        assert_eq!(
            platform_of("node", "main", "tfjs-wasm", "-"),
            "node/main/tfjs-wasm"
        );
    }

    #[test]
    fn predicts_from_a_fitted_platform_and_says_how_sure() {
        // A platform at 0.1 ms a step plus 20 GFLOP/s, measured on four MLP sizes.
        let mut obs = Observations::default();
        let mut pts = Vec::new();
        for size in ["0.1m", "0.3m", "1m", "3m"] {
            let w = Workload::resolve(&WorkloadSpec {
                workload: "mlp".into(),
                size: size.into(),
                classes: None,
                samples_per_class: None,
            })
            .unwrap();
            let f = w.flops_per_step() as f64;
            pts.push(Point {
                flops: f,
                bytes: state_bytes(&w),
                ms: 0.1 + f / 20e9 * 1000.0,
                label: format!("mlp {size}"),
            });
        }
        obs.points
            .insert("chromium/worker/ndarray-simd".into(), pts);
        obs.runs.push("test".into());
        let req = Request {
            spec: WorkloadSpec {
                workload: "mlp".into(),
                size: "10m".into(),
                classes: None,
                samples_per_class: None,
            },
            epochs: None,
            steps: Some(1000),
        };
        let preds = predict(&obs, "chromium", &req).unwrap();
        assert_eq!(preds.len(), 1);
        let w = Workload::resolve(&req.spec).unwrap();
        let truth = 0.1 + w.flops_per_step() as f64 / 20e9 * 1000.0;
        assert!((preds[0].step_ms / truth - 1.0).abs() < 1e-6);
        assert!((preds[0].total_s - truth).abs() < 1e-6, "1000 steps of ms");
        let (lo, hi) = preds[0].interval_s.unwrap();
        assert!(lo <= preds[0].total_s && preds[0].total_s <= hi);
        let text = render(&req, &preds);
        assert!(text.contains("chromium/worker/ndarray-simd"), "{text}");
        // An unknown platform names those there are.
        let err = predict(&obs, "firefox", &req).unwrap_err();
        assert!(err.contains("chromium/worker/ndarray-simd"), "{err}");
        // Validation: an exact model misses no held-out size.
        let rows = validate(&obs);
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|r| r.error().abs() < 1e-6));
        assert!(render_validation(&rows).contains("median absolute error 0.0%"));
    }
}
