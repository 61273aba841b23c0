//! Nothing lost, nothing twice: `gapbench run` is SIGKILLed at 50 random moments of a real run of
//! many tiny native cases, and `--resume`d after each kill. Its record writes are slowed into
//! 64-byte pieces (`GAPBENCH_TEST_WRITE_CHUNK`, the csv writer's several `write()`s of the
//! issue), so that kills land in the middle of them: torn last lines and samples without their
//! records. At the end every planned case is in `records.csv` exactly once, no metric row or
//! sample is there twice or without its case, and `gapbench report` and `gapbench compare` work.

mod common;

use common::{find_run_dir, temp_dir, text};
use harness::record::{read_records, read_samples};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KILLS: usize = 50;

/// 2 native targets x 100 repetitions of the smallest MLP, 2 steps each: a fraction of a second
/// a case.
const SCENARIO: &str = r#"name = "crash-resume"
seed = 3
warmup = 0
steps = 2
timeout_s = 120

[[group]]
workloads = ["mlp"]
sizes = ["0.1m"]
targets = ["native-ndarray", "native-flex"]
repetitions = 100
"#;

/// What a kill left on disk before the next resume repairs it.
#[derive(Default, Debug)]
struct Damage {
    /// A file whose last line has no newline.
    torn: usize,
    /// Samples (or metric rows) of a case without its `case` row.
    orphans: usize,
}

fn inspect(run: &Path, d: &mut Damage) {
    let records = std::fs::read(run.join("records.csv")).unwrap_or_default();
    let samples = std::fs::read(run.join("samples.csv")).unwrap_or_default();
    if [&records, &samples]
        .iter()
        .any(|b| !b.is_empty() && !b.ends_with(b"\n"))
    {
        d.torn += 1;
    }
    // Case ids with a `case` row, and the case ids of whole sample and metric rows.
    let mut done = HashSet::new();
    let mut seen = HashSet::new();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(records.as_slice());
    for r in rdr.records().flatten() {
        if r.len() == 30 {
            seen.insert(r[1].to_string());
            if &r[10] == "case" {
                done.insert(r[1].to_string());
            }
        }
    }
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(samples.as_slice());
    for r in rdr.records().flatten() {
        if r.len() == 6 {
            seen.insert(r[1].to_string());
        }
    }
    if seen.iter().any(|c| !done.contains(c)) {
        d.orphans += 1;
    }
}

