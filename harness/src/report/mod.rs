//! The report: reads run directories and writes `index.html` (self-contained), `report.md`,
//! `summary.csv` and the charts as SVG files. Owns what the report says; submodules render it.

pub(crate) mod charts;
pub(crate) mod doc;
mod efficiency;
mod findings;
mod gap;
pub(crate) mod html;
pub(crate) mod markdown;
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

/// One run directory, read.
pub(crate) struct Run {
    pub manifest: Manifest,
    pub records: Vec<Record>,
}

/// Read a run directory's `manifest.json` and `records.csv`; warnings are appended.
pub(crate) fn load_run(dir: &Path, warnings: &mut Vec<String>) -> Result<Run, String> {
    if !dir.is_dir() {
        return Err(format!("{}: not a run directory", dir.display()));
    }
    let manifest = Manifest::read(dir)?;
    let (rows, w) = record::read_records(&dir.join("records.csv")).map_err(|e| e.to_string())?;
    warnings.extend(w);
    Ok(Run {
        manifest,
        records: rows.into_iter().map(|r| r.record).collect(),
    })
}

/// The summary of a record that measured something: status ok, a metric, finite samples.
pub(crate) fn measured(r: &Record) -> Option<&Summary> {
    if r.status == Status::Ok && r.metric != "case" {
        r.summary.as_ref()
    } else {
        None
    }
}

/// A median with its CI, possibly over several repetitions of a case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Agg {
    pub median: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The samples the CI is drawn from: steps for one repetition, repetitions for several.
    pub n: usize,
    pub reps: usize,
    /// The CI's coverage: 95% for one repetition's steps (bootstrap), the exact coverage of
    /// the order statistics over repetitions (below 95% when they are too few to reach it).
    pub level: f64,
}

impl Agg {
    pub fn of(s: &Summary) -> Agg {
        Agg {
            median: s.median,
            ci_low: s.ci_low,
            ci_high: s.ci_high,
            n: s.n,
            reps: 1,
            level: stats::DEFAULT_LEVEL,
        }
    }

    /// Several repetitions: the median of their medians, with the order-statistics interval of
    /// those medians (n = repetitions: the variation between runs is what the interval is
    /// about, not the steps within one).
    pub fn combine(list: &[&Summary]) -> Option<Agg> {
        match list {
            [] => None,
            [one] => Some(Agg::of(one)),
            _ => {
                let medians: Vec<f64> = list.iter().map(|s| s.median).collect();
                let (ci_low, ci_high, level) =
                    stats::median_ci_order(&medians, stats::DEFAULT_LEVEL);
                Some(Agg {
                    median: stats::median(&medians),
                    ci_low,
                    ci_high,
                    n: list.len(),
                    reps: list.len(),
                    level,
                })
            }
        }
    }

    /// `k / x` of every value (samples/s from ms a step with k = batch·1000): the median and
    /// the interval's ends map over, the ends swapping places.
    pub fn inverted(&self, k: f64) -> Agg {
        Agg {
            median: k / self.median,
            ci_low: k / self.ci_high,
            ci_high: k / self.ci_low,
            ..self.clone()
        }
    }

    /// Whether the interval reaches the level a report states (95%, less a rounding slack).
    pub fn full_level(&self) -> bool {
        self.n >= 2 && self.level >= 0.94
    }

    /// The same figure in another unit (`factor` multiplies every value).
    pub fn scaled(&self, factor: f64) -> Agg {
        Agg {
            median: self.median * factor,
            ci_low: self.ci_low * factor,
            ci_high: self.ci_high * factor,
            ..self.clone()
        }
    }

    fn point(&self, x: f64) -> Point {
        Point {
            x,
            y: self.median,
            lo: self.ci_low,
            hi: self.ci_high,
        }
    }
}

/// A number with about three significant digits, without exponent for ordinary magnitudes.
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a >= 1e-4 {
        let decimals = (2.0 - a.log10().floor()) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.2e}")
    }
}

