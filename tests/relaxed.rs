//! Relaxed SIMD end to end (issue 19): the probe's relaxed build (`simd = "relaxed"`) trains and
//! multiplies in Node.js, Chromium and Firefox, whose WebAssembly has relaxed SIMD, and is
//! recorded `skipped` with the reason in WebKitGTK, whose WebAssembly does not validate it (the
//! page detects that; nothing is assumed per engine). Each ok case says in its device line
//! whether relaxed_madd fused, its `peak` result passes its bit-exact check, its product passes
//! the f64 check, and its loss agrees with native ndarray within the tolerance every build has,
//! recorded apart as `loss_agreement_relaxed`.

mod common;

use common::{agreement_problem, assert_no_problems, median, outcomes, run_scenario, temp_dir};
use harness::record::Status;

const SCENARIO: &str = r#"
name = "relaxed-test"
repetitions = 1
seed = 19
warmup = 2
steps = 3
max_extra_warmup = 0
timeout_s = 600

[[group]]
workloads = ["gemm"]
sizes = ["peak", "16x1280x100"]
targets = ["node", "chromium", "firefox", "webkit"]
contexts = ["main"]
simd = ["relaxed"]
backends = ["ndarray"]
meters = ["throughput"]

[[group]]
workloads = ["mlp"]
sizes = ["0.1m"]
targets = ["node", "chromium", "firefox", "webkit"]
contexts = ["main", "worker"]
simd = ["relaxed"]
backends = ["ndarray"]
meters = ["throughput", "agreement"]
"#;

#[test]
fn relaxed_runs_where_the_engine_has_it_and_is_skipped_with_the_reason_in_webkit() {
    common::retry_on_jsc_trap("webkit", relaxed_cases);
}

fn relaxed_cases() {
    let _one = common::exclusive();
    let out = temp_dir("relaxed");
    let (_, rows) = run_scenario(&out, SCENARIO, &[]);
    let outcomes = outcomes(&rows);
    // gemm: 2 sizes x 4 targets; mlp: node main + 3 browsers x 2 contexts
    assert_eq!(outcomes.len(), 8 + 7, "{outcomes:#?}");
    let mut problems = Vec::new();
    for r in &outcomes {
        let c = &r.case;
        assert_eq!(c.simd, "relaxed", "{}", c.case_id);
        assert!(c.case_id.contains("/ndarray-relaxed/"), "{}", c.case_id);
        if c.target == "webkit" {
            // WebKit's trap is a failure the retry handles; anything else but the skip is wrong.
            if r.status != Status::Skipped || !r.message.contains("has no relaxed SIMD") {
                problems.push(format!(
                    "{}: {} ({}), expected skipped for no relaxed SIMD",
                    c.case_id,
                    r.status.as_str(),
                    r.message
                ));
            }
            continue;
        }
        if r.status != Status::Ok {
            problems.push(format!(
                "{}: {} ({})",
                c.case_id,
                r.status.as_str(),
                r.message
            ));
            continue;
        }
        if !c.device.contains("relaxed SIMD, relaxed_madd") {
            problems.push(format!("{}: device `{}`", c.case_id, c.device));
        }
        if c.target == "node" && !c.device.contains("node --experimental-wasm-relaxed-simd") {
            // Node 20 needs the flag and the record says so; a Node that ships relaxed SIMD
            // runs without it.
            let v = c.engine_version.split('.').next().unwrap_or("");
            if v == "20" {
                problems.push(format!("{}: no flag on record: {}", c.case_id, c.device));
            }
        }
        if c.workload == "gemm" {
            // The product within 1e-3·Σ|a||b| of f64 everywhere; peak bit-exact (fused or not).
            let acc = median(&rows, &c.case_id, "val_accuracy");
            if acc != Some(1.0) {
                problems.push(format!("{}: val_accuracy {acc:?}", c.case_id));
            }
            if median(&rows, &c.case_id, "compute").is_none_or(|g| g <= 0.0) {
                problems.push(format!("{}: no GFLOP/s", c.case_id));
            }
        } else {
            problems.extend(agreement_problem(
                &rows,
                &c.case_id,
                "loss_agreement_relaxed",
            ));
            let said = rows
                .iter()
                .map(|x| &x.record)
                .find(|x| x.case.case_id == c.case_id && x.metric == "loss_agreement_relaxed");
            if let Some(a) =
                said.filter(|a| !a.message.starts_with("relaxed-SIMD build (relaxed_madd "))
            {
                problems.push(format!(
                    "{}: loss_agreement_relaxed says `{}`",
                    c.case_id, a.message
                ));
            }
            if rows
                .iter()
                .any(|x| x.record.case.case_id == c.case_id && x.record.metric == "loss_agreement")
            {
                problems.push(format!("{}: relaxed build under loss_agreement", c.case_id));
            }
        }
    }
    // WebKit's skip, as the run recorded it, names the trap where it was one: the retry reads it.
    if let Some(trap) = outcomes
        .iter()
        .find(|r| common::is_jsc_trap(&r.case.target, &r.message))
    {
        panic!("{}: {}", trap.case.case_id, trap.message);
    }
    assert_no_problems(&problems);
    let _ = std::fs::remove_dir_all(&out);
}
