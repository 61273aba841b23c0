//! `gapbench estimate`: how long training takes on a platform, and whether it fits, from
//! gapbench's own records (issue 15).
//!
//! A platform is where a case ran: target, context, backend and SIMD (`chromium/worker/ndarray-simd`).
//! Its cost model ([`fit`]) is fitted to the mean step times of the training cases measured
//! there (a training's time is a sum, so the stalls a busy device inflicts count), and a request (a workload, its size, its data and how long it trains) is predicted from
//! the workload's exact FLOPs and parameter count. The interval is the range of the model's own
//! errors when each size it was fitted from is held out in turn, so it states how far the model
//! missed sizes it had not seen, not a sampling CI. Memory is analytic (see [`memory`]).

pub mod fit;
pub mod memory;
mod observe;

use fit::{Model, Point};
pub use observe::{
    DENORMAL_ONSET, Observations, Total, label_of, observe, observe_records, parse_id,
};
use observe::{data_bytes, median};
use std::collections::BTreeMap;
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

/// A prediction for one request on one platform.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub platform: String,
    pub model: Model,
    pub steps: u64,
    pub step_ms: f64,
    pub setup_ms: f64,
    /// The denormal phase's factor applied past [`DENORMAL_ONSET`] steps (tm-image), if this
    /// platform measured one; None where it applies but was not measured.
    pub denormal: Option<f64>,
    pub total_s: f64,
    /// The total scaled by the smallest and largest held-out relative error of the request's
    /// workload (of every workload when it has fewer than two; None with fewer than two).
    pub interval_s: Option<(f64, f64)>,
    pub held_out: usize,
    pub memory: memory::Footprint,
    /// GFLOP/s past the per-step overhead at this request's size ([`Model::effective_gflops`]).
    pub effective_gflops: f64,
}

fn steps_of(w: &Workload, req: &Request) -> u64 {
    match (req.steps, req.epochs) {
        (Some(s), _) => s,
        (None, e) => e.unwrap_or(w.epochs) as u64 * w.steps_per_epoch() as u64,
    }
}

/// The denormal factor of `platform`'s long tm-image runs other than `except` (a label held out).
fn denormal_of(obs: &Observations, platform: &str, except: Option<&str>) -> Option<f64> {
    let v: Vec<f64> = obs
        .denormal
        .get(platform)?
        .iter()
        .filter(|(l, _)| Some(l.as_str()) != except)
        .map(|(_, f)| *f)
        .collect();
    (!v.is_empty()).then(|| median(v))
}

/// Total milliseconds: setup, then `steps` steps, the ones past the onset slowed by `denormal`.
fn total_ms(w: &Workload, steps: u64, step_ms: f64, setup_ms: f64, denormal: Option<f64>) -> f64 {
    let slow = if w.name == "tm-image" {
        steps.saturating_sub(DENORMAL_ONSET) as f64 * (denormal.unwrap_or(1.0) - 1.0)
    } else {
        0.0
    };
    setup_ms + step_ms * (steps as f64 + slow)
}

/// Predict `w` on `platform` from its observations, leaving out the points labelled `except`.
fn predict_one(
    obs: &Observations,
    platform: &str,
    w: &Workload,
    steps: u64,
    except: Option<&str>,
) -> Option<(Model, f64, f64, Option<f64>, f64)> {
    let keep = |pts: &Vec<Point>| -> Vec<Point> {
        pts.iter()
            .filter(|p| Some(p.label.as_str()) != except)
            .cloned()
            .collect()
    };
    let points = keep(obs.points.get(platform)?);
    let model = fit::fit_for(&points, &w.name)?;
    let step_ms = model.predict(w.flops_per_step() as f64, state_bytes(w));
    let setup_ms = obs
        .setup
        .get(platform)
        .map(keep)
        .and_then(|pts| fit::fit_for(&pts, &w.name))
        .map_or(0.0, |m| m.predict(data_bytes(w), state_bytes(w)));
    let denormal = denormal_of(obs, platform, except);
    let total = total_ms(w, steps, step_ms, setup_ms, denormal);
    Some((model, step_ms, setup_ms, denormal, total))
}

