//! The report's first section: one table, a row per question the report answers and a column per
//! engine, each cell the answer measured in these runs (the sections below hold the detail).

use super::doc::{Section, Table};
use super::gap::Geo;
use super::{Run, engine_label, measured, num};
use std::collections::{BTreeMap, BTreeSet};

/// The variant whose gap the findings give: the probe (burn ndarray with SIMD).
const PROBE: &str = "ndarray-simd";

/// One row: its label, and engine label -> cell.
type Row = (String, BTreeMap<String, Vec<String>>);

fn push(row: &mut Row, engine: &str, cell: String) {
    row.1.entry(engine.to_string()).or_default().push(cell);
}

/// `491520 samples; oom at 540672` from a ceiling record's message `largest that trained: 491520
/// samples; stopped by oom at 540672 samples: <cause>` (the cause is left to the memory section),
/// and `300m; none failed up to the search's bound` when nothing failed.
fn ceiling_cell(message: &str) -> String {
    let m = message
        .strip_prefix("largest that trained: ")
        .unwrap_or(message);
    let (largest, rest) = m.split_once("; ").unwrap_or((m, ""));
    // `300m (300090250 parameters)` -> `300m`
    let largest = match largest.split_once(" (") {
        Some((size, p)) if p.ends_with(" parameters)") => size,
        _ => largest,
    };
    let rest = match rest.find("stopped by ") {
        Some(at) => {
            let r = &rest[at + "stopped by ".len()..];
            let r = r.split_once(": ").map(|(a, _)| a).unwrap_or(r);
            r.strip_suffix(" samples").unwrap_or(r).to_string()
        }
        None if rest.starts_with("no failure within the search bounds") => {
            "none failed up to the search's bound".into()
        }
        None => rest.to_string(),
    };
    if rest.is_empty() {
        largest.to_string()
    } else {
        format!("{largest}; {rest}")
    }
}

/// A record of the TF.js peer holding its samples as Teachable Machine does (`tfjs-wasm-tm`).
fn tm_style(r: &crate::record::Record) -> bool {
    r.case.backend.ends_with("-tm") && crate::target::peer::peer_label(&r.case.backend).is_some()
}

/// A run as the findings name it: its scenario's name where no other run has the same one, else
/// its run id.
fn short_name(runs: &[Run], run_id: &str) -> String {
    let Some(run) = runs.iter().find(|r| r.manifest.run_id == run_id) else {
        return run_id.to_string();
    };
    let scenario = &run.manifest.scenario;
    if runs
        .iter()
        .filter(|r| &r.manifest.scenario == scenario)
        .count()
        == 1
    {
        scenario.clone()
    } else {
        run_id.to_string()
    }
}

