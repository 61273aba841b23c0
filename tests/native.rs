//! End-to-end tests of the native path: the workloads train, counts are exact, runs are
//! deterministic, and `gapbench run` writes its three result files.

mod common;

use common::{repo, temp_dir};
use std::process::Command;
use wasm_probe::measure::{CaseSpec, run_native};
use wasm_probe::workload::{Workload, WorkloadSpec, catalog};

fn spec(workload: &str, size: &str, classes: Option<usize>) -> WorkloadSpec {
    WorkloadSpec {
        workload: workload.into(),
        size: size.into(),
        classes,
        samples_per_class: None,
    }
}

fn case(
    workload: &str,
    size: &str,
    backend: &str,
    warmup: u32,
    steps: u32,
    epochs: Option<u32>,
) -> CaseSpec {
    CaseSpec {
        workload: spec(workload, size, None),
        backend: backend.into(),
        seed: 7,
        warmup,
        steps,
        epochs,
        fault: None,
        max_extra_warmup: 0,
        threads: None,
    }
}

#[test]
fn tm_image_param_count_is_exact() {
    for c in [2usize, 3, 5, 10] {
        let w = Workload::resolve(&spec("tm-image", "default", Some(c))).unwrap();
        assert_eq!(w.params(), 128_100 + 100 * c as u64, "C={c}");
    }
}

#[test]
fn analytic_params_match_the_built_models() {
    use burn::prelude::Device;
    let device = Device::flex();
    for info in catalog() {
        let size = info.presets[0].name;
        let w = Workload::resolve(&spec(info.name, size, None)).unwrap();
        let counted = wasm_probe::workload::built_params(&w, &device);
        assert_eq!(counted, w.params(), "{} {size}", info.name);
    }
}

#[test]
fn mlp_presets_span_0_1m_to_over_100m_log_spaced() {
    let info = catalog().into_iter().find(|w| w.name == "mlp").unwrap();
    let params: Vec<u64> = info
        .presets
        .iter()
        .map(|p| {
            Workload::resolve(&spec("mlp", p.name, None))
                .unwrap()
                .params()
        })
        .collect();
    assert!(params[0] >= 80_000 && params[0] <= 130_000, "{params:?}");
    assert!(*params.last().unwrap() >= 100_000_000, "{params:?}");
    for pair in params.windows(2) {
        let ratio = pair[1] as f64 / pair[0] as f64;
        assert!((2.5..4.0).contains(&ratio), "not log-spaced: {params:?}");
    }
}

#[test]
fn tm_image_reaches_90_percent_in_50_epochs() {
    let r = run_native(&case("tm-image", "default", "ndarray", 0, 0, Some(50)))
        .expect("ndarray is available")
        .expect("training succeeds");
    assert!(
        r.val_accuracy >= 0.90,
        "validation accuracy {}",
        r.val_accuracy
    );
    // 3 classes x 300 samples, 15% held out: 765 training samples, batch 16 -> 48 steps/epoch.
    assert_eq!(r.losses.len(), 50 * 48);
    assert!(
        r.losses.last().unwrap() < &r.losses[0],
        "loss did not fall: {:?}",
        &r.losses[..3]
    );
}

#[test]
fn same_seed_same_losses_on_ndarray() {
    let c = case("mlp", "0.1m", "ndarray", 2, 8, None);
    let a = run_native(&c).unwrap().unwrap();
    let b = run_native(&c).unwrap().unwrap();
    assert_eq!(a.losses.len(), 10);
    assert_eq!(a.losses, b.losses);
    let mut other = c.clone();
    other.seed = 8;
    assert_ne!(run_native(&other).unwrap().unwrap().losses, a.losses);
}

#[test]
fn every_workload_learns_on_both_cpu_backends() {
    for backend in ["ndarray", "flex"] {
        // `gemm` is not training (see the next test).
        for info in catalog().into_iter().filter(|w| w.name != "gemm") {
            let size = info.presets[0].name;
            let r = run_native(&case(info.name, size, backend, 0, 30, None))
                .unwrap()
                .unwrap();
            let first: f32 = r.losses[..3].iter().sum::<f32>() / 3.0;
            let last: f32 = r.losses[r.losses.len() - 3..].iter().sum::<f32>() / 3.0;
            assert!(
                last < first,
                "{} on {backend}: loss {first} -> {last}",
                info.name
            );
            assert!(r.step_ms.iter().all(|t| *t > 0.0));
            assert!(r.flops_per_step > 0 && r.params > 0);
        }
    }
}

/// `gemm`: every product preset's result matches the f64 reference on every checked entry (its
/// "accuracy" is 1), repeats bit for bit step after step, and counts 2·M·K·N FLOPs; `peak`
/// reproduces its scalar recomputation.
#[test]
fn gemm_products_and_peak_check_out() {
    let info = catalog().into_iter().find(|w| w.name == "gemm").unwrap();
    for backend in ["ndarray", "flex"] {
        for p in &info.presets {
            let r = run_native(&case("gemm", p.name, backend, 1, 3, None))
                .unwrap()
                .unwrap();
            assert_eq!(r.val_accuracy, 1.0, "gemm {} on {backend}", p.name);
            assert!(
                r.losses.windows(2).all(|w| w[0] == w[1]),
                "gemm {} on {backend}: {:?}",
                p.name,
                r.losses
            );
            if let Some(dims) = p.name.strip_suffix("-tn").or(Some(p.name))
                && let [m, k, n] = dims
                    .split('x')
                    .filter_map(|d| d.parse::<u64>().ok())
                    .collect::<Vec<_>>()[..]
            {
                assert_eq!(r.flops_per_step, 2 * m * k * n, "gemm {}", p.name);
            } else {
                assert_eq!(p.name, "peak");
                assert!(r.flops_per_step > 0);
            }
        }
    }
}