/// Predict `req` on every platform of `obs` whose name contains `filter`.
pub fn predict(obs: &Observations, filter: &str, req: &Request) -> Result<Vec<Prediction>, String> {
    let w = Workload::resolve(&req.spec)?;
    let steps = steps_of(&w, req);
    let mut out = Vec::new();
    for (platform, points) in obs.points.iter().filter(|(p, _)| p.contains(filter)) {
        let Some((model, step_ms, setup_ms, denormal, total)) =
            predict_one(obs, platform, &w, steps, None)
        else {
            continue;
        };
        let total_s = total / 1000.0;
        // How far the model missed held-out sizes: those of the request's own workload when
        // there are at least two, all of them otherwise.
        let all = fit::leave_one_size_out(points);
        let own: Vec<_> = all
            .iter()
            .filter(|(label, ..)| label.split(' ').next() == Some(w.name.as_str()))
            .cloned()
            .collect();
        // The prediction fits on its own workload's sizes when there are two (fit::fit_for); a
        // held-out check of that fit needs three, so that two remain when one is out.
        let own_sizes = points.iter().filter(|p| p.family == w.name).count();
        let loo = if own_sizes >= 3 && own.len() >= 2 {
            own
        } else {
            all
        };
        let interval_s = (loo.len() >= 2).then(|| {
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
            setup_ms,
            denormal,
            total_s,
            interval_s,
            held_out: loo.len(),
            memory: memory::footprint(&w),
            effective_gflops: model.effective_gflops(w.flops_per_step() as f64, state_bytes(&w)),
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
    /// What is compared: `ms/step` (a size's median step) or `total s` (a long run, whole).
    pub what: &'static str,
    pub measured: f64,
    pub predicted: f64,
}

impl Validation {
    pub fn error(&self) -> f64 {
        self.predicted / self.measured - 1.0
    }
}

/// Every platform's sizes held out one at a time (see [`fit::leave_one_size_out`]), and every
/// long run's total predicted with its own size held out.
pub fn validate(obs: &Observations) -> Vec<Validation> {
    let mut out = Vec::new();
    for (platform, points) in &obs.points {
        for (label, measured, predicted) in fit::leave_one_size_out(points) {
            out.push(Validation {
                platform: platform.clone(),
                label,
                what: "ms/step",
                measured,
                predicted,
            });
        }
    }
    for (platform, spec, measured, said) in &obs.ceilings {
        let Ok(w) = Workload::resolve(spec) else {
            continue;
        };
        let (predicted, wall) = memory::max_samples(&w);
        // What the search said stopped the next trial, without the error's text.
        let stopped = said
            .split("; ")
            .nth(1)
            .and_then(|t| t.split(':').next())
            .unwrap_or("");
        out.push(Validation {
            platform: platform.clone(),
            label: format!(
                "{} samples (predicted: {wall}; measured: {stopped})",
                spec.workload
            ),
            what: "max samples",
            measured: *measured,
            predicted: predicted as f64,
        });
    }
    for t in &obs.totals {
        let Ok(w) = Workload::resolve(&t.spec) else {
            continue;
        };
        let label = label_of(&t.spec);
        if let Some((.., total)) = predict_one(obs, &t.platform, &w, t.steps, Some(&label)) {
            out.push(Validation {
                platform: t.platform.clone(),
                label: format!("{label}, {} steps", t.steps),
                what: "total s",
                measured: t.ms / 1000.0,
                predicted: total / 1000.0,
            });
        }
    }
    out.extend(validate_in_page(obs));
    out
}

/// `estimate.js`'s predictions against the same run's training of the same request on the same
/// platform: the median prediction over the median measured time of the training's steps (warm-up
/// included, setup apart: `estimate.js` predicts the steps; the setup is tens of ms).
fn validate_in_page(obs: &Observations) -> Vec<Validation> {
    let mut predicted: BTreeMap<(String, String, u64), Vec<f64>> = BTreeMap::new();
    for p in &obs.in_page {
        predicted
            .entry((p.platform.clone(), label_of(&p.spec), p.steps))
            .or_default()
            .push(p.ms);
    }
    let mut out = Vec::new();
    for ((platform, label, steps), ms) in predicted {
        let measured: Vec<f64> = obs
            .totals
            .iter()
            .filter(|t| t.platform == platform && t.steps == steps && label_of(&t.spec) == label)
            .map(|t| t.ms - t.setup_ms)
            .collect();
        if measured.is_empty() {
            continue;
        }
        out.push(Validation {
            platform,
            label: format!(
                "{label}, {steps} steps ({} estimates, {} trainings)",
                ms.len(),
                measured.len()
            ),
            what: "estimate.js s",
            measured: median(measured) / 1000.0,
            predicted: median(ms) / 1000.0,
        });
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

/// The predictions as text, one line per platform.
pub fn render(req: &Request, preds: &[Prediction]) -> String {
    let mut t = String::new();
    let Some(first) = preds.first() else {
        return t;
    };
    t.push_str(&format!(
        "{}: {} steps; {}\n",
        label_of(&req.spec),
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
            None => " (too few sizes measured here to say how far it misses)".into(),
        };
        let denormal = match (p.denormal, req.spec.workload == "tm-image") {
            (Some(f), true) => format!("; steps past {DENORMAL_ONSET} ×{f:.2} (denormals)"),
            (None, true) if p.steps > DENORMAL_ONSET => format!(
                "; the denormal phase past step {DENORMAL_ONSET} was not measured here (a long tm-image run measures it): the total may be low"
            ),
            _ => String::new(),
        };
        // Sizes that all have the same FLOPs a step (tm-image's data sizes) leave no FLOP rate
        // to fit: the step is all overhead then, and saying "inf GFLOP/s" would mislead.
        let rate = if p.effective_gflops.is_finite() {
            format!("{:.1} GFLOP/s past it at this size", p.effective_gflops)
        } else {
            "no FLOP-dependent part (the sizes measured have the same FLOPs a step)".into()
        };
        t.push_str(&format!(
            "  {:36} {:>9.3} ms/step  setup {:.0} ms  total {}{}{}; model {:.3} ms a step + {rate}\n",
            p.platform,
            p.step_ms,
            p.setup_ms,
            secs(p.total_s),
            interval,
            denormal,
            p.model.overhead_ms,
        ));
    }
    t
}

/// The validation rows as a Markdown table, then per kind the median absolute error and the
/// worst case.
pub fn render_validation(rows: &[Validation]) -> String {
    let mut t = String::from(
        "| platform | held out | what | measured | predicted | error |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        t.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:+.1}% |\n",
            r.platform,
            r.label,
            r.what,
            r.measured,
            r.predicted,
            100.0 * r.error()
        ));
    }
    for what in ["ms/step", "total s", "max samples", "estimate.js s"] {
        let of: Vec<&Validation> = rows.iter().filter(|r| r.what == what).collect();
        let Some(worst) = of
            .iter()
            .max_by(|a, b| a.error().abs().total_cmp(&b.error().abs()))
        else {
            continue;
        };
        let abs: Vec<f64> = of.iter().map(|r| r.error().abs()).collect();
        t.push_str(&format!(
            "\n{what}: median absolute error {:.1}% over {} rows; worst {} {} at {:+.1}%\n",
            100.0 * median(abs),
            of.len(),
            worst.platform,
            worst.label,
            100.0 * worst.error()
        ));
        // Per platform too: the aim holds in every engine, not only over all of them.
        let mut per: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for r in &of {
            per.entry(r.platform.as_str())
                .or_default()
                .push(r.error().abs());
        }
        if per.len() > 1 {
            let each: Vec<String> = per
                .into_iter()
                .map(|(p, e)| format!("{p} {:.1}% ({})", 100.0 * median(e.clone()), e.len()))
                .collect();
            t.push_str(&format!("  per platform: {}\n", each.join("; ")));
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_name_the_platform_and_the_request() {
        let (p, spec) =
            parse_id("tm-image/default/chromium/ndarray-simd/worker/w2-e50-c3-n300-seed42/r1")
                .unwrap();
        assert_eq!(p, "chromium/worker/ndarray-simd");
        assert_eq!((spec.classes, spec.samples_per_class), (Some(3), Some(300)));
        assert_eq!(label_of(&spec), "tm-image default 3×300");
        let (p, spec) = parse_id("mlp/1m/native-ndarray/ndarray/main/w2-s10-seed42/r3").unwrap();
        assert_eq!(p, "native-ndarray");
        assert_eq!((spec.classes, spec.samples_per_class), (None, None));
        assert!(parse_id("not/a/case").is_none());
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
                family: "mlp".into(),
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
        // No setup measured: 1000 steps of `truth` ms.
        assert!((preds[0].total_s - truth).abs() < 1e-6);
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
        assert!(render_validation(&rows).contains("ms/step: median absolute error 0.0%"));
    }

    #[test]
    fn the_denormal_phase_slows_the_steps_past_its_onset() {
        let w = Workload::resolve(&WorkloadSpec {
            workload: "tm-image".into(),
            size: "default".into(),
            classes: None,
            samples_per_class: None,
        })
        .unwrap();
        // 2,400 steps at 1 ms, 10 ms of setup, 3× slower past step 700.
        let t = total_ms(&w, 2400, 1.0, 10.0, Some(3.0));
        assert!((t - (10.0 + 700.0 + 1700.0 * 3.0)).abs() < 1e-9, "{t}");
        assert!((total_ms(&w, 500, 1.0, 0.0, Some(3.0)) - 500.0).abs() < 1e-9);
        assert!((total_ms(&w, 2400, 1.0, 0.0, None) - 2400.0).abs() < 1e-9);
        // Held out: a long run's own factor is not used to predict it.
        let mut obs = Observations::default();
        obs.denormal.insert(
            "p".into(),
            vec![("a".into(), 2.0), ("b".into(), 4.0), ("c".into(), 3.0)],
        );
        assert_eq!(denormal_of(&obs, "p", Some("c")), Some(3.0));
        assert_eq!(denormal_of(&obs, "p", None), Some(3.0));
        assert_eq!(denormal_of(&obs, "q", None), None);
    }

    #[test]
    fn a_measured_sample_ceiling_is_validated_against_the_walls() {
        use crate::record::{CaseInfo, Record};
        let mut case = CaseInfo {
            case_id: "ceiling-samples/firefox/ndarray-simd/main/w0-s2-c3-n16384-seed42/r1".into(),
            workload: "tm-image".into(),
            size: "default".into(),
            ..Default::default()
        };
        case.target = "firefox".into();
        let mut rec = Record::measured(&case, "ceiling_samples", "samples", false, &[466944.0]);
        rec.message = "largest that trained: 466944 samples; stopped by oom at 491520 samples: over the memory cap".into();
        let obs = observe_records(std::iter::once(&rec));
        assert!(obs.ceilings.is_empty(), "records alone carry no ceilings");
        let mut obs = Observations::default();
        obs.ceilings.push(observe::ceiling(&rec).unwrap());
        let rows = validate(&obs);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].platform, "firefox/main/ndarray-simd");
        assert_eq!(rows[0].predicted, 493_447.0);
        assert!(
            rows[0].label.contains("stopped by oom at 491520 samples"),
            "{}",
            rows[0].label
        );
        assert!((rows[0].error() - (493_447.0 / 466_944.0 - 1.0)).abs() < 1e-12);
    }
}