/// `12.3 ms [12.1, 12.6] n=20` for one repetition's steps, `12.3 ms [11.0, 14.2] 7 reps` over
/// repetitions, and `[…, … 87.5% only]` when the interval cannot reach 95%.
pub(crate) fn fig(a: &Agg, unit: &str) -> String {
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    let n = if a.reps > 1 {
        format!("{} reps", a.reps)
    } else {
        format!("n={}", a.n)
    };
    if a.n < 2 {
        return format!("{}{unit} {n} (no CI)", num(a.median));
    }
    let level = if a.full_level() {
        String::new()
    } else {
        format!(" {:.1}% only", a.level * 100.0)
    };
    format!(
        "{}{unit} [{}, {}{level}] {n}",
        num(a.median),
        num(a.ci_low),
        num(a.ci_high),
    )
}

/// `2.00× [1.90, 2.10]`.
pub(crate) fn ratio_fig(r: f64, ci: Option<(f64, f64)>) -> String {
    match ci {
        Some((l, h)) => format!("{r:.2}× [{l:.2}, {h:.2}]"),
        None => format!("{r:.2}×"),
    }
}

/// `ndarray-simd` / `ndarray-nosimd` / `ndarray`, as in case ids.
pub(crate) fn variant(c: &CaseInfo) -> String {
    match c.simd.as_str() {
        "simd" => format!("{}-simd", c.backend),
        "no-simd" => format!("{}-nosimd", c.backend),
        _ => c.backend.clone(),
    }
}

/// Engine and version as tables show it; a parenthesised aside in the version (e.g. rustc's
/// commit and date) is left to the environment table.
pub(crate) fn engine_label(c: &CaseInfo) -> String {
    let mut v = c.engine_version.clone();
    while let (Some(a), Some(b)) = (v.find(" ("), v.find(')')) {
        if b < a {
            break;
        }
        v.replace_range(a..=b, "");
    }
    match (c.engine.as_str(), v.as_str()) {
        ("", _) => c.target.clone(),
        (e, "") => e.to_string(),
        (e, v) => format!("{e} {v}"),
    }
}

pub(crate) fn is_native(target: &str) -> bool {
    target.starts_with("native-")
}

pub(crate) const NOT_MEASURED: &str = "Not measured in these runs.";

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

