use super::*;

struct TestCatalog;

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

impl Catalog for TestCatalog {
    fn workloads(&self) -> Vec<String> {
        owned(&["tm-image", "mlp"])
    }
    fn sizes(&self, workload: &str) -> Vec<String> {
        match workload {
            "tm-image" => owned(&["default"]),
            "mlp" => owned(&["0.1m", "1m", "10m", "100m"]),
            _ => Vec::new(),
        }
    }
    fn default_size(&self, workload: &str) -> String {
        match workload {
            "mlp" => "1m".to_string(),
            _ => "default".to_string(),
        }
    }
    fn targets(&self) -> Vec<String> {
        owned(&[
            "native-ndarray",
            "native-flex",
            "native-wgpu",
            "node",
            "chromium",
            "firefox",
            "webkit",
        ])
    }
    fn backends(&self) -> Vec<String> {
        owned(&["ndarray", "flex", "webgpu"])
    }
    fn meters(&self) -> Vec<String> {
        owned(&["throughput", "memory"])
    }
}

const PATH: &str = "scenarios/x.toml";

const VALID: &str = r#"name = "native-smoke"
description = "smoke test"
seed = 7
repetitions = 2
warmup = 1
steps = 5
timeout_s = 300
shuffle = false

[[group]]
workloads = ["tm-image", "mlp"]
sizes = ["smallest"]
targets = ["native-ndarray"]

[[group]]
workloads = ["mlp"]
sizes = ["1m", "largest", "all"]
targets = ["node", "chromium"]
contexts = ["main", "worker"]
simd = [true, false]
backends = ["ndarray", "webgpu"]
epochs = 50
steps = 10
warmup = 0
repetitions = 3
timeout_s = 60
meters = ["throughput", "memory"]
classes = 3
samples_per_class = 300
"#;

const MINIMAL: &str = "name = \"m\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n";

fn ok(text: &str) -> Scenario {
    match parse(text, Path::new(PATH), &TestCatalog) {
        Ok(s) => s,
        Err(e) => panic!("expected a valid scenario, got: {e}"),
    }
}

