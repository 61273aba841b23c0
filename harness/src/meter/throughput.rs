//! Training throughput: step time, samples/s, GFLOP/s, cold start, setup, loss and validation
//! accuracy, from the probe's raw per-step times; for a `gemm` product, also the multiply-add
//! limit timed after each step (`peak_compute`) and the product's share of it (`peak_share`).

use super::Meter;
use crate::plan::Case;
use crate::record::{CaseInfo, Record, Sample};
use crate::target::Outcome;

pub struct Throughput;

fn samples(case_id: &str, metric: &str, phase: &'static str, values: &[f64]) -> Vec<Sample> {
    values
        .iter()
        .enumerate()
        .map(|(index, &value)| Sample {
            case_id: case_id.into(),
            metric: metric.into(),
            phase,
            index,
            value,
        })
        .collect()
}

impl Meter for Throughput {
    fn name(&self) -> &'static str {
        "throughput"
    }

    fn records(
        &self,
        case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>) {
        let Some(r) = &outcome.result else {
            return (Vec::new(), Vec::new());
        };
        let id = &case.id;
        let step = &r.step_ms;
        let per_s: Vec<f64> = step.iter().map(|ms| r.batch as f64 * 1e3 / ms).collect();
        let gflops: Vec<f64> = step
            .iter()
            .map(|ms| r.flops_per_step as f64 / ms / 1e6)
            .collect();
        let losses: Vec<f64> = r.losses.iter().map(|&l| l as f64).collect();
        let mut step_rec = Record::measured(info, "step_time", "ms", true, step);
        if let Some(note) = unsteady(step) {
            step_rec.message = note;
        }
        let mut recs = vec![
            step_rec,
            warmup_record(info, case, r),
            Record::measured(info, "throughput", "samples/s", false, &per_s),
            Record::measured(info, "compute", "GFLOP/s", false, &gflops),
            Record::measured(info, "first_step", "ms", true, &[r.first_step_ms]),
            Record::measured(info, "setup", "ms", true, &[r.setup_ms]),
            Record::measured(info, "train_time", "ms", true, &[r.train_ms]),
            Record::measured(
                info,
                "loss_final",
                "nats",
                true,
                &losses[losses.len().saturating_sub(1)..],
            ),
            Record::measured(
                info,
                "val_accuracy",
                "fraction",
                false,
                &[r.val_accuracy as f64],
            ),
        ];
        if let Some(rss) = outcome.peak_rss_bytes {
            recs.push(Record::measured(
                info,
                "peak_rss",
                "MiB",
                true,
                &[rss as f64 / 1048576.0],
            ));
        }
        let mut smp = samples(id, "step_time", "warmup", &r.warmup_ms);
        // A product timed next to the multiply-add limit loop (`gemm`): its share of the limit,
        // step by step, so a drift in the machine's speed between cases cancels out.
        if r.peak_flops > 0 && !r.peak_ms.is_empty() && r.peak_ms.len() == step.len() {
            let limit: Vec<f64> = r
                .peak_ms
                .iter()
                .map(|ms| r.peak_flops as f64 / ms / 1e6)
                .collect();
            let share: Vec<f64> = gflops
                .iter()
                .zip(&limit)
                .map(|(g, l)| 100.0 * g / l)
                .collect();
            recs.push(Record::measured(
                info,
                "peak_compute",
                "GFLOP/s",
                false,
                &limit,
            ));
            recs.push(Record::measured(info, "peak_share", "%", false, &share));
            smp.extend(samples(id, "peak_share", "measured", &share));
        }
        // Every probe step timed next to the calibration loop: the step in units of the host's
        // speed at that moment (drift-cancelled), for comparisons across time on one engine.
        if let Some(rel) = relative_steps(step, &r.calib_ms) {
            recs.push(Record::measured(info, "step_time_rel", "calib", true, &rel));
            smp.extend(samples(id, "step_time_rel", "measured", &rel));
        }
        // Natively: each step's thread CPU time, which other processes' load does not stretch.
        if !r.step_cpu_ms.is_empty() && r.step_cpu_ms.len() == step.len() {
            recs.push(Record::measured(
                info,
                "step_cpu",
                "ms",
                true,
                &r.step_cpu_ms,
            ));
            smp.extend(samples(id, "step_cpu", "measured", &r.step_cpu_ms));
        }
        smp.extend(samples(id, "step_time", "measured", step));
        smp.extend(samples(
            id,
            "loss",
            "warmup",
            &losses[..r.warmup_ms.len().min(losses.len())],
        ));
        smp.extend(samples(
            id,
            "loss",
            "measured",
            &losses[r.warmup_ms.len().min(losses.len())..],
        ));
        (recs, smp)
    }
}

