//! Fault injection in a real browser: a Chromium renderer killed in the middle of a case is
//! recorded as a crash with the driver's own words, the run goes on, the next case succeeds on a
//! fresh session, and nothing is left running afterwards. The same holds when the whole browser
//! or its WebDriver server is killed, when the page hangs (the case timeout fires) and when the
//! wasm workload panics (its message reaches the record); Ctrl-C stops the run with exit code 130,
//! keeps what was recorded, and `--resume` runs only the missing cases.
//!
//! The tests take turns (a lock): each starts browsers, and the machine is small.

mod common;

use common::{assert_nothing_left, assert_run_ok, find_run_dir, median, processes, temp_dir};
use harness::record::{ReadRecord, Record, Status, read_records};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

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
    let _serial = serial();
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
    assert_run_ok(&o);
    assert!(
        !killed.is_empty(),
        "no Chromium renderer was ever seen to kill"
    );

    let run = find_run_dir(&out).unwrap();
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
    let throughput = median(&rows, &ok[0].case.case_id, "throughput");
    assert!(throughput.is_some_and(|m| m > 0.0), "{throughput:?}");

    assert_nothing_left(pid, Some(&mark), Duration::from_secs(3));
    let _ = std::fs::remove_dir_all(&dir);
}

static SERIAL: Mutex<()> = Mutex::new(());

/// One browser test at a time (a failed one must not block the rest).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A `gapbench run` under test: its pid, our mark in its environment, where it writes.
struct Run {
    child: std::process::Child,
    pid: u32,
    mark: String,
    dir: PathBuf,
    out: PathBuf,
}

const MARK_VAR: &str = "GAPBENCH_TEST_MARK";

impl Run {
    /// Start `gapbench run` on `scenario` (or `--resume` the run directory `resume`).
    fn start(dir: &Path, args: &[&str], name: &str) -> Run {
        let out = dir.join("out");
        let mark_value = format!("{name}-{}-{:?}", std::process::id(), Instant::now());
        let child = Command::new(env!("CARGO_BIN_EXE_gapbench"))
            .args(["run", "--quiet", "--out"])
            .arg(&out)
            .args(args)
            .env(MARK_VAR, &mark_value)
            .stdout(std::fs::File::create(dir.join(format!("{name}.stdout"))).unwrap())
            .stderr(std::fs::File::create(dir.join(format!("{name}.stderr"))).unwrap())
            .spawn()
            .unwrap();
        Run {
            pid: child.id(),
            child,
            mark: format!("{MARK_VAR}={mark_value}"),
            dir: dir.to_path_buf(),
            out,
        }
    }

