//! Bad input gets one clear line naming the file (or flag), what was expected, and exit code 2.

mod common;

use common::find_run_dir;
use std::path::PathBuf;
use std::process::Command;

fn scenario(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gapbench-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Run `gapbench run FILE`; return its stderr after checking exit code 2, one line, no panic.
fn rejects(name: &str, text: &str, expect: &[&str]) {
    let path = scenario(name, text);
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(std::env::temp_dir().join("gapbench-bad-out"))
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{name}: stderr {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{name}: not one line: {err}"
    );
    assert!(
        err.contains(&path.display().to_string()),
        "{name}: file not named: {err}"
    );
    for e in expect {
        assert!(err.contains(e), "{name}: `{e}` not in: {err}");
    }
}

const GROUP: &str = "[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"native-ndarray\"]\n";

#[test]
fn unknown_key() {
    rejects(
        "unknown-key.toml",
        &format!("name = \"x\"\nstepz = 3\n{GROUP}"),
        &[":2:", "stepz"],
    );
}

#[test]
fn wrong_type() {
    rejects(
        "wrong-type.toml",
        &format!("name = \"x\"\nsteps = \"ten\"\n{GROUP}"),
        &[":2:", "steps", "integer"],
    );
}

#[test]
fn negative_steps() {
    rejects(
        "negative.toml",
        &format!("name = \"x\"\nsteps = -5\n{GROUP}"),
        &[":2:", "steps", "-5"],
    );
}

#[test]
fn unknown_workload() {
    rejects(
        "unknown-workload.toml",
        "name = \"x\"\n[[group]]\nworkloads = [\"mpl\"]\ntargets = [\"native-ndarray\"]\n",
        &[":3:", "mpl", "mlp"],
    );
}

#[test]
fn empty_file() {
    rejects("empty.toml", "", &["empty"]);
}

#[test]
fn not_toml() {
    rejects("not-toml.toml", "name = \"x\n[[[ nope", &["TOML"]);
}

#[test]
fn unknown_target() {
    rejects(
        "unknown-target.toml",
        "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"safari\"]\n",
        &[":4:", "safari"],
    );
}

#[test]
fn missing_file_and_missing_argument() {
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "/nonexistent/gapbench.toml"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("/nonexistent/gapbench.toml"), "{err}");
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("scenario"));
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--no-such-flag"));
}

/// Run gapbench with `args`: exit code 2, one line on stderr, no panic, `names` (a file or flag)
/// and every `expect` fragment in it.
fn fails_with(what: &str, args: &[&std::ffi::OsStr], names: &str, expect: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{what}: stderr {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{what}: not one line: {err}"
    );
    assert!(err.contains(names), "{what}: `{names}` not named: {err}");
    for e in expect {
        assert!(err.contains(e), "{what}: `{e}` not in: {err}");
    }
}

/// Scenario files that are wrong in one way each.
#[test]
fn scenario_files() {
    let g = GROUP;
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("unclosed-array", "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"\n".into(), vec!["TOML"]),
        ("duplicate-key", format!("name = \"a\"\nname = \"b\"\n{g}"), vec!["TOML"]),
        ("unknown-group-key", format!("name = \"x\"\n{g}stepz = 3\n"), vec![":5:", "stepz"]),
        ("repetitions-string", format!("name = \"x\"\n{g}repetitions = \"3\"\n"), vec!["repetitions", "integer"]),
        ("simd-string", format!("name = \"x\"\n{g}simd = \"yes\"\n"), vec!["simd"]),
        ("workloads-not-array", "name = \"x\"\n[[group]]\nworkloads = \"mlp\"\ntargets = [\"native-ndarray\"]\n".into(), vec![":3:", "workloads", "array"]),
        ("zero-repetitions", format!("name = \"x\"\n{g}repetitions = 0\n"), vec!["repetitions", "0"]),
        ("zero-timeout", format!("name = \"x\"\n{g}timeout_s = 0\n"), vec!["timeout_s"]),
        ("one-class", format!("name = \"x\"\n{g}classes = 1\n"), vec!["classes"]),
        ("huge-steps", format!("name = \"x\"\n{g}steps = 99999999999\n"), vec!["steps"]),
        ("unknown-backend", format!("name = \"x\"\n{g}backends = [\"cuda\"]\n"), vec!["cuda"]),
        ("unknown-context", format!("name = \"x\"\n{g}contexts = [\"iframe\"]\n"), vec!["iframe"]),
        ("unknown-size", format!("name = \"x\"\n{g}sizes = [\"7m\"]\n"), vec!["7m"]),
        ("unknown-meter", format!("name = \"x\"\n{g}meters = [\"joules\"]\n"), vec!["joules"]),
        ("unknown-engine", "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"chrome\"]\n".into(), vec!["chrome"]),
        ("duplicate-workload", "name = \"x\"\n[[group]]\nworkloads = [\"mlp\", \"mlp\"]\ntargets = [\"native-ndarray\"]\n".into(), vec!["duplicate", "mlp"]),
        ("duplicate-target", "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\", \"node\"]\n".into(), vec!["duplicate", "node"]),
        ("missing-name", g.to_string(), vec!["name"]),
        ("missing-group", "name = \"x\"\n".into(), vec!["group"]),
        ("missing-targets", "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\n".into(), vec!["targets"]),
        ("bad-fault", format!("name = \"x\"\n{g}fault = \"boom\"\n"), vec!["fault", "boom"]),
        ("only-comments", "# nothing here\n\n".into(), vec!["empty"]),
    ];
    for (name, text, expect) in cases {
        rejects(&format!("{name}.toml"), &text, &expect);
    }
}

