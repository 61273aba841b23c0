//! Fault injection in a real browser: a Chromium renderer killed in the middle of a case is
//! recorded as a crash with the driver's own words, the run goes on, the next case succeeds on a
//! fresh session, and nothing is left running afterwards.

use harness::record::{Status, read_records};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gapbench-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
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

/// (pid, command line, environment) of every live process but this one.
fn processes() -> Vec<(u32, String, Vec<String>)> {
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
        out.push((p, cmd, nul_fields(&e.path().join("environ"))));
    }
    out
}

/// Live processes of the gapbench run `pid`: its profile directories on the command line, or our
/// test mark in the environment.
fn leftovers(pid: u32, mark: &str) -> Vec<String> {
    let profile = format!("-{pid}-");
    processes()
        .into_iter()
        .filter(|(_, cmd, env)| {
            (cmd.contains("gapbench-profile-") && cmd.contains(&profile))
                || env.iter().any(|v| v == mark)
        })
        .map(|(p, cmd, _)| format!("{p}: {}", cmd.chars().take(160).collect::<String>()))
        .collect()
}

fn renderers(profile: &str) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, cmd, _)| cmd.contains("--type=renderer") && cmd.contains(profile))
        .map(|(p, _, _)| p)
        .collect()
}

const SCENARIO: &str = r#"
name = "chromium-crash"
seed = 42
shuffle = false

[[group]]
workloads = ["mlp"]
sizes = ["10m"]
targets = ["chromium"]
contexts = ["main"]
simd = [true]
backends = ["ndarray"]
repetitions = 2
warmup = 2
steps = 40
timeout_s = 600
"#;

#[test]
fn killed_renderer_is_a_crash_and_the_next_case_runs() {
    let dir = temp_dir("faults");
    let scenario = dir.join("chromium-crash.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.join("out");
    let mark_value = format!("faults-{}", std::process::id());
    let mark = format!("GAPBENCH_TEST_MARK={mark_value}");
    let child = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&scenario)
        .env("GAPBENCH_TEST_MARK", &mark_value)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();

    // Once the first browser's renderer has lived ~3 s (the case is loading or training), kill it.
    let done = Arc::new(AtomicBool::new(false));
    let killer = {
        let done = Arc::clone(&done);
        let profile = std::env::temp_dir()
            .join(format!("gapbench-profile-chromium-{pid}-"))
            .display()
            .to_string();
        std::thread::spawn(move || -> Vec<u32> {
            let mut first_seen: Option<Instant> = None;
            while !done.load(Ordering::Relaxed) {
                let found = renderers(&profile);
                match first_seen {
                    None if !found.is_empty() => first_seen = Some(Instant::now()),
                    Some(t) if t.elapsed() >= Duration::from_secs(3) && !found.is_empty() => {
                        let pids: Vec<String> = found.iter().map(u32::to_string).collect();
                        let _ = Command::new("kill").arg("-9").args(&pids).status();
                        return found;
                    }
                    _ => {}
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Vec::new()
        })
    };
    let o = child.wait_with_output().unwrap();
    done.store(true, Ordering::Relaxed);
    let killed = killer.join().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    println!("{stdout}");
    assert!(
        o.status.success(),
        "gapbench run failed ({}):\n{stdout}\n{stderr}",
        o.status
    );
    assert!(
        !killed.is_empty(),
        "no Chromium renderer was ever seen to kill"
    );

    let run = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .unwrap();
    let (rows, _) = read_records(&run.join("records.csv")).unwrap();
    let cases: Vec<_> = rows
        .iter()
        .map(|r| &r.record)
        .filter(|r| r.metric == "case")
        .collect();
    assert_eq!(cases.len(), 2, "{cases:?}");
    let crashed: Vec<_> = cases
        .iter()
        .filter(|r| r.status == Status::Crashed)
        .collect();
    let ok: Vec<_> = cases.iter().filter(|r| r.status == Status::Ok).collect();
    let all: Vec<String> = cases
        .iter()
        .map(|r| format!("{} {} {}", r.case.case_id, r.status.as_str(), r.message))
        .collect();
    assert_eq!(crashed.len(), 1, "{all:#?}");
    assert_eq!(ok.len(), 1, "{all:#?}");
    assert!(
        crashed[0].case.case_id.ends_with("/r1"),
        "the first case should be the one killed: {all:#?}"
    );
    assert!(
        crashed[0].message.contains("tab crashed"),
        "driver error not kept verbatim: {}",
        crashed[0].message
    );
    assert!(!crashed[0].case.engine_version.is_empty());
    let throughput = rows
        .iter()
        .find(|r| r.record.case.case_id == ok[0].case.case_id && r.record.metric == "throughput")
        .and_then(|r| r.record.summary.as_ref().map(|s| s.median));
    assert!(throughput.is_some_and(|m| m > 0.0), "{throughput:?}");

    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = leftovers(pid, &mark);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes outlived the run:\n{}",
            left.join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
