//! jax-js peer of the probe (`jaxjs-wasm`, wasm-probe/js/jaxjs.js).
//!
//! 1. `gapbench run` trains tm-image with @jax-js/jax in Node.js and in Chromium (and mlp 0.1m in
//!    Node.js): every case is ok, has our workload's parameter and FLOP counts, finite falling
//!    losses, and a device that says which path ran (wasm, threads, jit on); no SIMD is a skip.
//! 2. Its step time agrees within 15% with an independent script kept in the repository
//!    (tests/peers/jaxjs_check.mjs, written the way jax-js's docs train, outside gapbench's code).
//!    This VM's speed drifts (up to 1.8x between seconds), so the two are run interleaved, several
//!    times, and their medians compared; a disagreement is rechecked with more rounds before the
//!    test fails, and it fails when the medians of all rounds still differ by more than 15%.

mod common;

use common::{assert_no_problems, median, repo, run_dir, temp_dir};
use harness::record::{ReadRecord, Status, read_records, read_samples};
use std::path::Path;
use std::process::Command;
use wasm_probe::workload::{Workload, WorkloadSpec};

/// Whether @jax-js/jax is installed (`npm ci`); the tests say so and pass without it only when
/// GAPBENCH_ALLOW_MISSING_PEERS is set, so CI (which runs .ci/setup) cannot skip them silently.
fn installed() -> bool {
    if repo()
        .join("node_modules/@jax-js/jax/dist/index.js")
        .is_file()
    {
        return true;
    }
    assert!(
        std::env::var_os("GAPBENCH_ALLOW_MISSING_PEERS").is_some(),
        "@jax-js/jax is not installed: run `npm ci` in {} (or set GAPBENCH_ALLOW_MISSING_PEERS=1)",
        repo().display()
    );
    eprintln!("@jax-js/jax is not installed; skipping");
    false
}

fn gapbench_run(scenario: &Path, out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(out)
        .arg(scenario)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "gapbench run failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

const SCENARIO: &str = r#"
name = "jaxjs-test"
seed = 7
warmup = 2
steps = 40
timeout_s = 600

[[group]]
workloads = ["tm-image"]
targets = ["node", "chromium"]
contexts = ["main"]
simd = [true]
backends = ["jaxjs-wasm"]
meters = ["throughput"]

[[group]]
workloads = ["mlp"]
sizes = ["0.1m"]
targets = ["node"]
simd = [true]
backends = ["jaxjs-wasm"]
meters = ["throughput"]
steps = 5

[[group]]
workloads = ["tm-image"]
targets = ["node"]
simd = [false]
backends = ["jaxjs-wasm"]
meters = ["throughput"]
steps = 5
"#;

#[test]
fn jaxjs_trains_tm_image_in_node_and_chromium() {
    let _one = common::exclusive(); // the cross-check in this file times steps: not next to it
    if !installed() {
        return;
    }
    let dir = temp_dir("jaxjs");
    let scenario = dir.join("jaxjs.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.join("out");
    gapbench_run(&scenario, &out);

    let run = run_dir(&out);
    let (rows, warnings) = read_records(&run.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let (samples, warnings) = read_samples(&run.join("samples.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let case_rows: Vec<&ReadRecord> = rows.iter().filter(|r| r.record.metric == "case").collect();
    assert_eq!(case_rows.len(), 4, "planned 4 cases: {case_rows:#?}");

    let mut problems = Vec::new();
    for row in &case_rows {
        let r = &row.record;
        let id = &r.case.case_id;
        if r.case.simd == "no-simd" {
            if r.status != Status::Skipped || !r.message.contains("simd = true") {
                problems.push(format!("{id}: {} ({})", r.status.as_str(), r.message));
            }
            continue;
        }
        if r.status != Status::Ok {
            problems.push(format!("{id}: {} ({})", r.status.as_str(), r.message));
            continue;
        }
        let ours = Workload::resolve(&WorkloadSpec {
            workload: r.case.workload.clone(),
            size: r.case.size.clone(),
            classes: None,
            samples_per_class: None,
        })
        .unwrap();
        if r.case.params != ours.params() || r.case.flops_per_step != ours.flops_per_step() {
            problems.push(format!(
                "{id}: params {} flops {} differ from our {}'s {} and {}",
                r.case.params,
                r.case.flops_per_step,
                r.case.workload,
                ours.params(),
                ours.flops_per_step()
            ));
        }
        // Node.js has no Worker global: one thread; a cross-origin isolated page has a pool.
        let threads = if r.case.target == "node" {
            "wasm, 1 thread"
        } else {
            "wasm, Web Worker pool of"
        };
        if !r.case.device.starts_with("jax-js 0.1.25")
            || !r.case.device.contains(threads)
            || !r.case.device.contains("jit on")
        {
            problems.push(format!(
                "{id}: device `{}` lacks `{threads}`",
                r.case.device
            ));
        }
        let throughput = median(&rows, id, "throughput");
        if !throughput.is_some_and(|t| t > 0.0) {
            problems.push(format!("{id}: throughput {throughput:?}"));
        }
        let losses: Vec<f64> = samples
            .iter()
            .filter(|s| s.case_id == *id && s.metric == "loss")
            .map(|s| s.value)
            .collect();
        let steps = if r.case.workload == "mlp" { 5 } else { 40 };
        if losses.len() != 2 + steps || losses.iter().any(|l| !l.is_finite() || *l < 0.0) {
            problems.push(format!("{id}: losses {losses:?}"));
            continue;
        }
        if steps == 40 {
            let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
            let (first, last) = (mean(&losses[..8]), mean(&losses[losses.len() - 8..]));
            if last >= first {
                problems.push(format!(
                    "{id}: loss does not fall: first 8 steps {first:.4}, last 8 {last:.4}"
                ));
            }
        }
    }
    assert_no_problems(&problems);
    let _ = std::fs::remove_dir_all(&dir);
}

const CHECK_SCENARIO: &str = r#"
name = "jaxjs-check"
seed = 7
warmup = 5
steps = 40
timeout_s = 300

[[group]]
workloads = ["tm-image"]
targets = ["node"]
simd = [true]
backends = ["jaxjs-wasm"]
meters = ["throughput"]
"#;

#[test]
fn jaxjs_record_agrees_with_independent_script() {
    if !installed() {
        return;
    }
    let _one = common::exclusive(); // timing: not next to other heavy tests of this binary
    let dir = temp_dir("jaxjs-check");
    common::assert_agrees_with_script("jax-js", "jaxjs_check.mjs", |round| {
        common::one_case_median(&dir, round, CHECK_SCENARIO)
    });
    let _ = std::fs::remove_dir_all(&dir);
}