#[test]
fn scenario_not_utf8_or_a_directory() {
    let path = scenario("latin1.toml", "");
    std::fs::write(&path, b"name = \"caf\xe9\"\n").unwrap();
    fails_with(
        "latin1",
        &["run".as_ref(), path.as_os_str()],
        &path.display().to_string(),
        &["UTF-8"],
    );
    let dir = path.parent().unwrap().join("a-directory.toml");
    std::fs::create_dir_all(&dir).unwrap();
    fails_with(
        "directory",
        &["run".as_ref(), dir.as_os_str()],
        &dir.display().to_string(),
        &["cannot read"],
    );
}

/// A small real run directory (native, a few steps), made once and copied for each case.
fn good_run() -> &'static PathBuf {
    static RUN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("gapbench-bad-runs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let s = root.join("tiny.toml");
        std::fs::write(
            &s,
            "name = \"tiny\"\n[[group]]\nworkloads = [\"mlp\"]\nsizes = [\"0.1m\"]\n\
             targets = [\"native-ndarray\"]\nwarmup = 0\nsteps = 3\nrepetitions = 2\n",
        )
        .unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
            .args(["run", "--quiet", "--out"])
            .arg(root.join("out"))
            .arg(&s)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        find_run_dir(&root.join("out")).unwrap()
    })
}

