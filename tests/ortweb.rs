//! ONNX Runtime Web training peer of the probe (`ortweb-wasm`, wasm-probe/js/ortweb.js):
//! `gapbench run` trains tm-image in Chromium from the artifacts `.ci/setup` made
//! (wasm-probe/py/ort_artifacts.py): the case is ok, has our workload's parameter and FLOP counts,
//! finite falling losses and a device that names onnxruntime-web 1.19.2, its training build and
//! its thread count; in Node.js (no training build there) the case is a skip that says why.

mod common;

use common::{assert_no_problems, median, repo, run_dir, temp_dir};
use harness::record::{ReadRecord, Status, read_records, read_samples};
use std::process::Command;
use wasm_probe::workload::{Workload, WorkloadSpec};

/// Whether onnxruntime-web and the tm-image artifacts are here; the test says so and passes
/// without them only when GAPBENCH_ALLOW_MISSING_PEERS is set, so CI cannot skip it silently.
fn installed() -> bool {
    let have = repo()
        .join("node_modules/onnxruntime-web/dist/ort.training.wasm.min.mjs")
        .is_file()
        && repo().join("ort-artifacts/tm-image/checkpoint").is_file();
    if have {
        return true;
    }
    assert!(
        std::env::var_os("GAPBENCH_ALLOW_MISSING_PEERS").is_some(),
        "onnxruntime-web or its artifacts are missing: run `bash .ci/setup` (npm ci; onnxruntime-training and wasm-probe/py/ort_artifacts.py) or set GAPBENCH_ALLOW_MISSING_PEERS=1"
    );
    eprintln!("ONNX Runtime Web training is not installed; skipping");
    false
}

const SCENARIO: &str = r#"
name = "ortweb-test"
seed = 7
warmup = 2
steps = 40
timeout_s = 600

[[group]]
workloads = ["tm-image"]
targets = ["node", "chromium"]
contexts = ["main"]
simd = [true]
backends = ["ortweb-wasm"]
meters = ["throughput"]
"#;

#[test]
fn ortweb_trains_tm_image_in_chromium() {
    let _one = common::exclusive(); // the cross-check in this file times steps: not next to it
    if !installed() {
        return;
    }
    let dir = temp_dir("ortweb");
    let scenario = dir.join("ortweb.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "gapbench run failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let ours = Workload::resolve(&WorkloadSpec {
        workload: "tm-image".into(),
        size: "default".into(),
        classes: None,
        samples_per_class: None,
    })
    .unwrap();
    let run = run_dir(&out);
    let (rows, warnings) = read_records(&run.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let (samples, warnings) = read_samples(&run.join("samples.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let case_rows: Vec<&ReadRecord> = rows.iter().filter(|r| r.record.metric == "case").collect();
    assert_eq!(case_rows.len(), 2, "planned 2 cases: {case_rows:#?}");

    let mut problems = Vec::new();
    for row in &case_rows {
        let r = &row.record;
        let id = &r.case.case_id;
        if r.case.target == "node" {
            if r.status != Status::Skipped || !r.message.contains("browsers only") {
                problems.push(format!("{id}: {} ({})", r.status.as_str(), r.message));
            }
            continue;
        }
        if r.status != Status::Ok {
            problems.push(format!("{id}: {} ({})", r.status.as_str(), r.message));
            continue;
        }
        if r.case.params != ours.params() || r.case.flops_per_step != ours.flops_per_step() {
            problems.push(format!(
                "{id}: params {} flops {} differ from our tm-image's {} and {}",
                r.case.params,
                r.case.flops_per_step,
                ours.params(),
                ours.flops_per_step()
            ));
        }
        if !r
            .case
            .device
            .starts_with("onnxruntime-web 1.19.2 training wasm (simd, 1 thread")
        {
            problems.push(format!("{id}: device `{}`", r.case.device));
        }
        if !median(&rows, id, "throughput").is_some_and(|t| t > 0.0) {
            problems.push(format!("{id}: no throughput"));
        }
        let losses: Vec<f64> = samples
            .iter()
            .filter(|s| s.case_id == *id && s.metric == "loss")
            .map(|s| s.value)
            .collect();
        if losses.len() != 42 || losses.iter().any(|l| !l.is_finite() || *l < 0.0) {
            problems.push(format!("{id}: losses {losses:?}"));
            continue;
        }
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
        let (first, last) = (mean(&losses[..8]), mean(&losses[losses.len() - 8..]));
        if last >= first {
            problems.push(format!(
                "{id}: loss does not fall: first 8 steps {first:.4}, last 8 {last:.4}"
            ));
        }
    }
    assert_no_problems(&problems);
    let _ = std::fs::remove_dir_all(&dir);
}

const CHECK_SCENARIO: &str = r#"
name = "ortweb-check"
seed = 7
warmup = 5
steps = 40
timeout_s = 300

[[group]]
workloads = ["tm-image"]
targets = ["chromium"]
contexts = ["main"]
simd = [true]
backends = ["ortweb-wasm"]
meters = ["throughput"]
"#;

/// gapbench's Chromium step agrees within 15% with tests/peers/ortweb_check.mjs (ORT's docs' loop
/// in a bare page, outside gapbench). This VM's speed drifts, so the two run interleaved, 3 rounds
/// and up to 9 while the medians disagree; it fails when all rounds' medians still differ by >15%.
#[test]
fn ortweb_record_agrees_with_independent_script() {
    if !installed() {
        return;
    }
    let _one = common::exclusive(); // timing: not next to the other test of this binary
    let dir = temp_dir("ortweb-check");
    common::assert_agrees_with_script("ORT-Web", "ortweb_check.mjs", |round| {
        common::one_case_median(&dir, round, CHECK_SCENARIO)
    });
    let _ = std::fs::remove_dir_all(&dir);
}
