//! Property tests over the two parsers that read user files: the scenario parser and the
//! records reader. Whatever the input (arbitrary text, or a valid file with a few bytes changed),
//! they never panic, and an error is one line that names the file.

use harness::catalog::BuildCatalog;
use harness::record::{COLUMNS, read_records};
use harness::scenario;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

const VALID_SCENARIO: &str = r#"name = "prop"
description = "a valid file to mutate"
seed = 3
repetitions = 2
shuffle = false

[[group]]
workloads = ["mlp", "cnn"]
sizes = ["smallest", "default"]
targets = ["native-ndarray", "node", "chromium"]
contexts = ["main", "worker"]
simd = [true, false]
backends = ["ndarray"]
warmup = 1
steps = 5
timeout_s = 60
meters = ["throughput"]
fault = "hang"
"#;

/// Two measured rows of one case and its outcome row, as gapbench writes them.
fn valid_records() -> String {
    let header = COLUMNS.join(",");
    let row = |metric: &str, n: u32, median: &str| {
        format!(
            "run-1,mlp/0.1m/node/ndarray-simd/main/r1,mlp,0.1m,102250,64,node,main,node,22.1,\
             {metric},ms,{n},{median},{median},{median},{median},0,{median},{median},ok,,ndarray,\
             simd,cpu,1,28651520,true,0,0,local,,,"
        )
    };
    format!(
        "{header}\n{}\n{}\n{}\n",
        row("case", 0, ""),
        row("step_time", 5, "12.5"),
        row("throughput", 5, "5120")
    )
}

/// A mutation of `text`: bytes replaced, inserted or removed at a few places.
fn mutated(text: &'static str) -> impl Strategy<Value = String> {
    let len = text.len();
    proptest::collection::vec((0..=len, 0u8..3, any::<char>()), 1..6).prop_map(move |edits| {
        let mut s: Vec<char> = text.chars().collect();
        for (at, kind, c) in edits {
            let at = at.min(s.len());
            match kind {
                0 if at < s.len() => s[at] = c,
                1 => s.insert(at, c),
                _ if at < s.len() => {
                    s.remove(at);
                }
                _ => s.push(c),
            }
        }
        s.into_iter().collect()
    })
}

fn check_scenario(text: &str) {
    let path = Path::new("prop/scenario.toml");
    if let Err(e) = scenario::parse(text, path, &BuildCatalog) {
        let line = e.to_string();
        assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
        assert!(line.starts_with("prop/scenario.toml"), "{line:?}");
    }
}

fn temp_file(text: &[u8]) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!("gapbench-prop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("records-{}.csv", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&p, text).unwrap();
    p
}

fn check_records(bytes: &[u8]) {
    let path = temp_file(bytes);
    let name = path.display().to_string();
    match read_records(&path) {
        Err(e) => {
            let line = e.to_string();
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
            assert!(line.starts_with(&name), "{line:?}");
        }
        Ok((_, warnings)) => {
            for w in warnings {
                assert!(!w.contains('\n'), "{w:?}");
                assert!(w.contains(&name), "{w:?}");
            }
        }
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn the_valid_inputs_are_valid() {
    assert!(scenario::parse(VALID_SCENARIO, Path::new("v.toml"), &BuildCatalog).is_ok());
    let path = temp_file(valid_records().as_bytes());
    let (rows, warnings) = read_records(&path).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(warnings.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn scenario_parser_survives_any_text(text in any::<String>()) {
        check_scenario(&text);
    }

    #[test]
    fn scenario_parser_survives_toml_like_text(
        text in r#"(\[\[group\]\]\n|[a-z_]{1,12} = ("[a-z0-9.:]{0,8}"|-?[0-9]{1,22}|true|\[("[a-z0-9-]{0,10}", ?){0,3}\]|\{[^}]{0,10}\})\n){0,12}"#
    ) {
        check_scenario(&text);
    }

    #[test]
    fn scenario_parser_survives_mutated_valid_files(text in mutated(VALID_SCENARIO)) {
        check_scenario(&text);
    }

    #[test]
    fn records_reader_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_records(&bytes);
    }

    #[test]
    fn records_reader_survives_mutated_valid_files(
        text in mutated(Box::leak(valid_records().into_boxed_str()))
    ) {
        check_records(text.as_bytes());
    }

    #[test]
    fn records_reader_survives_cuts(cut in 0usize..2000) {
        let text = valid_records();
        let cut = cut.min(text.len());
        check_records(&text.as_bytes()[..cut]);
    }
}
