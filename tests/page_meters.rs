//! Page meters end to end: the capability matrix and the calibration in Chromium, Firefox and
//! WebKit (capabilities in Node.js too, page-only tasks skipped natively), and the UI-stall and
//! background meters around a real training case in Chromium. Checks that the records exist and
//! that their values are sane; the calibration checks the frame-gap meter against injected
//! 200 ms and 500 ms main-thread blocks (within 10%, as the issue asks).

mod common;

use common::{run_dir, temp_dir};
use harness::record::{Record, Status, read_records};
use std::process::Command;

const ENGINES: [&str; 3] = ["chromium", "firefox", "webkit"];

const SCENARIO: &str = r#"
name = "page-meters-test"
seed = 7
warmup = 2
timeout_s = 300

[[group]]
workloads = ["capabilities", "calibrate"]
sizes = ["default"]
targets = ["native-ndarray", "node", "chromium", "firefox", "webkit"]
contexts = ["main"]
simd = [true]
backends = ["ndarray"]
meters = ["capabilities", "calibrate"]

[[group]]
workloads = ["tm-image"]
sizes = ["default"]
targets = ["chromium"]
# long enough (15-40 s) to outlast the hidden spell: hidden 3 s after the start, for 4 s
steps = 30000
contexts = ["main", "worker"]
simd = [true]
backends = ["ndarray"]
meters = ["throughput", "ui", "background"]
"#;

fn value(
    rows: &[Record],
    target: &str,
    workload: &str,
    context: &str,
    metric: &str,
) -> Result<f64, String> {
    let r = rows
        .iter()
        .find(|r| {
            r.case.target == target
                && r.case.workload == workload
                && r.case.context == context
                && r.metric == metric
        })
        .ok_or_else(|| format!("{target}/{workload}/{context}: no `{metric}` record"))?;
    match (&r.summary, r.status) {
        (Some(s), Status::Ok) => Ok(s.median),
        _ => Err(format!(
            "{target}/{workload}/{context}: `{metric}` is {} ({})",
            r.status.as_str(),
            r.message
        )),
    }
}

#[test]
fn page_meters_measure_in_every_engine() {
    let out = temp_dir("page-meters");
    let scenario = out.join("page-meters.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(out.join("runs"))
        .arg(&scenario)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "gapbench run failed: {}", o.status);
    let dir = run_dir(&out.join("runs"));
    let (rows, warnings) = read_records(&dir.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let rows: Vec<Record> = rows.into_iter().map(|r| r.record).collect();
    let mut problems = Vec::new();
    let mut bg_problems: Vec<String> = Vec::new();
    let mut check = |what: Result<f64, String>, ok: &dyn Fn(f64) -> bool, why: &str| match what {
        Ok(v) if ok(v) => {}
        Ok(v) => problems.push(format!("{why}: {v}")),
        Err(e) => problems.push(e),
    };

    // Page-only tasks are skipped natively, saying why.
    for w in ["capabilities", "calibrate"] {
        let skipped = rows.iter().any(|r| {
            r.case.target == "native-ndarray"
                && r.case.workload == w
                && r.metric == "case"
                && r.status == Status::Skipped
                && r.message.contains("page-only")
        });
        assert!(skipped, "native {w} not skipped as page-only");
    }

    for t in ENGINES.iter().chain(["node"].iter()) {
        let v = |m: &str| value(&rows, t, "capabilities", "main", m);
        check(
            v("cap_wasm_simd"),
            &|x| x == 1.0,
            &format!("{t}: wasm SIMD"),
        );
        if *t != "node" {
            check(
                v("cap_hardware_concurrency"),
                &|x| x >= 1.0,
                &format!("{t}: cores"),
            );
        }
        check(
            v("cap_timer_resolution"),
            &|x| x > 0.0 && x <= 100.0,
            &format!("{t}: timer resolution ms"),
        );
        check(
            v("cap_wasm32_max_memory"),
            &|x| (256.0..=4096.0).contains(&x),
            &format!("{t}: wasm32 growable MiB"),
        );
    }
    for t in ENGINES {
        let v = |m: &str| value(&rows, t, "calibrate", "main", m);
        for block in [200.0, 500.0] {
            check(
                v(&format!("calib_block_{block:.0}_measured")),
                &|m| m >= block * 0.9 && m <= block * 1.1,
                &format!("{t}: a {block} ms block measured (ms), outside 10%"),
            );
        }
    }
    for ctx in ["main", "worker"] {
        let v = |m: &str| value(&rows, "chromium", "tm-image", ctx, m);
        check(
            v("frame_gap_max"),
            &|x| x > 0.0 && x < 60_000.0,
            &format!("chromium {ctx}: frame_gap_max"),
        );
        check(
            v("frame_gap_p95"),
            &|x| x > 0.0,
            &format!("chromium {ctx}: frame_gap_p95"),
        );
        check(
            v("long_frames"),
            &|x| (0.0..=1.0).contains(&x),
            &format!("chromium {ctx}: long_frames"),
        );
        check(
            v("start_stall"),
            &|x| x > 0.0,
            &format!("chromium {ctx}: start_stall"),
        );
        // Training on the main thread can starve the harness's polls so no click goes out;
        // then the record must say so. In a worker, clicks must land.
        let starved = ctx == "main"
            && rows.iter().any(|r| {
                r.case.target == "chromium"
                    && r.case.context == ctx
                    && r.metric == "input_delay_p95"
                    && r.status == Status::Skipped
                    && r.message.contains("no pointer input")
            });
        if !starved {
            check(
                v("input_delay_p95"),
                &|x| x >= 0.0,
                &format!("chromium {ctx}: input delay"),
            );
            check(
                v("input_to_frame_p95"),
                &|x| x >= 0.0,
                &format!("chromium {ctx}: to frame"),
            );
        }
        check(
            v("visible_steps_per_s"),
            &|x| x > 0.0,
            &format!("chromium {ctx}: visible steps/s"),
        );
        let bg = rows.iter().find(|r| {
            r.case.target == "chromium" && r.case.context == ctx && r.metric == "background_ratio"
        });
        // The case outlasts the hidden spell. In a worker the tab is hidden and the ratio
        // measured; on the main thread Chromium's `scheduler.yield()` loop starves WebDriver's
        // tab switch (docs/findings.md, "Page meters"), which the record must say.
        match bg {
            Some(r)
                if r.status == Status::Ok
                    && r.summary
                        .as_ref()
                        .is_some_and(|s| s.median.is_finite() && s.median >= 0.0) => {}
            Some(r)
                if ctx == "main"
                    && r.status == Status::Skipped
                    && r.message.contains("did not reach the page") => {}
            other => bg_problems.push(format!("chromium {ctx}: background_ratio {other:?}")),
        }
    }
    let samples = std::fs::read_to_string(dir.join("samples.csv")).unwrap_or_default();
    assert!(samples.contains(",frame_gap,"), "no frame_gap samples");
    problems.extend(bg_problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let _ = std::fs::remove_dir_all(&out);
}
