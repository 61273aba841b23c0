//! Bad input gets one clear line naming the file (or flag), what was expected, and exit code 2.

mod common;

use common::find_run_dir;
use std::path::{Path, PathBuf};
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
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    rejects(
        "unknown-key.toml",
        &format!("name = \"x\"\nstepz = 3\n{GROUP}"),
        &[":2:", "stepz"],
    );
}

#[test]
fn wrong_type() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    rejects(
        "wrong-type.toml",
        &format!("name = \"x\"\nsteps = \"ten\"\n{GROUP}"),
        &[":2:", "steps", "integer"],
    );
}

#[test]
fn negative_steps() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    rejects(
        "negative.toml",
        &format!("name = \"x\"\nsteps = -5\n{GROUP}"),
        &[":2:", "steps", "-5"],
    );
}

#[test]
fn unknown_workload() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    rejects(
        "unknown-workload.toml",
        "name = \"x\"\n[[group]]\nworkloads = [\"mpl\"]\ntargets = [\"native-ndarray\"]\n",
        &[":3:", "mpl", "mlp"],
    );
}

#[test]
fn empty_file() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    rejects("empty.toml", "", &["empty"]);
}

#[test]
fn not_toml() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    rejects("not-toml.toml", "name = \"x\n[[[ nope", &["TOML"]);
}

#[test]
fn unknown_target() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    rejects(
        "unknown-target.toml",
        "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"safari\"]\n",
        &[":4:", "safari"],
    );
}

#[test]
fn missing_file_and_missing_argument() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
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
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
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
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
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
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
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
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
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
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
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

/// Run gapbench with `args`: (exit code, stderr, wall time, peak RSS in bytes of that very
/// process, from wait4(2)).
// The child is reaped by wait4(2) below, which std does not know of.
#[allow(clippy::zombie_processes)]
fn measured(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, std::time::Duration, u64) {
    use std::io::Read;
    let t = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain system call on our own child, with valid pointers; `child` is not waited
    // for by std afterwards (dropping a Child does not wait).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let took = t.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, err, took, usage.ru_maxrss as u64 * 1024)
}

/// A scenario too large to plan is refused with exit 2, one line naming the file, the line and
/// the field, in well under a second and without the memory a plan of that size would take.
/// (The peak RSS wait4 reports is an upper bound: a spawned child starts from its parent's
/// memory, so it includes this test process's own at the spawn, ~20 MiB.)
fn refuses_fast(name: &str, text: &str, expect: &[&str]) {
    refuses_fast_file(name, &scenario(name, text), expect);
}

fn refuses_fast_file(name: &str, path: &Path, expect: &[&str]) {
    let out = std::env::temp_dir().join(format!("gapbench-bad-huge-{}", std::process::id()));
    let (code, err, took, rss) = measured(&[
        "run".as_ref(),
        "--quiet".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        path.as_os_str(),
    ]);
    println!("{name}: {took:?}, peak RSS {} MiB: {err}", rss >> 20);
    let path = path.to_path_buf();
    assert_eq!(code, Some(2), "{name}: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{name}: {err}");
    assert!(err.contains(&path.display().to_string()), "{name}: {err}");
    for e in expect {
        assert!(err.contains(e), "{name}: `{e}` not in: {err}");
    }
    assert!(took < std::time::Duration::from_secs(1), "{name}: {took:?}");
    assert!(rss < 300 << 20, "{name}: peak RSS {} MiB", rss >> 20);
    assert!(!out.exists(), "{name}: a run directory was made");
}

/// 15 workload sizes x 40 target variants x 10,000 repetitions = 6M cases a group; 200 such
/// groups plan 1.2 billion.
const HUGE_GROUP: &str = "[[group]]\nworkloads = [\"mlp\", \"cnn\", \"tm-image\", \"tm-audio\", \"tm-pose\"]\n\
    sizes = [\"all\"]\ntargets = [\"node\", \"chromium\", \"firefox\", \"webkit\"]\n\
    backends = [\"ndarray\", \"flex\"]\nsimd = [true, false]\ncontexts = [\"main\", \"main-frame\", \"worker\"]\n\
    repetitions = 10000\n";

