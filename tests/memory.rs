//! The memory meter and the memory cap in real browsers.
//!
//! - Calibration: a case whose probe allocates and touches 512 MiB before training (fault
//!   `alloc:512`) peaks that much higher in PSS than the same case without it, within 10%, on the
//!   medians of three launches each (one launch of Firefox alone varies by ~70 MiB).
//!   Engines: `GAPBENCH_MEMORY_ENGINES` (comma-separated, default `chromium,firefox,webkit`); an engine that is not
//!   installed is reported and left out.
//! - The cap: a samples-ceiling search on Chromium under `--memory-cap 1GiB` stops at the cap, its
//!   records say so, and no browser process is left.

mod common;

use common::{assert_nothing_left, exclusive, temp_dir};
use harness::meter::Meters;
use harness::plan::Case;
use harness::record::{Status, read_records};
use harness::target::{TargetOptions, open};
use std::process::{Command, Stdio};
use std::time::Duration;

fn case(target: &str, fault: Option<&str>) -> Case {
    Case {
        id: format!(
            "mlp/0.1m/{target}/ndarray-simd/main/{}/r1",
            fault.unwrap_or("none")
        ),
        workload: "mlp".into(),
        size: "0.1m".into(),
        target: target.into(),
        backend: "ndarray".into(),
        simd: Some(true),
        context: "main".into(),
        repetition: 1,
        seed: 7,
        warmup: 0,
        steps: 3,
        epochs: None,
        timeout_s: 300,
        meters: vec!["memory".into()],
        classes: None,
        samples_per_class: None,
        fault: fault.map(String::from),
        max_extra_warmup: 0,
    }
}

/// Peak PSS (MiB) of one case in a fresh browser, and its outcome's status and message.
/// WebKit is launched again (twice at most) when JavaScriptCore's spurious wasm trap
/// (`common::JSC_TRAP`) stops the case.
fn peak_pss(target: &str, fault: Option<&str>) -> Result<(f64, Option<f64>), String> {
    let c = case(target, fault);
    let mut tries = 0;
    let (outcome, meters) = loop {
        tries += 1;
        let mut t = open(target, &TargetOptions::default())?;
        let mut meters = Meters::with_cap(&c, None);
        let mut outcome = t.run(&c, &mut meters);
        t.close();
        meters.apply_verdict(&mut outcome);
        if tries < 3
            && outcome.status == Status::Failed
            && common::is_jsc_trap(target, &outcome.message)
        {
            eprintln!(
                "warning: webkit: {} (JSC's intermittent trap); launching again",
                outcome.message
            );
            continue;
        }
        break (outcome, meters);
    };
    if outcome.status != Status::Ok {
        return Err(format!("{}: {}", outcome.status.as_str(), outcome.message));
    }
    let (records, samples) = harness::runner::records_for("test", &c, &outcome, &meters);
    assert!(samples.iter().any(|s| s.metric == "pss"), "no pss samples");
    let get = |m: &str| {
        records
            .iter()
            .find(|r| r.metric == m)
            .and_then(|r| r.summary.as_ref())
            .map(|s| s.median)
    };
    let peak = get("peak_pss").ok_or("no peak_pss record")?;
    assert!(get("mean_pss").is_some_and(|m| m > 0.0 && m <= peak));
    Ok((peak, get("wasm_memory")))
}

/// Launches with and without the allocation, per engine.
const PAIRS: usize = 3;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn alloc_512_mib_shows_in_peak_pss() {
    let _alone = exclusive();
    let engines = std::env::var("GAPBENCH_MEMORY_ENGINES")
        .unwrap_or_else(|_| "chromium,firefox,webkit".into());
    let mut measured = 0;
    for engine in engines.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let base = peak_pss(engine, None);
        if let Err(e) = &base
            && e.starts_with("skipped")
        {
            eprintln!("{engine}: {e}");
            continue;
        }
        let (first, base_wasm) = base.unwrap_or_else(|e| panic!("{engine} without fault: {e}"));
        // A browser's own footprint varies by tens of MiB from one launch to the next (Firefox's
        // content and preallocated processes most), so compare the medians of PAIRS interleaved
        // launches with and without the allocation, not one launch of each.
        let mut bases = vec![first];
        let mut withs = Vec::new();
        let mut with_wasm = None;
        for i in 0..PAIRS {
            if i > 0 {
                let (b, _) = peak_pss(engine, None)
                    .unwrap_or_else(|e| panic!("{engine} without fault: {e}"));
                bases.push(b);
            }
            let (w, ww) = peak_pss(engine, Some("alloc:512"))
                .unwrap_or_else(|e| panic!("{engine} with alloc:512: {e}"));
            withs.push(w);
            with_wasm = ww;
        }
        let (base, with) = (median(&mut bases), median(&mut withs));
        let diff = with - base;
        let err = (diff - 512.0) / 512.0;
        eprintln!(
            "{engine}: median peak PSS {base:.0} MiB {bases:.0?} -> {with:.0} MiB {withs:.0?} with \
             alloc:512: +{diff:.0} MiB (error {:+.1}%); wasm memory {base_wasm:?} -> {with_wasm:?} MiB",
            err * 100.0
        );
        assert!(base > 10.0, "{engine}: implausible baseline {base} MiB");
        assert!(
            err.abs() <= 0.10,
            "{engine}: +{diff:.0} MiB, not 512 +- 10%"
        );
        if let (Some(a), Some(b)) = (base_wasm, with_wasm) {
            assert!(b - a >= 500.0, "{engine}: wasm memory {a} -> {b} MiB");
        }
        measured += 1;
    }
    assert!(measured > 0, "no engine measured (all skipped)");
}

