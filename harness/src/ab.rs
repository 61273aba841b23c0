//! `gapbench ab`: an interleaved A/B comparison in one invocation, the way Pinpoint and
//! tachometer decide. Baseline and candidate rounds alternate (ABBA) on this machine, one
//! repetition of every case a round, and sampling goes on until every verdict resolves or the
//! budget (rounds, minutes) is spent. The sides differ by a browser binary, engine flags, a
//! known slow-down, or repetitions already measured in earlier run directories.
//!
//! Each round is a `gapbench run` child process of its own, so one side's crash or hang is
//! recorded there and the comparison goes on. Repeated looks at growing samples spend the false
//! discovery rate `alpha` evenly over the looks planned (Bonferroni across looks), so stopping
//! early does not inflate it.

use crate::compare::{self, CompareReport, Side, Unit};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What one side runs with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SideSpec {
    /// Environment of the side's runs: browser binaries (`GAPBENCH_CHROMIUM_BINARY`, ...) and
    /// engine flags (`JSC_*`, `MOZ_*`, ...).
    pub env: Vec<(String, String)>,
    /// A known slow-down of every step (`fault = "slowdown:<fraction>"`).
    pub slowdown: Option<f64>,
    /// Run directories measured before, whose repetitions count as rounds of this side.
    pub runs: Vec<PathBuf>,
    /// The specs as given, for the report.
    pub described: Vec<String>,
}

/// Engines whose binary a side can replace: every browser engine, then node.
fn binary_engines() -> Vec<&'static str> {
    let browsers = crate::target::browser::engines::ENGINES.iter();
    browsers.map(|e| e.name()).chain(["node"]).collect()
}

/// The variable `gapbench run` reads `engine`'s binary from (`GAPBENCH_CHROMIUM_BINARY`).
fn binary_var(engine: &str) -> String {
    format!("GAPBENCH_{}_BINARY", engine.to_uppercase())
}

impl SideSpec {
    /// Parses `--baseline`/`--candidate` values: `ENGINE=PATH` (a browser or Node binary),
    /// `env:NAME=VALUE` (an engine flag in the environment), `slowdown=FRACTION`, `run=DIR`.
    pub fn parse(flag: &str, specs: &[String]) -> Result<SideSpec, String> {
        let mut side = SideSpec::default();
        for spec in specs {
            let bad = |why: &str| format!("--{flag} {spec}: {why}");
            side.described.push(spec.clone());
            if let Some(kv) = spec.strip_prefix("env:") {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| bad("expected env:NAME=VALUE"))?;
                if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(bad(
                        "expected env:NAME=VALUE with NAME of letters, digits, _",
                    ));
                }
                side.env.push((k.into(), v.into()));
                continue;
            }
            let Some((k, v)) = spec.split_once('=') else {
                return Err(bad(
                    "expected ENGINE=PATH, env:NAME=VALUE, slowdown=FRACTION or run=DIR",
                ));
            };
            match k {
                "slowdown" => {
                    let f = v
                        .parse::<f64>()
                        .ok()
                        .filter(|f| *f > 0.0 && *f <= 10.0)
                        .ok_or_else(|| bad("expected slowdown=FRACTION, 0 < FRACTION <= 10"))?;
                    side.slowdown = Some(f);
                }
                "run" => {
                    let dir = PathBuf::from(v);
                    if !dir.join("records.csv").is_file() {
                        return Err(bad("not a run directory (no records.csv)"));
                    }
                    side.runs.push(dir);
                }
                engine => {
                    let engines = binary_engines();
                    if !engines.contains(&engine) {
                        return Err(bad(&format!(
                            "expected ENGINE=PATH ({}), env:NAME=VALUE, slowdown=FRACTION or run=DIR",
                            engines.join(", ")
                        )));
                    }
                    let var = binary_var(engine);
                    if !Path::new(v).is_file() {
                        return Err(bad("no such file"));
                    }
                    side.env.push((var, v.into()));
                }
            }
        }
        Ok(side)
    }
}

/// Knobs of [`run`].
#[derive(Debug, Clone)]
pub struct AbOptions {
    /// The cases to measure; None: only the sides' `run=` directories are compared.
    pub scenario: Option<PathBuf>,
    pub baseline: SideSpec,
    pub candidate: SideSpec,
    /// Where the A/B directory goes (`results/`).
    pub out_root: PathBuf,
    pub threshold: f64,
    /// False-discovery rate over all rows and looks.
    pub alpha: f64,
    /// Rounds before the first look (each round: one repetition a side).
    pub min_rounds: u32,
    /// Rounds between looks.
    pub look_every: u32,
    pub max_rounds: u32,
    /// No new round starts once this much time has passed (or would pass, at the last round's
    /// pace).
    pub budget: Duration,
    /// Metrics tested (empty: all but loss).
    pub metrics: Vec<String>,
    /// Memory cap handed to the runs (`--memory-cap`, bytes).
    pub memory_cap: Option<u64>,
}

