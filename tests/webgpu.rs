//! WebGPU in the browsers, end to end: `gapbench run scenarios/webgpu.toml` trains tm-image and
//! the smallest MLP with burn on WebGPU in Chromium, Firefox and WebKit (page and worker), next to
//! native wgpu. Every case is either ok (throughput > 0, a finite final loss, the adapter recorded
//! in `device`) or skipped with the reason; Chromium, which has SwiftShader here, must be ok.
//! Slow: the first run builds the WebGPU probe (burn's wgpu stack to wasm).

use harness::record::{ReadRecord, Status, read_records};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gapbench-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The one run directory `gapbench run --out root` made.
fn run_dir(root: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "expected one run directory: {dirs:?}");
    dirs[0].clone()
}

fn median(rows: &[ReadRecord], case_id: &str, metric: &str) -> Option<f64> {
    rows.iter()
        .find(|x| x.record.case.case_id == case_id && x.record.metric == metric)
        .and_then(|x| x.record.summary.as_ref().map(|s| s.median))
}

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
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    println!("{stdout}");
    assert!(
        o.status.success(),
        "gapbench run failed ({}):\n{stdout}\n{stderr}",
        o.status
    );

    let catalog = harness::catalog::BuildCatalog;
    let planned = harness::plan::expand(
        &harness::scenario::load(&scenario, &catalog).unwrap(),
        &catalog,
    );
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
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    let _ = std::fs::remove_dir_all(&out);
}