/// Every measured record that `pred` accepts, with the index of its run.
pub(crate) fn of_metric(
    runs: &[Run],
    pred: impl Fn(&Record) -> bool,
) -> Vec<(usize, &Record, &Summary)> {
    runs.iter()
        .enumerate()
        .flat_map(|(i, run)| run.records.iter().map(move |r| (i, r)))
        .filter(|(_, r)| pred(r))
        .filter_map(|(i, r)| measured(r).map(|s| (i, r, s)))
        .collect()
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

fn environment(runs: &[Run]) -> Section {
    let mut s = Section::new("environment", "Environment");
    let mut header = vec!["".to_string()];
    header.extend(runs.iter().map(|r| r.manifest.run_id.clone()));
    let mut t = Table::new(&header);
    type Field = (&'static str, fn(&Manifest) -> String);
    let fields: [Field; 16] = [
        ("scenario", |m| m.scenario.clone()),
        ("host CPU", |m| m.host_cpu.clone()),
        ("cores", |m| m.cores.to_string()),
        ("RAM", |m| {
            format!("{:.1} GiB", m.ram_bytes as f64 / (1u64 << 30) as f64)
        }),
        ("OS", |m| m.os.clone()),
        ("kernel", |m| m.kernel.clone()),
        ("commit", |m| m.git_commit.clone()),
        ("gapbench", |m| m.gapbench_version.clone()),
        ("allocator", |m| m.allocator.clone()),
        ("rustc", |m| m.rustc.clone()),
        ("burn", |m| m.burn.clone()),
        ("native threads", |m| m.native_threads.to_string()),
        ("engine settings", |m| {
            if m.engine_env.is_empty() {
                "none from the environment".into()
            } else {
                m.engine_env.join(" ")
            }
        }),
        ("started", |m| m.started.clone()),
        ("ended", |m| {
            m.ended.clone().unwrap_or_else(|| "(not finished)".into())
        }),
        ("cases done", |m| {
            format!("{} of {}", m.cases_done, m.cases_planned)
        }),
    ];
    for (name, get) in fields {
        let mut row = vec![name.to_string()];
        row.extend(runs.iter().map(|r| get(&r.manifest)));
        t.push(row);
    }
    s.table(t);

    // engines and versions seen in records
    let mut engines: BTreeMap<(String, String), (BTreeSet<String>, BTreeSet<String>)> =
        BTreeMap::new();
    let mut devices: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for run in runs {
        for r in &run.records {
            let c = &r.case;
            if !c.engine.is_empty() || !c.engine_version.is_empty() {
                let e = engines
                    .entry((c.engine.clone(), c.engine_version.clone()))
                    .or_default();
                e.0.insert(c.target.clone());
                e.1.insert(c.run_id.clone());
            }
            if !c.device.is_empty() {
                devices.entry(c.device.clone()).or_default().insert(format!(
                    "{} {}",
                    c.target,
                    variant(c)
                ));
            }
        }
    }
    if engines.is_empty() {
        s.note("No engine versions recorded.");
    } else {
        let mut t = Table::new(&["engine", "version", "targets", "runs"]);
        for ((e, v), (targets, run_ids)) in engines {
            t.push(vec![e, v, join(&targets), join(&run_ids)]);
        }
        s.table(t);
    }
    if devices.is_empty() {
        s.note("No devices or adapters recorded.");
    } else {
        let mut t = Table::new(&["device / adapter", "used by"]);
        for (d, users) in devices {
            t.push(vec![d, join(&users)]);
        }
        s.table(t);
    }
    s
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Label of a chart series: target and variant and context, with the run when there are several.
/// A native target's variant is its backend, already in its name, so it is left out.
fn series_label(c: &CaseInfo, multi: bool) -> String {
    let var = variant(c);
    let base = if c.target == format!("native-{var}") {
        format!("{} {}", c.target, c.context)
    } else {
        format!("{} {var} {}", c.target, c.context)
    };
    if multi {
        format!("{base} ({})", c.run_id)
    } else {
        base
    }
}

/// The most series one chart draws.
const MAX_SERIES: usize = 8;

fn rate_chart(
    runs: &[Run],
    multi: bool,
    metric: &str,
    title: &str,
    file: &str,
    unit: &str,
) -> Section {
    let mut s = Section::new(metric, title);
    let recs = of_metric(runs, |r| r.metric == metric);
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return s;
    }
    // series -> (params, workload, size) -> summaries over repetitions
    type Points<'a> = BTreeMap<(u64, String, String), (Vec<&'a Summary>, String)>;
    let mut series: BTreeMap<String, Points> = BTreeMap::new();
    // The series the chart draws: the probe (ndarray with SIMD) and native ndarray on the main
    // thread; every other series is in the table only, so the chart stays readable.
    let mut charted: BTreeSet<String> = BTreeSet::new();
    let mut no_params = 0;
    // marker groups: one per workload, in name order
    let workloads: Vec<String> = recs
        .iter()
        .map(|(_, r, _)| r.case.workload.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for (_, r, sum) in &recs {
        let c = &r.case;
        if c.params == 0 {
            no_params += 1;
            continue;
        }
        if c.context == "main" && (variant(c) == "ndarray-simd" || c.target == "native-ndarray") {
            charted.insert(series_label(c, multi));
        }
        let e = series
            .entry(series_label(c, multi))
            .or_default()
            .entry((c.params, c.workload.clone(), c.size.clone()))
            .or_insert_with(|| (Vec::new(), r.unit.clone()));
        e.0.push(sum);
    }
    let mut chart_series = Vec::new();
    let mut t = Table::new(&["series", "workload/size", "parameters", metric]);
    for (label, points) in &series {
        let mut pts = Vec::new();
        let mut groups = Vec::new();
        for ((params, workload, size), (sums, unit)) in points {
            let Some(agg) = Agg::combine(sums) else {
                continue;
            };
            pts.push(agg.point(*params as f64));
            groups.push(workloads.iter().position(|w| w == workload).unwrap_or(0));
            t.push(vec![
                label.clone(),
                format!("{workload}/{size}"),
                charts::human(*params as f64),
                fig(&agg, unit),
            ]);
        }
        if charted.contains(label) && chart_series.len() < MAX_SERIES {
            chart_series.push(Series {
                label: label.clone(),
                points: pts,
                groups,
            });
        }
    }
    s.para(format!(
        "{metric} ({unit}) against parameter count, both axes logarithmic; one colour per target \
         (the probe, burn ndarray with SIMD, and native ndarray, on the main thread; at most \
         {MAX_SERIES}), one marker shape per workload (lines join the sizes of one workload); bars \
         are 95% CIs. The table under it has every series ({} here).",
        series.len()
    ));
    if chart_series.is_empty() {
        s.note("No series of the probe or native ndarray on the main thread to chart.");
    } else {
        match charts::log_log(
            file,
            title,
            "parameters (log)",
            &format!("{metric} ({unit}, log)"),
            &chart_series,
            &workloads,
        ) {
            Ok(chart) => s.blocks.push(Block::Chart(chart)),
            Err(_) => s.note("No positive values to chart."),
        }
    }
    s.table(t);
    if no_params > 0 {
        s.note(format!(
            "{no_params} record(s) without a parameter count are left out of the chart."
        ));
    }
    s
}

fn case_label(r: &Record, multi: bool) -> String {
    if multi {
        format!("{}: {}", r.case.run_id, r.case.case_id)
    } else {
        r.case.case_id.clone()
    }
}

fn step_times(runs: &[Run], multi: bool) -> Section {
    let mut s = Section::new("step-time", "Step time of every case");
    let recs: Vec<(usize, &Record)> = runs
        .iter()
        .enumerate()
        .flat_map(|(i, run)| run.records.iter().map(move |r| (i, r)))
        .filter(|(_, r)| r.metric == "step_time" && r.status == Status::Ok)
        .collect();
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return s;
    }
    // Where each case's warm-up ended (the throughput meter's `warmup_steps` record).
    let warmups: BTreeMap<(usize, &str), &Record> = runs
        .iter()
        .enumerate()
        .flat_map(|(i, run)| run.records.iter().map(move |r| (i, r)))
        .filter(|(_, r)| r.metric == "warmup_steps" && r.status == Status::Ok)
        .map(|(i, r)| ((i, r.case.case_id.as_str()), r))
        .collect();
    let mut t = Table::new(&["case", "engine", "step time", "warm-up", "steady"]);
    let mut sorted = recs;
    sorted.sort_by(|a, b| (a.0, &a.1.case.case_id).cmp(&(b.0, &b.1.case.case_id)));
    let (mut unsteady, mut unsettled) = (0, 0);
    for (i, r) in sorted {
        let value = r
            .summary
            .as_ref()
            .map(|x| fig(&Agg::of(x), &r.unit))
            .unwrap_or_else(|| "no finite samples".into());
        let warmup = match warmups.get(&(i, r.case.case_id.as_str())) {
            Some(w) => {
                let n = w.summary.as_ref().map(|x| x.median).unwrap_or(f64::NAN);
                let how = if w.message.starts_with("settled") {
                    "settled"
                } else if w.message.starts_with("not settled") {
                    unsettled += 1;
                    "not settled (bound)"
                } else {
                    "fixed"
                };
                format!("{n:.0}, {how}")
            }
            // runs recorded before the warm-up extension
            None => "–".into(),
        };
        // the throughput meter's steady-state check leaves its note in the message
        let steady = if r.message.starts_with("not steady") {
            unsteady += 1;
            r.message.clone()
        } else {
            "yes".into()
        };
        t.push(vec![
            case_label(r, multi),
            engine_label(&r.case),
            value,
            warmup,
            steady,
        ]);
    }
    s.para(
        "Warm-up: the steps run before measuring and how warm-up ended: `settled` when the median \
         of the last 4 warm-up steps came within 10% of the 4 before (the probe goes on warming up \
         past `warmup` until then, at most `max_extra_warmup` steps or 10 s more), `not settled` \
         when it stopped at that bound, `fixed` when no extension ran (`max_extra_warmup = 0`, \
         `epochs`, `warmup = 0`, the peer libraries). Steady: the check of the measured window.",
    );
    if unsettled > 0 {
        s.para(format!(
            "{unsettled} case(s) stopped warming up at the bound before their step time settled."
        ));
    }
    if unsteady > 0 {
        s.para(format!(
            "{unsteady} case(s) were still speeding up in their measured window (its first quarter \
             more than 10% slower than its second half): their figures include warm-up, and a \
             longer `warmup` (or `max_extra_warmup`) would measure the steady state."
        ));
    }
    s.table(t);
    s
}

fn teachable_machine(runs: &[Run], twins: &Twins, multi: bool) -> Section {
    let mut s = Section::new("teachable-machine", "Teachable Machine verdict");
    let recs = of_metric(runs, |r| {
        r.case.workload == "tm-image" && r.metric == "train_time"
    });
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return s;
    }
    s.para(
        "Time to train the Teachable-Machine-style image classifier (tm-image) in seconds: the wall \
         time of all its training steps, warm-up included (train_time). A scenario that sets \
         epochs = 50 measures Teachable Machine's whole 50-epoch training; with a fixed step count \
         it is the time of those steps only. train_time is one value per case (n=1 per \
         repetition), so it has no CI of its own; compare the step-time CIs above.",
    );
    type Key = (usize, String, String, String, String, String);
    let mut groups: BTreeMap<Key, (Vec<&Summary>, &Record)> = BTreeMap::new();
    for (i, r, sum) in &recs {
        let c = &r.case;
        let key = (
            *i,
            c.size.clone(),
            c.target.clone(),
            engine_label(c),
            variant(c),
            c.context.clone(),
        );
        groups
            .entry(key)
            .or_insert_with(|| (Vec::new(), r))
            .0
            .push(sum);
    }
    let mut header = vec![
        "size",
        "target",
        "engine",
        "variant",
        "context",
        "train time",
        "vs native",
    ];
    if multi {
        header.insert(0, "run");
    }
    let mut t = Table::new(&header);
    let mut verdict = Vec::new();
    for ((i, size, target, engine, var, context), (sums, r)) in &groups {
        let Some(agg) = Agg::combine(sums) else {
            continue;
        };
        let to_s = if r.unit == "ms" { 1e-3 } else { 1.0 };
        let secs = agg.scaled(to_s);
        let vs = twins
            .find(*i, r)
            .and_then(|tw| {
                gap(agg.median, tw.agg.median, true)
                    .map(|g| ratio_fig(g, gap_interval(&agg, &tw.agg, true)))
            })
            .unwrap_or_else(|| "–".into());
        if !is_native(target) {
            verdict.push(format!(
                "{engine} {var} {context} ({size}): {} s ({vs} native)",
                num(secs.median)
            ));
        }
        let mut row = vec![
            size.clone(),
            target.clone(),
            engine.clone(),
            var.clone(),
            context.clone(),
            fig(&secs, "s"),
            vs,
        ];
        if multi {
            row.insert(0, runs[*i].manifest.run_id.clone());
        }
        t.push(row);
    }
    if !verdict.is_empty() {
        s.para(format!("Verdict: {}.", verdict.join("; ")));
    }
    s.table(t);
    s
}