#[test]
fn a_billion_cases_are_refused_at_once_naming_the_field() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    refuses_fast(
        "billion-repetitions.toml",
        &format!("name = \"x\"\n{GROUP}repetitions = 1000000000\n"),
        &[
            ":5:",
            "`repetitions` in [[group]] 1",
            "the maximum is 10000",
        ],
    );
    let text = format!("name = \"huge\"\n{}", HUGE_GROUP.repeat(200));
    refuses_fast(
        "billion-cases.toml",
        &text,
        &[
            ":9:",
            "`repetitions` in [[group]] 1",
            "the scenario would plan",
            "the most a scenario may plan is 100000",
        ],
    );
    // A ceiling search as large: every cell counts its most trials.
    let search = HUGE_GROUP
        .replace(
            "\"mlp\", \"cnn\", \"tm-image\", \"tm-audio\", \"tm-pose\"",
            "\"mlp\"",
        )
        .replace("[[group]]\n", "[[group]]\nsearch = \"model\"\n");
    refuses_fast(
        "billion-search.toml",
        &format!("name = \"s\"\n{}", search.repeat(200)),
        &[
            ":10:",
            "`repetitions` in [[group]] 1",
            "trials of a search",
            "100000",
        ],
    );
    // Many groups that fit one by one but not together.
    let group =
        "[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"native-ndarray\"]\nrepetitions = 10000\n";
    refuses_fast(
        "many-groups.toml",
        &format!("name = \"m\"\n{}", group.repeat(1000)),
        &[":45:", "[[group]] 11", "plus 100000 before this group"],
    );
    // A file far larger than any scenario is not even read whole.
    let big = scenario("50-mib.toml", &format!("name = \"b\"\n{GROUP}"));
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&big).unwrap();
        let line = format!("# {}\n", "x".repeat(1 << 16));
        for _ in 0..800 {
            f.write_all(line.as_bytes()).unwrap();
        }
    }
    refuses_fast_file("50-mib.toml", &big, &["larger than 1024 KiB"]);
}

#[test]
fn timeouts_that_would_overflow_are_refused() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    for v in ["18446744073709551615", "9223372036854775807", "604801"] {
        rejects(
            "huge-timeout.toml",
            &format!("name = \"x\"\ntimeout_s = {v}\n{GROUP}"),
            &[":2:", "`timeout_s`", "the maximum is 604800"],
        );
        rejects(
            "huge-timeout-group.toml",
            &format!("name = \"x\"\n{GROUP}timeout_s = {v}\n"),
            &[":5:", "`timeout_s` in [[group]] 1", "the maximum is 604800"],
        );
    }
}

#[test]
fn names_that_leave_results_are_refused() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    let out = std::env::temp_dir().join(format!("gapbench-bad-names-{}", std::process::id()));
    for bad in ["../../x", "/abs", "a/b", "..", ".hidden", ""] {
        let path = scenario("bad-name.toml", &format!("name = {bad:?}\n{GROUP}"));
        let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
            .args(["run", "--quiet", "--out"])
            .arg(&out)
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{bad}: {err}");
        assert!(
            err.contains(&format!("{}:1:", path.display())),
            "{bad}: {err}"
        );
        assert!(err.contains("`name`"), "{bad}: {err}");
        assert!(!out.exists(), "{bad}: a run started");
    }
    assert!(!Path::new("/abs").exists());
}

#[test]
fn a_case_planned_twice_is_an_error_naming_the_later_group() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    rejects(
        "repeated-case.toml",
        &format!("name = \"x\"\n{GROUP}warmup = 1\n\n{GROUP}steps = 5\n{GROUP}warmup = 1\n"),
        &[
            ":11:",
            "[[group]] 3 plans case `mlp/1m/native-ndarray/ndarray/main/w1-s20-seed42/r1` again, already planned by [[group]] 1 (line 2)",
        ],
    );
    rejects(
        "repeated-search.toml",
        "name = \"x\"\n[[group]]\nsearch = \"samples\"\nworkloads = [\"tm-image\"]\ntargets = [\"node\"]\n\
         [[group]]\nsearch = \"samples\"\nworkloads = [\"tm-image\"]\ntargets = [\"node\"]\n",
        &[":6:", "[[group]] 2 plans the search", "again"],
    );
    // Settings that change what is measured make other cases: every one is planned.
    let path = scenario(
        "distinct.toml",
        &format!(
            "name = \"x\"\n{GROUP}\n{GROUP}steps = 5\n{GROUP}warmup = 0\n{GROUP}classes = 4\n{GROUP}samples_per_class = 9\n{GROUP}epochs = 2\n{GROUP}fault = \"panic\"\n"
        ),
    );
    let catalog = harness::catalog::BuildCatalog;
    let cases = harness::plan::expand(&harness::scenario::load(&path, &catalog).unwrap(), &catalog)
        .unwrap();
    let ids: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 7, "{ids:?}");
    let mut seeded = harness::scenario::load(&path, &catalog).unwrap();
    seeded.seed = 7;
    let other = harness::plan::expand(&seeded, &catalog).unwrap();
    assert!(
        other.iter().all(|c| !ids.contains(c.id.as_str())),
        "the seed is in the id"
    );
}

/// Every scenario shipped in scenarios/ plans without a repeated case and within the bounds.
#[test]
fn shipped_scenarios_plan() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    let catalog = harness::catalog::BuildCatalog;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "toml") {
            let s = harness::scenario::load(&p, &catalog).unwrap_or_else(|e| panic!("{e}"));
            harness::plan::expand(&s, &catalog).unwrap_or_else(|e| panic!("{e}"));
            harness::ceiling::cells(&s, &catalog).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 10, "{n} scenarios");
}

