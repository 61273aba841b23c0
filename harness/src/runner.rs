//! Runs a plan: opens each target once, runs the cases in plan order, hands each outcome to the
//! meters, and appends the records at once, so nothing measured is lost if the run dies.

use crate::catalog::BuildCatalog;
use crate::error::Error;
use crate::manifest::{Manifest, now_utc};
use crate::meter;
use crate::plan::{self, Case};
use crate::record::{CaseInfo, Record, RecordWriter, Status};
use crate::target::{self, Outcome, Target};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub struct RunOptions {
    /// Where run directories go (`results/` by default).
    pub out_root: PathBuf,
    /// Continue this run directory: only cases without records are run.
    pub resume: Option<PathBuf>,
    pub progress: bool,
    /// Remote WebDriver endpoints and the probe server's host (`--webdriver`, `--serve-host`).
    pub targets: target::TargetOptions,
    /// Kill a case whose process tree passes this PSS (`--memory-cap`; None: the default cap).
    pub memory_cap: Option<u64>,
}

/// One line of the end-of-run summary.
pub struct Line {
    pub case_id: String,
    pub status: Status,
    pub message: String,
    pub step_ms: Option<f64>,
    pub per_s: Option<f64>,
    pub gflops: Option<f64>,
    pub accuracy: Option<f64>,
}

pub struct RunReport {
    pub dir: PathBuf,
    pub lines: Vec<Line>,
    pub skipped_as_done: usize,
    /// Stopped by Ctrl-C / SIGTERM (see `interrupt`): cases are left for `--resume`.
    pub interrupted: bool,
}

fn new_run_id(name: &str) -> String {
    let t = now_utc().replace([':', '-'], "");
    format!("{name}-{}", t.trim_end_matches('Z').replace('T', "-"))
}

fn info_for(run_id: &str, case: &Case, outcome: &Outcome) -> CaseInfo {
    let r = outcome.result.as_ref();
    let w = wasm_probe::Workload::resolve(&case.spec().workload).ok();
    CaseInfo {
        run_id: run_id.into(),
        case_id: case.id.clone(),
        workload: case.workload.clone(),
        size: r
            .map(|r| r.size.clone())
            .unwrap_or_else(|| case.size.clone()),
        params: r
            .map(|r| r.params)
            .or(w.as_ref().map(|w| w.params()))
            .unwrap_or(0),
        batch: r
            .map(|r| r.batch)
            .or(w.as_ref().map(|w| w.batch as u64))
            .unwrap_or(0),
        target: case.target.clone(),
        context: case.context.clone(),
        engine: outcome.engine.clone(),
        engine_version: outcome.engine_version.clone(),
        backend: case.backend.clone(),
        simd: case.simd_label().into(),
        device: r.map(|r| r.device.clone()).unwrap_or_default(),
        repetition: case.repetition,
        flops_per_step: r
            .map(|r| r.flops_per_step)
            .or(w.as_ref().map(|w| w.flops_per_step()))
            .unwrap_or(0),
    }
}

/// Turn an outcome into records through the case's meters.
pub fn records_for(
    run_id: &str,
    case: &Case,
    outcome: &Outcome,
    meters: &meter::Meters,
) -> (Vec<Record>, Vec<crate::record::Sample>) {
    let info = info_for(run_id, case, outcome);
    let mut records = vec![Record::outcome(&info, outcome.status, &outcome.message)];
    let mut samples = Vec::new();
    for m in &meters.meters {
        let (r, s) = m.records(case, &info, outcome);
        records.extend(r);
        samples.extend(s);
    }
    (records, samples)
}

fn summary_line(case: &Case, outcome: &Outcome, records: &[Record]) -> Line {
    let med = |metric: &str| {
        records
            .iter()
            .find(|r| r.metric == metric)
            .and_then(|r| r.summary.as_ref().map(|s| s.median))
    };
    Line {
        case_id: case.id.clone(),
        status: outcome.status,
        message: outcome.message.clone(),
        step_ms: med("step_time"),
        per_s: med("throughput"),
        gflops: med("compute"),
        accuracy: med("val_accuracy"),
    }
}

