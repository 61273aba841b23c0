#![allow(dead_code)]
//! Helpers shared by the integration tests: each test file has `mod common;` and uses what it
//! needs (hence `dead_code` allowed: no test uses every helper).

use harness::record::ReadRecord;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

/// Held by tests of one file that measure a browser and must not share the 2 cores (or the
/// memory) with another such test running on the harness's parallel test threads. A lock keeps
/// nothing off a test unless every heavy test of its file holds it too: a cross-check that held it
/// alone still ran next to its file's other browser test (ORT-Web's failed in CI that way).
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// What JavaScriptCore (WebKitGTK 2.50, x86-64 Linux) says when it traps a wasm access that is
/// in bounds, now and then (about 1% of short MLP cases here; docs/failures.md, "WebKit's intermittent
/// wasm trap").
pub const JSC_TRAP: &str = "Out of bounds memory access";

/// Whether `engine` said JavaScriptCore's spurious trap (`JSC_TRAP`) in `message`.
pub fn is_jsc_trap(engine: &str, message: &str) -> bool {
    engine == "webkit" && message.contains(JSC_TRAP)
}

/// Run a test body that drives `engine`; when it fails because a WebKit case hit JavaScriptCore's
/// spurious trap (the failure's message quotes it), run it again, 3 tries in all, saying so. Any
/// other failure stands, and so does the trap in every other engine. The tests check the harness;
/// gapbench itself records the trap as the failure it is.
pub fn retry_on_jsc_trap(engine: &str, body: impl Fn()) {
    const TRIES: usize = 3;
    for attempt in 1..=TRIES {
        let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&body)) else {
            return;
        };
        let said = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        if attempt < TRIES && is_jsc_trap(engine, &said) {
            eprintln!("warning: try {attempt} hit JavaScriptCore's spurious wasm trap; again");
            continue;
        }
        std::panic::resume_unwind(e);
    }
}

/// A test cannot run here because `what` is missing: that fails it, unless
/// GAPBENCH_ALLOW_MISSING_PEERS is set (a machine without what `.ci/setup` installs), when the
/// skip is said on stderr. CI runs `.ci/setup`, so nothing is skipped there silently.
pub fn missing(what: &str) {
    assert!(
        std::env::var_os("GAPBENCH_ALLOW_MISSING_PEERS").is_some(),
        "{what}: run `bash .ci/setup` (or set GAPBENCH_ALLOW_MISSING_PEERS=1 to skip)"
    );
    eprintln!("skipped: {what}");
}