/// `--resume` plans from the run's copy of its scenario, and refuses (exit 2) when the original
/// file or the copy changed since the run started, unless `--force`.
#[test]
fn resume_refuses_a_changed_scenario_unless_forced() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    let root = std::env::temp_dir().join(format!("gapbench-bad-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let s = root.join("tiny.toml");
    let text = "name = \"tiny\"\n[[group]]\nworkloads = [\"mlp\"]\nsizes = [\"0.1m\"]\n\
                targets = [\"native-ndarray\"]\nwarmup = 0\nsteps = 1\nrepetitions = 2\n";
    std::fs::write(&s, text).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(root.join("out"))
        .arg(&s)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = find_run_dir(&root.join("out")).unwrap();
    let copy = run.join("scenario.toml");
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), text);
    let m = harness::manifest::Manifest::read(&run).unwrap();
    assert_eq!(
        m.scenario_sha256,
        harness::manifest::sha256_hex(text.as_bytes())
    );
    assert!(
        Path::new(&m.scenario_path).is_absolute(),
        "{}",
        m.scenario_path
    );
    let records = std::fs::read(run.join("records.csv")).unwrap();

    let resume = |force: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gapbench"));
        c.args(["run", "--quiet", "--resume"]).arg(&run);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    // The original changed: refused, naming it and the way out.
    std::fs::write(&s, text.replace("steps = 1", "steps = 2")).unwrap();
    let o = resume(false);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&s.display().to_string()), "{err}");
    assert!(
        err.contains("changed since run") && err.contains("--force"),
        "{err}"
    );
    // Forced: the copy (steps = 1) is what runs, so both cases are done already.
    let o = resume(true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("2 case(s) already recorded"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(std::fs::read(run.join("records.csv")).unwrap(), records);
    // The original gone: the copy runs.
    std::fs::remove_file(&s).unwrap();
    let o = resume(false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The copy edited: refused, naming the copy.
    std::fs::write(&copy, text.replace("repetitions = 2", "repetitions = 3")).unwrap();
    let o = resume(false);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&copy.display().to_string()) && err.contains("edited"),
        "{err}"
    );
    // --force without --resume is a usage error.
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--force"])
        .arg(root.join("x.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    let _ = std::fs::remove_dir_all(&root);
}

/// Resuming reads the run's files as streams: a records.csv of 96 MiB does not take 96 MiB, and
/// a manifest.json far larger than any manifest is refused unread.
#[test]
fn resume_streams_its_files() {
    // Peak RSS is measured here (wait4, which counts the memory of this process at a spawn):
    // no test of this file runs beside another.
    let _one = common::exclusive();
    use std::io::Write;
    let root = std::env::temp_dir().join(format!("gapbench-bad-stream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let s = root.join("tiny.toml");
    std::fs::write(
        &s,
        "name = \"tiny\"\n[[group]]\nworkloads = [\"mlp\"]\nsizes = [\"0.1m\"]\n\
         targets = [\"native-ndarray\"]\nwarmup = 0\nsteps = 1\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(root.join("out"))
        .arg(&s)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = find_run_dir(&root.join("out")).unwrap();
    // The finished case's rows again and again (a reader takes repeats; resume runs nothing).
    let text = std::fs::read_to_string(run.join("records.csv")).unwrap();
    let rows = text.split_once('\n').unwrap().1.to_string();
    {
        let mut f = std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .append(true)
                .open(run.join("records.csv"))
                .unwrap(),
        );
        let mut written = text.len();
        while written < 96 << 20 {
            f.write_all(rows.as_bytes()).unwrap();
            written += rows.len();
        }
    }
    let (code, err, took, rss) = measured(&[
        "run".as_ref(),
        "--quiet".as_ref(),
        "--resume".as_ref(),
        run.as_os_str(),
    ]);
    println!(
        "resume over 96 MiB of records: {took:?}, peak RSS {} MiB",
        rss >> 20
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(rss < 64 << 20, "peak RSS {} MiB", rss >> 20);

    let m = run.join("manifest.json");
    let mut f = std::fs::OpenOptions::new().append(true).open(&m).unwrap();
    let pad = vec![b' '; 1 << 20];
    for _ in 0..20 {
        f.write_all(&pad).unwrap();
    }
    drop(f);
    let (code, err, took, rss) = measured(&[
        "run".as_ref(),
        "--quiet".as_ref(),
        "--resume".as_ref(),
        run.as_os_str(),
    ]);
    println!(
        "20 MiB manifest: {took:?}, peak RSS {} MiB: {err}",
        rss >> 20
    );
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&m.display().to_string()), "{err}");
    assert!(err.contains("larger than 16 MiB"), "{err}");
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    assert!(rss < 64 << 20, "peak RSS {} MiB", rss >> 20);
    let _ = std::fs::remove_dir_all(&root);
}