/// A matrix of cases (rows) by metrics (columns) for the metrics `wanted` accepts.
fn pivot(
    runs: &[Run],
    multi: bool,
    id: &str,
    title: &str,
    about: &str,
    wanted: impl Fn(&str) -> bool,
) -> Section {
    let mut s = Section::new(id, title);
    let recs = of_metric(runs, |r| wanted(&r.metric));
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return s;
    }
    s.para(about);
    let mut metrics: BTreeMap<String, String> = BTreeMap::new();
    type Row = (String, String, BTreeMap<String, String>);
    let mut rows: BTreeMap<(usize, String), Row> = BTreeMap::new();
    for (i, r, sum) in &recs {
        metrics
            .entry(r.metric.clone())
            .or_insert_with(|| r.unit.clone());
        let row = rows
            .entry((*i, r.case.case_id.clone()))
            .or_insert_with(|| (case_label(r, multi), engine_label(&r.case), BTreeMap::new()));
        row.2.insert(r.metric.clone(), fig(&Agg::of(sum), &r.unit));
    }
    let mut header = vec!["case".to_string(), "engine".to_string()];
    header.extend(metrics.iter().map(|(m, u)| {
        if u.is_empty() {
            m.clone()
        } else {
            format!("{m} ({u})")
        }
    }));
    let mut t = Table::new(&header);
    for (_, (case, engine, values)) in rows {
        let mut row = vec![case, engine];
        row.extend(
            metrics
                .keys()
                .map(|m| values.get(m).cloned().unwrap_or_else(|| "–".into())),
        );
        t.push(row);
    }
    s.table(t);
    s
}

