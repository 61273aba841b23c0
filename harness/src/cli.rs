//! The command line: `gapbench run | list | ...`. Parses flags and calls the stage that does
//! the work; every error reaches the user as one line and an exit code (2 for bad input).

mod list;

use crate::error::Error;
use clap::{Parser, Subcommand};
use list::list;
pub use list::list_json;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "gapbench",
    version,
    about = "Measure how far ML training in web browsers lags native training, and why",
    long_about = "gapbench trains the same reference models natively (burn on ndarray, flex or wgpu), in \
Node.js and in real browsers (Chromium, Firefox, WebKit) over WebDriver, and records throughput, \
memory, UI stalls and more as tidy CSV under results/.\n\nStart with `gapbench list`, then \
`gapbench run scenarios/native-smoke.toml`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario and write results/<run-id>/{records.csv,samples.csv,manifest.json}
    Run {
        /// The scenario file (TOML), e.g. scenarios/native-smoke.toml
        scenario: Option<PathBuf>,
        /// Directory that receives the run directory
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Finish an interrupted run: only cases without records in DIR are run, planned from
        /// the run's own copy of its scenario (DIR/scenario.toml)
        #[arg(long, value_name = "DIR")]
        resume: Option<PathBuf>,
        /// With --resume: go on even though the scenario file changed since the run started
        #[arg(long, requires = "resume")]
        force: bool,
        /// No progress bar
        #[arg(long, short)]
        quiet: bool,
        /// Kill a case whose processes' PSS passes SIZE (e.g. 2GiB, 1024MiB) and record it as oom
        /// [default: the smaller of 8GiB and half this machine's RAM]
        #[arg(long, value_name = "SIZE", value_parser = crate::meter::cap::parse_size)]
        memory_cap: Option<u64>,
        /// Run ENGINE's cases on a running WebDriver endpoint (Selenium Grid, a cloud provider)
        /// instead of a local driver, e.g. chromium=http://127.0.0.1:4444/wd/hub. Repeatable
        #[arg(long, value_name = "ENGINE=URL")]
        webdriver: Vec<String>,
        /// Serve the probe on HOST's address (IPv4 or IPv6; all interfaces of its family, with a
        /// warning, when HOST is not an address of this machine); browsers fetch it from
        /// http://HOST:PORT/ (https://HOST:PORT/ when they are remote)
        #[arg(long, value_name = "HOST")]
        serve_host: Option<String>,
        /// Run every browser engine's cases (those without their own --webdriver) on this
        /// Selenium Grid, e.g. http://10.0.0.9:4444/wd/hub; the probe is served over https
        #[arg(long, value_name = "URL")]
        grid: Option<String>,
        /// Shard the remote cases over N concurrent sessions (one case per session at a time;
        /// one session per engine at a time unless the Grid lists more slots for it)
        #[arg(long, value_name = "N")]
        sessions: Option<usize>,
    },
    /// List workloads with their sizes (parameters, FLOPs per step), targets and meters
    List {
        /// Print every workload preset as the peers receive it instead (one JSON array of
        /// workload specs, each with its `resolved` model, recipe, data and counts): what
        /// wasm-probe/py/ort_artifacts.py makes ONNX Runtime's training artifacts from
        #[arg(long)]
        json: bool,
    },
    /// Write reports/<name>/ (index.html, report.md, summary.csv, charts) from one or more runs
    Report {
        /// Run directories (results/<run-id>)
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Report name under reports/ (default: the first run's id)
        #[arg(long)]
        name: Option<String>,
        /// Directory that receives the report directory
        #[arg(long, default_value = "reports")]
        out: PathBuf,
    },
    /// Compare two runs metric by metric: faster / slower / same / unknown. Exit 1 on a regression
    Compare {
        baseline: PathBuf,
        candidate: PathBuf,
        /// Changes smaller than this fraction count as noise
        #[arg(long, default_value_t = 0.02, value_parser = parse_threshold)]
        threshold: f64,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        /// Shorthand for --format json
        #[arg(long)]
        json: bool,
        /// Test on every step pooled instead of on the repetitions' medians: more sensitive,
        /// but takes the variation between runs for a change (for a quiet, dedicated machine)
        #[arg(long)]
        steps: bool,
        /// Test only this sample metric (repeatable), e.g. step_time_rel, the step time relative
        /// to the calibration loop run beside it (drift-cancelled); default: every metric
        #[arg(long, value_name = "METRIC")]
        metric: Vec<String>,
    },
    /// What compare can detect here: random splits of one run's many repetitions, with and
    /// without a known slow-down (false-call rate and the smallest change found with 80% power)
    Power {
        /// A run directory with at least twice the largest --repetitions of every series
        run: PathBuf,
        /// Repetitions a side to try (repeatable)
        #[arg(long, default_value = "5,10,20", value_delimiter = ',')]
        repetitions: Vec<usize>,
        /// Sample metrics to try (repeatable)
        #[arg(
            long,
            default_value = "step_time,step_time_rel,step_cpu",
            value_delimiter = ','
        )]
        metric: Vec<String>,
        /// Random splits per row
        #[arg(long, default_value_t = 200)]
        splits: usize,
        #[arg(long, default_value_t = 0.02, value_parser = parse_threshold)]
        threshold: f64,
    },
    /// How long a training takes on each platform measured in the runs, with how far the model
    /// missed sizes it had not seen, and whether it fits in wasm32 (and what stops it)
    Estimate {
        /// Run directories to fit the cost model from (their training cases' step times)
        #[arg(long = "from", required = true, num_args = 1..)]
        from: Vec<PathBuf>,
        /// The workload (see `gapbench list`)
        #[arg(long, default_value = "tm-image")]
        workload: String,
        /// Its size preset
        #[arg(long, default_value = "default")]
        size: String,
        /// Classes (tm-* workloads)
        #[arg(long)]
        classes: Option<usize>,
        /// Samples per class (tm-* workloads)
        #[arg(long)]
        samples: Option<usize>,
        /// Full epochs (the workload's own by default)
        #[arg(long, conflicts_with = "steps")]
        epochs: Option<u32>,
        /// Or a number of training steps
        #[arg(long)]
        steps: Option<u64>,
        /// Only platforms whose name contains this (e.g. `chromium/worker`)
        #[arg(long, default_value = "")]
        platform: String,
        /// Instead: hold out each measured size in turn, predict it from the others, and print
        /// the errors (median absolute and worst)
        #[arg(long)]
        validate: bool,
    },
    /// Interleaved A/B on this machine: baseline and candidate rounds alternate (ABBA) until every
    /// verdict resolves or the budget is spent. Exit 1 on a regression
    Ab {
        /// The cases to measure (each round runs every case once a side)
        scenario: Option<PathBuf>,
        /// What the baseline runs with: ENGINE=PATH (chromium, firefox, webkit, node binary),
        /// env:NAME=VALUE (an engine flag), slowdown=FRACTION, run=DIR (repetitions measured
        /// before). Repeatable; none: the installed engines as they are
        #[arg(long, value_name = "SPEC")]
        baseline: Vec<String>,
        /// What the candidate runs with (as --baseline)
        #[arg(long, value_name = "SPEC")]
        candidate: Vec<String>,
        /// Changes smaller than this fraction count as noise
        #[arg(long, default_value_t = 0.02, value_parser = parse_threshold)]
        threshold: f64,
        /// Rounds before the first look at the verdicts (5 a side is the least an exact test at
        /// α = 0.01 can decide on)
        #[arg(long, default_value_t = 6)]
        min_rounds: u32,
        /// Rounds between looks
        #[arg(long, default_value_t = 6)]
        look_every: u32,
        /// The most rounds
        #[arg(long, default_value_t = 24)]
        max_rounds: u32,
        /// No new round starts past this many minutes
        #[arg(long, default_value_t = 60)]
        max_minutes: u64,
        /// Test only this sample metric (repeatable) [default: step_time, step_time_rel and,
        /// natively, step_cpu]
        #[arg(long, value_name = "METRIC")]
        metric: Vec<String>,
        /// Directory that receives the A/B directory (ab-<time>/ with every round's run)
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Memory cap handed to each round's run (as `run --memory-cap`)
        #[arg(long, value_name = "SIZE", value_parser = crate::meter::cap::parse_size)]
        memory_cap: Option<u64>,
        #[arg(long, short)]
        quiet: bool,
    },
    /// Trend page over many runs: each metric per run with the engine version, change points marked
    History {
        /// Directory holding run directories (results/)
        #[arg(default_value = "results")]
        results: PathBuf,
        /// Where history.html goes
        #[arg(long, default_value = "reports/history")]
        out: PathBuf,
        #[arg(long, default_value_t = 0.02, value_parser = parse_threshold)]
        threshold: f64,
    },
    /// Show which browsers, drivers, runtimes and adapters are present, and how to install the rest
    Doctor,
    /// Run one case natively and print its result as JSON (used by gapbench itself)
    #[command(hide = true)]
    NativeCase,
    /// Serve DIR over HTTP on loopback with the probe server browsers fetch the probe from, until
    /// stdin closes; prints `serving http://ADDR/` (for testing the server as gapbench runs it)
    #[command(hide = true)]
    Serve {
        dir: PathBuf,
        /// A request's headers, and every read or write, must complete within this
        #[arg(long, default_value_t = 30)]
        timeout_s: u64,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum Format {
    Markdown,
    Json,
    Perfherder,
    Junit,
}

fn parse_threshold(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("expected a fraction such as 0.02, found `{s}`"))?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("expected a fraction in [0, 1), found {v}"))
    }
}