fn gapbench(out: &Path, args: &[&std::ffi::OsStr]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gapbench"));
    c.args(["run", "--quiet", "--out"])
        .arg(out)
        .args(args)
        .env("GAPBENCH_TEST_WRITE_CHUNK", "64")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

#[test]
fn sigkill_at_random_moments_then_resume_records_every_case_once() {
    let started = Instant::now();
    let seed = std::env::var("GAPBENCH_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("seed {seed} (GAPBENCH_TEST_SEED={seed} repeats these kill moments)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = temp_dir("crash-resume");
    let scenario = dir.join("crash-resume.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.join("out");

    let mut damage = Damage::default();
    let mut kills = 0;
    let mut run = None;
    while kills < KILLS {
        let mut child = match &run {
            None => gapbench(&out, &[scenario.as_os_str()]),
            Some(r) => gapbench(&out, &["--resume".as_ref(), Path::new(r).as_os_str()]),
        }
        .spawn()
        .unwrap();
        // The first run is let live until its run directory is whole; after that, any moment.
        if run.is_none() {
            let deadline = Instant::now() + Duration::from_secs(60);
            run = loop {
                if let Some(r) = find_run_dir(&out).filter(|r| r.join("manifest.json").exists()) {
                    break Some(r);
                }
                assert!(Instant::now() < deadline, "no run directory after 60 s");
                std::thread::sleep(Duration::from_millis(2));
            };
        }
        let at = Instant::now() + Duration::from_millis(rng.u64(0..700));
        let mut finished = None;
        while Instant::now() < at {
            if let Some(status) = child.try_wait().unwrap() {
                finished = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(status) = finished {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert!(status.success(), "a resume failed ({status}): {err}");
            panic!("the run finished after {kills} kills; it needs more cases for {KILLS}");
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{status}"
        );
        kills += 1;
        inspect(run.as_ref().unwrap(), &mut damage);
    }
    let run = run.unwrap();
    let killed_at = started.elapsed();

    // The last resume runs to the end.
    let o = gapbench(&out, &["--resume".as_ref(), run.as_os_str()])
        .output()
        .unwrap();
    assert!(o.status.success(), "final resume: {}", text(&o.stderr));
    println!(
        "{kills} kills in {:.1} s ({damage:?} of the kills left a torn line / rows of an unfinished case); finished in {:.1} s",
        killed_at.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    // The kills did land in writes: the repair had something to do, often.
    assert!(
        damage.torn >= 5 && damage.orphans >= 5,
        "too few kills hit a write to test the repair: {damage:?}"
    );

    // Every planned case exactly once; every metric row and sample once, each of a done case.
    let catalog = harness::catalog::BuildCatalog;
    let planned: BTreeSet<String> = harness::plan::expand(
        &harness::scenario::load(&scenario, &catalog).unwrap(),
        &catalog,
    )
    .unwrap()
    .into_iter()
    .map(|c| c.id)
    .collect();
    assert_eq!(planned.len(), 200);
    let (rows, warnings) = read_records(&run.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut per_case: BTreeMap<String, usize> = BTreeMap::new();
    let mut metric_rows: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &rows {
        let r = &r.record;
        *metric_rows
            .entry((r.case.case_id.clone(), r.metric.clone()))
            .or_default() += 1;
        if r.metric == "case" {
            *per_case.entry(r.case.case_id.clone()).or_default() += 1;
        }
    }
    let recorded: BTreeSet<String> = per_case.keys().cloned().collect();
    assert_eq!(recorded, planned, "recorded cases differ from the plan");
    let twice: Vec<_> = metric_rows.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "rows written more than once: {twice:?}");
    let without_case: Vec<_> = metric_rows
        .keys()
        .filter(|(c, _)| !per_case.contains_key(c))
        .collect();
    assert!(without_case.is_empty(), "{without_case:?}");
    let ok = rows
        .iter()
        .filter(|r| r.record.metric == "case" && r.record.status.as_str() == "ok")
        .count();
    assert_eq!(ok, 200, "every case trains");
    let (samples, warnings) = read_samples(&run.join("samples.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut seen = HashSet::new();
    for s in &samples {
        assert!(per_case.contains_key(&s.case_id), "orphan sample {s:?}");
        assert!(
            seen.insert((s.case_id.clone(), s.metric.clone(), s.phase, s.index)),
            "sample written twice: {s:?}"
        );
    }
    let step_times = samples.iter().filter(|s| s.metric == "step_time").count();
    assert_eq!(step_times, 200 * 2, "2 measured steps of every case");

    // report and compare read the run.
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["report", "--out"])
        .arg(dir.join("reports"))
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success(), "report: {}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("warning"), "{}", text(&o.stderr));
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .arg("compare")
        .arg(&run)
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success(), "compare: {}", text(&o.stderr));
    assert!(text(&o.stdout).contains("mlp/0.1m"), "{}", text(&o.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two runs of one scenario started in the same second as a third get a directory each (`-2`,
/// `-3`); none truncates another's records.
#[test]
fn runs_started_together_keep_their_own_records() {
    let dir = temp_dir("same-second");
    let scenario = dir.join("twins.toml");
    std::fs::write(
        &scenario,
        "name = \"twins\"\n[[group]]\nworkloads = [\"mlp\"]\nsizes = [\"0.1m\"]\n\
         targets = [\"native-ndarray\"]\nwarmup = 0\nsteps = 1\nrepetitions = 3\n",
    )
    .unwrap();
    let out = dir.join("out");
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_gapbench"))
            .args(["run", "--quiet", "--out"])
            .arg(&out)
            .arg(&scenario)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // A third run holds this second's directory already (as `new_run_id` names it).
    let now = harness::manifest::now_utc().replace([':', '-'], "");
    let taken = out.join(format!(
        "twins-{}",
        now.trim_end_matches('Z').replace('T', "-")
    ));
    std::fs::create_dir_all(&taken).unwrap();
    let (a, b) = (start(), start());
    for child in [a, b] {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let mut runs: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    runs.sort();
    println!("{runs:?}");
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(
        std::fs::read_dir(&taken).unwrap().count(),
        0,
        "the held one was written"
    );
    for run in runs.iter().filter(|r| **r != taken) {
        let (rows, warnings) = read_records(&run.join("records.csv")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let cases = rows.iter().filter(|r| r.record.metric == "case").count();
        assert_eq!(cases, 3, "{}", run.display());
        let m = harness::manifest::Manifest::read(run).unwrap();
        assert_eq!(
            Some(m.run_id.as_str()),
            run.file_name().and_then(|n| n.to_str())
        );
        assert!(rows.iter().all(|r| r.record.case.run_id == m.run_id));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