/// The steady-state check of a case's measured window: None when its first quarter runs at
/// the pace of its second half; otherwise a note that the warm-up ended too early (a JIT still
/// tiering up, caches still filling), kept in the step_time record's message. Fewer than 8
/// steps are not judged.
pub fn unsteady(step_ms: &[f64]) -> Option<String> {
    let n = step_ms.len();
    if n < 8 {
        return None;
    }
    let first = crate::stats::median(&step_ms[..n / 4]);
    let settled = crate::stats::median(&step_ms[n / 2..]);
    (first > 1.1 * settled).then(|| {
        format!(
            "not steady: the first {} measured steps ran at {:.2}× the pace of the last {} \
             (median {first:.3} vs {settled:.3} ms); a longer warm-up would measure the steady state",
            n / 4,
            first / settled,
            n - n / 2
        )
    })
}

/// Where warm-up ended (metric `warmup_steps`): the number of warm-up steps that ran, and in
/// the message whether the probe's warm-up extension found the step time settled
/// (`wasm_probe::measure::settled`: the median of the last 4 warm-up steps within 10% of the 4
/// before), stopped at its bound unsettled (message starting "not settled"), or did not run
/// (a fixed warm-up: `max_extra_warmup = 0`, `epochs`, `warmup = 0`, a peer library).
pub fn warmup_record(info: &CaseInfo, case: &Case, r: &wasm_probe::measure::CaseResult) -> Record {
    use wasm_probe::measure::{SETTLE_WINDOW, settle_medians};
    let n = r.warmup_ms.len();
    let extra = n.saturating_sub(case.warmup as usize);
    let mut rec = Record::measured(info, "warmup_steps", "steps", true, &[n as f64]);
    let medians = settle_medians(&r.warmup_ms)
        .map(|(recent, before)| {
            format!(
                "median of the last {SETTLE_WINDOW} {recent:.3} ms, of the {SETTLE_WINDOW} before {before:.3} ms"
            )
        })
        .unwrap_or_else(|| "too few steps to compare two windows".into());
    rec.message = match r.warmup_settled {
        Some(true) => format!(
            "settled after {n} warm-up steps ({} fixed + {extra} extra): {medians}",
            case.warmup
        ),
        Some(false) => format!(
            "not settled: warm-up stopped at its bound after {n} steps ({} fixed + {extra} extra, at most {} extra or {:.0} s); {medians}",
            case.warmup,
            case.max_extra_warmup,
            wasm_probe::measure::MAX_EXTRA_WARMUP_MS / 1e3
        ),
        None => format!("fixed: {n} warm-up steps, not extended"),
    };
    rec
}

/// Half-width of the window of calibration times a step is divided by: the median of the
/// calibrations run after steps i-2..=i+2 (one calibration is a few timer ticks in a browser).
const CALIB_WINDOW: usize = 2;

