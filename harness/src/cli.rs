//! The command line: `gapbench run | list | ...`. Parses flags and calls the stage that does
//! the work; every error reaches the user as one line and an exit code (2 for bad input).

use crate::error::Error;
use clap::{Parser, Subcommand};
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
        /// Finish an interrupted run: only cases without records in DIR are run
        #[arg(long, value_name = "DIR")]
        resume: Option<PathBuf>,
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
        /// http://HOST:PORT/
        #[arg(long, value_name = "HOST")]
        serve_host: Option<String>,
    },
    /// List workloads with their sizes (parameters, FLOPs per step), targets and meters
    List,
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

fn human(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2}G", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.2}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

fn list() {
    println!("Workloads (size: parameters, training FLOPs per step, batch):");
    for w in wasm_probe::catalog() {
        println!("  {:9} {}", w.name, w.about);
        for p in &w.presets {
            let spec = wasm_probe::WorkloadSpec {
                workload: w.name.into(),
                size: p.name.into(),
                classes: None,
                samples_per_class: None,
            };
            if let Ok(r) = wasm_probe::Workload::resolve(&spec) {
                let default = if p.name == w.default_size {
                    " (default)"
                } else {
                    ""
                };
                println!(
                    "      {:8} {:>8} params  {:>8} FLOP/step  batch {:3}{default}",
                    p.name,
                    human(r.params()),
                    human(r.flops_per_step()),
                    r.batch
                );
            }
        }
    }
    for (w, about) in crate::meter::page::PAGE_TASKS {
        println!("  {w:9} {about}");
    }
    println!("\nTargets:");
    for (t, about) in crate::catalog::TARGETS {
        println!("  {t:15} {about}");
    }
    println!(
        "\nWasm backends (for node and browser targets): {}",
        wasm_probe::backend::BACKENDS.join(", ")
    );
    println!(
        "TF.js backends (same workloads trained by TensorFlow.js): {}",
        wasm_probe::backend::TFJS_BACKENDS.join(", ")
    );
    println!("\nMeters:");
    for (m, about) in crate::catalog::METERS
        .iter()
        .chain(crate::catalog::PAGE_METERS.iter())
    {
        println!("  {m:15} {about}");
    }
}

/// Run the parsed command; returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    let result: Result<(), Error> = match cli.command {
        Command::List => {
            list();
            Ok(())
        }
        Command::NativeCase => return crate::target::native_case_main(),
        Command::Report { runs, name, out } => {
            let name = name.unwrap_or_else(|| {
                runs[0].file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "report".into())
            });
            let dir = out.join(name);
            crate::report::write_report(&runs, &dir).map_err(Error::Input).map(|files| {
                for w in &files.warnings {
                    eprintln!("warning: {w}");
                }
                println!("{}", files.html.display());
                println!("{}", files.markdown.display());
                println!("{}", files.summary.display());
            })
        }
        Command::Compare { baseline, candidate, threshold, format, json, steps } => {
            let unit = if steps { crate::compare::Unit::Steps } else { crate::compare::Unit::Repetitions };
            match crate::compare::compare_runs(&baseline, &candidate, threshold, unit) {
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
        Command::History { results, out, threshold } => {
            crate::compare::history(&results, &out, threshold).map_err(Error::Input).map(|p| println!("{}", p.display()))
        }
        Command::Doctor => {
            crate::doctor::print();
            Ok(())
        }
        Command::Run { scenario, out, resume, quiet, webdriver, serve_host, memory_cap } => {
            match (&scenario, &resume) {
                (None, None) => Err(Error::Input(
                    "gapbench run: expected a scenario file (e.g. scenarios/native-smoke.toml) or --resume DIR".into(),
                )),
                (Some(_), Some(_)) => Err(Error::Input(
                    "gapbench run: give either a scenario file or --resume DIR, not both (a resumed run uses its own scenario)".into(),
                )),
                _ => match crate::target::TargetOptions::from_flags(&webdriver, serve_host.as_deref()) {
                    Err(e) => Err(Error::Input(e)),
                    Ok(targets) => {
                    let opts = crate::runner::RunOptions {
                        out_root: out,
                        resume,
                        progress: !quiet,
                        targets,
                        memory_cap,
                    };
                    if let Err(e) = crate::interrupt::install() {
                        eprintln!("warning: {e}");
                    }
                    crate::proc::sweep_at_start();
                    match crate::runner::run(scenario.as_deref().unwrap_or(std::path::Path::new("")), &opts) {
                        Ok(report) if report.interrupted => {
                            crate::runner::print_summary(&report);
                            eprintln!(
                                "interrupted: finish the run with `gapbench run --resume {}`",
                                report.dir.display()
                            );
                            return crate::interrupt::EXIT_CODE;
                        }
                        r => r.map(|report| crate::runner::print_summary(&report)),
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