    /// Wait for the exit (killing it after `limit`); its exit code and what it printed.
    fn finish(mut self, name: &str, limit: Duration) -> (Option<i32>, String, u32, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let st = self.child.wait().unwrap();
                let _ = st;
                panic!(
                    "gapbench {name} did not finish within {} s",
                    limit.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let read = |ext: &str| {
            std::fs::read_to_string(self.dir.join(format!("{name}.{ext}"))).unwrap_or_default()
        };
        let printed = format!("stdout:\n{}\nstderr:\n{}", read("stdout"), read("stderr"));
        (status.code(), printed, self.pid, self.mark.clone())
    }
}

/// The rows of records.csv under `out` so far (none while there is no file).
fn rows_so_far(out: &Path) -> Vec<ReadRecord> {
    find_run_dir(out)
        .and_then(|d| read_records(&d.join("records.csv")).ok())
        .map(|(rows, _)| rows)
        .unwrap_or_default()
}

/// The one `case` row per case, in file order.
fn case_rows(rows: &[ReadRecord]) -> Vec<Record> {
    rows.iter()
        .map(|r| r.record.clone())
        .filter(|r| r.metric == "case")
        .collect()
}

fn describe(cases: &[Record]) -> String {
    cases
        .iter()
        .map(|r| format!("{} {} {}", r.case.case_id, r.status.as_str(), r.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How long a finished run's processes may take to go (the kernel reaping them).
const NOTHING_LEFT_GRACE: Duration = Duration::from_secs(10);

/// A measured case's records are all there: an ok outcome and a positive throughput.
fn assert_measured(rows: &[ReadRecord], case_id: &str) {
    let mine: Vec<&Record> = rows
        .iter()
        .map(|r| &r.record)
        .filter(|r| r.case.case_id == case_id)
        .collect();
    assert!(
        mine.iter()
            .any(|r| r.metric == "case" && r.status == Status::Ok),
        "{case_id}: no ok outcome: {mine:?}"
    );
    let tp = mine
        .iter()
        .find(|r| r.metric == "throughput")
        .and_then(|r| r.summary.as_ref().map(|s| s.median));
    assert!(tp.is_some_and(|m| m > 0.0), "{case_id}: throughput {tp:?}");
}

/// Processes of engine `engine` started by gapbench `pid`: (pid, command line).
fn engine_procs(pid: u32, engine: &str) -> Vec<(u32, String)> {
    let tag = format!("GAPBENCH_BROWSER_TAG=gapbench-{engine}-{pid}");
    let procs = processes();
    let tagged: Vec<u32> = procs
        .iter()
        .filter(|(_, _, env)| env.contains(&tag))
        .map(|(p, _, _)| *p)
        .collect();
    // Descendants too: Chromium's zygote rewrites its environment block (its process title),
    // so renderers no longer show the tag they inherited.
    let tree = harness::proc::with_descendants(&tagged);
    procs
        .into_iter()
        .filter(|(p, _, _)| tree.contains(p))
        .map(|(p, cmd, _)| (p, cmd))
        .collect()
}

fn driver_name(engine: &str) -> &'static str {
    match engine {
        "chromium" => "chromedriver",
        "firefox" => "geckodriver",
        _ => "WebKitWebDriver",
    }
}

fn first_word(cmd: &str) -> &str {
    cmd.split(' ').next().unwrap_or("")
}

/// The page's process (the one running the workload).
fn is_renderer(engine: &str, cmd: &str) -> bool {
    match engine {
        "chromium" => cmd.contains("--type=renderer"),
        "firefox" => cmd.contains("-contentproc") && cmd.contains(" tab"),
        _ => first_word(cmd).ends_with("WebKitWebProcess"),
    }
}

/// The browser's main process.
fn is_browser_main(engine: &str, cmd: &str) -> bool {
    let exe = first_word(cmd);
    match engine {
        "chromium" => cmd.contains("gapbench-profile-chromium") && !cmd.contains("--type="),
        "firefox" => exe.contains("firefox") && !cmd.contains("-contentproc"),
        _ => exe.ends_with("MiniBrowser"),
    }
}

fn is_driver(engine: &str, cmd: &str) -> bool {
    first_word(cmd).ends_with(driver_name(engine))
}

/// What to do to the run once its second case has trained for a few seconds.
#[derive(Clone, Copy, Debug)]
enum Strike {
    /// SIGKILL the processes the predicate picks.
    Kill(fn(&str, &str) -> bool),
    /// SIGINT to gapbench itself (Ctrl-C).
    Interrupt,
}

/// Watch run `pid` (writing under `out`): once the first case is recorded and the next case's page
/// has lived `after`, strike. Returns the rows recorded before the strike and the pids struck.
fn strike_second_case(
    pid: u32,
    engine: &'static str,
    out: PathBuf,
    after: Duration,
    strike: Strike,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(Vec<ReadRecord>, Vec<u32>)> {
    std::thread::spawn(move || {
        let mut before: Option<Vec<ReadRecord>> = None;
        let mut page_since: Option<Instant> = None;
        while !done.load(Ordering::Relaxed) {
            match &before {
                None => {
                    let rows = rows_so_far(&out);
                    if !case_rows(&rows).is_empty() {
                        before = Some(rows);
                    }
                }
                Some(rows) => {
                    let procs = engine_procs(pid, engine);
                    let page = procs.iter().any(|(_, c)| is_renderer(engine, c));
                    match page_since {
                        None if page => page_since = Some(Instant::now()),
                        Some(t) if page && t.elapsed() >= after => {
                            // Still the second case? (It may have ended already.)
                            if case_rows(&rows_so_far(&out)).len() != case_rows(rows).len() {
                                return (rows.clone(), Vec::new());
                            }
                            let pids: Vec<u32> = match strike {
                                Strike::Kill(pick) => procs
                                    .iter()
                                    .filter(|(_, c)| pick(engine, c))
                                    .map(|(p, _)| *p)
                                    .collect(),
                                Strike::Interrupt => vec![pid],
                            };
                            let signal = match strike {
                                Strike::Kill(_) => "-KILL",
                                Strike::Interrupt => "-INT",
                            };
                            if !pids.is_empty() {
                                let _ = Command::new("kill")
                                    .arg(signal)
                                    .args(pids.iter().map(u32::to_string))
                                    .status();
                            }
                            return (rows.clone(), pids);
                        }
                        _ => {}
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        (before.unwrap_or_default(), Vec::new())
    })
}

/// Three repetitions of one small case on `engine`, each long enough (360 steps: about 9 s of
/// mlp 3m in Chromium on this VM, 24 ms a step) for a strike 2 s into the second case to land
/// while it runs.
fn three_cases(engine: &str) -> String {
    format!(
        r#"
name = "fault-{engine}"
seed = 7
shuffle = false

[[group]]
workloads = ["mlp"]
sizes = ["3m"]
targets = ["{engine}"]
contexts = ["main"]
simd = [true]
backends = ["ndarray"]
repetitions = 3
warmup = 2
steps = 360
timeout_s = 600
"#
    )
}

/// Kill some of `engine`'s processes in the middle of the second of three cases: the first
/// case's records are untouched, the second is `crashed` with a message holding `expect`, the
/// third is measured, and nothing is left running.
fn kill_mid_case(engine: &'static str, what: &str, pick: fn(&str, &str) -> bool, expect: &str) {
    common::retry_on_jsc_trap(engine, || kill_mid_case_once(engine, what, pick, expect));
}

fn kill_mid_case_once(
    engine: &'static str,
    what: &str,
    pick: fn(&str, &str) -> bool,
    expect: &str,
) {
    let _serial = serial();
    let dir = temp_dir(&format!("{what}-{engine}"));
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, three_cases(engine)).unwrap();
    let run = Run::start(&dir, &[scenario.to_str().unwrap()], "run");
    let done = Arc::new(AtomicBool::new(false));
    let striker = strike_second_case(
        run.pid,
        engine,
        run.out.clone(),
        Duration::from_secs(3),
        Strike::Kill(pick),
        Arc::clone(&done),
    );
    let out = run.out.clone();
    let (code, printed, pid, mark) = run.finish("run", Duration::from_secs(1200));
    done.store(true, Ordering::Relaxed);
    let (before, killed) = striker.join().unwrap();
    assert_eq!(code, Some(0), "{printed}");
    assert!(
        !killed.is_empty(),
        "nothing to kill was found in the second case ({what}): {printed}"
    );
    let rows = rows_so_far(&out);
    assert_eq!(
        &rows[..before.len()],
        &before[..],
        "records written before the fault changed"
    );
    let cases = case_rows(&rows);
    let all = describe(&cases);
    assert_eq!(cases.len(), 3, "{all}");
    assert!(cases[1].case.case_id.ends_with("/r2"), "{all}");
    assert_measured(&rows, &cases[0].case.case_id);
    assert_eq!(cases[1].status, Status::Crashed, "{all}");
    assert!(
        cases[1].message.contains(expect),
        "`{expect}` not in the message: {all}"
    );
    assert_measured(&rows, &cases[2].case.case_id);
    assert_nothing_left(pid, Some(&mark), NOTHING_LEFT_GRACE);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn killed_browser_is_a_crash_and_the_next_case_runs() {
    kill_mid_case("chromium", "browser", is_browser_main, "chromedriver");
}

#[test]
fn killed_firefox_is_a_crash_and_the_next_case_runs() {
    kill_mid_case("firefox", "browser", is_browser_main, "geckodriver");
}

#[test]
fn killed_driver_is_restarted_and_the_next_case_runs() {
    kill_mid_case(
        "chromium",
        "driver",
        is_driver,
        "chromedriver died during the case",
    );
}

#[test]
fn killed_geckodriver_is_restarted_and_the_next_case_runs() {
    kill_mid_case(
        "firefox",
        "driver",
        is_driver,
        "geckodriver died during the case",
    );
}

/// An ok case, a case with `fault` (a different size, so a different id), an ok case.
fn faulted_middle(engine: &str, fault: &str, timeout_s: u64) -> String {
    let group = |size: &str, extra: &str| {
        format!(
            "\n[[group]]\nworkloads = [\"mlp\"]\nsizes = [\"{size}\"]\ntargets = [\"{engine}\"]\n\
             contexts = [\"main\"]\nsimd = [true]\nbackends = [\"ndarray\"]\nwarmup = 1\n\
             steps = 10\ntimeout_s = {timeout_s}\n{extra}"
        )
    };
    format!(
        "name = \"fault-{engine}\"\nseed = 7\nshuffle = false\n{}{}{}",
        group("0.1m", ""),
        group("0.3m", &format!("fault = \"{fault}\"\n")),
        group("1m", "")
    )
}

/// Run `faulted_middle`; the middle case has `status` and a message holding `expect`.
fn injected(engine: &str, fault: &str, timeout_s: u64, status: Status, expect: &str) {
    injected_with(engine, fault, timeout_s, status, expect, &[]);
}

/// `injected` with more `gapbench run` flags.
fn injected_with(
    engine: &str,
    fault: &str,
    timeout_s: u64,
    status: Status,
    expect: &str,
    flags: &[&str],
) {
    common::retry_on_jsc_trap(engine, || {
        let _serial = serial();
        let dir = temp_dir(&format!("inject-{}-{engine}", fault.replace(':', "-")));
        let scenario = dir.join("s.toml");
        std::fs::write(&scenario, faulted_middle(engine, fault, timeout_s)).unwrap();
        let mut args = flags.to_vec();
        args.push(scenario.to_str().unwrap());
        let run = Run::start(&dir, &args, "run");
        let out = run.out.clone();
        let (code, printed, pid, mark) = run.finish("run", Duration::from_secs(1200));
        assert_eq!(code, Some(0), "{printed}");
        let rows = rows_so_far(&out);
        let cases = case_rows(&rows);
        let all = describe(&cases);
        assert_eq!(cases.len(), 3, "{all}");
        assert!(cases[1].case.case_id.starts_with("mlp/0.3m/"), "{all}");
        assert_measured(&rows, &cases[0].case.case_id);
        assert_eq!(cases[1].status, status, "{all}");
        assert!(
            cases[1].message.contains(expect),
            "`{expect}` not in: {all}"
        );
        assert_measured(&rows, &cases[2].case.case_id);
        assert_nothing_left(pid, Some(&mark), NOTHING_LEFT_GRACE);
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn hanging_page_times_out_and_the_next_case_runs() {
    injected("chromium", "hang", 20, Status::Timeout, "within");
}

#[test]
fn hanging_page_in_firefox_times_out_and_the_next_case_runs() {
    injected("firefox", "hang", 20, Status::Timeout, "within");
}

#[test]
fn wasm_panic_message_reaches_the_record() {
    injected(
        "chromium",
        "panic",
        300,
        Status::Failed,
        "injected fault: panic inside the workload",
    );
}

#[test]
fn wasm_panic_message_reaches_the_record_in_firefox() {
    injected(
        "firefox",
        "panic",
        300,
        Status::Failed,
        "injected fault: panic inside the workload",
    );
}

/// Allocation until the memory cap: the probe grows its memory by 1.5 GiB under a 1 GiB cap;
/// the browser's cgroup (where one is writable; else the PSS watchdog) ends it, never the
/// machine's OOM killer, and the record says so.
fn over_the_cap(engine: &str) {
    injected_with(
        engine,
        "alloc:1536",
        300,
        Status::Oom,
        "over the memory cap of 1024 MiB",
        &["--memory-cap", "1GiB"],
    );
}

#[test]
fn allocation_past_the_cap_is_oom_in_chromium() {
    over_the_cap("chromium");
}

#[test]
fn allocation_past_the_cap_is_oom_in_firefox() {
    over_the_cap("firefox");
}

#[test]
fn allocation_past_the_cap_is_oom_in_webkit() {
    over_the_cap("webkit");
}

#[test]
fn ctrl_c_keeps_records_cleans_up_and_resume_finishes_the_rest() {
    ctrl_c("chromium");
}

#[test]
fn ctrl_c_in_firefox_keeps_records_cleans_up_and_resume_finishes_the_rest() {
    ctrl_c("firefox");
}

#[test]
fn ctrl_c_in_webkit_keeps_records_cleans_up_and_resume_finishes_the_rest() {
    ctrl_c("webkit");
}

/// Ctrl-C in the middle of the second of three cases on `engine`, then `--resume`.
fn ctrl_c(engine: &'static str) {
    common::retry_on_jsc_trap(engine, || ctrl_c_once(engine));
}

fn ctrl_c_once(engine: &'static str) {
    let _serial = serial();
    let dir = temp_dir(&format!("sigint-{engine}"));
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, three_cases(engine)).unwrap();
    let run = Run::start(&dir, &[scenario.to_str().unwrap()], "run");
    let done = Arc::new(AtomicBool::new(false));
    let striker = strike_second_case(
        run.pid,
        engine,
        run.out.clone(),
        Duration::from_secs(2),
        Strike::Interrupt,
        Arc::clone(&done),
    );
    let out = run.out.clone();
    let (code, printed, pid, mark) = run.finish("run", Duration::from_secs(1200));
    done.store(true, Ordering::Relaxed);
    let (before, struck) = striker.join().unwrap();
    assert!(!struck.is_empty(), "never interrupted: {printed}");
    assert_eq!(code, Some(130), "{printed}");
    assert!(printed.contains("--resume"), "{printed}");
    assert_nothing_left(pid, Some(&mark), NOTHING_LEFT_GRACE);
    let rows = rows_so_far(&out);
    assert_eq!(&rows[..before.len()], &before[..], "records changed");
    let cases = case_rows(&rows);
    assert!(!cases.is_empty() && cases.len() < 3, "{}", describe(&cases));
    assert!(
        cases.iter().all(|c| c.status == Status::Ok),
        "an interrupted case was recorded: {}",
        describe(&cases)
    );
    let run_dir = find_run_dir(&out).unwrap();
    let manifest = harness::manifest::Manifest::read(&run_dir).unwrap();
    assert!(manifest.ended.is_none(), "an interrupted run is not ended");

    let resumed = Run::start(&dir, &["--resume", run_dir.to_str().unwrap()], "resume");
    let (code, printed, pid, mark) = resumed.finish("resume", Duration::from_secs(1200));
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("already recorded"), "{printed}");
    assert_nothing_left(pid, Some(&mark), NOTHING_LEFT_GRACE);
    let rows = rows_so_far(&out);
    assert_eq!(
        &rows[..before.len()],
        &before[..],
        "records changed on resume"
    );
    let cases = case_rows(&rows);
    let mut ids: Vec<&str> = cases.iter().map(|c| c.case.case_id.as_str()).collect();
    ids.sort_unstable();
    let want: Vec<String> = (1..=3)
        .map(|r| format!("mlp/3m/{engine}/ndarray-simd/main/w2-s360-seed7/r{r}"))
        .collect();
    assert_eq!(ids, want, "each case exactly once: {}", describe(&cases));
    for c in &cases {
        assert_measured(&rows, &c.case.case_id);
    }
    let manifest = harness::manifest::Manifest::read(&run_dir).unwrap();
    assert!(manifest.ended.is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

// WebKit (MiniBrowser under Xvfb) and the renderer kill in Firefox and WebKit.

#[test]
fn killed_firefox_tab_is_a_crash_and_the_next_case_runs() {
    kill_mid_case(
        "firefox",
        "renderer",
        is_renderer,
        "the page's process died while running the case",
    );
}

#[test]
fn killed_webkit_web_process_is_a_crash_and_the_next_case_runs() {
    kill_mid_case(
        "webkit",
        "renderer",
        is_renderer,
        "Could not parse script result",
    );
}

#[test]
fn killed_minibrowser_is_a_crash_and_the_next_case_runs() {
    kill_mid_case("webkit", "browser", is_browser_main, "WebKitWebDriver");
}

#[test]
fn killed_webkitwebdriver_is_restarted_and_the_next_case_runs() {
    kill_mid_case(
        "webkit",
        "driver",
        is_driver,
        "WebKitWebDriver died during the case",
    );
}

#[test]
fn hanging_page_in_webkit_times_out_and_the_next_case_runs() {
    injected("webkit", "hang", 20, Status::Timeout, "within");
}

#[test]
fn wasm_panic_message_reaches_the_record_in_webkit() {
    injected(
        "webkit",
        "panic",
        300,
        Status::Failed,
        "injected fault: panic inside the workload",
    );
}
