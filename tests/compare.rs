//! `gapbench compare` on real recorded samples: two runs of the same build on this machine are
//! "same" (or "unknown" with a reason) for every metric and exit 0 (always checked on the
//! interleaved halves of one real run; two separate runs only with --ignored, as they also need
//! a quiet machine); a candidate whose step times
//! are made 20% slower is "slower" with exit code 1, in the JUnit and Perfherder outputs too. And
//! a truncated or hand-broken `records.csv` gives `report` and `compare` a one-line error naming
//! the file and line (exit 2).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gapbench-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn gapbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(args)
        .output()
        .expect("cannot start gapbench")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The one run directory under `root`.
fn run_dir(root: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "one run directory in {}", root.display());
    dirs[0].clone()
}

const SCENARIO: &str = r#"
name = "compare-native"
description = "tm-image and the smallest MLP natively, for gapbench compare"
seed = 7
warmup = 2
steps = 30
repetitions = 1
timeout_s = 600

[[group]]
workloads = ["tm-image"]
sizes = ["default"]
targets = ["native-ndarray"]

[[group]]
workloads = ["mlp"]
sizes = ["0.1m"]
targets = ["native-ndarray"]
"#;

/// Run the native scenario into `dir/a` and `dir/b` at the same time, so that both runs see
/// the same load from whatever else this machine is doing.
fn two_runs(dir: &Path) -> (PathBuf, PathBuf) {
    let scenario = dir.join("compare-native.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let spawn = |side: &str| {
        Command::new(env!("CARGO_BIN_EXE_gapbench"))
            .args(["run", "--quiet", "--out"])
            .arg(dir.join(side))
            .arg(&scenario)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("cannot start gapbench run")
    };
    let (a, b) = (spawn("a"), spawn("b"));
    for (side, child) in [("a", a), ("b", b)] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "run {side} failed: {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    (run_dir(&dir.join("a")), run_dir(&dir.join("b")))
}

fn rows(json: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(json).expect("compare --json is JSON");
    v["rows"].as_array().expect("rows").clone()
}

