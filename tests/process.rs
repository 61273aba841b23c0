//! The process side of a run: Ctrl-C from a terminal (SIGINT to the whole process group) mid-case
//! leaves that case unrecorded for `--resume` and exits 130; a gapbench killed with SIGKILL
//! mid-browser-case leaves nothing behind past the next `gapbench run`; the probe server stays
//! small under 1,000 slow connections; the memory cap is a cgroup where one can be made (and the
//! watchdog, through kill(2), elsewhere, even with no `kill` on PATH).

mod common;

use common::{assert_nothing_left, find_run_dir, processes, temp_dir};
use harness::record::{Record, Status, read_records};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `case` rows recorded under `out` so far.
fn cases_so_far(out: &Path) -> Vec<Record> {
    find_run_dir(out)
        .and_then(|d| read_records(&d.join("records.csv")).ok())
        .map(|(rows, _)| {
            rows.into_iter()
                .map(|r| r.record)
                .filter(|r| r.metric == "case")
                .collect()
        })
        .unwrap_or_default()
}

fn describe(cases: &[Record]) -> String {
    cases
        .iter()
        .map(|r| format!("{} {} {}", r.case.case_id, r.status.as_str(), r.message))
        .collect::<Vec<_>>()
        .join("\n")
}

fn gapbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gapbench"))
}

/// A gapbench under test, SIGKILLed if the test fails before it ends (no run outlives its test).
struct Killing(Option<std::process::Child>);

impl Killing {
    fn pid(&self) -> u32 {
        self.0.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    fn take(&mut self) -> std::process::Child {
        self.0.take().expect("taken once")
    }
}

impl Drop for Killing {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Wait for `child` (killing it past `limit`): exit code, stdout + stderr.
fn finish(mut child: std::process::Child, limit: Duration) -> (Option<i32>, String) {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gapbench did not finish within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    let printed = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code(), printed)
}

/// Process group of `pid` (field 5 of /proc/PID/stat).
fn pgid_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..]
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// The `gapbench native-case` processes under `pid`.
fn native_case_children(pid: u32) -> Vec<u32> {
    let tree = harness::proc::with_descendants(&[pid]);
    processes()
        .into_iter()
        .filter(|(p, cmd, _)| *p != pid && tree.contains(p) && cmd.contains("native-case"))
        .map(|(p, _, _)| p)
        .collect()
}

const NATIVE_THREE: &str = r#"
name = "sigint-native"
seed = 7
shuffle = false

[[group]]
workloads = ["mlp"]
sizes = ["1m"]
targets = ["native-ndarray"]
repetitions = 3
warmup = 2
steps = 600
timeout_s = 600
"#;