fn gapbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gapbench"))
}

#[test]
fn native_smoke_writes_the_three_result_files() {
    let out = temp_dir("smoke");
    let o = gapbench()
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(repo().join("scenarios/native-smoke.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let runs: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().collect();
    assert_eq!(runs.len(), 1);
    let dir = runs[0].path();
    // The run's last lines: the gap per engine (none: only native targets ran) and the report
    // command for this run.
    let last: Vec<&str> = stdout.lines().rev().take(2).collect();
    assert_eq!(
        last[0],
        format!("report: gapbench report {}", dir.display()),
        "{stdout}"
    );
    assert!(
        last[1].starts_with("gap to native: none in this run"),
        "{stdout}"
    );
    for f in ["records.csv", "samples.csv", "manifest.json"] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let (records, warnings) = harness::record::read_records(&dir.join("records.csv")).unwrap();
    assert!(warnings.is_empty());
    // 5 workloads on 3 targets: one outcome row per case.
    let outcomes: Vec<_> = records
        .iter()
        .filter(|r| r.record.metric == "case")
        .collect();
    assert_eq!(outcomes.len(), 15);
    for r in &outcomes {
        let st = r.record.status;
        let wgpu = r.record.case.target == "native-wgpu";
        assert!(
            st == harness::record::Status::Ok || (wgpu && st == harness::record::Status::Skipped),
            "{}: {:?} {}",
            r.record.case.case_id,
            st,
            r.record.message
        );
    }
    for r in records.iter().filter(|r| r.record.metric == "throughput") {
        let s = r.record.summary.as_ref().unwrap();
        assert_eq!(s.n, 10);
        assert!(s.median > 0.0 && s.ci_low <= s.median && s.median <= s.ci_high);
    }
    // Warm-up extended (the default bound): every case that trained says where its warm-up
    // ended, at least the rule's two windows of 4 steps and at most 2 fixed + 20 extra.
    let warmups: Vec<_> = records
        .iter()
        .filter(|r| r.record.metric == "warmup_steps")
        .collect();
    assert_eq!(
        warmups.len(),
        records
            .iter()
            .filter(|r| r.record.metric == "step_time")
            .count()
    );
    assert!(!warmups.is_empty());
    for r in &warmups {
        let n = r.record.summary.as_ref().unwrap().median;
        assert!((8.0..=22.0).contains(&n), "{}: {n}", r.record.case.case_id);
        let m = &r.record.message;
        assert!(
            m.starts_with("settled after") || m.starts_with("not settled"),
            "{m}"
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["allocator"].as_str().unwrap().contains("mimalloc"));
    assert!(manifest["ended"].is_string());
    let (samples, _) = harness::record::read_samples(&dir.join("samples.csv")).unwrap();
    assert!(
        samples
            .iter()
            .any(|s| s.metric == "step_time" && s.phase == "measured")
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_run_records_where_warm_up_ended_and_a_scenario_can_turn_the_extension_off() {
    let out = temp_dir("warmup");
    let scenario = out.join("warmup.toml");
    std::fs::write(
        &scenario,
        "name = \"warmup\"\nwarmup = 2\nsteps = 6\n\
         [[group]]\nworkloads = [\"mlp\"]\nsizes = [\"smallest\"]\ntargets = [\"native-ndarray\"]\n\
         [[group]]\nworkloads = [\"mlp\"]\nsizes = [\"smallest\"]\ntargets = [\"native-ndarray\"]\n\
         max_extra_warmup = 0\n",
    )
    .unwrap();
    let o = gapbench()
        .args(["run", "--quiet", "--out"])
        .arg(out.join("runs"))
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let (records, _) = harness::record::read_records(&dir.join("records.csv")).unwrap();
    let (samples, _) = harness::record::read_samples(&dir.join("samples.csv")).unwrap();
    let count = |case: &str, phase: &str| {
        samples
            .iter()
            .filter(|s| s.case_id == case && s.metric == "step_time" && s.phase == phase)
            .count()
    };
    let warmup = |suffix: &str| {
        let r = records
            .iter()
            .map(|r| &r.record)
            .find(|r| r.metric == "warmup_steps" && r.case.case_id.contains(suffix))
            .unwrap_or_else(|| panic!("no warmup_steps record for {suffix}"));
        let n = r.summary.as_ref().unwrap().median as usize;
        (r.case.case_id.clone(), n, r.message.clone())
    };
    // extended: past the 2 fixed steps, until the rule could compare two windows of 4 steps
    let (id, n, message) = warmup("w2-s6-seed42/");
    assert!((8..=22).contains(&n), "{n}");
    assert!(
        message.starts_with(&format!(
            "settled after {n} warm-up steps (2 fixed + {} extra)",
            n - 2
        )) || message.starts_with(&format!(
            "not settled: warm-up stopped at its bound after {n} steps"
        )),
        "{message}"
    );
    assert_eq!((count(&id, "warmup"), count(&id, "measured")), (n, 6));
    // off: exactly the fixed warm-up, and the id says so
    let (id, n, message) = warmup("w2-s6-seed42-xw0/");
    assert_eq!(
        (n, message.as_str()),
        (2, "fixed: 2 warm-up steps, not extended")
    );
    assert_eq!((count(&id, "warmup"), count(&id, "measured")), (2, 6));
    let _ = std::fs::remove_dir_all(&out);
}
