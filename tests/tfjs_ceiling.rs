//! The samples-ceiling search with the TF.js peer holding its samples as Teachable Machine does
//! (`tfjs-wasm-tm`, wasm-probe/js/tfjs-tm.js; scenarios/ceilings-tm.toml) in Chromium, under a
//! 1 GiB memory cap so that the test's memory stays modest: the search records a ceiling of more
//! than zero samples under its own cell id, the failure that stopped the next trial (its status
//! and cause), every trial at or below the ceiling trained and every one above failed, the trials
//! that trained say they held their samples TM's way and ran TF.js's wasm backend, and no browser
//! process is left. Chromium not installed: the test says so and checks nothing more (a trial
//! TF.js itself skipped fails it).

mod common;

use common::{assert_nothing_left, exclusive, temp_dir};
use harness::record::{Status, read_records};
use std::process::{Command, Stdio};

#[test]
fn tm_style_samples_ceiling_is_recorded_with_what_stopped_it() {
    let _alone = exclusive();
    let dir = temp_dir("tfjs-ceiling");
    let scenario = dir.join("tm.toml");
    std::fs::write(
        &scenario,
        r#"
name = "tfjs-ceiling"
seed = 1
shuffle = false

[[group]]
search = "samples"
workloads = ["tm-image"]
targets = ["chromium"]
backends = ["tfjs-wasm-tm"]
contexts = ["main"]
simd = [true]
warmup = 0
steps = 2
classes = 3
samples_per_class = 8192
timeout_s = 300
meters = ["memory"]
"#,
    )
    .unwrap();
    let out_root = dir.join("results");
    let child = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--memory-cap", "1GiB", "--out"])
        .arg(&out_root)
        .arg(&scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_nothing_left(pid, None, std::time::Duration::ZERO);
    let run = common::run_dir(&out_root);
    let (rows, _) = read_records(&run.join("records.csv")).unwrap();
    let trial = |id: &str| -> Option<u64> {
        // `ceiling-samples/chromium/tfjs-wasm-tm-simd/main/<settings>/n<N>/r1`
        id.rsplit('/')
            .nth(1)
            .and_then(|s| s.strip_prefix('n'))
            .and_then(|d| d.parse().ok())
    };
    let trials: Vec<_> = rows
        .iter()
        .filter(|r| r.record.metric == "case" && trial(&r.record.case.case_id).is_some())
        .collect();
    if let Some(skip) = trials.iter().find(|r| r.record.status == Status::Skipped) {
        // Chromium missing is no failure of this test; TF.js skipping its own backend is one.
        let m = &skip.record.message;
        assert!(!m.contains("TF.js") && !m.contains("tfjs"), "{m}");
        common::missing(&format!("chromium cannot run here: {m}"));
        return;
    }
    assert!(
        !trials.is_empty() && trials.len() <= harness::ceiling::MAX_TRIALS,
        "{stdout}"
    );
    let ceiling = rows
        .iter()
        .find(|r| r.record.metric == "ceiling_samples")
        .expect("a ceiling_samples record");
    assert_eq!(
        ceiling.record.case.case_id,
        "ceiling-samples/chromium/tfjs-wasm-tm-simd/main/w0-s2-c3-n8192-seed1/r1"
    );
    assert_eq!(ceiling.record.case.backend, "tfjs-wasm-tm");
    let n = ceiling
        .record
        .summary
        .as_ref()
        .unwrap_or_else(|| panic!("no ceiling value: {}", ceiling.record.message))
        .median;
    assert!(n > 0.0 && n.fract() == 0.0, "{n} samples");
    // `largest that trained: N samples; stopped by <status> at M samples: <cause> (K trials)`
    let msg = &ceiling.record.message;
    let (_, stop) = msg
        .split_once("; stopped by ")
        .unwrap_or_else(|| panic!("no failure named: {msg}"));
    let (status, rest) = stop.split_once(" at ").unwrap();
    assert!(
        ["oom", "crashed", "failed", "timeout"].contains(&status),
        "{msg}"
    );
    let (at, cause) = rest.split_once(": ").unwrap();
    let at: f64 = at.trim_end_matches(" samples").parse().unwrap();
    assert!(at > n, "{msg}");
    let cause = cause.rsplit_once(" (").map_or(cause, |(c, _)| c);
    assert!(cause.len() > 3, "{msg}");
    let bytes = rows
        .iter()
        .find(|r| r.record.metric == "ceiling_samples_bytes")
        .and_then(|r| r.record.summary.as_ref())
        .expect("ceiling_samples_bytes")
        .median;
    assert_eq!(bytes, n * 5120.0);
    // The cap is 1 GiB: what trained held less than that in samples.
    assert!(bytes < 1024.0 * 1048576.0, "{n} samples");
    for t in &trials {
        let tn = trial(&t.record.case.case_id).unwrap() as f64;
        assert_eq!(
            t.record.status == Status::Ok,
            tn <= n,
            "{}: {:?} {}",
            t.record.case.case_id,
            t.record.status,
            t.record.message
        );
        if t.record.status == Status::Ok {
            let device = &t.record.case.device;
            assert!(
                device.contains("wasm (simd")
                    && device.contains("samples held as Teachable Machine holds them"),
                "{device}"
            );
        } else {
            assert!(!t.record.message.is_empty(), "{}", t.record.case.case_id);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