fn err(text: &str) -> ScenarioError {
    match parse(text, Path::new(PATH), &TestCatalog) {
        Ok(s) => panic!("expected an error, parsed: {s:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's line, key and a message fragment; returns it for more checks.
fn expect(text: &str, line: Option<usize>, key: Option<&str>, fragment: &str) -> ScenarioError {
    let e = err(text);
    assert_eq!(e.line, line, "line of: {e}");
    assert_eq!(e.key.as_deref(), key, "key of: {e}");
    assert!(e.message.contains(fragment), "`{fragment}` not in: {e}");
    assert_eq!(e.file, Path::new(PATH));
    assert!(!e.to_string().contains('\n'), "not one line: {e:?}");
    e
}

/// MINIMAL with `extra` lines appended inside its [[group]] (which starts on line 2).
fn in_group(extra: &str) -> String {
    format!("{MINIMAL}{extra}\n")
}

#[test]
fn valid_file_applies_overrides() {
    let s = ok(VALID);
    assert_eq!(s.path, Path::new(PATH));
    assert_eq!(s.name, "native-smoke");
    assert_eq!(s.description.as_deref(), Some("smoke test"));
    assert_eq!(s.seed, 7);
    assert!(!s.shuffle);
    assert_eq!(s.groups.len(), 2);

    let g = &s.groups[0];
    assert_eq!(g.line, 10);
    assert_eq!(g.workloads, ["tm-image", "mlp"]);
    assert_eq!(g.sizes, ["smallest"]);
    assert_eq!(g.targets, ["native-ndarray"]);
    assert_eq!(g.contexts, ["main"]);
    assert_eq!(g.simd, [Simd::On]);
    assert_eq!(g.backends, ["ndarray"]);
    assert_eq!(g.meters, ["throughput"]);
    assert_eq!(
        (g.warmup, g.steps, g.repetitions, g.timeout_s),
        (1, 5, 2, 300)
    );
    assert_eq!(
        (g.epochs, g.classes, g.samples_per_class),
        (None, None, None)
    );

    let g = &s.groups[1];
    assert_eq!(g.line, 15);
    assert_eq!(g.workloads, ["mlp"]);
    assert_eq!(g.sizes, ["1m", "largest", "all"]);
    assert_eq!(g.targets, ["node", "chromium"]);
    assert_eq!(g.contexts, ["main", "worker"]);
    assert_eq!(g.simd, [Simd::On, Simd::Off]);
    assert_eq!(g.backends, ["ndarray", "webgpu"]);
    assert_eq!(g.meters, ["throughput", "memory"]);
    assert_eq!(
        (g.warmup, g.steps, g.repetitions, g.timeout_s),
        (0, 10, 3, 60)
    );
    assert_eq!(
        (g.epochs, g.classes, g.samples_per_class),
        (Some(50), Some(3), Some(300))
    );
}

#[test]
fn minimal_file_gets_defaults() {
    let s = ok(MINIMAL);
    assert_eq!(s.name, "m");
    assert_eq!(s.description, None);
    assert_eq!(s.seed, DEFAULT_SEED);
    assert!(s.shuffle);
    let g = &s.groups[0];
    assert_eq!(g.line, 2);
    assert_eq!(g.sizes, ["default"]);
    assert_eq!(g.contexts, ["main"]);
    assert_eq!(g.simd, [Simd::On]);
    assert_eq!(g.backends, ["ndarray"]);
    assert_eq!(g.meters, ["throughput"]);
    assert_eq!(
        (g.warmup, g.steps, g.repetitions, g.timeout_s),
        (
            DEFAULT_WARMUP,
            DEFAULT_STEPS,
            DEFAULT_REPETITIONS,
            DEFAULT_TIMEOUT_S
        )
    );
    assert_eq!(
        (s.seed, g.warmup, g.steps, g.repetitions, g.timeout_s),
        (42, 3, 20, 1, 600)
    );
}

#[test]
fn inline_group_array_and_any_key_order() {
    let text =
        "group = [{ targets = [\"webkit\"], workloads = [\"tm-image\"] }]\nname = \"late\"\n";
    let s = ok(text);
    assert_eq!(s.name, "late");
    assert_eq!(s.groups[0].line, 1);
    assert_eq!(s.groups[0].targets, ["webkit"]);
}

#[test]
fn sizes_resolve_per_workload() {
    let s = ok(VALID);
    let cat = TestCatalog;
    assert_eq!(s.groups[0].sizes_for("tm-image", &cat), ["default"]);
    assert_eq!(s.groups[0].sizes_for("mlp", &cat), ["0.1m"]);
    assert_eq!(
        s.groups[1].sizes_for("mlp", &cat),
        ["1m", "100m", "0.1m", "10m"]
    );
    let s = ok(MINIMAL);
    assert_eq!(s.groups[0].sizes_for("mlp", &cat), ["1m"]);
    let s = ok(&in_group(
        "sizes = [\"largest\", \"default\", \"smallest\"]",
    ));
    assert_eq!(s.groups[0].sizes_for("mlp", &cat), ["100m", "1m", "0.1m"]);
    assert_eq!(s.groups[0].sizes_for("unknown", &cat), ["default"]);
}

/// The file parses; the plan then refuses the repeated cases (plan.rs, tests/bad_input.rs).
#[test]
fn duplicate_groups_are_fine() {
    let text = format!("{MINIMAL}[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n");
    let s = ok(&text);
    assert_eq!(s.groups.len(), 2);
    assert_eq!(s.groups[0].workloads, s.groups[1].workloads);
    assert_eq!(s.groups[1].line, 5);
}

#[test]
fn display_is_one_line_with_position() {
    let e =
        err("name = \"x\"\n\nsteps = -5\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n");
    assert_eq!(
        e.to_string(),
        "scenarios/x.toml:3:9: `steps` must be an integer >= 1, found -5"
    );
    assert_eq!(
        (e.line, e.column, e.key.as_deref()),
        (Some(3), Some(9), Some("steps"))
    );
    let e = err("");
    assert_eq!(
        e.to_string(),
        "scenarios/x.toml: file is empty (expected at least `name` and one [[group]])"
    );
    let e: Box<dyn std::error::Error> = Box::new(e);
    assert!(e.to_string().starts_with("scenarios/x.toml: "));
}

#[test]
fn not_toml() {
    let e = expect(
        "name = \"x\"\n[[group]\nworkloads = []\n",
        Some(2),
        None,
        "not valid TOML: ",
    );
    assert!(e.column.is_some());
    assert!(e.to_string().starts_with("scenarios/x.toml:2:"), "{e}");
    expect(
        "name = \"x\"\nname = \"y\"\n",
        Some(2),
        None,
        "not valid TOML: duplicate key",
    );
    expect("name = \"unterminated\n", Some(1), None, "not valid TOML");
}

#[test]
fn empty_file() {
    for text in ["", "   \n\t\n", "# only a comment\n\n# another\n"] {
        let e = expect(
            text,
            None,
            None,
            "file is empty (expected at least `name` and one [[group]])",
        );
        assert_eq!(e.column, None);
    }
}

#[test]
fn missing_name() {
    expect(
        "[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n",
        None,
        Some("name"),
        "missing required key `name`",
    );
    expect(
        &MINIMAL.replace("\"m\"", "\"  \""),
        Some(1),
        Some("name"),
        "`name` must be a non-empty string",
    );
}

#[test]
fn missing_group() {
    expect(
        "name = \"x\"\nseed = 1\n",
        None,
        Some("group"),
        "no [[group]] tables",
    );
    expect(
        "name = \"x\"\ngroup = []\n",
        Some(2),
        Some("group"),
        "no [[group]] tables",
    );
    expect(
        "name = \"x\"\n[group]\nworkloads = [\"mlp\"]\n",
        Some(2),
        Some("group"),
        "`group` must be an array of tables ([[group]]), found a table",
    );
    expect(
        "name = \"x\"\ngroup = [1]\n",
        Some(2),
        Some("group"),
        "`group` entries must be tables",
    );
}

#[test]
fn missing_group_keys_point_at_the_header() {
    let text = "name = \"x\"\n\n[[group]]\ntargets = [\"node\"]\n";
    expect(
        text,
        Some(3),
        Some("workloads"),
        "[[group]] 1 is missing required key `workloads`",
    );
    let text = format!("{MINIMAL}\n[[group]]\nworkloads = [\"mlp\"]\n");
    expect(
        &text,
        Some(6),
        Some("targets"),
        "[[group]] 2 is missing required key `targets`",
    );
}

#[test]
fn unknown_top_level_key() {
    let e = expect(
        "name = \"x\"\nstepz = 3\n",
        Some(2),
        Some("stepz"),
        "unknown key `stepz` at the top level: did you mean `steps`? (expected one of: name, description,",
    );
    assert_eq!(e.column, Some(1));
    expect(
        "name = \"x\"\nworkloads = [\"mlp\"]\n",
        Some(2),
        Some("workloads"),
        "is a [[group]] key",
    );
    expect(
        "name = \"x\"\n[tool.extra]\nx = 1\n",
        Some(2),
        Some("tool"),
        "unknown key `tool`",
    );
}

#[test]
fn unknown_group_key() {
    let text =
        "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n\n  stepz = 3\n";
    let e = expect(
        text,
        Some(6),
        Some("stepz"),
        "unknown key `stepz` in [[group]] 1: did you mean `steps`? (expected one of: workloads, sizes, targets,",
    );
    assert_eq!(e.column, Some(3));
    expect(
        &in_group("seed = 1"),
        Some(5),
        Some("seed"),
        "`seed` is a top-level key, not allowed in [[group]] 1",
    );
    expect(
        &in_group("[group.sub]\nx = 1"),
        Some(5),
        Some("sub"),
        "unknown key `sub` in [[group]] 1",
    );
}

#[test]
fn wrong_types() {
    expect(
        "name = \"x\"\nsteps = \"ten\"\n",
        Some(2),
        Some("steps"),
        "`steps` must be an integer >= 1, found string \"ten\"",
    );
    expect(
        &in_group("steps = 2.5"),
        Some(5),
        Some("steps"),
        "`steps` in [[group]] 1 must be an integer >= 1, found float 2.5",
    );
    expect(
        "name = \"x\"\n[[group]]\nworkloads = \"mlp\"\ntargets = [\"node\"]\n",
        Some(3),
        Some("workloads"),
        "`workloads` in [[group]] 1 must be an array of strings, found string \"mlp\" (write `workloads = [\"mlp\"]`)",
    );
    let e = expect(
        &in_group("simd = [true, \"yes\"]"),
        Some(5),
        Some("simd"),
        "`simd` in [[group]] 1 must be an array of booleans (true/false), \"relaxed\" or \"memory64\", found string \"yes\" at index 1",
    );
    assert_eq!(e.column, Some(15));
    expect(
        &in_group("simd = true"),
        Some(5),
        Some("simd"),
        "(write `simd = [true]`)",
    );
    expect(
        "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\", 3]\n",
        Some(4),
        Some("targets"),
        "found integer 3 at index 1",
    );
    expect(
        "name = 5\n",
        Some(1),
        Some("name"),
        "`name` must be a string, found integer 5",
    );
    expect(
        "name = \"x\"\nshuffle = \"yes\"\n",
        Some(2),
        Some("shuffle"),
        "`shuffle` must be a boolean",
    );
    expect(
        "name = \"x\"\ndescription = []\n",
        Some(2),
        Some("description"),
        "found an empty array",
    );
    expect(
        "name = \"x\"\nseed = 1979-05-27\n",
        Some(2),
        Some("seed"),
        "found datetime 1979-05-27",
    );
    expect(
        &in_group("contexts = []"),
        Some(5),
        Some("contexts"),
        "must be a non-empty array of strings",
    );
}

#[test]
fn negative_and_zero_counts() {
    let e = expect(
        "name = \"x\"\nsteps = -5\n",
        Some(2),
        Some("steps"),
        "`steps` must be an integer >= 1, found -5",
    );
    assert_eq!(e.column, Some(9));
    expect(
        "name = \"x\"\nsteps = 0\n",
        Some(2),
        Some("steps"),
        "`steps` must be an integer >= 1, found 0",
    );
    expect(
        &in_group("steps = 0"),
        Some(5),
        Some("steps"),
        "`steps` in [[group]] 1 must be an integer >= 1, found 0",
    );
    expect(
        "name = \"x\"\nrepetitions = 0\n",
        Some(2),
        Some("repetitions"),
        "`repetitions` must be an integer >= 1, found 0",
    );
    expect(
        &in_group("repetitions = 0"),
        Some(5),
        Some("repetitions"),
        "must be an integer >= 1, found 0",
    );
    expect(
        "name = \"x\"\ntimeout_s = 0\n",
        Some(2),
        Some("timeout_s"),
        "`timeout_s` must be an integer >= 1, found 0",
    );
    expect(
        &in_group("timeout_s = 0"),
        Some(5),
        Some("timeout_s"),
        "must be an integer >= 1, found 0",
    );
    expect(
        "name = \"x\"\nwarmup = -1\n",
        Some(2),
        Some("warmup"),
        "`warmup` must be an integer >= 0, found -1",
    );
    expect(
        &in_group("epochs = 0"),
        Some(5),
        Some("epochs"),
        "must be an integer >= 1, found 0",
    );
    expect(
        &in_group("classes = 1"),
        Some(5),
        Some("classes"),
        "must be an integer >= 2, found 1",
    );
    expect(
        &in_group("samples_per_class = 0"),
        Some(5),
        Some("samples_per_class"),
        ">= 1, found 0",
    );
    expect(
        "name = \"x\"\nseed = -1\n",
        Some(2),
        Some("seed"),
        "`seed` must be an integer >= 0, found -1",
    );
    // Zero warm-up is allowed.
    assert_eq!(ok(&in_group("warmup = 0")).groups[0].warmup, 0);
}

#[test]
fn max_extra_warmup_defaults_is_inherited_and_validated() {
    let g = &ok(MINIMAL).groups[0];
    assert_eq!(g.max_extra_warmup, DEFAULT_MAX_EXTRA_WARMUP);
    // a top-level default, a group's own value, and 0 (off)
    let s = ok(&format!("max_extra_warmup = 50\n{MINIMAL}"));
    assert_eq!(s.groups[0].max_extra_warmup, 50);
    assert_eq!(
        ok(&in_group("max_extra_warmup = 0")).groups[0].max_extra_warmup,
        0
    );
    expect(
        &in_group("max_extra_warmup = -1"),
        Some(5),
        Some("max_extra_warmup"),
        "`max_extra_warmup` in [[group]] 1 must be an integer >= 0, found -1",
    );
    expect(
        "name = \"x\"\nmax_extra_warmup = false\n",
        Some(2),
        Some("max_extra_warmup"),
        "`max_extra_warmup` must be an integer",
    );
    expect(
        &in_group("max_extra_warmup = 1000001"),
        Some(5),
        Some("max_extra_warmup"),
        "(too large: the maximum is 1000000)",
    );
}

#[test]
fn the_case_id_names_a_warm_up_bound_other_than_the_default() {
    let ids = |extra: &str| -> Vec<String> {
        crate::plan::expand(&ok(&in_group(extra)), &TestCatalog)
            .unwrap()
            .into_iter()
            .map(|c| c.settings_id())
            .collect()
    };
    // w and s keep their meaning (fixed warm-up, measured steps); the default bound adds
    // nothing, so ids planned before the extension keep their names
    assert!(
        ids("warmup = 2\nsteps = 8")
            .iter()
            .all(|i| i == "w2-s8-seed42")
    );
    assert!(
        ids("warmup = 2\nsteps = 8\nmax_extra_warmup = 0")
            .iter()
            .all(|i| i == "w2-s8-seed42-xw0")
    );
    // no warm-up or epochs: nothing to extend, nothing in the id
    assert!(
        ids("warmup = 0\nmax_extra_warmup = 0")
            .iter()
            .all(|i| i == "w0-s20-seed42")
    );
    // two groups that differ only in the bound plan two cases
    let two = format!(
        "{MINIMAL}max_extra_warmup = 0\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\n"
    );
    let cases = crate::plan::expand(&ok(&two), &TestCatalog).unwrap();
    assert_eq!(cases.len(), 2);
    assert_ne!(cases[0].id, cases[1].id);
    assert_eq!(
        cases[0].spec().max_extra_warmup + cases[1].spec().max_extra_warmup,
        20
    );
}

#[test]
fn the_simd_axis_takes_relaxed_and_the_case_id_says_so() {
    // Booleans parse as before; "relaxed" is a third value of the same axis.
    assert_eq!(
        ok(&in_group("simd = [true, false]")).groups[0].simd,
        [Simd::On, Simd::Off]
    );
    let s = ok(&in_group("simd = [true, \"relaxed\"]"));
    assert_eq!(s.groups[0].simd, [Simd::On, Simd::Relaxed]);
    let cases = crate::plan::expand(&s, &TestCatalog).unwrap();
    let relaxed: Vec<_> = cases
        .iter()
        .filter(|c| c.simd == Some(Simd::Relaxed))
        .collect();
    assert!(!relaxed.is_empty());
    for c in &relaxed {
        assert!(c.id.contains("/ndarray-relaxed/"), "{}", c.id);
        assert_eq!(c.simd_label(), "relaxed");
    }
    assert!(cases.iter().any(|c| c.id.contains("/ndarray-simd/")));
    expect(
        &in_group("simd = [\"fma\"]"),
        Some(5),
        Some("simd"),
        "must be an array of booleans (true/false), \"relaxed\" or \"memory64\", found string \"fma\" at index 0",
    );
    expect(
        &in_group("simd = [\"relaxed\", \"relaxed\"]"),
        Some(5),
        Some("simd"),
        "duplicate simd value `\"relaxed\"`",
    );
}

#[test]
fn the_threads_axis_plans_a_case_per_count_and_says_so_in_the_id() {
    let s = ok(&format!(
        "{}threads = [1, 2]\n",
        MINIMAL.replace("[\"node\"]", "[\"node\", \"native-ndarray\"]")
    ));
    assert_eq!(s.groups[0].threads, [1, 2]);
    let cases = crate::plan::expand(&s, &TestCatalog).unwrap();
    // node and native, 1 and 2 threads, the default size, 3 repetitions by default
    assert_eq!(cases.len(), 2 * 2 * DEFAULT_REPETITIONS as usize);
    for c in &cases {
        let t = c.threads.expect("the axis is set");
        assert!(c.id.contains(&format!("-t{t}/")), "{}", c.id);
        assert_eq!(c.spec().threads, Some(t));
    }
    // Without the axis: no thread count, ids as before.
    let plain = crate::plan::expand(&ok(MINIMAL), &TestCatalog).unwrap();
    assert!(
        plain
            .iter()
            .all(|c| c.threads.is_none() && !c.id.contains("-t1"))
    );
    for (bad, found) in [
        ("threads = [0]", "integer 0"),
        ("threads = [65]", "integer 65"),
        ("threads = [\"2\"]", "string \"2\""),
    ] {
        expect(
            &in_group(bad),
            Some(5),
            Some("threads"),
            &format!(
                "must be an array of thread counts (integers 1 to 64), found {found} at index 0"
            ),
        );
    }
    expect(
        &in_group("threads = [2, 2]"),
        Some(5),
        Some("threads"),
        "duplicate thread count 2",
    );
    expect(
        &in_group("threads = [2]\nbackends = [\"flex\"]"),
        Some(5),
        Some("threads"),
        "runs the probe's ndarray backend with SIMD128 (the `threads` build)",
    );
}

#[test]
fn integer_too_large_for_u32() {
    expect(
        "name = \"x\"\n\nsteps = 5000000000\n",
        Some(3),
        Some("steps"),
        "`steps` must be an integer >= 1, found 5000000000 (too large: the maximum is 1000000)",
    );
    expect(
        &in_group("classes = 0x1_0000_0000"),
        Some(5),
        Some("classes"),
        "found 0x100000000 (too large",
    );
    let s = ok(&format!(
        "seed = 9223372036854775807\ntimeout_s = 604800\n{MINIMAL}"
    ));
    assert_eq!((s.seed, s.groups[0].timeout_s), (i64::MAX as u64, 604_800));
    assert_eq!(ok(&in_group("steps = 1000000")).groups[0].steps, MAX_STEPS);
}

#[test]
fn every_count_is_bounded() {
    for (key, max) in [
        ("steps", MAX_STEPS as u64),
        ("warmup", MAX_STEPS as u64),
        ("repetitions", MAX_REPETITIONS as u64),
        ("epochs", MAX_EPOCHS as u64),
        ("timeout_s", MAX_TIMEOUT_S),
        ("classes", MAX_CLASSES as u64),
        ("samples_per_class", MAX_SAMPLES_PER_CLASS as u64),
    ] {
        let e = expect(
            &in_group(&format!("{key} = {}", max + 1)),
            Some(5),
            Some(key),
            &format!("(too large: the maximum is {max})"),
        );
        assert!(
            e.message.contains(&format!("`{key}` in [[group]] 1")),
            "{e}"
        );
    }
    // timeout_s near u64::MAX is refused, not overflowed later.
    expect(
        "name = \"x\"\ntimeout_s = 9223372036854775807\n",
        Some(2),
        Some("timeout_s"),
        "the maximum is 604800",
    );
}

#[test]
fn plans_past_the_limit_are_refused_naming_the_field() {
    // 4 sizes x (3 targets: 1 native + node 3x2 + chromium 3x2x3) x 10000 repetitions.
    let text = "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\nsizes = [\"all\"]\n\
            targets = [\"native-ndarray\", \"node\", \"chromium\"]\nbackends = [\"ndarray\", \"flex\", \"webgpu\"]\n\
            simd = [true, false]\ncontexts = [\"main\", \"main-frame\", \"worker\"]\nrepetitions = 10000\n";
    let e = expect(
        text,
        Some(9),
        Some("repetitions"),
        "`repetitions` in [[group]] 1: the scenario would plan 1000000 cases (4 workload size(s) x 25 target variant(s) x 10000 repetition(s)",
    );
    assert!(
        e.message.contains("the most a scenario may plan is 100000"),
        "{e}"
    );
    // Many groups that each fit add up.
    let group =
        "[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"native-ndarray\"]\nrepetitions = 10000\n";
    let many = format!("name = \"x\"\n{}", group.repeat(11));
    let e = expect(
        &many,
        Some(45),
        Some("repetitions"),
        "plus 100000 before this group",
    );
    assert!(e.message.contains("110000 cases"), "{e}");
    // A search group counts its trials.
    let search = "name = \"x\"\n[[group]]\nworkloads = [\"tm-image\"]\ntargets = [\"node\"]\nsearch = \"samples\"\nrepetitions = 10000\n";
    let e = expect(search, Some(6), Some("repetitions"), "trials of a search");
    assert!(e.message.contains("130000 cases"), "{e}");
}

#[test]
fn names_must_be_plain() {
    for bad in ["../../x", "/abs", "a/b", ".hidden", "a b", "x\\y"] {
        let text = MINIMAL.replace("\"m\"", &format!("{bad:?}"));
        let e = expect(
            &text,
            Some(1),
            Some("name"),
            "`name` names the run directory",
        );
        assert!(e.message.contains(&format!("{bad:?}")), "{e}");
    }
    let long = "n".repeat(MAX_NAME_CHARS + 1);
    expect(
        &MINIMAL.replace("\"m\"", &format!("{long:?}")),
        Some(1),
        Some("name"),
        "at most 64",
    );
    for good in ["native-smoke", "a.b_c-1", "X"] {
        assert_eq!(
            ok(&MINIMAL.replace("\"m\"", &format!("{good:?}"))).name,
            good
        );
    }
}

#[test]
fn unknown_workload_suggests_close_names() {
    let text =
        "name = \"x\"\n[[group]]\nworkloads = [\"tm-image\", \"mlpp\"]\ntargets = [\"node\"]\n";
    let e = expect(
        text,
        Some(3),
        Some("workloads"),
        "unknown workload `mlpp` in [[group]] 1: did you mean `mlp`? (expected one of: tm-image, mlp)",
    );
    assert_eq!(e.column, Some(26));
    let text = "name = \"x\"\n[[group]]\nworkloads = [\"resnet\"]\ntargets = [\"node\"]\n";
    let e = expect(
        text,
        Some(3),
        Some("workloads"),
        "unknown workload `resnet` in [[group]] 1 (expected one of: tm-image, mlp)",
    );
    assert!(!e.message.contains("did you mean"));
    let text = "name = \"x\"\n[[group]]\nworkloads = [\"TM-Imag\"]\ntargets = [\"node\"]\n";
    expect(text, Some(3), Some("workloads"), "did you mean `tm-image`?");
}

#[test]
fn unknown_target() {
    let text = "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\", \"chrome\"]\n";
    expect(
        text,
        Some(4),
        Some("targets"),
        "unknown target `chrome` in [[group]] 1 (expected one of: native-ndarray,",
    );
    let text = "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"firefx\"]\n";
    expect(text, Some(4), Some("targets"), "did you mean `firefox`?");
}

#[test]
fn unknown_backend() {
    expect(
        &in_group("backends = [\"wasm\"]"),
        Some(5),
        Some("backends"),
        "unknown backend `wasm` in [[group]] 1 (expected one of: ndarray, flex, webgpu)",
    );
}

#[test]
fn unknown_context() {
    expect(
        &in_group("contexts = [\"main\", \"workers\"]"),
        Some(5),
        Some("contexts"),
        "unknown context `workers` in [[group]] 1: did you mean `worker`? (expected one of: main, main-frame, worker)",
    );
}

#[test]
fn unknown_size() {
    expect(
        &in_group("sizes = [\"5m\"]"),
        Some(5),
        Some("sizes"),
        "unknown size `5m` for workload `mlp` in [[group]] 1: did you mean `1m`? (expected one of: 0.1m, 1m, 10m, 100m, smallest, largest, all, default)",
    );
    // A preset of mlp but not of tm-image.
    let text = "name = \"x\"\n[[group]]\nworkloads = [\"mlp\", \"tm-image\"]\nsizes = [\"smallest\", \"10m\"]\ntargets = [\"node\"]\n";
    let e = expect(
        text,
        Some(4),
        Some("sizes"),
        "unknown size `10m` for workload `tm-image` in [[group]] 1",
    );
    assert!(
        e.message
            .contains("(expected one of: default, smallest, largest, all)"),
        "{e}"
    );
    // Keywords work for every workload; sizes may come before workloads.
    let text = "name = \"x\"\n[[group]]\nsizes = [\"all\"]\nworkloads = [\"mlp\", \"tm-image\"]\ntargets = [\"node\"]\n";
    assert_eq!(ok(text).groups[0].sizes, ["all"]);
}

#[test]
fn unknown_meter() {
    expect(
        &in_group("meters = [\"throughput\", \"memry\"]"),
        Some(5),
        Some("meters"),
        "unknown meter `memry` in [[group]] 1: did you mean `memory`? (expected one of: throughput, memory)",
    );
}

#[test]
fn search_key_is_checked() {
    assert_eq!(ok(&in_group("")).groups[0].search, None);
    let e = err(&in_group("search = \"bytes\""));
    assert_eq!(e.key.as_deref(), Some("search"), "{e}");
    assert!(e.to_string().contains("\"samples\" or \"model\""), "{e}");
    let e = err(&in_group("search = \"samples\""));
    assert!(e.to_string().contains("tm-image"), "{e}");
}

#[test]
fn fault_key_is_checked_and_reaches_the_group() {
    let s = ok(&in_group("fault = \"panic\""));
    assert_eq!(s.groups[0].fault.as_deref(), Some("panic"));
    let s = ok(&in_group("fault = \"alloc:64\""));
    assert_eq!(s.groups[0].fault.as_deref(), Some("alloc:64"));
    assert_eq!(ok(&in_group("")).groups[0].fault, None);
    for bad in ["\"boom\"", "\"alloc:\"", "\"alloc:-3\"", "\"alloc:0\""] {
        let e = err(&in_group(&format!("fault = {bad}")));
        assert_eq!(e.key.as_deref(), Some("fault"), "{e}");
        assert!(e.to_string().contains("alloc:<MiB>"), "{e}");
    }
    let e = err(&in_group("fault = 3"));
    assert!(e.to_string().contains("must be a string"), "{e}");
}

#[test]
fn duplicate_entries() {
    let text = "name = \"x\"\n[[group]]\nworkloads = [\"mlp\", \"tm-image\", \"mlp\"]\ntargets = [\"node\"]\n";
    let e = expect(
        text,
        Some(3),
        Some("workloads"),
        "duplicate workload `mlp` in [[group]] 1",
    );
    assert_eq!(e.column, Some(33));
    expect(
        &in_group("simd = [true, true]"),
        Some(5),
        Some("simd"),
        "duplicate simd value `true`",
    );
    expect(
        &in_group("meters = [\"memory\", \"memory\"]"),
        Some(5),
        Some("meters"),
        "duplicate meter `memory`",
    );
}

#[test]
fn later_groups_are_numbered() {
    let text = format!(
        "{MINIMAL}[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"node\"]\nmeters = [\"x\"]\n"
    );
    expect(
        &text,
        Some(8),
        Some("meters"),
        "unknown meter `x` in [[group]] 2",
    );
}

#[test]
fn user_text_stays_on_one_line() {
    let e = expect(
        "name = \"x\"\n\"a\\nb\" = 1\n",
        Some(2),
        Some("a\nb"),
        "unknown key `a\\nb` at the top level",
    );
    assert!(!e.message.contains('\n'));
    let long = "w".repeat(500);
    let e = expect(
        &in_group(&format!("backends = [\"{long}\"]")),
        Some(5),
        Some("backends"),
        "unknown backend",
    );
    assert!(e.message.len() < 200, "{e}");
}

#[test]
fn columns_count_characters() {
    let e = expect(
        "description = \"é\" # ü\nsteps = 0\n",
        Some(2),
        Some("steps"),
        "found 0",
    );
    assert_eq!(e.column, Some(9));
    let e = expect(
        "name = \"x\"\n\"ß\" = 1\n",
        Some(2),
        Some("ß"),
        "unknown key",
    );
    assert_eq!(e.column, Some(1));
    assert_eq!(line_col("aé\nb", 3), (1, 3));
    assert_eq!(line_col("aé\nb", 2), (1, 2));
    assert_eq!(line_col("aé\nb", 99), (2, 2));
    assert_eq!(line_col("", 0), (1, 1));
}

#[test]
fn edit_distance_limits() {
    assert_eq!(edit_distance("steps", "steps", 2), Some(0));
    assert_eq!(edit_distance("stepz", "steps", 2), Some(1));
    assert_eq!(edit_distance("kitten", "sitting", 2), None);
    assert_eq!(edit_distance("kitten", "sitting", 3), Some(3));
    assert_eq!(edit_distance("", "ab", 2), Some(2));
    assert_eq!(closest("mlpp", &["tm-image", "mlp"]), Some("mlp"));
    assert_eq!(closest("zzzz", &["tm-image", "mlp"]), None);
}

#[test]
fn load_reads_files() {
    let dir = std::env::temp_dir().join(format!("scenario-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let good = dir.join("good.toml");
    std::fs::write(&good, VALID).unwrap();
    let s = load(&good, &TestCatalog).unwrap();
    assert_eq!(s.path, good);
    assert_eq!(s.groups.len(), 2);

    let missing = dir.join("missing.toml");
    let e = load(&missing, &TestCatalog).unwrap_err();
    assert_eq!(e.file, missing);
    assert_eq!(e.line, None);
    assert!(e.message.contains("cannot read scenario file"), "{e}");
    assert!(e.to_string().contains("missing.toml"), "{e}");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, b"name = \"x\"\nsteps = \xff\n").unwrap();
    let e = load(&bad, &TestCatalog).unwrap_err();
    assert_eq!((e.line, e.column), (Some(2), Some(9)));
    assert!(e.message.contains("not valid UTF-8"), "{e}");

    let invalid = dir.join("invalid.toml");
    std::fs::write(
        &invalid,
        "name = \"x\"\n[[group]]\nworkloads = [\"mlp\"]\ntargets = [\"nod\"]\n",
    )
    .unwrap();
    let e = load(&invalid, &TestCatalog).unwrap_err();
    assert!(e.to_string().ends_with("invalid.toml:4:12: unknown target `nod` in [[group]] 1: did you mean `node`? (expected one of: native-ndarray, native-flex, native-wgpu, node, chromium, firefox, webkit)"), "{e}");

    std::fs::remove_dir_all(&dir).unwrap();
}

/// xorshift64*: a tiny seeded generator so the fuzz loop is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn check_no_panic(text: &str) {
    let result = std::panic::catch_unwind(|| parse(text, Path::new(PATH), &TestCatalog));
    let Ok(result) = result else {
        panic!("parse panicked on {text:?}");
    };
    if let Err(e) = result {
        let shown = e.to_string();
        assert!(
            !shown.contains('\n'),
            "multi-line error {shown:?} for {text:?}"
        );
        let lines = text.split('\n').count();
        if let Some(line) = e.line {
            assert!(
                line >= 1 && line <= lines,
                "line {line} out of range for {text:?}"
            );
            assert!(e.column.is_some_and(|c| c >= 1));
        }
    }
}

#[test]
fn fuzz_random_and_mutated_input_never_panics() {
    const PIECES: [&str; 24] = [
        "[", "]", "[[", "]]", "{", "}", "\"", "'", "=", ",", ".", "\n", " ", "#", "-", "0", "9",
        "e", "true", "group", "steps", "\\", "\"\"\"", "é",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let seeds = [VALID, MINIMAL, ""];
    for round in 0..4000 {
        let text = if round % 4 == 0 {
            let len = rng.below(80);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let mut text: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
            for _ in 0..1 + rng.below(6) {
                let at = rng.below(text.len() + 1);
                match rng.below(4) {
                    0 if at < text.len() => {
                        let end = (at + 1 + rng.below(8)).min(text.len());
                        text.drain(at..end);
                    }
                    1 => {
                        let piece = PIECES[rng.below(PIECES.len())];
                        text.splice(at..at, piece.chars());
                    }
                    2 if at < text.len() => text[at] = char::from(rng.next() as u8 & 0x7f),
                    _ => {
                        let from = rng.below(text.len() + 1);
                        let end = (from + rng.below(30)).min(text.len());
                        let copy: Vec<char> = text[from..end].to_vec();
                        text.splice(at..at, copy);
                    }
                }
            }
            text.into_iter().collect()
        };
        check_no_panic(&text);
    }
}