/// Run a scenario file end to end.
pub fn run(scenario_path: &Path, opts: &RunOptions) -> Result<RunReport, Error> {
    let catalog = BuildCatalog;
    let (scenario_path, dir, done, run_id) = match &opts.resume {
        Some(dir) => {
            let m = Manifest::read(dir).map_err(Error::Input)?;
            let (rows, warnings) = crate::record::read_records(&dir.join("records.csv"))
                .map_err(|e| Error::Input(e.to_string()))?;
            for w in warnings {
                eprintln!("warning: {w}");
            }
            let done: HashSet<String> = rows.into_iter().map(|r| r.record.case.case_id).collect();
            (PathBuf::from(&m.scenario_path), dir.clone(), done, m.run_id)
        }
        None => (
            scenario_path.to_path_buf(),
            PathBuf::new(),
            HashSet::new(),
            String::new(),
        ),
    };
    let scenario =
        crate::scenario::load(&scenario_path, &catalog).map_err(|e| Error::Input(e.to_string()))?;
    // Search groups run as memory-ceiling searches (ceiling.rs), after the plain cases.
    let cells = crate::ceiling::cells(&scenario, &catalog);
    let cases = plan::expand(&crate::ceiling::without_searches(&scenario), &catalog);
    let cap = opts.memory_cap.unwrap_or_else(meter::cap::default_cap);
    let (dir, run_id) = if opts.resume.is_some() {
        (dir, run_id)
    } else {
        let id = new_run_id(&scenario.name);
        (opts.out_root.join(&id), id)
    };
    let mut writer = RecordWriter::open(&dir, opts.resume.is_some())
        .map_err(|e| Error::Other(format!("{}: cannot write records: {e}", dir.display())))?;
    let mut manifest = match opts.resume {
        Some(_) => Manifest::read(&dir).map_err(Error::Input)?,
        None => Manifest::new(
            &run_id,
            &scenario.name,
            &scenario_path,
            cases.len() + cells.len(),
        ),
    };
    manifest.ended = None;
    manifest.memory_cap_bytes = Some(cap);
    manifest.memory_cap_mechanism = Some(crate::cgroup::mechanism());
    manifest
        .write(&dir)
        .map_err(|e| Error::Other(format!("{}: cannot write manifest: {e}", dir.display())))?;

    let todo: Vec<&Case> = cases.iter().filter(|c| !done.contains(&c.id)).collect();
    let bar = if opts.progress {
        indicatif::ProgressBar::new(todo.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} [{elapsed_precise}] {wide_msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut targets: BTreeMap<String, Result<Box<dyn Target>, String>> = BTreeMap::new();
    let mut lines = Vec::new();
    let mut interrupted = false;
    for case in &todo {
        if crate::interrupt::interrupted() {
            interrupted = true;
            break;
        }
        bar.set_message(case.id.clone());
        let target = targets
            .entry(case.target.clone())
            .or_insert_with(|| target::open(&case.target, &opts.targets));
        let mut meters = meter::Meters::with_cap(case, Some(cap));
        let mut outcome = match target {
            Ok(t) => t.run(case, &mut meters),
            Err(why) => Outcome::bare(Status::Skipped, why.clone(), &case.target, ""),
        };
        meters.apply_verdict(&mut outcome);
        // A case cut short by Ctrl-C is not a measurement: leave it to `--resume`.
        if crate::interrupt::interrupted() && outcome.status != Status::Ok {
            interrupted = true;
            break;
        }
        let (records, samples) = records_for(&run_id, case, &outcome, &meters);
        writer
            .write_case(&run_id, &records, &samples)
            .map_err(|e| Error::Other(format!("{}: cannot append records: {e}", dir.display())))?;
        manifest.cases_done += 1;
        let _ = manifest.write(&dir);
        lines.push(summary_line(case, &outcome, &records));
        bar.inc(1);
    }
    let cells_todo: Vec<_> = cells.iter().filter(|c| !done.contains(&c.id)).collect();
    bar.inc_length(cells_todo.len() as u64);
    for cell in cells_todo {
        if interrupted || crate::interrupt::interrupted() {
            interrupted = true;
            break;
        }
        bar.set_message(cell.id.clone());
        let target = targets
            .entry(cell.base.target.clone())
            .or_insert_with(|| target::open(&cell.base.target, &opts.targets));
        let mut write_error = None;
        // Every trial is recorded as a case of its own.
        let ceiling = crate::ceiling::run_cell(cell, &mut |case| {
            if crate::interrupt::interrupted() {
                return Outcome::bare(Status::Skipped, "interrupted", &case.target, "");
            }
            let mut meters = meter::Meters::with_cap(case, Some(cap));
            let mut outcome = match target {
                Ok(t) => t.run(case, &mut meters),
                Err(why) => Outcome::bare(Status::Skipped, why.clone(), &case.target, ""),
            };
            meters.apply_verdict(&mut outcome);
            // A trial cut short by Ctrl-C is not a measurement either.
            if crate::interrupt::interrupted() && outcome.status != Status::Ok {
                return outcome;
            }
            let (records, samples) = records_for(&run_id, case, &outcome, &meters);
            if let Err(e) = writer.write_case(&run_id, &records, &samples) {
                write_error.get_or_insert(e);
            }
            lines.push(summary_line(case, &outcome, &records));
            outcome
        });
        if let Some(e) = write_error {
            return Err(Error::Other(format!(
                "{}: cannot append records: {e}",
                dir.display()
            )));
        }
        if crate::interrupt::interrupted() {
            interrupted = true;
            break;
        }
        let (case, outcome) = crate::ceiling::record_subject(cell, &ceiling);
        let records = crate::ceiling::records(&info_for(&run_id, &case, &outcome), cell, &ceiling);
        writer
            .write_case(&run_id, &records, &[])
            .map_err(|e| Error::Other(format!("{}: cannot append records: {e}", dir.display())))?;
        manifest.cases_done += 1;
        let _ = manifest.write(&dir);
        let mut line = summary_line(&case, &outcome, &records);
        line.status = records[0].status;
        line.message = records[0].message.clone();
        lines.push(line);
        bar.inc(1);
    }
    bar.finish_and_clear();
    for t in targets.values_mut().flatten() {
        t.close();
    }
    if !interrupted {
        manifest.ended = Some(now_utc());
    }
    manifest
        .write(&dir)
        .map_err(|e| Error::Other(format!("{}: cannot write manifest: {e}", dir.display())))?;
    Ok(RunReport {
        dir,
        lines,
        skipped_as_done: cases.len() - todo.len(),
        interrupted,
    })
}

/// The end-of-run table.
pub fn print_summary(report: &RunReport) {
    let fmt =
        |v: Option<f64>, p: usize| v.map(|v| format!("{v:.p$}")).unwrap_or_else(|| "-".into());
    let mut lines: Vec<&Line> = report.lines.iter().collect();
    lines.sort_by(|a, b| a.case_id.cmp(&b.case_id));
    let w = lines
        .iter()
        .map(|l| l.case_id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:w$}  {:8}  {:>10}  {:>11}  {:>8}  {:>7}",
        "case", "status", "ms/step", "samples/s", "GFLOP/s", "val acc"
    );
    for l in lines {
        println!(
            "{:w$}  {:8}  {:>10}  {:>11}  {:>8}  {:>7}{}",
            l.case_id,
            l.status.as_str(),
            fmt(l.step_ms, 3),
            fmt(l.per_s, 1),
            fmt(l.gflops, 2),
            fmt(l.accuracy, 3),
            if l.message.is_empty() {
                String::new()
            } else {
                format!("  {}", l.message)
            }
        );
    }
    if report.skipped_as_done > 0 {
        println!(
            "({} case(s) already recorded were not run again)",
            report.skipped_as_done
        );
    }
    println!("records: {}", report.dir.join("records.csv").display());
}