/// The outcome of [`run`].
pub struct AbReport {
    pub dir: PathBuf,
    pub rounds: u32,
    pub looks: u32,
    pub alpha_per_look: f64,
    pub compare: CompareReport,
    pub interrupted: bool,
    /// Why sampling stopped.
    pub stopped: String,
}

/// The rounds at which the verdicts are looked at: `min_rounds`, then every `look_every`, and
/// the last round.
pub fn looks(min_rounds: u32, look_every: u32, max_rounds: u32) -> Vec<u32> {
    let mut v: Vec<u32> = (min_rounds..=max_rounds)
        .step_by(look_every.max(1) as usize)
        .collect();
    if v.last() != Some(&max_rounds) && max_rounds >= min_rounds {
        v.push(max_rounds);
    }
    v
}

/// The scenario with every group at one repetition (a round is one repetition a side) and, for
/// a slowed side, every group's `fault` set to the slow-down.
fn side_scenario(src: &Path, slowdown: Option<f64>) -> Result<String, String> {
    let text =
        std::fs::read_to_string(src).map_err(|e| format!("{}: cannot read: {e}", src.display()))?;
    let mut doc: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: not a scenario: {e}", src.display()))?;
    doc.insert("repetitions".into(), toml::Value::Integer(1));
    let groups = doc
        .get_mut("group")
        .and_then(|g| g.as_array_mut())
        .ok_or_else(|| format!("{}: expected at least one [[group]]", src.display()))?;
    for g in groups.iter_mut() {
        let Some(t) = g.as_table_mut() else { continue };
        t.insert("repetitions".into(), toml::Value::Integer(1));
        if let Some(s) = slowdown {
            if t.contains_key("fault") {
                return Err(format!(
                    "{}: a group already sets `fault`; a slowed side cannot add one",
                    src.display()
                ));
            }
            t.insert("fault".into(), toml::Value::String(format!("slowdown:{s}")));
        }
    }
    toml::to_string(&doc).map_err(|e| format!("{}: {e}", src.display()))
}

/// The single run directory a round's `gapbench run` left in `out`.
fn round_dir(out: &Path) -> Result<PathBuf, String> {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("records.csv").is_file())
        .collect();
    match dirs.as_slice() {
        [d] => Ok(d.clone()),
        _ => Err(format!(
            "{}: expected one run directory, found {}",
            out.display(),
            dirs.len()
        )),
    }
}

/// One side's round: `gapbench run` on the side's scenario copy, with its environment.
fn run_round(
    scenario: &Path,
    side: &SideSpec,
    out: &Path,
    memory_cap: Option<u64>,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find gapbench itself: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet");
    if let Some(cap) = memory_cap {
        cmd.arg("--memory-cap").arg(format!("{cap}B"));
    }
    for (k, v) in &side.env {
        cmd.env(k, v);
    }
    let output = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot start gapbench run: {e}"))?;
    match output.status.code() {
        Some(0) => round_dir(out),
        Some(130) => Err("interrupted".into()),
        code => {
            let err = String::from_utf8_lossy(&output.stderr);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            Err(format!(
                "gapbench run {} exited {}: {last}",
                scenario.display(),
                code.map_or("on a signal".to_string(), |c| c.to_string())
            ))
        }
    }
}

/// A series id without the `-fault-slowdown<fraction>` a slowed side's case ids carry, so the
/// two sides' series pair up.
fn without_slowdown(series: &str) -> String {
    match series.find("-fault-slowdown") {
        Some(i) => {
            let rest = &series[i + "-fault-slowdown".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            format!("{}{}", &series[..i], &rest[end..])
        }
        None => series.to_string(),
    }
}

/// Adds every run directory's repetitions to `side`, each as a round of its own.
fn absorb_runs(side: &mut Side, runs: &[PathBuf], round: &mut u32) -> Result<(), String> {
    for dir in runs {
        let mut warnings = Vec::new();
        let loaded = Side::load(dir, &mut warnings)?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        for rep in loaded.repetitions() {
            *round += 1;
            side.absorb_as(&loaded.select(|id| id == rep), *round, &without_slowdown);
        }
    }
    Ok(())
}

/// A fresh, unique directory under `root` for this comparison.
fn ab_dir(root: &Path) -> Result<PathBuf, String> {
    let stamp = crate::manifest::now_utc().replace([':', '-'], "");
    let stamp = stamp.trim_end_matches('Z').replace('T', "-");
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    for n in 0..1000 {
        let name = if n == 0 {
            format!("ab-{stamp}")
        } else {
            format!("ab-{stamp}-{n}")
        };
        let dir = root.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        }
    }
    Err(format!("{}: no free ab-{stamp}-N name", root.display()))
}

