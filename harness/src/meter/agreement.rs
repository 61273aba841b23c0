//! Loss agreement: does the wasm probe (in Node.js or a browser) train the same model as native
//! ndarray? For every case that ran the wasm probe, the same case spec is run natively, in
//! process, on burn's ndarray backend, and the loss sequences are compared step by step.
//!
//! `loss_agreement` is the largest relative difference over all steps,
//! `max |l_target - l_native| / max(|l_native|, 1e-6)`, recorded in parts per million (unit
//! `ppm`): records.csv keeps six decimals, so a plain fraction of a few ulps (~1e-7) would read
//! 0.000000 there, while in ppm it reads 0.103800. Both sides run the same f32 model with
//! the same seed and data; they differ only in summation order (wasm SIMD lanes vs native
//! vectorized loops, matrixmultiply's blocking) and in libm (`exp`/`ln` in the wasm build vs the
//! platform's), which moves f32 results by a few ulps per operation. Over a few dozen steps of
//! SGD/Adam that stays far below 1e-3 relative; a real bug (wrong data, a missed update, a wrong
//! seed) moves the loss by percents. So the tolerance is [`TOLERANCE`] = 1e-3 relative (1000 ppm).
//!
//! The warm-up extension (`max_extra_warmup`) makes the number of warm-up steps depend on
//! timing, so a browser case and a native run of the same spec may train different numbers of
//! steps. Losses are indexed by global step, warm-up included, and the loss of step i is the
//! loss after i updates whatever follows it; so the reference runs the fixed `warmup + steps`
//! (extension off: the same deterministic length for every repetition and context, one cached
//! run) and the target's first `warmup + steps` losses are compared with it. Extra warm-up
//! steps the target ran come after that common prefix and are not compared; a target with
//! fewer losses than the reference is a failure.
//!
//! The relaxed-SIMD build (`simd = "relaxed"`) multiplies and adds with `f32x4.relaxed_madd`,
//! which an engine may fuse (one rounding where native ndarray's SIMD128-shaped kernel, and the
//! plain build, round twice). Its difference from native is recorded apart, as
//! `loss_agreement_relaxed`, under the same tolerance: no build's tolerance is widened for it, and
//! a table of `loss_agreement` never mixes the two.
//!
//! A threaded case (`threads = N`) is compared with the single-threaded native reference: the
//! pool splits the products and the optimizer without changing any number
//! (wasm-probe/src/threads.rs), so it agrees as closely as its one-thread twin does.

use super::Meter;
use crate::plan::Case;
use crate::record::{CaseInfo, Record, Sample, Status};
use crate::target::Outcome;
use std::collections::HashMap;
use std::sync::Mutex;
use wasm_probe::measure::CaseSpec;

/// Largest relative loss difference still counted as agreement (see the module docs).
pub const TOLERANCE: f64 = 1e-3;

/// The metric `case` records: `loss_agreement`, or `loss_agreement_relaxed` for the relaxed-SIMD
/// build (module docs).
pub fn metric(case: &Case) -> &'static str {
    if case.simd == Some(crate::scenario::Simd::Relaxed) {
        "loss_agreement_relaxed"
    } else {
        "loss_agreement"
    }
}

/// Parts per million in one (the recorded unit).
pub const PPM: f64 = 1e6;

/// Smallest denominator, so a loss near zero does not blow the ratio up.
const FLOOR: f64 = 1e-6;

pub struct Agreement;

/// Native reference losses, by serialized reference spec: repetitions and contexts of one case
/// share one native run.
/// Native loss sequences (or why there is none), by serialized case spec.
type References = HashMap<String, Result<Vec<f32>, String>>;
static REFERENCE: Mutex<Option<References>> = Mutex::new(None);

/// Whether `case` ran the wasm probe (Node.js or a browser) with a backend the reference can
/// stand next to (TF.js, jax-js and ONNX Runtime Web backends run other code).
pub fn applies(case: &Case) -> bool {
    (case.target == "node" || crate::target::browser::engines::by_name(&case.target).is_some())
        && crate::target::peer::peer_of(&case.backend).is_none()
}

