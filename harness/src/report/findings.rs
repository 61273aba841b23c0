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

/// `491520 samples; stopped by oom at 540672 samples` from a ceiling record's message (the
/// cause after the next ": " is left to the memory section).
fn ceiling_cell(message: &str) -> String {
    let m = message
        .strip_prefix("largest that trained: ")
        .unwrap_or(message);
    match m.find("stopped by") {
        Some(at) => match m[at..].find(": ") {
            Some(colon) => m[..at + colon].to_string(),
            None => m.to_string(),
        },
        None => m.to_string(),
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
                    "training gap to native ({PROBE}, {ctx}; step time / native's, geometric mean over {})",
                    g.cases.join(", ")
                ),
                BTreeMap::new(),
            );
            for (engine, c, run, geo) in &g.engines {
                if c == ctx {
                    let run = if run.is_empty() {
                        String::new()
                    } else {
                        format!(" ({run})")
                    };
                    push(&mut row, engine, format!("{geo:.2}×{run}"));
                }
            }
            rows.push(row);
        }
    }

    // Ceilings: the largest model and the most samples that trained under the memory cap.
    for (metric, label) in [
        (
            "ceiling_model_params",
            "largest model that trained (mlp, under the memory cap)",
        ),
        (
            "ceiling_samples",
            "most training samples held (tm-image, under the memory cap)",
        ),
    ] {
        let mut row: Row = (label.into(), BTreeMap::new());
        for run in runs {
            for r in run.records.iter().filter(|r| r.metric == metric) {
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
                }
            }
        }
        rows.push(row);
    }

    // UI stalls and background tabs, per context.
    for (metric, label, unit) in [
        (
            "frame_gap_max",
            "longest frame gap while training, per context",
            " ms",
        ),
        (
            "background_ratio",
            "throughput in a background tab / foreground, per context",
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
            row.0 = format!(
                "{} ({})",
                row.0,
                from.into_iter().collect::<Vec<_>>().join(", ")
            );
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
        "What these runs measured, per engine; each row's section below gives the intervals, the \
         cases and how they were measured. A gap of 2.00× means training takes twice as long per \
         step as the same code natively.",
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
            "491520 samples; stopped by oom at 540672 samples"
        );
        assert_eq!(
            ceiling_cell(
                "largest that trained: 300m (300090250 parameters); no failure within the search bounds (8 trials)"
            ),
            "300m (300090250 parameters); no failure within the search bounds (8 trials)"
        );
    }
}