/// A terminal's Ctrl-C goes to the whole foreground process group. gapbench, a group leader
/// here as in a shell, gets SIGINT in the middle of its second native case: its case process is
/// in a group of its own (so the terminal's signal does not kill it first), the case is not
/// recorded, gapbench exits 130, and `--resume` runs the two cases left, each recorded once.
#[test]
fn sigint_to_the_process_group_mid_case_is_not_recorded_and_resume_runs_it() {
    let dir = temp_dir("sigint-group");
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, NATIVE_THREE).unwrap();
    let out = dir.join("out");
    let child = gapbench()
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&scenario)
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Killing(Some(child));
    let pid = child.pid();
    // Wait for the first case's record, then for the second case's process to have run 1 s.
    let t0 = Instant::now();
    let mut second: Option<(u32, Instant)> = None;
    let mut child_groups = Vec::new();
    let struck = loop {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "the second case never started"
        );
        let recorded = cases_so_far(&out).len();
        let kids = native_case_children(pid);
        child_groups.extend(kids.iter().filter_map(|&k| pgid_of(k)));
        match (recorded, second, kids.first()) {
            (1, None, Some(&k)) => second = Some((k, Instant::now())),
            (1, Some((k, since)), Some(&now))
                if now == k && since.elapsed() >= Duration::from_secs(1) =>
            {
                let pg = rustix::process::Pid::from_raw(pid as i32).unwrap();
                rustix::process::kill_process_group(pg, rustix::process::Signal::INT).unwrap();
                break k;
            }
            (n, _, _) if n >= 2 => panic!("the second case ended before the strike"),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (code, printed) = finish(child.take(), Duration::from_secs(120));
    assert!(
        !child_groups.is_empty() && child_groups.iter().all(|&g| g != pid),
        "case processes share gapbench's process group {pid}: {child_groups:?}"
    );
    assert_eq!(code, Some(130), "{printed}");
    assert!(printed.contains("--resume"), "{printed}");
    let t = Instant::now();
    while Path::new(&format!("/proc/{struck}")).exists() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !Path::new(&format!("/proc/{struck}")).exists(),
        "the interrupted case's process is still running"
    );
    let cases = cases_so_far(&out);
    assert_eq!(
        cases.len(),
        1,
        "only the first case is recorded: {}",
        describe(&cases)
    );
    assert_eq!(cases[0].status, Status::Ok, "{}", describe(&cases));
    let first = cases[0].case.case_id.clone();

    let run_dir = find_run_dir(&out).unwrap();
    let resumed = gapbench()
        .args(["run", "--quiet", "--resume"])
        .arg(&run_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, printed) = finish(resumed, Duration::from_secs(300));
    assert_eq!(code, Some(0), "{printed}");
    let cases = cases_so_far(&out);
    let mut ids: Vec<&str> = cases.iter().map(|c| c.case.case_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each case once: {}", describe(&cases));
    assert_eq!(cases.len(), 3, "each case once: {}", describe(&cases));
    assert_eq!(
        cases[0].case.case_id, first,
        "records before the resume changed"
    );
    assert!(
        cases.iter().all(|c| c.status == Status::Ok),
        "{}",
        describe(&cases)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const CHROMIUM_LONG: &str = r#"
name = "sigkill-chromium"
seed = 7
shuffle = false

[[group]]
workloads = ["mlp"]
sizes = ["3m"]
targets = ["chromium"]
contexts = ["main"]
simd = [true]
backends = ["ndarray"]
repetitions = 2
warmup = 2
steps = 2000
timeout_s = 600
"#;

const NATIVE_TINY: &str = r#"
name = "after-sigkill"
seed = 7

[[group]]
workloads = ["mlp"]
sizes = ["0.1m"]
targets = ["native-ndarray"]
warmup = 1
steps = 2
"#;

/// gapbench dies by SIGKILL while Chromium trains a case: nothing can clean up then. The next
/// `gapbench run` finds what the dead run left (its owner tag, its profile directories) and
/// ends it: afterwards no process of the dead run is left.
#[test]
fn after_sigkill_mid_browser_case_the_next_run_leaves_nothing_of_it() {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    if !on_path("chromedriver") {
        common::missing("chromedriver is not on PATH");
        return;
    }
    let dir = temp_dir("sigkill-browser");
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, CHROMIUM_LONG).unwrap();
    let mark_value = format!("sigkill-{}", std::process::id());
    let mark = format!("GAPBENCH_TEST_MARK={mark_value}");
    let mut child = Killing(Some(
        gapbench()
            .args(["run", "--quiet", "--out"])
            .arg(dir.join("out"))
            .arg(&scenario)
            .env("GAPBENCH_TEST_MARK", &mark_value)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    let pid = child.pid();
    let tag = format!("GAPBENCH_BROWSER_TAG=gapbench-chromium-{pid}");
    let t0 = Instant::now();
    let mut since: Option<Instant> = None;
    loop {
        // Generous: a first run builds the wasm bundle (minutes); later ones start at once.
        assert!(
            t0.elapsed() < Duration::from_secs(1500),
            "no Chromium renderer of the run appeared"
        );
        let procs = processes();
        let tagged: Vec<u32> = procs
            .iter()
            .filter(|(_, _, env)| env.contains(&tag))
            .map(|(p, _, _)| *p)
            .collect();
        let tree = harness::proc::with_descendants(&tagged);
        let renderer = procs
            .iter()
            .any(|(p, cmd, _)| tree.contains(p) && cmd.contains("--type=renderer"));
        match since {
            None if renderer => since = Some(Instant::now()),
            Some(t) if renderer && t.elapsed() >= Duration::from_secs(3) => break,
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut child = child.take();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let left = common::leftovers(pid, Some(&mark));
    eprintln!(
        "{} process(es) of the killed run alive before the next run:\n{}",
        left.len(),
        left.join("\n")
    );

    let scenario = dir.join("tiny.toml");
    std::fs::write(&scenario, NATIVE_TINY).unwrap();
    let next = gapbench()
        .args(["run", "--quiet", "--out"])
        .arg(dir.join("out2"))
        .arg(&scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, printed) = finish(next, Duration::from_secs(300));
    assert_eq!(code, Some(0), "{printed}");
    assert_nothing_left(pid, Some(&mark), Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `VmRSS` (now) and `VmHWM` (the peak so far) of process `pid`, bytes.
fn rss_and_peak(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// 1,000 concurrent slow clients on loopback against gapbench's probe server, in a gapbench
/// process of its own (`gapbench serve`, the server `gapbench run` starts for browsers): half ask
/// for a 4 MiB file and never read, half trickle their request headers. The server streams files
/// and serves a bounded number of connections, so that process's peak RSS (VmHWM) stays under
/// 100 MB; the timeouts close the slow connections, and afterwards a normal request is answered
/// at once.
#[test]
fn a_thousand_slow_connections_keep_the_probe_server_small() {
    use std::io::BufRead;
    use std::net::{SocketAddr, TcpStream};
    let dir = temp_dir("slow-clients");
    let data: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &data).unwrap();
    std::fs::write(dir.join("index.html"), "<p>probe</p>").unwrap();
    drop(data);
    let mut child = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["serve", "--timeout-s", "3"])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("serving http://")
        .and_then(|a| a.strip_suffix('/'))
        .unwrap_or_else(|| panic!("gapbench serve printed {line:?}"))
        .parse()
        .unwrap();
    let (before, _) = rss_and_peak(pid);
    let t0 = Instant::now();
    let mut clients: Vec<TcpStream> = Vec::new();
    let mut failed_connects = 0;
    for i in 0..1000 {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(mut s) => {
                let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
                let req = if i % 2 == 0 {
                    "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                } else {
                    "GET /index.html HTTP/1.1\r\nHo"
                };
                let _ = s.write_all(req.as_bytes());
                clients.push(s);
            }
            Err(_) => failed_connects += 1,
        }
    }
    let connected_in = t0.elapsed();
    // Keep them open (trickling) for a while.
    let hold = Instant::now();
    while hold.elapsed() < Duration::from_secs(8) {
        for (i, s) in clients.iter_mut().enumerate() {
            if i % 2 == 1 {
                let _ = s.write_all(b"s");
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let (_, peak) = rss_and_peak(pid);
    eprintln!(
        "{} connected ({failed_connects} refused or timed out) in {:?}; gapbench serve RSS {} MiB \
         before, peak (VmHWM) {} MiB",
        clients.len(),
        connected_in,
        before >> 20,
        peak >> 20
    );
    assert!(clients.len() >= 900, "only {} connected", clients.len());
    assert!(peak < 100 << 20, "RSS reached {} MiB", peak >> 20);
    // The server has closed slow connections by now (header and I/O timeouts of 3 s).
    let mut closed = 0;
    for s in &mut clients {
        let _ = s.set_read_timeout(Some(Duration::from_millis(1)));
        let _ = s.set_nonblocking(true);
        let mut buf = [0u8; 65536];
        loop {
            match s.read(&mut buf) {
                Ok(0) => {
                    closed += 1;
                    break;
                }
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed += 1;
                    break;
                }
            }
        }
    }
    assert!(closed > 0, "no slow connection was closed by the server");
    drop(clients);
    // Still serving, at once.
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("<p>probe</p>"), "{reply}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // Closing its stdin ends `gapbench serve`.
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "gapbench serve: {status}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn alloc_scenario(name: &str) -> String {
    format!(
        r#"
name = "{name}"
seed = 7

[[group]]
workloads = ["mlp"]
sizes = ["0.1m"]
targets = ["native-ndarray"]
warmup = 1
steps = 2
fault = "alloc:1024"
timeout_s = 120
"#
    )
}

/// Run `alloc:1024` under a 256 MiB cap with `env`; the one case row and the manifest.
fn capped_run(name: &str, env: &[(&str, &str)]) -> (Record, harness::manifest::Manifest, String) {
    let dir = temp_dir(name);
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, alloc_scenario(name)).unwrap();
    let out = dir.join("out");
    let mut cmd = gapbench();
    cmd.args(["run", "--quiet", "--memory-cap", "256MiB", "--out"])
        .arg(&out)
        .arg(&scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, printed) = finish(cmd.spawn().unwrap(), Duration::from_secs(180));
    assert_eq!(code, Some(0), "{printed}");
    let cases = cases_so_far(&out);
    assert_eq!(cases.len(), 1, "{}", describe(&cases));
    let manifest = harness::manifest::Manifest::read(&find_run_dir(&out).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (cases[0].clone(), manifest, printed)
}

/// Where a cgroup memory controller is writable (v1 here), a native case that allocates past
/// the cap is ended by the kernel inside its own cgroup and recorded `oom`, naming the cgroup.
#[test]
fn allocation_past_the_cap_is_oom_in_the_case_cgroup() {
    if harness::cgroup::parent().is_none() {
        common::missing("a writable cgroup v1 memory controller (/sys/fs/cgroup/memory)");
        return;
    }
    let (case, manifest, printed) = capped_run("cap-cgroup", &[]);
    assert_eq!(case.status, Status::Oom, "{} {printed}", case.message);
    assert!(
        case.message.contains("over the memory cap of 256 MiB") && case.message.contains("cgroup"),
        "{}",
        case.message
    );
    let how = manifest.memory_cap_mechanism.unwrap_or_default();
    assert!(how.contains("cgroup"), "{how}");
}

/// Without a cgroup the watchdog is the cap, and it kills through kill(2): with PATH emptied
/// (no `kill` binary to find) the case past the cap is still killed and recorded `oom`.
#[test]
fn the_watchdog_cap_kills_with_path_emptied() {
    let (case, manifest, printed) =
        capped_run("cap-watchdog", &[("GAPBENCH_NO_CGROUP", "1"), ("PATH", "")]);
    assert_eq!(case.status, Status::Oom, "{} {printed}", case.message);
    assert!(
        case.message.contains("over the memory cap of 256 MiB (PSS"),
        "{}",
        case.message
    );
    let how = manifest.memory_cap_mechanism.unwrap_or_default();
    assert!(how.starts_with("PSS watchdog"), "{how}");
}