pub(crate) fn section(runs: &[Run], geos: &[Geo]) -> Section {
    let mut s = Section::new("findings", "Findings");
    let multi = runs.len() > 1;
    let mut rows: Vec<Row> = Vec::new();

    // The probe's training gap, per context, over the case set every engine shares.
    if let Some(g) = geos
        .iter()
        .find(|g| g.variant == PROBE && !g.cases.is_empty())
    {
        let contexts: BTreeSet<&str> = g.engines.iter().map(|e| e.1.as_str()).collect();
        for ctx in contexts {
            let mut row: Row = (
                format!(
                    "gap to native, {ctx} (the probe, {PROBE}; geometric mean over {})",
                    g.cases.join(", ")
                ),
                BTreeMap::new(),
            );
            for (engine, c, run, geo) in &g.engines {
                if c == ctx {
                    let run = if run.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", short_name(runs, run))
                    };
                    push(&mut row, engine, format!("{geo:.2}×{run}"));
                }
            }
            rows.push(row);
        }
    }

    // Ceilings: the largest model and the most samples that trained under the memory cap; the
    // memory64 build's (a 64-bit memory) in rows of their own, beside wasm32's.
    for (metric, label, memory64) in [
        (
            "ceiling_model_params",
            "largest MLP that trained (under the memory cap)",
            false,
        ),
        (
            "ceiling_model_params",
            "largest MLP that trained, memory64 build (under the memory cap)",
            true,
        ),
        (
            "ceiling_samples",
            "most tm-image samples held (under the memory cap)",
            false,
        ),
        (
            "ceiling_samples",
            "most tm-image samples held, memory64 build (under the memory cap)",
            true,
        ),
    ] {
        let mut row: Row = (label.into(), BTreeMap::new());
        for run in runs {
            let of_build = |r: &&crate::record::Record| (r.case.simd == "memory64") == memory64;
            for r in run
                .records
                .iter()
                .filter(|r| r.metric == metric && !tm_style(r))
                .filter(of_build)
            {
                if measured(r).is_some() {
                    let suffix = if r.case.context == "main" {
                        String::new()
                    } else {
                        format!(" ({})", r.case.context)
                    };
                    push(
                        &mut row,
                        &engine_label(&r.case),
                        format!("{}{suffix}", ceiling_cell(&r.message)),
                    );
                } else if r.status == crate::record::Status::Skipped {
                    // A build this engine cannot load (memory64 in WebKit): say so, shortly.
                    let m = r.message.as_str();
                    let after = m.split_once("stopped by skipped at ").map_or(m, |(_, t)| t);
                    let why = after.split_once(": ").map_or(after, |(_, w)| w);
                    let why = why.split_once(": ").map_or(why, |(w, _)| w);
                    push(&mut row, &engine_label(&r.case), format!("skipped: {why}"));
                }
            }
        }
        rows.push(row);
    }

    // The same sample search with TF.js holding its samples as Teachable Machine does (the
    // `-tm` backends, wasm-probe/js/tfjs-tm.js): where a TM-like app stops.
    let mut row: Row = (
        "most tm-image samples held, TF.js with TM-style samples (under the memory cap)".into(),
        BTreeMap::new(),
    );
    for run in runs {
        for r in run
            .records
            .iter()
            .filter(|r| r.metric == "ceiling_samples" && tm_style(r))
        {
            if measured(r).is_some() {
                push(
                    &mut row,
                    &engine_label(&r.case),
                    format!("{} ({})", ceiling_cell(&r.message), r.case.backend),
                );
            }
        }
    }
    rows.push(row);

    // UI stalls and background tabs, per context.
    for (metric, label, unit) in [
        ("frame_gap_max", "longest frame gap while training", " ms"),
        (
            "background_ratio",
            "background tab throughput / foreground",
            "×",
        ),
    ] {
        let mut row: Row = (label.into(), BTreeMap::new());
        let mut from: BTreeSet<&str> = BTreeSet::new();
        for run in runs {
            for r in run.records.iter().filter(|r| r.metric == metric) {
                if let Some(sum) = measured(r) {
                    from.insert(&r.case.run_id);
                    push(
                        &mut row,
                        &engine_label(&r.case),
                        format!("{} {}{unit}", r.case.context, num(sum.median)),
                    );
                }
            }
        }
        for cells in row.1.values_mut() {
            cells.sort();
        }
        if multi && !from.is_empty() {
            let names: Vec<String> = from.into_iter().map(|r| short_name(runs, r)).collect();
            row.0 = format!("{} (run {})", row.0, names.join(", "));
        }
        rows.push(row);
    }

    rows.retain(|r| !r.1.is_empty());
    if rows.is_empty() {
        s.note(
            "No gap, ceiling, UI-stall or background figure in these runs; the sections below hold \
             what was measured.",
        );
        return s;
    }
    let engines: BTreeSet<&String> = rows.iter().flat_map(|r| r.1.keys()).collect();
    let mut header = vec!["".to_string()];
    header.extend(engines.iter().map(|e| e.to_string()));
    let mut t = Table::new(&header);
    t.wrap = true;
    for (label, cells) in &rows {
        let mut row = vec![label.clone()];
        row.extend(engines.iter().map(|e| {
            cells
                .get(*e)
                .map(|v| v.join("; "))
                .unwrap_or_else(|| "–".into())
        }));
        t.push(row);
    }
    s.para(
        "What these runs measured, per engine (a run named by its scenario); the sections below \
         give the intervals, the cases and how each was measured. A gap of 2.00× means a training \
         step takes twice as long as the same code's natively.",
    );
    s.table(t);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ceiling_cell_keeps_the_figure_and_what_stopped_it() {
        assert_eq!(
            ceiling_cell(
                "largest that trained: 491520 samples; stopped by oom at 540672 samples: RuntimeError: unreachable"
            ),
            "491520 samples; oom at 540672"
        );
        assert_eq!(
            ceiling_cell(
                "largest that trained: 300m (300090250 parameters); no failure within the search bounds (8 trials)"
            ),
            "300m; none failed up to the search's bound"
        );
        assert_eq!(
            ceiling_cell(
                "largest that trained: 100m (100586770 parameters); stopped by oom at 300m: over the memory cap"
            ),
            "100m; oom at 300m"
        );
    }
}