/// The workspace root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// A fresh, empty directory `gapbench-test-{name}-{pid}` under the system's temp directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gapbench-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Lossy UTF-8 of a child's output stream.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The one run directory `gapbench run --out root` made (asserts there is exactly one).
pub fn run_dir(root: &Path) -> PathBuf {
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

/// Print a finished `gapbench run`'s stdout and assert that it succeeded (the message holds
/// stdout and stderr); returns the stdout.
pub fn assert_run_ok(o: &Output) -> String {
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    println!("{stdout}");
    assert!(
        o.status.success(),
        "gapbench run failed ({}):\n{stdout}\n{stderr}",
        o.status
    );
    stdout.into_owned()
}

/// No problem was found; the message lists them all.
pub fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Write `toml` as `dir/scenario.toml`, run `gapbench run --quiet EXTRA --out dir/runs` on it,
/// assert that the run succeeded and that its records read back without a warning: the run
/// directory and its rows.
pub fn run_scenario(dir: &Path, toml: &str, extra: &[&str]) -> (PathBuf, Vec<ReadRecord>) {
    let scenario = dir.join("scenario.toml");
    std::fs::write(&scenario, toml).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet"])
        .args(extra)
        .arg("--out")
        .arg(dir.join("runs"))
        .arg(&scenario)
        .output()
        .unwrap();
    assert_run_ok(&o);
    let run = run_dir(&dir.join("runs"));
    let (rows, warnings) = harness::record::read_records(&run.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    (run, rows)
}

/// The `case` rows (one per case: its outcome) of a run's records.
pub fn outcomes(rows: &[ReadRecord]) -> Vec<&harness::record::Record> {
    rows.iter()
        .map(|r| &r.record)
        .filter(|r| r.metric == "case")
        .collect()
}

/// What is wrong with case `case_id`'s loss agreement with native ndarray, recorded as `metric`
/// (`loss_agreement`, or `loss_agreement_relaxed` for the relaxed build): no row, not ok, or a
/// median outside the tolerance every build has. None when it agrees.
pub fn agreement_problem(rows: &[ReadRecord], case_id: &str, metric: &str) -> Option<String> {
    use harness::meter::agreement::{PPM, TOLERANCE};
    use harness::record::Status;
    let agree = rows
        .iter()
        .map(|x| &x.record)
        .find(|x| x.case.case_id == case_id && x.metric == metric);
    let fine = agree.is_some_and(|a| {
        a.status == Status::Ok
            && a.summary
                .as_ref()
                .is_some_and(|s| (0.0..=TOLERANCE * PPM).contains(&s.median))
    });
    (!fine).then(|| {
        format!(
            "{case_id}: {metric} {:?}",
            agree.map(|a| (a.status.as_str(), a.message.clone(), a.summary.clone()))
        )
    })
}

/// The (first) run directory gapbench made under `root`, if any yet.
pub fn find_run_dir(root: &Path) -> Option<PathBuf> {
    std::fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
}

/// The median of `metric` recorded for case `case_id`, if there is one with a summary.
pub fn median(rows: &[ReadRecord], case_id: &str, metric: &str) -> Option<f64> {
    rows.iter()
        .find(|x| x.record.case.case_id == case_id && x.record.metric == metric)
        .and_then(|x| x.record.summary.as_ref().map(|s| s.median))
}

/// The NUL-separated fields of a /proc file such as `cmdline` or `environ` (none when unreadable).
pub fn nul_fields(path: &Path) -> Vec<String> {
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
pub fn processes() -> Vec<(u32, String, Vec<String>)> {
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

/// Live processes of the gapbench run `pid`, as `pid: command line`: a profile directory of
/// that run (`gapbench-profile-...-{pid}-`) on the command line, its browser tag
/// (`GAPBENCH_BROWSER_TAG=gapbench-<engine>-{pid}`) in the environment, or the test's `mark`
/// (a whole `VAR=value` entry, which drivers, Xvfb and browsers inherit) in the environment.
pub fn leftovers(pid: u32, mark: Option<&str>) -> Vec<String> {
    let profile = format!("-{pid}-");
    let tag_end = format!("-{pid}");
    processes()
        .into_iter()
        .filter(|(_, cmd, env)| {
            (cmd.contains("gapbench-profile-") && cmd.contains(&profile))
                || env.iter().any(|v| {
                    mark == Some(v.as_str())
                        || (v.starts_with("GAPBENCH_BROWSER_TAG=gapbench-")
                            && v.ends_with(&tag_end))
                })
        })
        .map(|(p, cmd, _)| format!("{p}: {}", cmd.chars().take(160).collect::<String>()))
        .collect()
}

/// No process of the gapbench run `pid` (see `leftovers`) is left once `grace` has passed (time
/// for the kernel to reap); with a zero grace, none may be left now.
pub fn assert_nothing_left(pid: u32, mark: Option<&str>, grace: Duration) {
    let deadline = Instant::now() + grace;
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

/// The median step time, ms, that an independent peer script in `tests/peers/` prints as its
/// last line (`{"median_ms": …}`), run with 5 warm-up and 40 measured steps. `script` is the
/// file, then any further arguments of the script after those two, split at spaces
/// (`"tfjs_check.mjs trainOnBatch"`).
pub fn peer_script_median(script: &str) -> f64 {
    let mut words = script.split_whitespace();
    let file = words.next().expect("a script file");
    let o = std::process::Command::new("node")
        .current_dir(repo())
        .arg(format!("tests/peers/{file}"))
        .args(["5", "40"])
        .args(words)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{script} failed ({}):\n{stdout}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    v["median_ms"].as_f64().expect("median_ms")
}

/// gapbench's step time (`ours_at(round)`, ms) agrees within 15% with the independent peer
/// script `tests/peers/{script}`'s median ([`peer_script_median`]), as [`assert_agrees`] holds them.
pub fn assert_agrees_with_script(peer: &str, script: &str, ours_at: impl FnMut(usize) -> f64) {
    assert_agrees(peer, script, ours_at, || peer_script_median(script));
}

/// The lower quartile of `v` (one median step time per process): the figure a cross-check holds
/// the two sides to. This VM now and then runs a whole short process 1.3-1.8x slower (one process
/// in three or four, on either side; interference only slows), and with 9 processes a side the
/// medians of the two sides drew different numbers of slow ones (a 13% gap from that alone in
/// CI); the quartile stays among the unslowed processes, where a real difference still shows.
pub fn unslowed(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    harness::stats::quantile(&s, 0.25)
}

/// gapbench's step time (`ours_at(round)`, ms) agrees within 15% with an independent script's
/// (`theirs_at()`, ms), on [`unslowed`] of each side's per-process figures. This VM's speed drifts,
/// so the two run interleaved (ABBA), 3 rounds and up to 9 while they disagree; it panics when
/// all the rounds still differ by more than 15%, either way.
pub fn assert_agrees(
    peer: &str,
    script: &str,
    mut ours_at: impl FnMut(usize) -> f64,
    mut theirs_at: impl FnMut() -> f64,
) {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut ratio = f64::NAN;
    for round in 0..9 {
        if round % 2 == 0 {
            ours.push(ours_at(round));
            theirs.push(theirs_at());
        } else {
            theirs.push(theirs_at());
            ours.push(ours_at(round));
        }
        if round < 2 {
            continue;
        }
        ratio = unslowed(&ours) / unslowed(&theirs);
        eprintln!(
            "round {round}: gapbench {:.3} ms, script {:.3} ms (lower quartiles of {ours:.3?} / {theirs:.3?}), ratio {ratio:.3}",
            unslowed(&ours),
            unslowed(&theirs)
        );
        if (1.0 / 1.15..=1.15).contains(&ratio) {
            return;
        }
    }
    panic!(
        "gapbench's {peer} step ({:.3} ms, the lower quartile of {ours:.3?}) and {script}'s ({:.3} ms, of {theirs:.3?}) differ by more than 15%: ratio {ratio:.3}",
        unslowed(&ours),
        unslowed(&theirs)
    );
}

/// gapbench's median step time, ms, of the one case `scenario` (TOML text) plans, run into
/// `dir/out-{round}`: what a peer's cross-check holds against its independent script.
pub fn one_case_median(dir: &Path, round: usize, scenario: &str) -> f64 {
    use harness::record::{Status, read_records};
    let file = dir.join("check.toml");
    std::fs::write(&file, scenario).unwrap();
    let out = dir.join(format!("out-{round}"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "gapbench run failed ({}):\n{}\n{}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
    let (rows, _) = read_records(&run_dir(&out).join("records.csv")).unwrap();
    let case = rows
        .iter()
        .find(|r| r.record.metric == "case")
        .expect("a case row");
    assert_eq!(
        case.record.status,
        Status::Ok,
        "gapbench's case: {}",
        case.record.message
    );
    median(&rows, &case.record.case.case_id, "step_time").expect("a step_time record")
}
