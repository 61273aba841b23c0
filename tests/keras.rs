//! TF-Keras peer of native burn (`native-keras`: `train_on_batch` per step; `native-keras-fit`:
//! `model.fit`, wasm-probe/py/keras_runner.py). With TensorFlow installed, `gapbench run` trains
//! tm-image and mlp 0.1m on both paths: every case is ok, reports our workload's parameter and
//! FLOP counts (from the resolved workload in the case spec), finite losses that fall, a device
//! naming the path; and the `keras-fit` step agrees within 15% with an independent script
//! (tests/peers/keras_check.py, Keras's guides' `model.fit`). Without TensorFlow, TF-Keras is an
//! optional peer: the cases must be `skipped` with the install command, and the test says so.

mod common;

use common::{assert_no_problems, median, repo, run_dir, temp_dir};
use harness::record::{ReadRecord, Record, Sample, Status, read_records, read_samples};
use std::process::Command;
use wasm_probe::workload::{Workload, WorkloadSpec};

/// The Python gapbench's Keras targets run (GAPBENCH_PYTHON, else `.ci/setup`'s virtualenv).
fn python() -> String {
    harness::target::keras::python()
}

fn has_tensorflow() -> bool {
    Command::new(python())
        .args(["-c", "import tensorflow"])
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .output()
        .is_ok_and(|o| o.status.success())
}

const SCENARIO: &str = r#"
name = "keras-test"
seed = 7
warmup = 5
steps = 40
timeout_s = 600

[[group]]
workloads = ["tm-image"]
targets = ["native-keras", "native-keras-fit"]
meters = ["throughput"]

[[group]]
workloads = ["mlp"]
sizes = ["0.1m"]
targets = ["native-keras", "native-keras-fit"]
meters = ["throughput"]
steps = 30
"#;

fn run(dir: &std::path::Path, scenario: &str) -> (Vec<ReadRecord>, Vec<Sample>) {
    let path = dir.join("keras.toml");
    std::fs::write(&path, scenario).unwrap();
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&path)
        .output()
        .expect("gapbench runs");
    assert!(
        o.status.success(),
        "gapbench run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let run = run_dir(&out);
    let (rows, warnings) = read_records(&run.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let (samples, warnings) = read_samples(&run.join("samples.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let _ = std::fs::remove_dir_all(&out);
    (rows, samples)
}

/// The mean loss of a case's first and last 8 steps.
fn losses(samples: &[Sample], case_id: &str) -> (f64, f64, Vec<f64>) {
    let l: Vec<f64> = samples
        .iter()
        .filter(|s| s.case_id == case_id && s.metric == "loss")
        .map(|s| s.value)
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let n = l.len();
    (mean(&l[..n.min(8)]), mean(&l[n.saturating_sub(8)..]), l)
}

#[test]
fn keras_trains_on_both_paths_or_says_how_to_install_it() {
    let _one = common::exclusive(); // the cross-check in this file times steps: not next to it
    let dir = temp_dir("keras");
    let (rows, samples) = run(&dir, SCENARIO);
    let cases: Vec<&Record> = rows
        .iter()
        .map(|r| &r.record)
        .filter(|r| r.metric == "case")
        .collect();
    assert_eq!(cases.len(), 4, "{cases:?}");
    if !has_tensorflow() {
        eprintln!(
            "TensorFlow is not installed for {}: checking the skip",
            python()
        );
        for c in &cases {
            assert_eq!(c.status, Status::Skipped, "{c:?}");
            assert!(c.message.contains("pip install tensorflow-cpu"), "{c:?}");
        }
        return;
    }
    assert_no_problems(
        &cases
            .iter()
            .filter(|c| c.status != Status::Ok)
            .map(|c| format!("{}: {} {}", c.case.case_id, c.status.as_str(), c.message))
            .collect::<Vec<_>>(),
    );
    for c in &cases {
        let id = &c.case.case_id;
        let ours = Workload::resolve(&WorkloadSpec {
            workload: c.case.workload.clone(),
            size: c.case.size.clone(),
            classes: None,
            samples_per_class: None,
        })
        .unwrap();
        assert_eq!(c.case.params, ours.params(), "{id}");
        assert_eq!(c.case.flops_per_step, ours.flops_per_step(), "{id}");
        let fit = c.case.target == "native-keras-fit";
        assert_eq!(c.case.backend, if fit { "keras-fit" } else { "keras" });
        let path = if fit { "model.fit" } else { "train_on_batch" };
        assert!(c.case.device.contains(path), "{id}: {}", c.case.device);
        let step = median(&rows, id, "step_time").expect("a step time");
        assert!(step.is_finite() && step > 0.0, "{id}: {step}");
        let (first, last, all) = losses(&samples, id);
        assert!(all.len() >= 35, "{id}: {} losses", all.len());
        assert!(
            all.iter().all(|l| l.is_finite() && *l > 0.0),
            "{id}: losses {all:?}"
        );
        assert!(last < first, "{id}: loss does not fall: {first} -> {last}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// gapbench's `keras-fit` median step on tm-image, one run (5 warm-up and 40 measured steps, as
/// the script).
fn gapbench_fit_median(dir: &std::path::Path, round: usize) -> f64 {
    let scenario = format!(
        "name = \"keras-check\"\nseed = {}\nwarmup = 5\nsteps = 40\nmax_extra_warmup = 0\n\n[[group]]\nworkloads = [\"tm-image\"]\ntargets = [\"native-keras-fit\"]\nmeters = [\"throughput\"]\n",
        7 + round
    );
    let (rows, _) = run(dir, &scenario);
    let case = rows
        .iter()
        .map(|r| &r.record)
        .find(|r| r.metric == "case")
        .expect("a case record");
    assert_eq!(case.status, Status::Ok, "{case:?}");
    median(&rows, &case.case.case_id, "step_time").expect("a step time")
}

/// The independent script's median step, ms.
fn script_median() -> f64 {
    let o = Command::new(python())
        .current_dir(repo())
        .args(["tests/peers/keras_check.py", "5", "40"])
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "keras_check.py failed: {stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    v["median_ms"].as_f64().expect("median_ms")
}

#[test]
fn keras_fit_agrees_with_an_independent_script() {
    if !has_tensorflow() {
        assert!(
            std::env::var_os("GAPBENCH_ALLOW_MISSING_PEERS").is_some(),
            "TensorFlow is missing for {}: pip install tensorflow-cpu (or set GAPBENCH_PYTHON), or set GAPBENCH_ALLOW_MISSING_PEERS=1",
            python()
        );
        eprintln!("TensorFlow is not installed; skipping the Keras cross-check");
        return;
    }
    let _one = common::exclusive(); // timing: not next to the other test of this binary
    let dir = temp_dir("keras-check");
    common::assert_agrees(
        "keras-fit",
        "keras_check.py",
        |round| gapbench_fit_median(&dir, round),
        script_median,
    );
    let _ = std::fs::remove_dir_all(&dir);
}