/// The spec the native reference runs for `case`: same workload, seed and steps, ndarray, no
/// fault injection, a fixed warm-up (the extension off: see the module docs).
pub fn reference_spec(case: &Case) -> CaseSpec {
    let mut spec = case.spec();
    spec.backend = "ndarray".into();
    spec.fault = None;
    spec.max_extra_warmup = 0;
    // One thread: the reference runs in this process (no pool of its own), and a threaded case
    // computes every number as one thread does (wasm-probe/src/threads.rs), so it must agree.
    spec.threads = None;
    spec
}

/// The native ndarray losses for `spec`, computed once per spec in this process.
pub fn reference_losses(spec: &CaseSpec) -> Result<Vec<f32>, String> {
    let key = serde_json::to_string(spec).map_err(|e| format!("cannot serialize the spec: {e}"))?;
    // Held while the reference runs, so two meters never compute the same spec twice.
    let mut guard = REFERENCE.lock().unwrap_or_else(|p| p.into_inner());
    let cache = guard.get_or_insert_with(HashMap::new);
    if let Some(hit) = cache.get(&key) {
        return hit.clone();
    }
    let spec = spec.clone();
    let computed = std::panic::catch_unwind(move || wasm_probe::measure::run_native(&spec))
        .map_err(|p| {
            let why = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            format!("the native reference panicked: {why}")
        })
        .and_then(|r| r.map_err(|e| format!("native ndarray is unavailable: {e:?}")))
        .and_then(|r| r.map_err(|e| format!("the native reference failed: {e}")))
        .map(|r| r.losses);
    cache.insert(key, computed.clone());
    computed
}

/// The largest relative difference of `target` from `native`, step by step over native's
/// steps (global steps, warm-up included: a target that warmed up longer has more, after them);
/// None when the target has fewer steps than native or there are none. NaN anywhere counts as
/// infinitely far.
pub fn max_relative_difference(target: &[f32], native: &[f32]) -> Option<f64> {
    if target.len() < native.len() || native.is_empty() {
        return None;
    }
    Some(
        target
            .iter()
            .zip(native)
            .map(|(&t, &n)| {
                let (t, n) = (t as f64, n as f64);
                let d = (t - n).abs() / n.abs().max(FLOOR);
                if d.is_nan() { f64::INFINITY } else { d }
            })
            .fold(0.0, f64::max),
    )
}

fn failed(info: &CaseInfo, metric: &str, unit: &str, message: String) -> Record {
    Record {
        case: info.clone(),
        metric: metric.into(),
        unit: unit.into(),
        lower_is_better: true,
        summary: None,
        status: Status::Failed,
        message,
    }
}