/// Copy run `from` to `to`, passing every measured step_time sample line (its six fields) through
/// `edit`: `Some(line)` writes that line, `None` drops the sample. Returns the samples written.
fn edited_copy(from: &Path, to: &Path, edit: impl Fn(&[&str]) -> Option<String>) -> usize {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    let samples = std::fs::read_to_string(from.join("samples.csv")).unwrap();
    let mut written = 0;
    let mut out = String::new();
    for (i, line) in samples.lines().enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        if i > 0 && f.len() == 6 && f[2] == "step_time" && f[3] == "measured" {
            let Some(line) = edit(&f) else { continue };
            out.push_str(&line);
            written += 1;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    std::fs::write(to.join("samples.csv"), out).unwrap();
    written
}

/// Copy run `from` to `to`, multiplying every measured step_time sample by `factor`.
fn slowed_copy(from: &Path, to: &Path, factor: f64) -> usize {
    edited_copy(from, to, |f| {
        let v: f64 = f[5].parse().expect("a sample value");
        Some(format!("{},{}", f[..5].join(","), v * factor))
    })
}

/// Copy run `from` to `to`, keeping only the measured step_time samples whose step index has
/// parity `parity` (every other sample stays as it is).
fn half_copy(from: &Path, to: &Path, parity: usize) -> usize {
    edited_copy(from, to, |f| {
        let index: usize = f[4].parse().expect("a sample index");
        (index % 2 == parity).then(|| f.join(","))
    })
}

/// Same build, same machine, same moment: one real run's measured steps dealt alternately into
/// two runs (so both halves see the same load and the same drift, and the verdict does not hang
/// on this machine being quiet) are "same" or "unknown" with a reason; a copy of one half made
/// 20% slower is "slower", exit code 1, in the Markdown, JSON, JUnit and Perfherder outputs.
#[test]
fn compare_interleaved_halves_of_a_real_run_then_slower() {
    let dir = temp_dir("compare-halves");
    let scenario = dir.join("compare-native.toml");
    std::fs::write(&scenario, SCENARIO.replace("steps = 30", "steps = 80")).unwrap();
    let out = gapbench(&[
        "run",
        "--quiet",
        "--out",
        dir.join("run").to_str().unwrap(),
        scenario.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = run_dir(&dir.join("run"));
    let (a, b) = (dir.join("even"), dir.join("odd"));
    assert_eq!(half_copy(&run, &a, 0), 80, "40 even steps per case");
    assert_eq!(half_copy(&run, &b, 1), 80, "40 odd steps per case");
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());

    let out = gapbench(&["compare", a_s, b_s]);
    let md = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{md}\n{}", text(&out.stderr));
    let json = gapbench(&["compare", "--json", a_s, b_s]);
    assert_eq!(json.status.code(), Some(0));
    let same = rows(&text(&json.stdout));
    let steps: Vec<_> = same.iter().filter(|r| r["metric"] == "step_time").collect();
    assert_eq!(steps.len(), 2, "a step_time row per case: {same:?}");
    for r in &same {
        let verdict = r["verdict"].as_str().unwrap();
        assert!(verdict == "same" || verdict == "unknown", "{r}");
        assert!(!r["reason"].as_str().unwrap_or("").is_empty(), "{r}");
        assert!(md.contains(r["series"].as_str().unwrap()), "{r} in\n{md}");
    }
    for r in steps {
        assert_eq!(r["n_baseline"].as_u64(), Some(40), "{r}");
        let ratio = r["ratio"].as_f64().expect("a ratio on 40 samples a side");
        assert!(ratio.is_finite() && ratio > 0.0, "{r}");
    }

    let slow = dir.join("slow");
    assert_eq!(slowed_copy(&a, &slow, 1.2), 80);
    let slow_s = slow.to_str().unwrap();
    let out = gapbench(&["compare", "--json", a_s, slow_s]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let slower = rows(&text(&out.stdout));
    let steps: Vec<_> = slower
        .iter()
        .filter(|r| r["metric"] == "step_time")
        .collect();
    assert_eq!(steps.len(), 2);
    for r in steps {
        assert_eq!(r["verdict"], "slower", "{r}");
        let ratio = r["ratio"].as_f64().unwrap();
        assert!(
            ratio > 1.19 && ratio < 1.21,
            "the same samples times 1.2: {r}"
        );
    }
    let md = gapbench(&["compare", a_s, slow_s]);
    assert_eq!(md.status.code(), Some(1));
    assert!(text(&md.stdout).contains("slower"), "{}", text(&md.stdout));
    let junit = gapbench(&["compare", "--format", "junit", a_s, slow_s]);
    assert_eq!(junit.status.code(), Some(1));
    assert!(
        text(&junit.stdout).contains("<failure"),
        "{}",
        text(&junit.stdout)
    );
    let perf = gapbench(&["compare", "--format", "perfherder", a_s, slow_s]);
    assert_eq!(perf.status.code(), Some(1));
    assert!(text(&perf.stdout).starts_with("PERFHERDER_DATA: "));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "depends on the machine being quiet between two runs (a timing assertion): run with --ignored; issue 5 open"]
fn compare_real_runs_same_then_slower() {
    let dir = temp_dir("compare");
    let (a, b) = two_runs(&dir);
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());

    // the same build twice: nothing changed beyond the default 2% threshold
    let out = gapbench(&["compare", a_s, b_s]);
    let md = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "same build compared: {md}\n{}",
        text(&out.stderr)
    );
    let json = gapbench(&["compare", "--json", a_s, b_s]);
    assert_eq!(json.status.code(), Some(0));
    let same = rows(&text(&json.stdout));
    let step_rows = same.iter().filter(|r| r["metric"] == "step_time").count();
    assert_eq!(
        step_rows, 2,
        "a step_time row per case (tm-image, mlp 0.1m): {same:?}"
    );
    for r in &same {
        let verdict = r["verdict"].as_str().unwrap();
        assert!(
            verdict == "same" || verdict == "unknown",
            "same build, different verdict: {r}"
        );
        assert!(
            !r["reason"].as_str().unwrap_or("").is_empty(),
            "every verdict says why: {r}"
        );
        assert!(r["n_baseline"].as_u64().unwrap() >= 30, "{r}");
        let ratio = r["ratio"].as_f64().expect("a ratio on 30 samples a side");
        // no bound on the ratio itself: on a loaded machine two runs may differ a lot, and
        // the verdict (checked above) is what must account for that noise
        assert!(
            ratio.is_finite() && ratio > 0.0,
            "ratio of medians {ratio}: {r}"
        );
    }
    // the Markdown table has a row per compared metric, each with its verdict
    for r in &same {
        let series = r["series"].as_str().unwrap();
        assert!(md.contains(series), "{series} in the table:\n{md}");
    }

    // the candidate made 20% slower
    let slow = dir.join("slow");
    // a copy of the baseline made 20% slower: the same samples, so only the change is tested
    let changed = slowed_copy(&a, &slow, 1.2);
    assert!(changed >= 60, "{changed} step_time samples rewritten");
    let slow_s = slow.to_str().unwrap();
    let out = gapbench(&["compare", "--json", a_s, slow_s]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a regression exits 1: {}",
        text(&out.stderr)
    );
    let slower = rows(&text(&out.stdout));
    let steps: Vec<_> = slower
        .iter()
        .filter(|r| r["metric"] == "step_time")
        .collect();
    assert_eq!(steps.len(), 2);
    for r in steps {
        assert_eq!(r["verdict"], "slower", "{r}");
        let ratio = r["ratio"].as_f64().unwrap();
        assert!(ratio > 1.1 && ratio < 1.35, "ratio {ratio} near 1.2: {r}");
    }

    let junit = gapbench(&["compare", "--format", "junit", a_s, slow_s]);
    assert_eq!(junit.status.code(), Some(1));
    let xml = text(&junit.stdout);
    assert!(xml.trim_start().starts_with("<?xml") || xml.contains("<testsuite"));
    assert!(xml.contains("<failure"), "{xml}");

    let perf = gapbench(&["compare", "--format", "perfherder", a_s, slow_s]);
    assert_eq!(perf.status.code(), Some(1));
    let p = text(&perf.stdout);
    let data = p
        .strip_prefix("PERFHERDER_DATA: ")
        .unwrap_or_else(|| panic!("perfherder output starts with PERFHERDER_DATA: {p}"));
    let v: serde_json::Value = serde_json::from_str(data.trim()).expect("perfherder JSON");
    assert!(!v["suites"].as_array().unwrap().is_empty(), "{v}");

    // the report of the same build's runs reads them both
    let reports = dir.join("reports");
    let rep = gapbench(&[
        "report",
        a_s,
        b_s,
        "--name",
        "ab",
        "--out",
        reports.to_str().unwrap(),
    ]);
    assert!(rep.status.success(), "{}", text(&rep.stderr));
    assert!(reports.join("ab/report.md").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A one-line error on stderr that names `file` and a line, and exit 2.
fn assert_input_error(out: &Output, file: &Path, line: u64, what: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
    let at = format!("{}:{line}:", file.display());
    assert!(err.contains(&at), "{what}: names {at}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
}

#[test]
fn broken_records_are_one_line_errors_naming_file_and_line() {
    let dir = temp_dir("broken-records");
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, SCENARIO.replace("steps = 30", "steps = 5")).unwrap();
    let out = gapbench(&[
        "run",
        "--quiet",
        "--out",
        dir.join("runs").to_str().unwrap(),
        scenario.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let good = run_dir(&dir.join("runs"));
    let records = std::fs::read_to_string(good.join("records.csv")).unwrap();
    let lines: Vec<&str> = records.lines().collect();
    assert!(lines.len() >= 4, "header and records: {records}");

    let broken = dir.join("broken");
    let check = |name: &str, content: String, line: u64| {
        let _ = std::fs::remove_dir_all(&broken);
        slowed_copy(&good, &broken, 1.0);
        let file = broken.join("records.csv");
        std::fs::write(&file, content).unwrap();
        let rep = gapbench(&[
            "report",
            broken.to_str().unwrap(),
            "--out",
            dir.join("reports").to_str().unwrap(),
        ]);
        assert_input_error(&rep, &file, line, &format!("report, {name}"));
        let cmp = gapbench(&["compare", good.to_str().unwrap(), broken.to_str().unwrap()]);
        assert_input_error(&cmp, &file, line, &format!("compare, {name}"));
    };
    let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();

    // a field dropped from the third line
    let mut ls = lines.clone();
    let cut = ls[2].rsplit_once(',').unwrap().0.to_string();
    ls[2] = &cut;
    check("missing field", join(&ls), 3);
    // a word where a number belongs (column n)
    let mut f: Vec<String> = lines[2].split(',').map(String::from).collect();
    let n_col = lines[0].split(',').position(|c| c == "n").unwrap();
    f[n_col] = "many".into();
    let worded = f.join(",");
    let mut ls = lines.clone();
    ls[2] = &worded;
    check("not a number", join(&ls), 3);
    // an unknown status
    let status_col = lines[0].split(',').position(|c| c == "status").unwrap();
    let mut f: Vec<String> = lines[1].split(',').map(String::from).collect();
    f[status_col] = "fine".into();
    let bad_status = f.join(",");
    let mut ls = lines.clone();
    ls[1] = &bad_status;
    check("bad status", join(&ls), 2);
    // truncated inside the header
    check(
        "truncated header",
        records[..lines[0].len() / 2].to_string(),
        1,
    );
    // truncated in the middle of a line, then more lines after it (a hand-made splice)
    let mut ls = lines.clone();
    let half = &lines[2][..lines[2].len() / 2];
    ls[2] = half;
    check("truncated line", join(&ls), 3);

    // cut short while writing (the last line incomplete, no newline): the complete lines are
    // read and the cut line is dropped with a warning naming file and line, as a resumed or
    // crashed run leaves it
    let _ = std::fs::remove_dir_all(&broken);
    slowed_copy(&good, &broken, 1.0);
    let file = broken.join("records.csv");
    let last = lines.len() - 1;
    let mut cut = join(&lines[..last]);
    cut.push_str(&lines[last][..lines[last].len() / 2]);
    std::fs::write(&file, cut).unwrap();
    let rep = gapbench(&[
        "report",
        broken.to_str().unwrap(),
        "--out",
        dir.join("reports").to_str().unwrap(),
    ]);
    let err = text(&rep.stderr);
    assert_eq!(rep.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("{}:{}:", file.display(), last + 1)) && err.contains("incomplete"),
        "a warning names the cut line: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
