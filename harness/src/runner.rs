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

mod shard;
use shard::Sink;

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
    /// With `resume`: go on even if the scenario changed since the run started (`--force`).
    pub force: bool,
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
        host: outcome
            .device
            .as_ref()
            .map_or_else(|| "local".to_string(), |d| d.id.clone()),
        secure_context: flag(outcome.device.as_ref().and_then(|d| d.secure_context)),
        cross_origin_isolated: flag(
            outcome
                .device
                .as_ref()
                .and_then(|d| d.cross_origin_isolated),
        ),
        threads: r
            .and_then(|r| r.threads)
            .map(|t| t.to_string())
            .unwrap_or_default(),
    }
}

fn flag(b: Option<bool>) -> String {
    b.map(|b| b.to_string()).unwrap_or_default()
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

/// Create a fresh run directory `<root>/<id>` for scenario `name`: `create_dir`, never an
/// existing one, with `-2`, `-3`, ... added when another run started in the same second.
fn create_run_dir(root: &Path, name: &str) -> Result<(PathBuf, String), Error> {
    std::fs::create_dir_all(root)
        .map_err(|e| Error::Other(format!("{}: cannot create: {e}", root.display())))?;
    let base = new_run_id(name);
    for k in 1..=1000 {
        let id = if k == 1 {
            base.clone()
        } else {
            format!("{base}-{k}")
        };
        let dir = root.join(&id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((dir, id)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::Other(format!(
                    "{}: cannot create the run directory: {e}",
                    dir.display()
                )));
            }
        }
    }
    Err(Error::Other(format!(
        "{}: 1000 run directories named {base}-* already exist",
        root.display()
    )))
}

