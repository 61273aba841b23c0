//! WebGPU in the browsers, end to end: `gapbench run scenarios/webgpu.toml` trains tm-image and
//! the smallest MLP with burn on WebGPU in Chromium, Firefox and WebKit (page and worker), next to
//! native wgpu. Every case is either ok (throughput > 0, a finite final loss, the adapter recorded
//! in `device`) or skipped with the reason; Chromium, which has SwiftShader here, must be ok.
//! Slow: the first run builds the WebGPU probe (burn's wgpu stack to wasm).

mod common;

use common::{assert_no_problems, assert_run_ok, median, repo, run_dir, temp_dir};
use harness::record::{Status, read_records};
use std::process::Command;

#[test]
#[ignore = "builds the WebGPU probe bundle, ~30 min on 2 cores: run with --ignored"]
fn webgpu_cases_are_ok_or_skipped_with_a_reason() {
    let scenario = repo().join("scenarios/webgpu.toml");
    let out = temp_dir("webgpu");
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&scenario)
        .output()
        .unwrap();
    assert_run_ok(&o);

    let catalog = harness::catalog::BuildCatalog;
    let planned = harness::plan::expand(
        &harness::scenario::load(&scenario, &catalog).unwrap(),
        &catalog,
    )
    .unwrap();
    for engine in ["chromium", "firefox", "webkit"] {
        for context in ["main", "worker"] {
            assert!(
                planned
                    .iter()
                    .any(|c| c.target == engine && c.context == context && c.backend == "webgpu"),
                "the scenario has no webgpu case for {engine}/{context}"
            );
        }
    }
    assert!(planned.iter().any(|c| c.target == "native-wgpu"));

    let dir = run_dir(&out);
    let (rows, warnings) = read_records(&dir.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut problems = Vec::new();
    for case in &planned {
        let Some(row) = rows
            .iter()
            .find(|r| r.record.case.case_id == case.id && r.record.metric == "case")
        else {
            problems.push(format!("{}: no `case` row", case.id));
            continue;
        };
        let r = &row.record;
        println!(
            "{}: {} {} [{}] step {:?} ms",
            case.id,
            r.status.as_str(),
            r.message,
            r.case.device,
            median(&rows, &case.id, "step_time")
        );
        match r.status {
            Status::Ok => {
                match median(&rows, &case.id, "throughput") {
                    Some(t) if t > 0.0 => {}
                    other => problems.push(format!("{}: throughput {other:?}", case.id)),
                }
                match median(&rows, &case.id, "loss_final") {
                    Some(l) if l.is_finite() => {}
                    other => problems.push(format!("{}: final loss {other:?}", case.id)),
                }
                if r.case.device.trim().is_empty() {
                    problems.push(format!("{}: no adapter in `device`", case.id));
                }
                if case.target != "native-wgpu" && !r.case.device.contains("WebGPU") {
                    problems.push(format!(
                        "{}: `device` does not describe a WebGPU adapter: {}",
                        case.id, r.case.device
                    ));
                }
            }
            Status::Skipped => {
                if r.message.trim().is_empty() {
                    problems.push(format!("{}: skipped without a reason", case.id));
                }
            }
            other => problems.push(format!("{}: {} ({})", case.id, other.as_str(), r.message)),
        }
        if case.target == "chromium" && r.status != Status::Ok {
            problems.push(format!(
                "{}: Chromium has SwiftShader's WebGPU adapter here, yet the case is {} ({})",
                case.id,
                r.status.as_str(),
                r.message
            ));
        }
    }
    assert_no_problems(&problems);
    let _ = std::fs::remove_dir_all(&out);
}