/// A copy of the good run named `name`, with `edit` applied to its records.csv text.
fn broken_run(name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let src = good_run();
    let dir = src.parent().unwrap().parent().unwrap().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["manifest.json", "records.csv", "samples.csv"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(dir.join("records.csv")).unwrap();
    std::fs::write(dir.join("records.csv"), edit(&text)).unwrap();
    dir
}

/// Replace field `col` of data line `line` (1 = first after the header).
fn set_field(text: &str, line: usize, col: &str, value: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let i = header.iter().position(|h| *h == col).unwrap();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(lines[line].as_bytes());
    let mut rec: Vec<String> = rdr
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    rec[i] = value.into();
    let mut w = csv::WriterBuilder::new().from_writer(vec![]);
    w.write_record(&rec).unwrap();
    lines[line] = String::from_utf8(w.into_inner().unwrap())
        .unwrap()
        .trim_end()
        .to_string();
    lines.join("\n") + "\n"
}

/// The line number of the first data line whose metric is not `case` (it has numbers).
fn measured_line(text: &str) -> usize {
    text.lines()
        .position(|l| l.contains(",step_time,"))
        .unwrap()
}

#[test]
fn result_files_for_report_and_compare() {
    let good = good_run().clone();
    let reports = good.parent().unwrap().parent().unwrap().join("reports");
    let report = |dir: &PathBuf, what: &str, names: &str, expect: &[&str]| {
        fails_with(
            what,
            &[
                "report".as_ref(),
                "--out".as_ref(),
                reports.as_os_str(),
                dir.as_os_str(),
            ],
            names,
            expect,
        );
    };
    let compare = |dir: &PathBuf, what: &str, names: &str, expect: &[&str]| {
        fails_with(
            what,
            &["compare".as_ref(), good.as_os_str(), dir.as_os_str()],
            names,
            expect,
        );
    };

    let no_status = broken_run("no-status", |t| {
        t.lines()
            .map(|l| {
                let mut f: Vec<&str> = l.split(',').collect();
                if f.len() > 20 {
                    f.remove(20);
                }
                f.join(",")
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    });
    let csv = no_status.join("records.csv").display().to_string();
    report(
        &no_status,
        "missing column",
        &csv,
        &["missing column", "status"],
    );
    compare(
        &no_status,
        "missing column",
        &csv,
        &["missing column", "status"],
    );

    let nan = broken_run("not-a-number", |t| {
        set_field(t, measured_line(t), "median", "fast")
    });
    let csv = nan.join("records.csv").display().to_string();
    report(&nan, "non-numeric", &csv, &["median", "number", "fast"]);
    compare(&nan, "non-numeric", &csv, &["median", "number", "fast"]);

    let bad_n = broken_run("bad-n", |t| set_field(t, measured_line(t), "n", "-3"));
    report(&bad_n, "negative n", "records.csv", &["`n`", "-3"]);

    let bad_status = broken_run("bad-status", |t| set_field(t, 1, "status", "great"));
    report(
        &bad_status,
        "unknown status",
        "records.csv",
        &["status", "great"],
    );

    let cut_middle = broken_run("cut-middle", |t| {
        let mut lines: Vec<String> = t.lines().map(String::from).collect();
        let l = &mut lines[2];
        l.truncate(l.len() / 2);
        lines.join("\n") + "\n"
    });
    let csv = cut_middle.join("records.csv").display().to_string();
    report(
        &cut_middle,
        "truncated middle line",
        &csv,
        &[":3:", "fields"],
    );
    compare(
        &cut_middle,
        "truncated middle line",
        &csv,
        &[":3:", "fields"],
    );

    let mixed = broken_run("mixed", |t| {
        let last = t.lines().count() - 1;
        set_field(t, last, "run_id", "some-other-run")
    });
    report(
        &mixed,
        "mixed runs",
        "records.csv",
        &["mixed runs", "some-other-run"],
    );
    compare(
        &mixed,
        "mixed runs",
        "records.csv",
        &["mixed runs", "some-other-run"],
    );

    let no_manifest = broken_run("no-manifest", |t| t.to_string());
    std::fs::remove_file(no_manifest.join("manifest.json")).unwrap();
    report(
        &no_manifest,
        "missing manifest",
        "manifest.json",
        &["cannot read"],
    );

    let bad_manifest = broken_run("bad-manifest", |t| t.to_string());
    std::fs::write(bad_manifest.join("manifest.json"), "{\"run_id\": 3").unwrap();
    report(
        &bad_manifest,
        "broken manifest",
        "manifest.json",
        &["manifest"],
    );

    let no_records = broken_run("no-records", |t| t.to_string());
    std::fs::remove_file(no_records.join("records.csv")).unwrap();
    let csv = no_records.join("records.csv").display().to_string();
    report(&no_records, "missing records", &csv, &["cannot read"]);
    compare(&no_records, "missing records", &csv, &["cannot read"]);

    let empty = broken_run("empty-records", |_| String::new());
    report(&empty, "empty records", "records.csv", &["empty"]);

    let missing = good.parent().unwrap().join("no-such-run");
    let m = missing.display().to_string();
    report(&missing, "no such run", &m, &["not a run directory"]);
    compare(&missing, "no such run", &m, &["not a run directory"]);
}

#[test]
fn command_line_flags() {
    let s = |v: &'static str| std::ffi::OsStr::new(v);
    let good = good_run().clone();
    let g = good.as_os_str();
    fails_with("unknown flag", &[s("run"), s("--fast")], "--fast", &[]);
    fails_with(
        "threshold abc",
        &[s("compare"), s("--threshold"), s("abc"), g, g],
        "--threshold",
        &["abc", "fraction"],
    );
    fails_with(
        "threshold 5",
        &[s("compare"), s("--threshold"), s("5"), g, g],
        "--threshold",
        &["5", "[0, 1)"],
    );
    fails_with(
        "history threshold",
        &[s("history"), s("--threshold"), s("-1")],
        "-1",
        &[],
    );
    fails_with("compare one run", &[s("compare"), g], "<CANDIDATE>", &[]);
    fails_with("report nothing", &[s("report")], "<RUNS>", &[]);
    fails_with(
        "format",
        &[s("compare"), s("--format"), s("xml"), g, g],
        "--format",
        &["xml"],
    );
    fails_with("unknown command", &[s("bench")], "bench", &[]);
    fails_with(
        "resume nowhere",
        &[s("run"), s("--resume"), s("/nonexistent/gapbench-run")],
        "/nonexistent/gapbench-run",
        &["manifest.json"],
    );
    let scenario = scenario("both.toml", &format!("name = \"x\"\n{GROUP}"));
    fails_with(
        "scenario and resume",
        &[s("run"), s("--resume"), g, scenario.as_os_str()],
        "--resume",
        &["not both"],
    );
    fails_with("out without value", &[s("run"), s("--out")], "--out", &[]);
}

/// A records.csv whose last line was cut mid-way (power loss) is read with a warning naming the
/// file and line, and that line is dropped; everything before it is kept.
#[test]
fn cut_short_last_line_is_dropped_with_a_warning() {
    let good = good_run().clone();
    let (all, warnings) = harness::record::read_records(&good.join("records.csv")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(all.len() >= 3);
    let cut = broken_run("cut-last", |t| {
        let body = t.trim_end_matches('\n');
        let last_start = body.rfind('\n').unwrap() + 1;
        let keep = last_start + (body.len() - last_start) / 3;
        body[..keep].to_string()
    });
    let csv = cut.join("records.csv");
    let (rows, warnings) = harness::record::read_records(&csv).unwrap();
    assert_eq!(rows.len(), all.len() - 1);
    assert_eq!(rows[..], all[..all.len() - 1]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&csv.display().to_string()),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("incomplete"), "{warnings:?}");
    // The report still works, and says so.
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["report", "--out"])
        .arg(cut.parent().unwrap().join("reports"))
        .arg(&cut)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning:") && err.contains("incomplete"),
        "{err}"
    );
}
