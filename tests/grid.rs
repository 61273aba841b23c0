//! The remote-endpoint path through a real Selenium Grid on loopback: a Selenium 3.141.59 hub and
//! one Chrome node (the standalone jar from the npm package `selenium-server`, installed by
//! `npm ci`; Java 17), then `gapbench run --webdriver chromium=<hub>/wd/hub --serve-host 127.0.0.1`
//! runs a tm-image case there. The case is recorded ok with Chromium's exact version, its losses
//! agree with native ndarray, the session went through the grid node (its log says so), and hub,
//! node, chromedriver and browser are all gone at the end, also when an assertion fails.
//!
//! And the fleet path: a hub with a Chrome node and a Firefox node, and `gapbench run --grid
//! <hub> --sessions 2` shards a four-case scenario over them: every case is recorded exactly once,
//! ok, with the node that ran it in the `host` column (its URI, from the Grid), cases from both
//! nodes, the probe page a secure context (https with the run's certificate) and cross-origin
//! isolated, the memory rows saying what is not measured remotely, the manifest listing both
//! devices with their page facts; and every process gone at the end.

mod common;

use common::{assert_run_ok, find_run_dir, processes, repo, temp_dir};
use harness::record::{Status, read_records};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starting two JVMs on a loaded two-core machine is slow.
const GRID_START: Duration = Duration::from_secs(180);
const RUN_LIMIT: Duration = Duration::from_secs(900);
const MARK_VAR: &str = "GAPBENCH_GRID_TEST_MARK";

/// The standalone jar shipped by the npm package.
fn find_jar(dir: &Path) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(j) = find_jar(&p) {
                return Some(j);
            }
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("selenium-server-standalone") && n.ends_with(".jar"))
        {
            return Some(p);
        }
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on loopback: (status, body), or None when nothing answers.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.get(9..12)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Live processes (pid, command line) whose environment holds `entry`: the hub, the node and
/// everything the node started (chromedriver, Chromium: they inherit the environment).
fn marked(entry: &str) -> Vec<(u32, String)> {
    processes()
        .into_iter()
        .filter(|(_, _, env)| env.iter().any(|v| v == entry))
        .map(|(p, cmd, _)| (p, cmd.chars().take(160).collect()))
        .collect()
}

/// Hub and node, and whatever they started: killed on drop, whether the test passed or not.
struct Grid {
    children: Vec<Child>,
    mark: String,
    logs: Vec<PathBuf>,
}