/// The scenario a resumed run plans from: the run directory's own copy, after checking that
/// neither the copy nor the original file changed since the run started (unless `force`).
fn resume_scenario(dir: &Path, m: &Manifest, force: bool) -> Result<PathBuf, Error> {
    let copy = dir.join(crate::manifest::SCENARIO_COPY);
    if !copy.exists() || m.scenario_sha256.is_empty() {
        // A run directory from a gapbench that kept no copy: plan from the original path.
        eprintln!(
            "warning: {}: no copy of the scenario in the run directory; resuming from {} as it is now",
            dir.display(),
            m.scenario_path
        );
        return Ok(PathBuf::from(&m.scenario_path));
    }
    let manifest = dir.join("manifest.json");
    let kept = std::fs::read(&copy)
        .map_err(|e| Error::Input(format!("{}: cannot read: {e}", copy.display())))?;
    let kept_hash = crate::manifest::sha256_hex(&kept);
    if kept_hash != m.scenario_sha256 && !force {
        return Err(Error::Input(format!(
            "{}: the run's copy of its scenario was edited (sha256 {} is not the {} that {} records); pass --force to resume with it anyway",
            copy.display(),
            short(&kept_hash),
            short(&m.scenario_sha256),
            manifest.display()
        )));
    }
    // The original may be gone (fine: the copy is what runs) or changed (refused).
    if let Ok(now) = std::fs::read(&m.scenario_path) {
        let now_hash = crate::manifest::sha256_hex(&now);
        if now_hash != m.scenario_sha256 && !force {
            return Err(Error::Input(format!(
                "{}: the scenario changed since run {} started (sha256 {} now, {} then); --resume runs the run's copy {} — pass --force to resume with that copy, or start a new run",
                m.scenario_path,
                m.run_id,
                short(&now_hash),
                short(&m.scenario_sha256),
                copy.display()
            )));
        }
    }
    Ok(copy)
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// Run a scenario file end to end.
pub fn run(scenario_path: &Path, opts: &RunOptions) -> Result<RunReport, Error> {
    let catalog = BuildCatalog;
    let ftz = crate::manifest::flush_to_zero().map_err(Error::Input)?;
    let resumed = match &opts.resume {
        Some(dir) => {
            let m = Manifest::read(dir).map_err(Error::Input)?;
            let file = resume_scenario(dir, &m, opts.force)?;
            Some((dir.clone(), m, file))
        }
        None => None,
    };
    let file = match &resumed {
        Some((_, _, file)) => file.clone(),
        None => scenario_path.to_path_buf(),
    };
    let (scenario, text) = crate::scenario::load_with_text(&file, &catalog)
        .map_err(|e| Error::Input(e.to_string()))?;
    // Search groups run as memory-ceiling searches (ceiling.rs), after the plain cases.
    let cells =
        crate::ceiling::cells(&scenario, &catalog).map_err(|e| Error::Input(e.to_string()))?;
    let cases = plan::expand(&crate::ceiling::without_searches(&scenario), &catalog)
        .map_err(|e| Error::Input(e.to_string()))?;
    let cap = opts.memory_cap.unwrap_or_else(meter::cap::default_cap);
    let (dir, mut manifest) = match resumed {
        Some((dir, m, _)) => (dir, m),
        None => {
            let (dir, run_id) = create_run_dir(&opts.out_root, &scenario.name)?;
            let original = std::path::absolute(scenario_path).unwrap_or(scenario_path.into());
            let mut m = Manifest::new(
                &run_id,
                &scenario.name,
                &original,
                cases.len() + cells.len(),
            );
            m.scenario_sha256 = crate::manifest::sha256_hex(text.as_bytes());
            let copy = dir.join(crate::manifest::SCENARIO_COPY);
            crate::record::write_atomic(&copy, text.as_bytes())
                .map_err(|e| Error::Other(format!("{}: cannot write: {e}", copy.display())))?;
            (dir, m)
        }
    };
    let run_id = manifest.run_id.clone();
    // Continuing: cut what a crash left of an unfinished case (record/repair.rs, `repair`).
    let (writer, repair) = RecordWriter::open(&dir, opts.resume.is_some())
        .map_err(|e| Error::Other(format!("{}: cannot write records: {e}", dir.display())))?;
    for m in repair.messages(&dir) {
        eprintln!("warning: {m}");
    }
    // Recorded outcomes by case id: a resumed search replays its finished trials from them.
    let mut recorded: BTreeMap<String, Outcome> = BTreeMap::new();
    if opts.resume.is_some() {
        // Streamed, every row checked (file:line on corruption), only `case` rows kept.
        let warnings = crate::record::each_record(&dir.join("records.csv"), |r| {
            let r = r.record;
            if r.metric == "case" {
                let o = Outcome::bare(r.status, r.message, &r.case.engine, &r.case.engine_version);
                recorded.insert(r.case.case_id, o);
            }
        })
        .map_err(|e| Error::Input(e.to_string()))?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
    }
    let done: HashSet<String> = recorded.keys().cloned().collect();
    manifest.cases_done = cases
        .iter()
        .map(|c| &c.id)
        .chain(cells.iter().map(|c| &c.id))
        .filter(|id| done.contains(*id))
        .count();
    manifest.ended = None;
    manifest.memory_cap_bytes = Some(cap);
    manifest.memory_cap_mechanism = Some(crate::cgroup::mechanism());
    manifest.flush_to_zero = ftz;
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
    let mut sink = Sink {
        writer,
        manifest,
        dir: &dir,
        lines: Vec::new(),
        bar,
        progress: opts.progress,
    };
    // `--sessions N`: the remote cases first, sharded; then the rest here, one at a time.
    let (sharded, serial): (Vec<&Case>, Vec<&Case>) = if opts.targets.sessions > 1 {
        todo.iter()
            .partition(|c| opts.targets.endpoint(&c.target).is_some())
    } else {
        (Vec::new(), todo.clone())
    };
    let mut interrupted = !sharded.is_empty() && shard::run(&sharded, opts, cap, &mut sink)?;
    let mut targets: BTreeMap<String, Result<Box<dyn Target>, String>> = BTreeMap::new();
    for case in &serial {
        if interrupted || crate::interrupt::interrupted() {
            interrupted = true;
            break;
        }
        sink.bar.set_message(case.id.clone());
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
        sink.commit(case, &outcome, &records, &samples)?;
    }
    let Sink {
        mut writer,
        mut manifest,
        mut lines,
        bar,
        ..
    } = sink;
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
        // The devices the trials ran on, for the manifest's fleet (as for every other case).
        let mut devices = Vec::new();
        // Every trial is recorded as a case of its own.
        let ceiling = crate::ceiling::run_cell(cell, &mut |case| {
            // A trial a resumed run recorded before: its outcome, not a second run.
            if let Some(o) = recorded.get(&case.id) {
                return o.clone();
            }
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
            devices.extend(outcome.device.clone());
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
        for d in &devices {
            manifest.add_device(d);
        }
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

impl Line {
    /// One line for the case as it ends: id, status, ms/step, or why it did not run.
    fn brief(&self) -> String {
        let mut t = format!("{} {}", self.case_id, self.status.as_str());
        if let Some(ms) = self.step_ms {
            t.push_str(&format!(" {ms:.3} ms/step"));
        }
        if !self.message.is_empty() && self.status != Status::Ok {
            let m: String = self.message.chars().take(160).collect();
            t.push_str(&format!(": {m}"));
        }
        t
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_started_in_the_same_second_get_their_own_directories() {
        let root = std::env::temp_dir().join(format!("gapbench-runid-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        // Another run holds this second's id (and the next second's, should the clock tick).
        let taken = new_run_id("same");
        std::fs::create_dir_all(root.join(&taken)).unwrap();
        std::fs::write(root.join(&taken).join("records.csv"), "theirs").unwrap();
        let mut made = HashSet::new();
        for _ in 0..3 {
            let (dir, id) = create_run_dir(&root, "same").unwrap();
            assert_eq!(dir, root.join(&id));
            assert!(id.starts_with("same-"), "{id}");
            assert!(made.insert(id.clone()), "{id} given twice");
            assert_ne!(id, taken);
        }
        assert_eq!(
            std::fs::read_to_string(root.join(&taken).join("records.csv")).unwrap(),
            "theirs"
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