/// Each step time divided by the median calibration time around it; None when the calibration
/// did not run after every measured step (peers, older probes) or timed anything as zero.
pub fn relative_steps(step_ms: &[f64], calib_ms: &[f64]) -> Option<Vec<f64>> {
    if step_ms.is_empty() || calib_ms.len() != step_ms.len() {
        return None;
    }
    let rel: Vec<f64> = (0..step_ms.len())
        .map(|i| {
            let lo = i.saturating_sub(CALIB_WINDOW);
            let hi = (i + CALIB_WINDOW + 1).min(calib_ms.len());
            step_ms[i] / crate::stats::median(&calib_ms[lo..hi])
        })
        .collect();
    rel.iter().all(|x| x.is_finite() && *x > 0.0).then_some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::Meters;
    use crate::record::Status;

    fn gemm(size: &str) -> Case {
        Case {
            id: format!("gemm/{size}/native-ndarray/ndarray/main/r1"),
            workload: "gemm".into(),
            size: size.into(),
            target: "native-ndarray".into(),
            backend: "ndarray".into(),
            simd: None,
            context: "main".into(),
            repetition: 1,
            seed: 7,
            warmup: 1,
            steps: 4,
            epochs: None,
            timeout_s: 60,
            meters: vec!["throughput".into()],
            classes: None,
            samples_per_class: None,
            fault: None,
            max_extra_warmup: 0,
            threads: None,
        }
    }

    fn records(case: &Case) -> (Vec<Record>, Vec<Sample>) {
        let r = wasm_probe::measure::run_native(&case.spec())
            .unwrap()
            .unwrap();
        let outcome = Outcome {
            status: Status::Ok,
            message: String::new(),
            result: Some(r),
            peak_rss_bytes: None,
            page: serde_json::Value::Null,
            engine: "native".into(),
            engine_version: String::new(),
            device: None,
        };
        crate::runner::records_for("t", case, &outcome, &Meters::with_cap(case, None))
    }

    #[test]
    fn a_gemm_product_is_read_against_peak_step_by_step() {
        let case = gemm("16x1280x100");
        let (recs, samples) = records(&case);
        let med = |m: &str| {
            recs.iter()
                .find(|r| r.metric == m)
                .and_then(|r| r.summary.as_ref())
                .map(|s| s.median)
                .unwrap_or_else(|| panic!("no {m} record"))
        };
        assert!(med("peak_compute") > 0.1, "{}", med("peak_compute"));
        // Natively the kernel's AVX2 and FMA outrun the 4-lane loop, but not tenfold.
        let share = med("peak_share");
        assert!(share > 1.0 && share < 1000.0, "{share}%");
        let shares = samples.iter().filter(|s| s.metric == "peak_share").count();
        assert_eq!(shares, 4, "one share per measured step");
        // `peak` itself is the limit, not read against one.
        let (recs, _) = records(&gemm("peak"));
        assert!(recs.iter().any(|r| r.metric == "compute"));
        assert!(!recs.iter().any(|r| r.metric.starts_with("peak_")));
    }

    #[test]
    fn every_probe_step_is_also_read_against_the_calibration_loop() {
        let (recs, samples) = records(&gemm("16x1280x100"));
        let rel: Vec<f64> = samples
            .iter()
            .filter(|s| s.metric == "step_time_rel")
            .map(|s| s.value)
            .collect();
        assert_eq!(rel.len(), 4, "one relative time per measured step");
        assert!(rel.iter().all(|x| x.is_finite() && *x > 0.0), "{rel:?}");
        let r = recs.iter().find(|r| r.metric == "step_time_rel").unwrap();
        assert_eq!((r.unit.as_str(), r.lower_is_better), ("calib", true));
        // natively, each step's CPU time too, never more than its wall time (plus clock slack)
        let cpu: Vec<f64> = samples
            .iter()
            .filter(|s| s.metric == "step_cpu")
            .map(|s| s.value)
            .collect();
        let wall: Vec<f64> = samples
            .iter()
            .filter(|s| s.metric == "step_time" && s.phase == "measured")
            .map(|s| s.value)
            .collect();
        assert_eq!(cpu.len(), 4);
        for (c, w) in cpu.iter().zip(&wall) {
            assert!(*c > 0.0 && *c <= w + 0.05, "cpu {c} ms, wall {w} ms");
        }
    }

    #[test]
    fn relative_steps_divide_by_the_median_calibration_around_each_step() {
        let steps = [10.0, 10.0, 20.0, 10.0, 10.0, 10.0];
        // one calibration spike at step 1 is outvoted by its neighbours
        let calib = [2.0, 9.0, 2.0, 2.0, 4.0, 4.0];
        let rel = relative_steps(&steps, &calib).unwrap();
        // windows: [2,9,2]→2, [2,9,2,2]→2, [2,9,2,2,4]→2, [9,2,2,4,4]→4, [2,2,4,4]→3, [2,4,4]→4
        assert_eq!(rel, vec![5.0, 5.0, 10.0, 2.5, 10.0 / 3.0, 2.5]);
        assert_eq!(
            relative_steps(&steps, &calib[..5]),
            None,
            "not after every step"
        );
        assert_eq!(
            relative_steps(&steps, &[0.0; 6]),
            None,
            "a zero calibration"
        );
    }

    #[test]
    fn a_slowdown_fault_is_parsed_and_bad_values_are_refused() {
        use wasm_probe::measure::slowdown_of;
        assert_eq!(slowdown_of("slowdown:0.1"), Some(Ok(0.1)));
        assert_eq!(slowdown_of("panic"), None);
        for bad in [
            "slowdown:",
            "slowdown:-1",
            "slowdown:0",
            "slowdown:NaN",
            "slowdown:11",
        ] {
            assert!(matches!(slowdown_of(bad), Some(Err(_))), "{bad}");
        }
        // a slowed case still trains and records its steps
        let mut case = gemm("16x1280x100");
        case.fault = Some("slowdown:0.5".into());
        let (_, samples) = records(&case);
        assert_eq!(
            samples.iter().filter(|s| s.metric == "step_time").count(),
            5
        );
    }

    #[test]
    fn where_warm_up_ended_is_recorded() {
        let info = CaseInfo::default();
        let value = |r: &Record| r.summary.as_ref().unwrap().median;
        // the extension on: settled, at least two windows of the rule
        let mut case = gemm("16x1280x100");
        case.warmup = 2;
        case.max_extra_warmup = 30;
        let (recs, samples) = records(&case);
        let w = recs.iter().find(|r| r.metric == "warmup_steps").unwrap();
        let n = samples
            .iter()
            .filter(|s| s.metric == "step_time" && s.phase == "warmup")
            .count();
        assert_eq!(value(w), n as f64, "the record counts the warm-up samples");
        assert!((8..=32).contains(&n), "{n}");
        assert!(
            w.message.starts_with(&format!(
                "settled after {n} warm-up steps (2 fixed + {} extra)",
                n - 2
            )) || w.message.starts_with(&format!(
                "not settled: warm-up stopped at its bound after {n} steps"
            )),
            "{}",
            w.message
        );
        // measured steps stay exactly `steps`
        let measured = samples
            .iter()
            .filter(|s| s.metric == "step_time" && s.phase == "measured")
            .count();
        assert_eq!(measured, 4);
        // the messages, from made-up results
        let mut r = wasm_probe::measure::run_native(&case.spec())
            .unwrap()
            .unwrap();
        r.warmup_ms = vec![9.0, 3.0, 2.5, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0];
        r.warmup_settled = Some(false);
        let m = warmup_record(&info, &case, &r).message;
        assert_eq!(
            m,
            "not settled: warm-up stopped at its bound after 10 steps (2 fixed + 8 extra, at most 30 extra or 10 s); median of the last 4 1.000 ms, of the 4 before 2.000 ms"
        );
        r.warmup_ms.truncate(2);
        r.warmup_settled = None;
        let w = warmup_record(&info, &case, &r);
        assert_eq!(
            (value(&w), w.message.as_str()),
            (2.0, "fixed: 2 warm-up steps, not extended")
        );
    }

    #[test]
    fn a_window_still_speeding_up_is_flagged_not_steady() {
        let falling: Vec<f64> = (0..20).map(|i| if i < 5 { 2.0 } else { 1.0 }).collect();
        let note = unsteady(&falling).expect("flagged");
        assert!(
            note.starts_with("not steady: the first 5 measured steps ran at 2.00×"),
            "{note}"
        );
        let flat = vec![1.0; 20];
        assert_eq!(unsteady(&flat), None);
        // noise within 10% is steady; too few steps are not judged
        let noisy: Vec<f64> = (0..20).map(|i| 1.0 + 0.05 * (i % 3) as f64).collect();
        assert_eq!(unsteady(&noisy), None);
        assert_eq!(unsteady(&[5.0, 1.0, 1.0]), None);
    }
}