#[test]
fn samples_ceiling_stops_at_a_low_cap_and_leaves_nothing() {
    let _alone = exclusive();
    let dir = temp_dir("memcap");
    let scenario = dir.join("cap.toml");
    std::fs::write(
        &scenario,
        r#"
name = "memcap"
seed = 1
shuffle = false

[[group]]
search = "samples"
workloads = ["tm-image"]
targets = ["chromium"]
contexts = ["main"]
simd = [true]
warmup = 0
steps = 2
classes = 3
samples_per_class = 16384
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
    assert_nothing_left(pid, None, Duration::ZERO);
    let run = std::fs::read_dir(&out_root)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let manifest = std::fs::read_to_string(run.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("\"memory_cap_bytes\": 1073741824"),
        "{manifest}"
    );
    let (rows, _) = read_records(&run.join("records.csv")).unwrap();
    if rows
        .iter()
        .any(|r| r.record.metric == "case" && r.record.status == Status::Skipped)
    {
        eprintln!("chromium is not installed: {stdout}");
        return;
    }
    let trials: Vec<_> = rows
        .iter()
        .filter(|r| {
            r.record.metric == "case"
                && r.record.case.case_id.rsplit('/').nth(1).is_some_and(|s| {
                    s.strip_prefix('n')
                        .is_some_and(|d| d.parse::<u64>().is_ok())
                })
        })
        .collect();
    assert!(
        !trials.is_empty() && trials.len() <= harness::ceiling::MAX_TRIALS,
        "{stdout}"
    );
    let oom: Vec<_> = trials
        .iter()
        .filter(|r| r.record.status == Status::Oom)
        .collect();
    assert!(!oom.is_empty(), "no trial hit the cap:\n{stdout}");
    for r in &oom {
        assert!(
            r.record
                .message
                .starts_with("over the memory cap of 1024 MiB (PSS "),
            "{}",
            r.record.message
        );
    }
    let ceiling = rows
        .iter()
        .find(|r| r.record.metric == "ceiling_samples")
        .expect("a ceiling_samples record");
    assert_eq!(
        ceiling.record.case.case_id,
        "ceiling-samples/chromium/ndarray-simd/main/w0-s2-c3-n16384-seed1/r1"
    );
    assert!(
        ceiling.record.message.contains("stopped by oom")
            && ceiling
                .record
                .message
                .contains("over the memory cap of 1024 MiB"),
        "{}",
        ceiling.record.message
    );
    let n = ceiling
        .record
        .summary
        .as_ref()
        .expect("a ceiling value")
        .median;
    let bytes = rows
        .iter()
        .find(|r| r.record.metric == "ceiling_samples_bytes")
        .and_then(|r| r.record.summary.as_ref())
        .unwrap()
        .median;
    assert_eq!(bytes, n * 5120.0);
    assert!(
        n >= 3.0 * 16384.0 && bytes < 1024.0 * 1048576.0,
        "{n} samples"
    );
    // Every trial past the ceiling failed; every one at or below it trained.
    for t in &trials {
        // `ceiling-samples/chromium/ndarray-simd/main/n<N>/r1`
        let tn: f64 = t
            .record
            .case
            .case_id
            .rsplit('/')
            .nth(1)
            .and_then(|s| s.strip_prefix('n'))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a trial id: {}", t.record.case.case_id));
        assert_eq!(
            t.record.status == Status::Ok,
            tn <= n,
            "{}",
            t.record.case.case_id
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