/// A clap usage error (several lines: message, tip, usage) as one line naming the flag.
pub fn one_line_usage_error(rendered: &str) -> String {
    let text: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:"))
        .filter(|l| !l.is_empty())
        .collect();
    let text = text.join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("error: {text} (see `gapbench --help`)")
}

/// Run the parsed command; returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    let result: Result<(), Error> = match cli.command {
        Command::List { json: false } => {
            list();
            Ok(())
        }
        Command::List { json: true } => {
            println!("{}", list_json());
            Ok(())
        }
        Command::NativeCase => return crate::target::native_case_main(),
        Command::Serve { dir, timeout_s } => serve(&dir, timeout_s),
        Command::Report { runs, name, out } => {
            let name = name.unwrap_or_else(|| {
                runs[0]
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_else(|| "report".into())
            });
            let dir = out.join(name);
            crate::report::write_report(&runs, &dir)
                .map_err(Error::Input)
                .map(|files| {
                    for w in &files.warnings {
                        eprintln!("warning: {w}");
                    }
                    println!("{}", files.html.display());
                    println!("{}", files.markdown.display());
                    println!("{}", files.summary.display());
                })
        }
        Command::Compare {
            baseline,
            candidate,
            threshold,
            format,
            json,
            steps,
            metric,
        } => {
            let unit = if steps {
                crate::compare::Unit::Steps
            } else {
                crate::compare::Unit::Repetitions
            };
            let mut opts = crate::compare::Options::new(threshold, unit);
            opts.metrics = metric;
            match crate::compare::compare_dirs(&baseline, &candidate, &opts) {
                Err(e) => Err(Error::Input(e)),
                Ok(report) => {
                    for w in &report.warnings {
                        eprintln!("warning: {w}");
                    }
                    let format = if json { Format::Json } else { format };
                    let text = match format {
                        Format::Markdown => crate::compare::markdown(&report),
                        Format::Json => crate::compare::json(&report),
                        Format::Perfherder => crate::compare::perfherder(&report, "gapbench"),
                        Format::Junit => crate::compare::junit(&report),
                    };
                    println!("{text}");
                    return if report.regressions > 0 { 1 } else { 0 };
                }
            }
        }
        Command::Ab {
            scenario,
            baseline,
            candidate,
            threshold,
            min_rounds,
            look_every,
            max_rounds,
            max_minutes,
            metric,
            out,
            memory_cap,
            quiet,
        } => {
            let sides = crate::ab::SideSpec::parse("baseline", &baseline)
                .and_then(|b| crate::ab::SideSpec::parse("candidate", &candidate).map(|c| (b, c)));
            match sides {
                Err(e) => Err(Error::Input(e)),
                Ok((baseline, candidate)) => {
                    if let Err(e) = crate::interrupt::install() {
                        eprintln!("warning: {e}");
                    }
                    let opts = crate::ab::AbOptions {
                        scenario,
                        baseline,
                        candidate,
                        out_root: out,
                        threshold,
                        alpha: crate::stats::CompareConfig::default().alpha,
                        min_rounds,
                        look_every,
                        max_rounds,
                        budget: std::time::Duration::from_secs(max_minutes.saturating_mul(60)),
                        metrics: if metric.is_empty() {
                            vec![
                                "step_time".into(),
                                "step_time_rel".into(),
                                "step_cpu".into(),
                            ]
                        } else {
                            metric
                        },
                        memory_cap,
                    };
                    let mut progress = |m: &str| {
                        if !quiet {
                            eprintln!("ab: {m}");
                        }
                    };
                    match crate::ab::run(&opts, &mut progress) {
                        Err(e) => Err(Error::Input(e)),
                        Ok(report) => {
                            println!("{}", crate::ab::markdown(&report, &opts));
                            if report.interrupted {
                                return crate::interrupt::EXIT_CODE;
                            }
                            return if report.compare.regressions > 0 { 1 } else { 0 };
                        }
                    }
                }
            }
        }
        Command::Power {
            run,
            repetitions,
            metric,
            splits,
            threshold,
        } => {
            let opts = crate::power::PowerOptions {
                compare: crate::compare::Options::new(threshold, crate::compare::Unit::Repetitions),
                splits: splits.clamp(1, 100_000),
                slowdowns: vec![
                    0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0,
                ],
                target: 0.8,
                seed: crate::stats::DEFAULT_SEED,
            };
            let mut warnings = Vec::new();
            crate::compare::Side::load(&run, &mut warnings)
                .and_then(|side| {
                    crate::power::power(&side, &metric, &repetitions, &opts)
                        .map(|rows| crate::power::markdown(&side.run_id, &rows, &opts))
                })
                .map(|md| println!("{md}"))
                .map_err(Error::Input)
        }
        Command::Estimate {
            from,
            workload,
            size,
            classes,
            samples,
            epochs,
            steps,
            platform,
            validate,
        } => {
            let req = crate::estimate::Request {
                spec: wasm_probe::WorkloadSpec {
                    workload,
                    size,
                    classes,
                    samples_per_class: samples,
                },
                epochs,
                steps,
            };
            crate::estimate::observe(&from)
                .and_then(|obs| {
                    if validate {
                        let rows: Vec<_> = crate::estimate::validate(&obs)
                            .into_iter()
                            .filter(|r| r.platform.contains(&platform))
                            .collect();
                        Ok(crate::estimate::render_validation(&rows))
                    } else {
                        crate::estimate::predict(&obs, &platform, &req)
                            .map(|preds| crate::estimate::render(&req, &preds))
                    }
                })
                .map(|text| print!("{text}"))
                .map_err(Error::Input)
        }
        Command::History {
            results,
            out,
            threshold,
        } => crate::compare::history(&results, &out, threshold)
            .map_err(Error::Input)
            .map(|p| println!("{}", p.display())),
        Command::Doctor => {
            crate::doctor::print();
            Ok(())
        }
        Command::Run {
            scenario,
            out,
            resume,
            quiet,
            webdriver,
            serve_host,
            grid,
            sessions,
            memory_cap,
            force,
        } => {
            match (&scenario, &resume) {
                (None, None) => Err(Error::Input(
                    "gapbench run: expected a scenario file (e.g. scenarios/native-smoke.toml) or --resume DIR".into(),
                )),
                (Some(_), Some(_)) => Err(Error::Input(
                    "gapbench run: give either a scenario file or --resume DIR, not both (a resumed run uses its own scenario)".into(),
                )),
                _ => match crate::target::TargetOptions::from_flags(&webdriver, serve_host.as_deref())
                    .and_then(|t| t.with_grid(grid.as_deref(), sessions))
                {
                    Err(e) => Err(Error::Input(e)),
                    Ok(targets) => {
                    for w in targets.warnings() {
                        eprintln!("warning: {w}");
                    }
                    let opts = crate::runner::RunOptions {
                        out_root: out,
                        resume,
                        progress: !quiet,
                        targets,
                        memory_cap,
                        force,
                    };
                    if let Err(e) = crate::interrupt::install() {
                        eprintln!("warning: {e}");
                    }
                    crate::proc::sweep_at_start();
                    crate::cgroup::remove_stale();
                    match crate::runner::run(scenario.as_deref().unwrap_or(std::path::Path::new("")), &opts) {
                        Ok(report) if report.interrupted => {
                            crate::runner::print_summary(&report);
                            eprintln!(
                                "interrupted: finish the run with `gapbench run --resume {}`",
                                report.dir.display()
                            );
                            return crate::interrupt::EXIT_CODE;
                        }
                        r => r.map(|report| {
                            crate::runner::print_summary(&report);
                            print_headline(&report.dir);
                        }),
                    }
                    }
                },
            }
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// `gapbench serve`: the probe server on an ephemeral loopback port until stdin reaches its end.
fn serve(dir: &std::path::Path, timeout_s: u64) -> Result<(), Error> {
    use std::io::Read;
    let t = std::time::Duration::from_secs(timeout_s.clamp(1, 3600));
    let limits = crate::server::Limits {
        header_timeout: t,
        io_timeout: t,
        ..crate::server::Limits::default()
    };
    if !dir.is_dir() {
        return Err(Error::Input(format!("{}: not a directory", dir.display())));
    }
    let loopback = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let server = crate::server::ProbeServer::start_with(dir, loopback, 0, limits)
        .map_err(|e| Error::Input(format!("{}: cannot serve: {e}", dir.display())))?;
    println!("serving http://{}/", server.addr());
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(server);
    Ok(())
}

/// The last lines of a run: the gap per engine (as the report computes it) and the command that
/// writes the report.
fn print_headline(dir: &std::path::Path) {
    match crate::report::headline(dir) {
        Ok(lines) if lines.is_empty() => {
            println!("gap to native: none in this run (no browser or Node case with a native twin)")
        }
        Ok(lines) => {
            println!(
                "gap to native (step time / the native twin's, same run and steps; geometric mean per engine):"
            );
            for l in lines {
                println!("  {l}");
            }
        }
        Err(e) => eprintln!("warning: no gap summary: {e}"),
    }
    println!("report: gapbench report {}", dir.display());
}
