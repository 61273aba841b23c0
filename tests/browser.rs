//! End to end in real browsers: `gapbench run scenarios/browser-smoke.toml` trains tm-image and the
//! smallest MLP in Chromium, Firefox and WebKit (page and worker, with and without SIMD), next to
//! Node.js and native ndarray; every case is recorded ok with the browser's exact version, and no
//! driver, Xvfb or browser process outlives the run.

use harness::record::{ReadRecord, Status, read_records};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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
    assert_eq!(
        dirs.len(),
        1,
        "expected one run directory in {}: {dirs:?}",
        root.display()
    );
    dirs[0].clone()
}

fn nul_fields(path: &Path) -> Vec<String> {
    std::fs::read(path)
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Live processes started by the gapbench run `pid`: a profile directory of that run on the
/// command line, or our test mark in the environment (drivers, Xvfb and browsers inherit it).
fn leftovers(pid: u32, mark: &str) -> Vec<String> {
    let profile = format!("-{pid}-");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if p == std::process::id() {
            continue;
        }
        let cmd = nul_fields(&e.path().join("cmdline")).join(" ");
        if cmd.is_empty() {
            continue; // kernel thread or zombie
        }
        let by_profile = cmd.contains("gapbench-profile-") && cmd.contains(&profile);
        let by_mark = nul_fields(&e.path().join("environ"))
            .iter()
            .any(|v| v == mark);
        if by_profile || by_mark {
            out.push(format!(
                "{p}: {}",
                cmd.chars().take(160).collect::<String>()
            ));
        }
    }
    out
}

fn assert_no_leftovers(pid: u32, mark: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = leftovers(pid, mark);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes outlived the run:\n{}",
            left.join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn is_browser(target: &str) -> bool {
    matches!(target, "chromium" | "firefox" | "webkit")
}

/// A wasm case's loss sequence agrees with native ndarray's: a `loss_agreement` row, ok, within
/// the stated tolerance, over every step (warm-up included).
fn check_agreement(rows: &[ReadRecord], case: &harness::plan::Case, problems: &mut Vec<String>) {
    use harness::meter::agreement::{PPM, TOLERANCE};
    let find = |metric: &str| {
        rows.iter()
            .find(|x| x.record.case.case_id == case.id && x.record.metric == metric)
            .map(|x| &x.record)
    };
    let Some(r) = find("loss_agreement") else {
        problems.push(format!("{}: no loss_agreement record", case.id));
        return;
    };
    let value = r.summary.as_ref().map(|s| s.median);
    match value {
        Some(ppm)
            if r.status == Status::Ok
                && r.unit == "ppm"
                && (0.0..=TOLERANCE * PPM).contains(&ppm) =>
        {
            assert!(r.message.contains("within"), "{}: {}", case.id, r.message);
        }
        _ => problems.push(format!(
            "{}: loss_agreement {value:?} {} ({}; {})",
            case.id,
            r.unit,
            r.status.as_str(),
            r.message
        )),
    }
    let steps = find("loss_steps_compared").and_then(|r| r.summary.as_ref().map(|s| s.median));
    let expected = (case.warmup + case.steps) as f64;
    if steps != Some(expected) {
        problems.push(format!(
            "{}: loss_steps_compared {steps:?}, expected {expected}",
            case.id
        ));
    }
}

#[test]
fn browser_smoke_runs_every_case_in_every_engine() {
    let scenario = repo().join("scenarios/browser-smoke.toml");
    let out = temp_dir("browser-smoke");
    let mark_value = format!("browser-smoke-{}", std::process::id());
    let mark = format!("GAPBENCH_TEST_MARK={mark_value}");
    let child = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&scenario)
        .env("GAPBENCH_TEST_MARK", &mark_value)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
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
    assert!(
        planned
            .iter()
            .any(|c| c.target == "webkit" && c.context == "worker" && c.simd == Some(false))
    );
    let dir = run_dir(&out);
    let (rows, warnings) = read_records(&dir.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let case_row = |id: &str| -> Option<&ReadRecord> {
        rows.iter()
            .find(|r| r.record.case.case_id == id && r.record.metric == "case")
    };

    let mut problems = Vec::new();
    for case in &planned {
        let Some(row) = case_row(&case.id) else {
            problems.push(format!("{}: no `case` row", case.id));
            continue;
        };
        let r = &row.record;
        if r.status != Status::Ok {
            problems.push(format!(
                "{}: {} ({})",
                case.id,
                r.status.as_str(),
                r.message
            ));
            continue;
        }
        if is_browser(&case.target)
            && (r.case.engine != case.target || r.case.engine_version.is_empty())
        {
            problems.push(format!(
                "{}: engine `{}` version `{}`",
                case.id, r.case.engine, r.case.engine_version
            ));
        }
        let throughput = rows
            .iter()
            .find(|x| x.record.case.case_id == case.id && x.record.metric == "throughput")
            .and_then(|x| x.record.summary.as_ref().map(|s| s.median));
        match throughput {
            Some(m) if m > 0.0 => {}
            other => problems.push(format!("{}: throughput median {other:?}", case.id)),
        }
        if is_browser(&case.target) || case.target == "node" {
            check_agreement(&rows, case, &mut problems);
        }
    }
    for target in ["chromium", "firefox", "webkit", "node", "native-ndarray"] {
        let ms: Vec<String> = rows
            .iter()
            .filter(|x| {
                x.record.case.target == target
                    && x.record.case.workload == "tm-image"
                    && x.record.metric == "step_time"
            })
            .filter_map(|x| {
                x.record
                    .summary
                    .as_ref()
                    .map(|s| format!("{} {:.3}", x.record.case.case_id, s.median))
            })
            .collect();
        println!("tm-image ms/step on {target}: {ms:?}");
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_no_leftovers(pid, &mark);
    let _ = std::fs::remove_dir_all(&out);
}