impl Meter for Agreement {
    fn name(&self) -> &'static str {
        "agreement"
    }

    fn records(
        &self,
        case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>) {
        if !applies(case) || outcome.status != Status::Ok {
            return (Vec::new(), Vec::new());
        }
        let Some(result) = &outcome.result else {
            return (Vec::new(), Vec::new());
        };
        let metric = metric(case);
        let native = match reference_losses(&reference_spec(case)) {
            Ok(l) => l,
            Err(why) => {
                return (vec![failed(info, metric, "ppm", why)], Vec::new());
            }
        };
        let target = &result.losses;
        let compared = target.len().min(native.len());
        let extra = target.len().saturating_sub(native.len());
        let mut steps = Record::measured(
            info,
            "loss_steps_compared",
            "steps",
            false,
            &[compared as f64],
        );
        let record = match max_relative_difference(target, &native) {
            None => {
                let why = format!(
                    "cannot compare losses: {} has {} step(s), native ndarray {}",
                    case.target,
                    target.len(),
                    native.len()
                );
                steps.status = Status::Failed;
                steps.message = why.clone();
                failed(info, metric, "ppm", why)
            }
            Some(d) => {
                let mut r = Record::measured(info, metric, "ppm", true, &[d * PPM]);
                let verdict = if d <= TOLERANCE {
                    "within"
                } else {
                    "BEYOND tolerance"
                };
                let beyond = if extra > 0 {
                    format!(
                        " (the first {compared} of {}: {extra} more warm-up steps ran past the reference's fixed warm-up)",
                        target.len()
                    )
                } else {
                    String::new()
                };
                // The relaxed build says whether the engine fused (the probe's device line).
                let build = if metric == "loss_agreement" {
                    String::new()
                } else {
                    let fused = match &result.device {
                        d if d.contains("relaxed_madd not fused") => "not fused",
                        d if d.contains("relaxed_madd fused") => "fused",
                        _ => "fusing unknown",
                    };
                    format!("relaxed-SIMD build (relaxed_madd {fused}): ")
                };
                r.message = format!(
                    "{build}max relative loss difference from native ndarray {d:.3e} ({:.3} ppm) over {compared} steps{beyond}: {verdict} (tolerance {TOLERANCE:.0e} = {:.0} ppm)",
                    d * PPM,
                    TOLERANCE * PPM
                );
                if r.summary.is_none() {
                    // Infinite (NaN or overflow): keep the verdict, mark the row.
                    r.status = Status::Failed;
                }
                r
            }
        };
        (vec![record, steps], Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_difference_is_the_worst_step() {
        assert_eq!(max_relative_difference(&[1.0, 2.0], &[1.0, 2.0]), Some(0.0));
        let d = max_relative_difference(&[1.0, 2.2], &[1.0, 2.0]).unwrap();
        assert!((d - 0.1).abs() < 1e-6, "{d}");
        assert_eq!(max_relative_difference(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(max_relative_difference(&[], &[]), None);
        assert_eq!(max_relative_difference(&[1.0], &[]), None);
        // A target that warmed up longer: compared over native's steps, the rest not counted.
        assert_eq!(
            max_relative_difference(&[1.0, 2.0, 9.0, 9.0], &[1.0, 2.0]),
            Some(0.0)
        );
        let d = max_relative_difference(&[1.5, 2.0, 9.0], &[1.0, 2.0]).unwrap();
        assert!((d - 0.5).abs() < 1e-6, "{d}");
        assert_eq!(
            max_relative_difference(&[f32::NAN], &[1.0]),
            Some(f64::INFINITY)
        );
        // A loss of zero uses the floor, not a division by zero.
        let d = max_relative_difference(&[1e-7], &[0.0]).unwrap();
        assert!((d - 0.1).abs() < 1e-6, "{d}");
    }

    fn case(target: &str, backend: &str) -> Case {
        Case {
            id: format!("mlp/0.1m/{target}/{backend}-simd/main/r1"),
            workload: "mlp".into(),
            size: "0.1m".into(),
            target: target.into(),
            backend: backend.into(),
            simd: Some(crate::scenario::Simd::On),
            context: "main".into(),
            repetition: 1,
            seed: 7,
            warmup: 1,
            steps: 3,
            epochs: None,
            timeout_s: 60,
            meters: vec!["agreement".into()],
            classes: None,
            samples_per_class: None,
            fault: Some("hang".into()),
            max_extra_warmup: 0,
            threads: None,
        }
    }

    #[test]
    fn applies_to_wasm_cases_only_and_references_native_ndarray() {
        assert!(applies(&case("chromium", "ndarray")));
        assert!(applies(&case("node", "flex")));
        assert!(!applies(&case("native-ndarray", "ndarray")));
        assert!(!applies(&case("firefox", "tfjs-wasm")));
        assert!(!applies(&case("chromium", "jaxjs-wasm")));
        let mut c = case("webkit", "flex");
        c.max_extra_warmup = 20;
        let spec = reference_spec(&c);
        assert_eq!(spec.backend, "ndarray");
        assert_eq!(spec.fault, None);
        assert_eq!((spec.seed, spec.warmup, spec.steps), (7, 1, 3));
        // the reference's warm-up is fixed: a deterministic length, whatever the case's bound
        assert_eq!(spec.max_extra_warmup, 0);
    }

    #[test]
    fn an_extended_warm_up_is_compared_over_the_reference_steps() {
        use crate::meter::Meter;
        use crate::record::Status;
        // The case as a browser would run it, but natively: warm-up extended (1 fixed step,
        // at most 20 more), measured 3; the reference runs 1 + 3 steps.
        let mut c = case("node", "ndarray");
        c.fault = None;
        c.max_extra_warmup = 20;
        let mut spec = c.spec();
        spec.backend = "ndarray".into();
        let result = wasm_probe::measure::run_native(&spec).unwrap().unwrap();
        // at least 2 windows of the settle rule: more steps than the reference
        assert!(result.warmup_ms.len() >= 8, "{}", result.warmup_ms.len());
        let outcome = Outcome {
            status: Status::Ok,
            message: String::new(),
            result: Some(result.clone()),
            peak_rss_bytes: None,
            page: serde_json::Value::Null,
            engine: "node".into(),
            engine_version: String::new(),
            device: None,
        };
        let (recs, _) = Agreement.records(&c, &CaseInfo::default(), &outcome);
        let find = |m: &str| recs.iter().find(|r| r.metric == m).unwrap();
        let agree = find("loss_agreement");
        assert_eq!(agree.status, Status::Ok, "{}", agree.message);
        assert_eq!(
            agree.summary.as_ref().unwrap().median,
            0.0,
            "same backend, same steps"
        );
        assert!(
            agree.message.contains("over 4 steps (the first 4 of"),
            "{}",
            agree.message
        );
        let steps = find("loss_steps_compared");
        assert_eq!(steps.summary.as_ref().unwrap().median, 4.0);
        // A target cut short of the reference cannot be compared: a failure, not a pass.
        let mut short = outcome.clone();
        short.result.as_mut().unwrap().losses.truncate(3);
        let (recs, _) = Agreement.records(&c, &CaseInfo::default(), &short);
        let agree = recs.iter().find(|r| r.metric == "loss_agreement").unwrap();
        assert_eq!(agree.status, Status::Failed);
        assert!(
            agree.message.contains("has 3 step(s), native ndarray 4"),
            "{}",
            agree.message
        );
    }

    #[test]
    fn the_relaxed_build_is_recorded_apart_under_the_same_tolerance() {
        use crate::meter::Meter;
        use crate::record::Status;
        let mut c = case("chromium", "ndarray");
        c.fault = None;
        c.simd = Some(crate::scenario::Simd::Relaxed);
        let mut result = wasm_probe::measure::run_native(&reference_spec(&c))
            .unwrap()
            .unwrap();
        result.device = "ndarray (cpu, 1 thread; relaxed SIMD, relaxed_madd fused)".into();
        // A loss 2e-4 off (relative) at one step: within 1e-3, recorded as the relaxed metric.
        result.losses[2] *= 1.0002;
        let outcome = Outcome {
            status: Status::Ok,
            message: String::new(),
            result: Some(result),
            peak_rss_bytes: None,
            page: serde_json::Value::Null,
            engine: "chromium".into(),
            engine_version: String::new(),
            device: None,
        };
        let (recs, _) = Agreement.records(&c, &CaseInfo::default(), &outcome);
        assert!(recs.iter().all(|r| r.metric != "loss_agreement"));
        let r = recs
            .iter()
            .find(|r| r.metric == "loss_agreement_relaxed")
            .unwrap();
        assert_eq!(r.status, Status::Ok);
        let ppm = r.summary.as_ref().unwrap().median;
        assert!((150.0..250.0).contains(&ppm), "{ppm}");
        assert!(
            r.message
                .starts_with("relaxed-SIMD build (relaxed_madd fused): ")
                && r.message.contains("within (tolerance 1e-3"),
            "{}",
            r.message
        );
        // Beyond 1e-3 it is beyond, as for every other build.
        let mut far = outcome.clone();
        far.result.as_mut().unwrap().losses[2] *= 1.01;
        let (recs, _) = Agreement.records(&c, &CaseInfo::default(), &far);
        let r = recs.iter().find(|r| r.metric == metric(&c)).unwrap();
        assert!(r.message.contains("BEYOND tolerance"), "{}", r.message);
    }

    #[test]
    fn reference_is_deterministic_and_cached() {
        let spec = reference_spec(&case("node", "ndarray"));
        let a = reference_losses(&spec).unwrap();
        assert_eq!(a.len(), 4, "warmup + steps losses");
        assert!(a.iter().all(|l| l.is_finite() && *l > 0.0), "{a:?}");
        let b = reference_losses(&spec).unwrap();
        assert_eq!(a, b);
        // A second, independent native run gives the same losses (the reference is stable).
        let fresh = wasm_probe::measure::run_native(&spec).unwrap().unwrap();
        assert_eq!(max_relative_difference(&fresh.losses, &a), Some(0.0));
    }
}
