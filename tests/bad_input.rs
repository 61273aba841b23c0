//! Bad input gets one clear line naming the file (or flag), what was expected, and exit code 2.

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