fn capabilities(runs: &[Run]) -> Section {
    let mut s = Section::new("capabilities", "Capabilities");
    let recs: Vec<&Record> = runs
        .iter()
        .flat_map(|r| r.records.iter())
        .filter(|r| r.metric.starts_with("cap_"))
        .collect();
    if recs.is_empty() {
        s.note(NOT_MEASURED);
        return s;
    }
    s.para("What each engine offers (cap_* records; the value is the record's message).");
    let mut engines = BTreeSet::new();
    let mut cells: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for r in recs {
        let engine = engine_label(&r.case);
        engines.insert(engine.clone());
        let value = if r.status != Status::Ok {
            format!("{}: {}", r.status.as_str(), r.message)
        } else if !r.message.is_empty() {
            r.message.clone()
        } else if let Some(x) = &r.summary {
            format!("{} {}", num(x.median), r.unit)
                .trim_end()
                .to_string()
        } else {
            "?".into()
        };
        cells
            .entry(r.metric.clone())
            .or_default()
            .entry(engine)
            .or_default()
            .insert(value);
    }
    let mut header = vec!["capability".to_string()];
    header.extend(engines.iter().cloned());
    let mut t = Table::new(&header);
    for (cap, by_engine) in cells {
        let mut row = vec![cap.trim_start_matches("cap_").to_string()];
        row.extend(engines.iter().map(|e| {
            by_engine
                .get(e)
                .map(|v| v.iter().cloned().collect::<Vec<_>>().join(" / "))
                .unwrap_or_else(|| "–".into())
        }));
        t.push(row);
    }
    s.table(t);
    s
}

fn not_ok(runs: &[Run], multi: bool) -> Section {
    let mut s = Section::new("not-ok", "Cases that did not finish");
    let mut t = Table::new(&["case", "engine", "metric", "status", "message"]);
    for run in runs {
        for r in run.records.iter().filter(|r| r.status != Status::Ok) {
            t.push(vec![
                case_label(r, multi),
                engine_label(&r.case),
                if r.metric == "case" {
                    String::new()
                } else {
                    r.metric.clone()
                },
                r.status.as_str().into(),
                r.message.clone(),
            ]);
        }
    }
    if t.rows.is_empty() {
        s.note("Every case finished ok.");
    } else {
        s.para(format!(
            "{} record(s) with a status other than ok (skipped, failed, crashed, oom, timeout).",
            t.rows.len()
        ));
        s.table(t);
    }
    s
}

#[cfg(test)]
mod tests;
