//! The memory meter and the memory cap in real browsers.
//!
//! - Calibration: a case whose probe allocates and touches 512 MiB before training (fault
//!   `alloc:512`) peaks that much higher in PSS than the same case without it, within 10%, on the
//!   medians of three launches each (one launch of Firefox alone varies by ~70 MiB).
//!   Engines: `GAPBENCH_MEMORY_ENGINES` (comma-separated, default `chromium,firefox,webkit`); an engine that is not
//!   installed is reported and left out.
//! - The cap: a samples-ceiling search on Chromium under `--memory-cap 1GiB` stops at the cap, its
//!   records say so (naming the mechanism the manifest says capped the run), and no browser
//!   process is left.
//! - The cap as the browser's cgroup: where a cgroup memory controller is writable, a Chromium
//!   case that allocates past a 1 GiB cap is ended by the kernel's OOM killer inside the
//!   browser's own cgroup (the kernel log, where readable, shows a memcg OOM and no machine-wide
//!   one), recorded `oom` naming the cgroup limit; the next case of the run is measured on a fresh
//!   browser, and no process or cgroup is left. With `GAPBENCH_NO_CGROUP=1` (and on a machine
//!   without a writable controller) the PSS watchdog does the same.

mod common;

use common::{assert_nothing_left, exclusive, temp_dir};
use harness::meter::Meters;
use harness::plan::Case;
use harness::record::{Record, Status, read_records};
use harness::target::{TargetOptions, open};
use std::path::Path;
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
        simd: Some(harness::scenario::Simd::On),
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
        threads: None,
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
        common::missing(&format!("chromium cannot run here: {stdout}"));
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
    // The mechanism the manifest names capped the browser: its cgroup, or the PSS watchdog.
    let expect = expected_cap_message(&run, 1024);
    for r in &oom {
        assert!(
            r.record.message.starts_with(&expect),
            "`{expect}` does not start: {}",
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

/// How an `oom` message under a cap of `cap_mib` starts, by the mechanism the run's manifest says
/// capped it: the browser's cgroup where one was writable, else the PSS watchdog.
fn expected_cap_message(run: &Path, cap_mib: u64) -> String {
    let manifest = harness::manifest::Manifest::read(run).unwrap();
    let how = manifest.memory_cap_mechanism.unwrap_or_default();
    if how.contains("one per local browser") {
        let file = if how.starts_with("cgroup v1") {
            "cgroup v1 memory.limit_in_bytes"
        } else {
            assert!(how.starts_with("cgroup v2"), "{how}");
            "cgroup v2 memory.max"
        };
        format!(
            "over the memory cap of {cap_mib} MiB (the kernel's OOM killer ended a browser \
             process in the browser's own cgroup, {file}; peak "
        )
    } else {
        assert!(how.starts_with("PSS watchdog"), "{how}");
        format!("over the memory cap of {cap_mib} MiB (PSS ")
    }
}

/// This process's memory cgroup, as the kernel names it (`/proc/self/cgroup`: the v1 memory
/// controller's line, else the v2 one).
fn own_memcg() -> String {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let line = |want: &dyn Fn(&str) -> bool| {
        text.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            want(ctrls).then(|| path.to_string())
        })
    };
    line(&|c| c.split(',').any(|c| c == "memory"))
        .or_else(|| line(&|c| c.is_empty()))
        .unwrap_or_default()
}

/// Seconds since boot (the kernel log's clock, near enough).
fn uptime_s() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The kernel log's OOM-kill lines (`oom-kill:constraint=...`) stamped after `since_s`; None when
/// the log cannot be read here.
fn oom_kill_lines(since_s: f64) -> Option<Vec<String>> {
    let out = Command::new("dmesg").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.trim().is_empty() {
        return None;
    }
    Some(
        text.lines()
            .filter(|l| l.contains("oom-kill:constraint="))
            .filter(|l| {
                l.trim_start_matches('[')
                    .split(']')
                    .next()
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .is_some_and(|t| t >= since_s)
            })
            .map(String::from)
            .collect(),
    )
}

/// Three Chromium cases under `--memory-cap 1GiB`: a plain one, one whose probe allocates and
/// touches 1.5 GiB, a plain one. The case rows, how an `oom` message starts by the manifest
/// (`expected_cap_message`), what gapbench printed and its pid.
fn alloc_between_two(name: &str, env: &[(&str, &str)]) -> (Vec<Record>, String, String, u32) {
    let dir = temp_dir(name);
    let group = |size: &str, extra: &str| {
        format!(
            "\n[[group]]\nworkloads = [\"mlp\"]\nsizes = [\"{size}\"]\ntargets = [\"chromium\"]\n\
             contexts = [\"main\"]\nsimd = [true]\nbackends = [\"ndarray\"]\nwarmup = 1\n\
             steps = 10\ntimeout_s = 300\nmeters = [\"memory\"]\n{extra}"
        )
    };
    let scenario = dir.join("s.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"{name}\"\nseed = 7\nshuffle = false\n{}{}{}",
            group("0.1m", ""),
            group("0.3m", "fault = \"alloc:1536\"\n"),
            group("1m", "")
        ),
    )
    .unwrap();
    let out_root = dir.join("results");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gapbench"));
    cmd.args(["run", "--quiet", "--memory-cap", "1GiB", "--out"])
        .arg(&out_root)
        .arg(&scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let printed = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{printed}");
    let run = common::run_dir(&out_root);
    let (rows, _) = read_records(&run.join("records.csv")).unwrap();
    let cases: Vec<Record> = rows
        .into_iter()
        .map(|r| r.record)
        .filter(|r| r.metric == "case")
        .collect();
    let expect = expected_cap_message(&run, 1024);
    let _ = std::fs::remove_dir_all(&dir);
    (cases, expect, printed, pid)
}