/// Runs the interleaved comparison. `Err` is bad input or a side that cannot run at all.
pub fn run(opts: &AbOptions, progress: &mut dyn FnMut(&str)) -> Result<AbReport, String> {
    if opts.scenario.is_none() && (opts.baseline.runs.is_empty() || opts.candidate.runs.is_empty())
    {
        return Err("ab: give a SCENARIO to run, or run=DIR on both sides".into());
    }
    if opts.min_rounds < 1 || opts.max_rounds < opts.min_rounds {
        return Err(format!(
            "ab: expected 1 <= --min-rounds ({}) <= --max-rounds ({})",
            opts.min_rounds, opts.max_rounds
        ));
    }
    let dir = ab_dir(&opts.out_root)?;
    let mut base = Side::empty("baseline");
    let mut cand = Side::empty("candidate");
    let (mut base_round, mut cand_round) = (0, 0);
    absorb_runs(&mut base, &opts.baseline.runs, &mut base_round)?;
    absorb_runs(&mut cand, &opts.candidate.runs, &mut cand_round)?;
    let looks_at = if opts.scenario.is_some() {
        looks(opts.min_rounds, opts.look_every, opts.max_rounds)
    } else {
        Vec::new()
    };
    let n_looks = looks_at.len().max(1) as u32;
    let alpha_per_look = opts.alpha / n_looks as f64;
    let mut cmp_opts = compare::Options::new(opts.threshold, Unit::Repetitions);
    cmp_opts.alpha = alpha_per_look;
    cmp_opts.metrics = opts.metrics.clone();

    let mut rounds = 0;
    let mut interrupted = false;
    let mut stopped = String::from("no rounds to run: the given run directories were compared");
    if let Some(scenario) = &opts.scenario {
        let a = dir.join("baseline.toml");
        let b = dir.join("candidate.toml");
        for (path, side) in [(&a, &opts.baseline), (&b, &opts.candidate)] {
            let text = side_scenario(scenario, side.slowdown)?;
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let started = Instant::now();
        let mut last_round = Duration::ZERO;
        stopped = format!("the budget of {} rounds was spent", opts.max_rounds);
        for round in 1..=opts.max_rounds {
            if crate::interrupt::interrupted() {
                interrupted = true;
                stopped = "interrupted".into();
                break;
            }
            if round > 1 && started.elapsed() + last_round > opts.budget {
                stopped = format!(
                    "the time budget of {} min was spent",
                    opts.budget.as_secs() / 60
                );
                break;
            }
            let t0 = Instant::now();
            // ABBA: odd rounds baseline first, even rounds candidate first.
            let order: [(bool, &Path); 2] = if round % 2 == 1 {
                [(true, a.as_path()), (false, b.as_path())]
            } else {
                [(false, b.as_path()), (true, a.as_path())]
            };
            for (is_base, path) in order {
                let (label, spec) = if is_base {
                    ("baseline", &opts.baseline)
                } else {
                    ("candidate", &opts.candidate)
                };
                progress(&format!("round {round}: {label}"));
                let out = dir.join(label).join(format!("round-{round:03}"));
                let run_dir = match run_round(path, spec, &out, opts.memory_cap) {
                    Ok(d) => d,
                    Err(e) if e == "interrupted" => {
                        interrupted = true;
                        break;
                    }
                    Err(e) => return Err(format!("{label}: {e}")),
                };
                let mut warnings = Vec::new();
                let loaded = Side::load(&run_dir, &mut warnings)?;
                if is_base {
                    base_round += 1;
                    base.absorb_as(&loaded, base_round, &without_slowdown);
                } else {
                    cand_round += 1;
                    cand.absorb_as(&loaded, cand_round, &without_slowdown);
                }
            }
            if interrupted {
                stopped = "interrupted".into();
                break;
            }
            rounds = round;
            last_round = t0.elapsed();
            if looks_at.contains(&round) {
                let report = compare::compare_sides(&base, &cand, &cmp_opts)?;
                let open = report
                    .rows
                    .iter()
                    .filter(|r| r.verdict == "unknown")
                    .count();
                progress(&format!(
                    "round {round}: {} slower, {} faster, {} same, {open} unknown",
                    report.regressions,
                    report.rows.iter().filter(|r| r.verdict == "faster").count(),
                    report.rows.iter().filter(|r| r.verdict == "same").count(),
                ));
                if open == 0 && !report.rows.is_empty() {
                    stopped = format!("every verdict resolved at round {round}");
                    break;
                }
            }
        }
    }
    let compare = compare::compare_sides(&base, &cand, &cmp_opts)?;
    let report = AbReport {
        dir,
        rounds,
        looks: n_looks,
        alpha_per_look,
        compare,
        interrupted,
        stopped,
    };
    let md = markdown(&report, opts);
    let _ = std::fs::write(report.dir.join("ab.md"), &md);
    let _ = std::fs::write(report.dir.join("ab.json"), compare::json(&report.compare));
    Ok(report)
}

/// The A/B result: how it was sampled, then the comparison table.
pub fn markdown(r: &AbReport, opts: &AbOptions) -> String {
    let side = |s: &SideSpec| {
        if s.described.is_empty() {
            "as installed".to_string()
        } else {
            s.described.join(", ")
        }
    };
    let metrics = if opts.metrics.is_empty() {
        "every metric but loss".to_string()
    } else {
        opts.metrics.join(", ")
    };
    format!(
        "A/B in {}: baseline ({}) vs candidate ({}), {} round(s) interleaved ABBA, one \
         repetition a side each; {}. Tested on {metrics}; each look at α = {:.4} ({} planned \
         look(s) share α = {}).\n\n{}",
        r.dir.display(),
        side(&opts.baseline),
        side(&opts.candidate),
        r.rounds,
        r.stopped,
        r.alpha_per_look,
        r.looks,
        opts.alpha,
        compare::markdown(&r.compare)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slowed_sides_series_pair_with_the_plain_ones() {
        assert_eq!(
            without_slowdown("mlp/0.1m/node/ndarray-simd/main/w3-s30-fault-slowdown0.1"),
            "mlp/0.1m/node/ndarray-simd/main/w3-s30"
        );
        assert_eq!(without_slowdown("a/b-fault-slowdown2.5-x"), "a/b-x");
        assert_eq!(without_slowdown("a/b-fault-hang"), "a/b-fault-hang");
    }

    #[test]
    fn looks_start_at_the_minimum_and_end_at_the_maximum() {
        assert_eq!(looks(5, 5, 20), vec![5, 10, 15, 20]);
        assert_eq!(looks(5, 4, 15), vec![5, 9, 13, 15]);
        assert_eq!(looks(6, 1, 6), vec![6]);
    }

    #[test]
    fn side_specs_parse_and_bad_ones_say_what_was_expected() {
        let s = SideSpec::parse(
            "candidate",
            &["env:JSC_useWasmIPInt=false".into(), "slowdown=0.1".into()],
        )
        .unwrap();
        assert_eq!(s.env, vec![("JSC_useWasmIPInt".into(), "false".into())]);
        assert_eq!(s.slowdown, Some(0.1));
        let s = SideSpec::parse("baseline", &["chromium=/bin/sh".into()]).unwrap();
        assert_eq!(
            s.env,
            vec![("GAPBENCH_CHROMIUM_BINARY".into(), "/bin/sh".into())]
        );
        for (bad, says) in [
            ("nonsense", "expected ENGINE=PATH"),
            ("edge=/bin/sh", "expected ENGINE=PATH"),
            ("chromium=/no/such/file", "no such file"),
            ("slowdown=-1", "0 < FRACTION"),
            ("env:=1", "NAME"),
            ("run=/no/such/dir", "not a run directory"),
        ] {
            let e = SideSpec::parse("candidate", &[bad.into()]).unwrap_err();
            assert!(e.starts_with(&format!("--candidate {bad}: ")), "{e}");
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn a_side_scenario_has_one_repetition_and_the_slowdown_in_every_group() {
        let tmp = std::env::temp_dir().join(format!("gapbench-ab-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let src = tmp.join("s.toml");
        std::fs::write(
            &src,
            "name = \"x\"\nrepetitions = 5\n[[group]]\nworkloads = [\"mlp\"]\n\
             [[group]]\nworkloads = [\"tm-image\"]\nrepetitions = 3\n",
        )
        .unwrap();
        let text = side_scenario(&src, Some(0.1)).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        assert_eq!(doc["repetitions"].as_integer(), Some(1));
        for g in doc["group"].as_array().unwrap() {
            assert_eq!(g["repetitions"].as_integer(), Some(1));
            assert_eq!(g["fault"].as_str(), Some("slowdown:0.1"));
        }
        let plain: toml::Table = side_scenario(&src, None).unwrap().parse().unwrap();
        assert!(plain["group"].as_array().unwrap()[0].get("fault").is_none());
        std::fs::write(&src, "name = \"x\"\n[[group]]\nfault = \"hang\"\n").unwrap();
        assert!(
            side_scenario(&src, Some(0.1))
                .unwrap_err()
                .contains("fault")
        );
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
