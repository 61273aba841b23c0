//! The report: reads run directories and writes `index.html` (self-contained), `report.md`,
//! `summary.csv` and the charts as SVG files. Owns what the report says; submodules render it.

pub(crate) mod charts;
pub(crate) mod doc;
mod efficiency;
mod environment;
mod findings;
mod fleet;
mod format;
mod frontier;
mod gap;
pub(crate) mod html;
mod load;
pub(crate) mod markdown;
mod pivots;
mod rates;
#[cfg(test)]
pub(crate) mod testutil;

pub use gap::SUMMARY_COLUMNS;

use crate::manifest::Manifest;
use crate::record::{self, CaseInfo, Record, Status};
use crate::stats::{self, Summary};
use charts::{Point, Series};
use doc::{Block, Doc, Section, Table};
use gap::{Twins, gap, gap_interval};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What [`write_report`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFiles {
    pub html: PathBuf,
    pub markdown: PathBuf,
    pub summary: PathBuf,
    pub charts: Vec<PathBuf>,
    /// Problems that did not stop the report (e.g. a cut-short last line that was dropped);
    /// they are also listed in the report's last section.
    pub warnings: Vec<String>,
}

use environment::*;
pub(crate) use format::*;
pub(crate) use load::*;
use pivots::*;
use rates::*;

/// Read the runs and write the report files into `out_dir`.
pub fn write_report(runs: &[PathBuf], out_dir: &Path) -> Result<ReportFiles, String> {
    if runs.is_empty() {
        return Err("no run directories given (expected results/<run-id> directories)".into());
    }
    let mut warnings = Vec::new();
    let mut loaded: Vec<Run> = Vec::new();
    let mut seen: BTreeMap<String, &PathBuf> = BTreeMap::new();
    for dir in runs {
        let run = load_run(dir, &mut warnings)?;
        match seen.entry(run.manifest.run_id.clone()) {
            Entry::Occupied(first) => warnings.push(format!(
                "{}: run `{}` is also at {}; reported once",
                dir.display(),
                run.manifest.run_id,
                first.get().display()
            )),
            Entry::Vacant(v) => {
                v.insert(dir);
                loaded.push(run);
            }
        }
    }
    let runs = loaded;
    let twins = Twins::new(&runs);
    let doc = build(&runs, &twins, &warnings);

    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("{}: cannot create: {e}", out_dir.display()))?;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, String> {
        let path = out_dir.join(name);
        record::write_atomic(&path, bytes)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        Ok(path)
    };
    let mut chart_files = Vec::new();
    for s in &doc.sections {
        for b in &s.blocks {
            if let Block::Chart(c) = b {
                chart_files.push(write(&c.file, c.svg.as_bytes())?);
            }
        }
    }
    let summary = write("summary.csv", &gap::summary_csv(&runs, &twins)?)?;
    let markdown = write("report.md", markdown::render(&doc).as_bytes())?;
    let html = write("index.html", html::render(&doc).as_bytes())?;
    Ok(ReportFiles {
        html,
        markdown,
        summary,
        charts: chart_files,
        warnings,
    })
}

/// The end of a run's summary: per engine, the geometric mean of its gap to native over the case
/// set its engines share (as the report's gap section computes it), one line per variant.
/// Reads `records.csv` as a stream and keeps one `step_time` record per case (all the gap needs),
/// so a run of any size is summarised in little memory.
pub fn headline(run_dir: &Path) -> Result<Vec<String>, String> {
    if !run_dir.is_dir() {
        return Err(format!("{}: not a run directory", run_dir.display()));
    }
    let manifest = Manifest::read(run_dir)?;
    let mut step_times: BTreeMap<String, Record> = BTreeMap::new();
    record::each_record(&run_dir.join("records.csv"), |r| {
        if r.record.metric == "step_time" {
            step_times.insert(r.record.case.case_id.clone(), r.record);
        }
    })
    .map_err(|e| e.to_string())?;
    let runs = vec![Run {
        manifest,
        records: step_times.into_values().collect(),
    }];
    let twins = Twins::new(&runs);
    Ok(gap::geo_lines(&gap::section(&runs, &twins, false).1))
}

fn build(runs: &[Run], twins: &Twins, warnings: &[String]) -> Doc {
    let multi = runs.len() > 1;
    // The findings come first; how to read the figures and which runs they are from follow.
    let intro = vec![format!(
        "{} run(s) on {}; the findings first, then how to read the figures, the environment \
         and every measurement.",
        runs.len(),
        runs.iter()
            .map(|r| format!("{} ({} cores)", r.manifest.host_cpu, r.manifest.cores))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    )];
    let mut reading = Section::new("reading", "Reading the figures");
    reading.para(format!(
        "Runs: {}.",
        runs.iter()
            .map(|r| format!(
                "{} ({}, started {})",
                r.manifest.run_id, r.manifest.scenario, r.manifest.started
            ))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    reading.para(
        "Figures are medians with the 95% bootstrap CI of the median in brackets and the number of \
         steps n. A case run several times is shown as the median of its repetitions' medians with \
         the distribution-free interval of those medians (order statistics; n = repetitions): \
         fewer than 6 repetitions cannot reach 95%, and the interval then says the coverage it \
         has (\"87.5% only\" for 4). Gap ratios above 1 mean slower than native, and are only \
         taken against a native case of the same run over the same steps.",
    );
    let (gap_section, geos) = gap::section(runs, twins, multi);
    let mut sections = vec![findings::section(runs, &geos), reading, environment(runs)];
    sections.extend(fleet::fleet(runs));
    sections.push(rate_chart(
        runs,
        multi,
        "throughput",
        "Training throughput vs model size",
        "throughput.svg",
        "samples/s",
    ));
    sections.push(rate_chart(
        runs,
        multi,
        "compute",
        "Compute rate vs model size",
        "compute.svg",
        "GFLOP/s",
    ));
    sections.push(gap_section);
    sections.push(step_times(runs, multi));
    sections.push(teachable_machine(runs, twins, multi));
    sections.push(pivot(
        runs,
        multi,
        "memory",
        "Memory",
        "Peak memory of the case process (RSS, PSS) and the largest model that fit (ceiling_*).",
        |m| m == "peak_rss" || m == "peak_pss" || m.starts_with("ceiling_"),
    ));
    sections.push(frontier::section(runs));
    sections.push(pivot(
        runs,
        multi,
        "ui-stalls",
        "UI stalls",
        "How training on the page's threads delays frames: the longest and 95th-percentile frame gap and the count of long frames.",
        |m| matches!(m, "frame_gap_max" | "frame_gap_p95" | "long_frames"),
    ));
    sections.push(pivot(
        runs,
        multi,
        "background",
        "Background tabs",
        "Throughput in a background tab relative to a foreground one (background_ratio).",
        |m| m == "background_ratio",
    ));
    sections.push(pivot(
        runs,
        multi,
        "ingestion",
        "Data ingestion",
        "Getting training data into the engine (ingest_*).",
        |m| m.starts_with("ingest_"),
    ));
    sections.push(efficiency::section(runs));
    sections.push(capabilities(runs));
    sections.push(not_ok(runs, multi));
    if !warnings.is_empty() {
        let mut s = Section::new("warnings", "Warnings while reading");
        for w in warnings {
            s.para(w.clone());
        }
        sections.push(s);
    }
    Doc {
        title: "gapbench report".into(),
        intro,
        sections,
    }
}

#[cfg(test)]
mod tests;