/// The run's three cases: measured, `oom` with `expect` leading its message, measured; nothing
/// of the run left (no process, no cgroup of its pid).
fn assert_oom_between_two_ok(cases: &[Record], expect: &str, pid: u32, printed: &str) {
    let all: String = cases
        .iter()
        .map(|c| format!("{} {} {}\n", c.case.case_id, c.status.as_str(), c.message))
        .collect();
    assert_eq!(cases.len(), 3, "{all}{printed}");
    if cases.iter().all(|c| c.status == Status::Skipped) {
        panic!("chromium is not installed here; this test needs it: {all}");
    }
    assert_eq!(cases[0].status, Status::Ok, "{all}{printed}");
    assert!(cases[1].case.case_id.starts_with("mlp/0.3m/"), "{all}");
    assert_eq!(cases[1].status, Status::Oom, "{all}{printed}");
    assert!(
        cases[1].message.starts_with(expect),
        "`{expect}` does not start:\n{all}"
    );
    assert_eq!(
        cases[2].status,
        Status::Ok,
        "the case after the oom: {all}{printed}"
    );
    assert_nothing_left(pid, None, Duration::from_secs(2));
    if let Some(p) = harness::cgroup::parent() {
        let prefix = format!("gapbench-{pid}-");
        let left: Vec<String> = std::fs::read_dir(&p.dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        assert!(left.is_empty(), "cgroups of the run left: {left:?}");
    }
}

#[test]
fn chromium_past_the_cap_is_oom_in_its_cgroup_and_the_next_case_runs() {
    let _alone = exclusive();
    let since = uptime_s() - 1.0;
    let (cases, expect, printed, pid) = alloc_between_two("cgcap", &[]);
    if harness::cgroup::parent().is_none() {
        // No writable controller on this machine: the watchdog is the cap, and is checked so.
        eprintln!("no writable cgroup memory controller here: checking the PSS watchdog instead");
        assert!(expect.contains("(PSS "), "{expect}");
        assert_oom_between_two_ok(&cases, &expect, pid, &printed);
        return;
    }
    assert!(expect.contains("browser's own cgroup"), "{expect}");
    assert_oom_between_two_ok(&cases, &expect, pid, &printed);
    let peak: f64 = cases[1]
        .message
        .rsplit("peak ")
        .next()
        .and_then(|t| t.trim_end_matches(" MiB)").parse().ok())
        .unwrap_or_else(|| panic!("no peak in: {}", cases[1].message));
    assert!(
        (900.0..=1024.0).contains(&peak),
        "peak {peak} MiB under a 1024 MiB limit: {}",
        cases[1].message
    );
    // The OOM killer acted inside the browser's cgroup (limited to the cap), never machine-wide.
    match oom_kill_lines(since) {
        None => {
            eprintln!("the kernel log is not readable here: the OOM killer's lines not checked")
        }
        Some(lines) => {
            // The kernel names cgroups by their path in the hierarchy, as /proc/PID/cgroup does;
            // gapbench's case cgroups are made under its own (the test's).
            let ours = format!("{}/gapbench-{pid}-", own_memcg().trim_end_matches('/'));
            let in_ours: Vec<&String> = lines.iter().filter(|l| l.contains(&ours)).collect();
            assert!(
                !in_ours.is_empty(),
                "no OOM kill in a cgroup of the run ({ours}) in the kernel log: {lines:#?}"
            );
            for l in &in_ours {
                assert!(
                    l.contains("constraint=CONSTRAINT_MEMCG")
                        && l.contains(&format!("oom_memcg={ours}")),
                    "not the cgroup's own OOM kill: {l}"
                );
            }
            let global: Vec<&String> = lines
                .iter()
                .filter(|l| l.contains("constraint=CONSTRAINT_NONE"))
                .collect();
            assert!(
                global.is_empty(),
                "the machine's OOM killer acted: {global:#?}"
            );
            eprintln!(
                "kernel log: {}",
                in_ours
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    eprintln!("{}: {}", cases[1].status.as_str(), cases[1].message);
}

#[test]
fn without_a_cgroup_the_watchdog_caps_chromium_and_the_next_case_runs() {
    let _alone = exclusive();
    let (cases, expect, printed, pid) = alloc_between_two("wdcap", &[("GAPBENCH_NO_CGROUP", "1")]);
    assert_eq!(expect, "over the memory cap of 1024 MiB (PSS ");
    assert_oom_between_two_ok(&cases, &expect, pid, &printed);
    eprintln!("{}: {}", cases[1].status.as_str(), cases[1].message);
}