impl Grid {
    fn spawn(&mut self, args: &[String], log: &Path) {
        let out = std::fs::File::create(log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new("java")
            .args(args)
            .env(MARK_VAR, &self.mark)
            // Firefox without a display, as on a lab node without one (Selenium 3's node does not
            // pass the session's `-headless` on to geckodriver's Firefox).
            .env("MOZ_HEADLESS", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("java could not start (Java 17: apt install openjdk-17-jre-headless)");
        self.children.push(child);
        self.logs.push(log.to_path_buf());
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.logs[i]).unwrap_or_default()
    }

    fn entry(&self) -> String {
        format!("{MARK_VAR}={}", self.mark)
    }

    /// Every marked process, once; none may be left afterwards.
    fn kill_all(&mut self) -> Vec<(u32, String)> {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let entry = self.entry();
        for _ in 0..20 {
            let left = marked(&entry);
            if left.is_empty() {
                return left;
            }
            let pids: Vec<String> = left.iter().map(|(p, _)| p.to_string()).collect();
            let _ = Command::new("kill").arg("-9").args(&pids).status();
            std::thread::sleep(Duration::from_millis(200));
        }
        marked(&entry)
    }
}

impl Drop for Grid {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A hub and one node per `(driver property, browserName)`, on free loopback ports, registered:
/// the Grid and the nodes' ports.
fn start_grid(dir: &Path, jar: &Path, nodes: &[(String, &str)]) -> (Grid, u16, Vec<u16>) {
    let mut grid = Grid {
        children: Vec::new(),
        mark: format!("grid-{}-{}", std::process::id(), nodes.len()),
        logs: Vec::new(),
    };
    let jar_s = jar.display().to_string();
    let hub_port = free_port();
    let hub_args: Vec<String> = [
        "-jar",
        &jar_s,
        "-role",
        "hub",
        "-host",
        "127.0.0.1",
        "-port",
    ]
    .map(String::from)
    .into_iter()
    .chain([hub_port.to_string()])
    .collect();
    grid.spawn(&hub_args, &dir.join("hub.log"));
    let mut ports = Vec::new();
    for (k, (driver, browser)) in nodes.iter().enumerate() {
        let port = free_port();
        ports.push(port);
        let args: Vec<String> = [
            driver.as_str(),
            "-jar",
            &jar_s,
            "-role",
            "node",
            "-hub",
            &format!("http://127.0.0.1:{hub_port}/grid/register"),
            "-host",
            "127.0.0.1",
            "-port",
            &port.to_string(),
            "-browser",
            &format!("browserName={browser},maxInstances=1"),
        ]
        .map(String::from)
        .to_vec();
        grid.spawn(&args, &dir.join(format!("node{k}.log")));
    }
    let deadline = Instant::now() + GRID_START;
    loop {
        let slots = http_get(hub_port, "/grid/api/hub")
            .filter(|(st, _)| *st == 200)
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|v| v["slotCounts"]["total"].as_u64());
        if slots.is_some_and(|n| n >= nodes.len() as u64) {
            break;
        }
        let logs = |g: &Grid| {
            (0..g.logs.len())
                .map(|i| g.log(i))
                .collect::<Vec<_>>()
                .join("\n---\n")
        };
        let exited = grid
            .children
            .iter_mut()
            .find_map(|c| c.try_wait().ok().flatten());
        if let Some(st) = exited {
            panic!("a grid process exited ({st}):\n{}", logs(&grid));
        }
        assert!(
            Instant::now() < deadline,
            "the nodes did not register with the hub within {} s:\n{}",
            GRID_START.as_secs(),
            logs(&grid)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    (grid, hub_port, ports)
}

/// `gapbench run ARGS`, killed past [`RUN_LIMIT`]; its output and wall time.
fn gapbench_run(args: &[String]) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + RUN_LIMIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("gapbench run took longer than {} s", RUN_LIMIT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    (child.wait_with_output().unwrap(), started.elapsed())
}

#[test]
fn a_scenario_shards_over_a_two_node_grid() {
    let jar = find_jar(&repo().join("node_modules/selenium-server")).expect(
        "the Selenium standalone jar is missing: run `npm ci` in the repository (package.json pins selenium-server@3.141.59)",
    );
    let chromedriver = on_path("chromedriver").expect("chromedriver (.ci/setup installs it)");
    let geckodriver = on_path("geckodriver").expect("geckodriver (.ci/setup installs it)");
    let dir = temp_dir("grid-fleet");
    let nodes = [
        (
            format!("-Dwebdriver.chrome.driver={}", chromedriver.display()),
            "chrome",
        ),
        (
            format!("-Dwebdriver.gecko.driver={}", geckodriver.display()),
            "firefox",
        ),
    ];
    let (mut grid, hub_port, ports) = start_grid(&dir, &jar, &nodes);
    let scenario = dir.join("fleet.toml");
    std::fs::write(
        &scenario,
        r#"name = "fleet"
seed = 5
warmup = 1
steps = 2
repetitions = 2
timeout_s = 300

[[group]]
workloads = ["tm-image"]
targets = ["chromium", "firefox"]
contexts = ["main"]
simd = [true]
backends = ["ndarray"]
meters = ["throughput", "memory"]
"#,
    )
    .unwrap();
    let out = dir.join("out");
    let args: Vec<String> = [
        "run",
        "--quiet",
        "--grid",
        &format!("http://127.0.0.1:{hub_port}/wd/hub"),
        "--sessions",
        "2",
        "--out",
        &out.display().to_string(),
        &scenario.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    let (o, took) = gapbench_run(&args);
    let stdout = assert_run_ok(&o);
    println!("sharded over 2 sessions: {:.1} s", took.as_secs_f64());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !stderr.contains("127.0.0.1 (this machine's loopback"),
        "{stderr}"
    );

    let run_dir = find_run_dir(&out).expect("a run directory");
    let (rows, warnings) = read_records(&run_dir.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let cases: Vec<_> = rows
        .iter()
        .map(|r| &r.record)
        .filter(|r| r.metric == "case")
        .collect();
    let mut ids: Vec<&str> = cases.iter().map(|r| r.case.case_id.as_str()).collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(n, 4, "four cases, each recorded once: {ids:?}\n{stdout}");
    assert_eq!(ids.len(), 4, "a case recorded twice: {ids:?}");
    let node_of = |engine: &str| match engine {
        "chromium" => format!("http://127.0.0.1:{}", ports[0]),
        _ => format!("http://127.0.0.1:{}", ports[1]),
    };
    for c in &cases {
        let i = &c.case;
        assert_eq!(c.status, Status::Ok, "{}: {}", i.case_id, c.message);
        assert_eq!(
            i.host,
            node_of(&i.engine),
            "{} ran on {}",
            i.case_id,
            i.host
        );
        assert_eq!(i.secure_context, "true", "{}", i.case_id);
        assert_eq!(i.cross_origin_isolated, "true", "{}", i.case_id);
    }
    let engines: std::collections::BTreeSet<&str> =
        cases.iter().map(|c| c.case.engine.as_str()).collect();
    assert_eq!(engines.len(), 2, "cases from both nodes: {engines:?}");
    // Every row of a case names its device; memory is said to be unmeasured, not left out.
    for r in rows.iter().map(|r| &r.record) {
        assert_eq!(r.case.host, node_of(&r.case.engine), "{}", r.metric);
    }
    let pss: Vec<_> = rows
        .iter()
        .map(|r| &r.record)
        .filter(|r| r.metric == "peak_pss")
        .collect();
    assert_eq!(pss.len(), 4);
    for r in pss {
        assert_eq!(r.status, Status::Skipped);
        assert!(
            r.message.contains("not measured on the remote device"),
            "{}",
            r.message
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("manifest.json")).unwrap())
            .unwrap();
    let fleet = manifest["fleet"]
        .as_array()
        .expect("a fleet in the manifest");
    assert_eq!(fleet.len(), 2, "{fleet:?}");
    for d in fleet {
        let engine = d["engine"].as_str().unwrap();
        assert_eq!(d["id"].as_str(), Some(node_of(engine).as_str()), "{d}");
        assert!(!d["user_agent"].as_str().unwrap_or("").is_empty(), "{d}");
        assert!(
            d["hardware_concurrency"].as_u64().is_some_and(|n| n >= 1),
            "{d}"
        );
        assert_eq!(d["secure_context"], serde_json::Value::Bool(true), "{d}");
    }
    for k in 1..=2 {
        assert!(
            grid.log(k).contains("Started new session"),
            "node {k} never started a session:\n{}",
            grid.log(k)
        );
    }
    let left = grid.kill_all();
    assert!(
        left.is_empty(),
        "grid processes outlived the test: {left:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_case_runs_through_a_selenium_grid() {
    let jar = find_jar(&repo().join("node_modules/selenium-server")).expect(
        "the Selenium standalone jar is missing: run `npm ci` in the repository (package.json pins selenium-server@3.141.59)",
    );
    let chromedriver = on_path("chromedriver").expect("chromedriver (.ci/setup installs it)");
    let dir = temp_dir("grid");
    let nodes = [(
        format!("-Dwebdriver.chrome.driver={}", chromedriver.display()),
        "chrome",
    )];
    let (mut grid, hub_port, _) = start_grid(&dir, &jar, &nodes);

    let scenario = dir.join("grid.toml");
    std::fs::write(
        &scenario,
        r#"name = "grid"
seed = 5
warmup = 1
steps = 3
timeout_s = 300

[[group]]
workloads = ["tm-image"]
targets = ["chromium"]
contexts = ["main"]
simd = [true]
backends = ["ndarray"]
meters = ["throughput", "agreement"]
"#,
    )
    .unwrap();
    let out = dir.join("out");
    let args: Vec<String> = [
        "run",
        "--quiet",
        "--webdriver",
        &format!("chromium=http://127.0.0.1:{hub_port}/wd/hub"),
        "--serve-host",
        "127.0.0.1",
        "--out",
        &out.display().to_string(),
        &scenario.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    let (o, _) = gapbench_run(&args);
    let stdout = assert_run_ok(&o);

    let run_dir = find_run_dir(&out).expect("a run directory");
    let (rows, warnings) = read_records(&run_dir.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let id = "tm-image/default/chromium/ndarray-simd/main/w1-s3-seed5/r1";
    let row = |metric: &str| {
        rows.iter()
            .map(|r| &r.record)
            .find(|r| r.case.case_id == id && r.metric == metric)
            .unwrap_or_else(|| panic!("no `{metric}` row for {id}:\n{stdout}"))
    };
    let case = row("case");
    assert_eq!(
        case.status,
        Status::Ok,
        "{}\nnode log: {}",
        case.message,
        grid.log(1)
    );
    assert_eq!(case.case.engine, "chromium");
    let v = &case.case.engine_version;
    assert!(
        v.split('.').count() >= 3 && v.split('.').all(|p| p.parse::<u32>().is_ok()),
        "engine version `{v}`"
    );
    let per_s = row("throughput").summary.as_ref().map(|s| s.median);
    assert!(per_s.is_some_and(|m| m > 0.0), "throughput {per_s:?}");
    let agree = row("loss_agreement");
    assert_eq!(agree.status, Status::Ok, "{}", agree.message);
    assert!(agree.message.contains("within"), "{}", agree.message);

    // The session went through the grid node, and gapbench ended it.
    let node_log = grid.log(1);
    assert!(
        node_log.contains("Started new session"),
        "the grid node never started a session:\n{node_log}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !grid.log(1).contains("Removing session") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        grid.log(1).contains("Removing session"),
        "gapbench did not end its grid session:\n{}",
        grid.log(1)
    );

    let left = grid.kill_all();
    assert!(
        left.is_empty(),
        "grid processes outlived the test: {left:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_remote_flags_are_one_line_errors_naming_the_flag() {
    let scenario = repo().join("scenarios/browser-smoke.toml");
    for (flag, value) in [
        ("--webdriver", "chromium"),
        ("--webdriver", "safari=http://127.0.0.1:4444"),
        ("--webdriver", "firefox=https://grid.example/wd/hub"),
        ("--webdriver", "webkit=http://:4444"),
        ("--serve-host", "http://10.0.0.5:80/"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
            .args(["run", "--quiet", flag, value])
            .arg(&scenario)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
