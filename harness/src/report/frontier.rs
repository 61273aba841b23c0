//! "What can you train in a tab?" (issue 15): per platform where the probe trained (burn on
//! ndarray with SIMD, each engine and context, and native ndarray), the largest MLP preset that
//! trains [`EPOCHS`] epochs over [`SAMPLES`] samples within 10 s, 1 min and 10 min, and the
//! largest that fits wasm32's memory, from the cost model `gapbench estimate` fits to these runs'
//! own step times. One chart (parameters against time to train, the budgets as lines) and a table.

use super::charts::{self, Point, Series};
use super::doc::{Block, Section, Table};
use super::load::Run;
use crate::estimate::{self, fit, memory};
use wasm_probe::workload::{Workload, WorkloadSpec};

/// The training asked about: epochs over samples (mlp: batch 64, 1024 features a sample).
pub const EPOCHS: u64 = 10;
pub const SAMPLES: u64 = 10_000;
const BUDGETS: [(f64, &str); 3] = [(10.0, "10 s"), (60.0, "1 min"), (600.0, "10 min")];
/// Platforms drawn (the table has every one); with the budgets and the wall, 8 series at most.
const MAX_SERIES: usize = 6;

struct Preset {
    name: String,
    params: f64,
    flops: f64,
    state: f64,
    batch: u64,
}

fn presets() -> Vec<Preset> {
    let Some(mlp) = wasm_probe::catalog().into_iter().find(|w| w.name == "mlp") else {
        return Vec::new();
    };
    mlp.presets
        .iter()
        .filter_map(|p| {
            let w = Workload::resolve(&WorkloadSpec {
                workload: "mlp".into(),
                size: p.name.into(),
                classes: None,
                samples_per_class: None,
            })
            .ok()?;
            Some(Preset {
                name: p.name.into(),
                params: w.params() as f64,
                flops: w.flops_per_step() as f64,
                state: estimate::state_bytes(&w),
                batch: w.batch as u64,
            })
        })
        .collect()
}

/// Wasm memory to train `p` over [`SAMPLES`] samples (the probe's layout: see estimate::memory).
fn wasm_bytes(p: &Preset) -> f64 {
    memory::BASE
        + SAMPLES as f64 * 1024.0 * 4.0
        + memory::BYTES_PER_PARAM_ADAM * p.params * (p.state / p.params / 16.0)
}

pub(super) fn section(runs: &[Run]) -> Section {
    let mut s = Section::new(
        "frontier",
        "What trains in a tab: the trainability frontier",
    );
    let obs = estimate::observe_records(runs.iter().flat_map(|r| r.records.iter()));
    let platforms: Vec<(&String, &Vec<fit::Point>)> = obs
        .points
        .iter()
        .filter(|(p, pts)| {
            (p.as_str() == "native-ndarray" || p.ends_with("/ndarray-simd"))
                && pts.iter().filter(|x| x.family == "mlp").count() >= 2
        })
        .collect();
    if platforms.is_empty() {
        s.note(
            "Not measured in these runs: the frontier needs at least two MLP sizes of the probe \
             (ndarray with SIMD) or native ndarray on a platform (scenarios/estimator.toml).",
        );
        return s;
    }
    let presets = presets();
    s.para(format!(
        "The largest MLP (1024 → 4 × Dense(w) → 10, Adam, batch 64) that trains {EPOCHS} epochs \
         over {SAMPLES} samples within each budget, per platform, as `gapbench estimate` predicts \
         from the mean step times these runs measured there (the model: a per-step overhead, a \
         FLOP rate and a cost per byte of optimizer state, fitted to that platform's MLP sizes; \
         the table shows the overhead and the rate past it at the largest size measured). \
         Sizes past the largest one measured are extrapolated, and marked so. The memory wall: \
         the largest preset whose weights, Adam's state and the samples fit wasm32's 4 GiB \
         (natively, none). Time to prepare the samples is not included."
    ));
    let mut t = Table::new(&[
        "platform",
        "in 10 s",
        "in 1 min",
        "in 10 min",
        "largest that fits",
        "model",
    ]);
    let mut series = Vec::new();
    let (mut y_lo, mut y_hi) = (f64::INFINITY, 0.0_f64);
    for (platform, points) in &platforms {
        let Some(model) = fit::fit_for(points, "mlp") else {
            continue;
        };
        let largest = points
            .iter()
            .filter(|p| p.family == "mlp")
            .max_by(|a, b| a.flops.total_cmp(&b.flops))
            .expect("at least two MLP sizes");
        let measured_max = largest.flops;
        let wasm = platform.as_str() != "native-ndarray";
        let fits = |p: &Preset| !wasm || wasm_bytes(p) <= memory::WASM_MEMORY;
        let secs = |p: &Preset| {
            let steps = EPOCHS * SAMPLES.div_ceil(p.batch);
            steps as f64 * model.predict(p.flops, p.state) / 1000.0
        };
        let name = |p: &Preset| {
            if p.flops > measured_max * 1.01 {
                format!("{} (extrapolated)", p.name)
            } else {
                p.name.clone()
            }
        };
        let mut row = vec![platform.to_string()];
        for (budget, _) in BUDGETS {
            let best = presets
                .iter()
                .filter(|p| fits(p) && secs(p) <= budget)
                .max_by(|a, b| a.params.total_cmp(&b.params));
            row.push(match best {
                Some(p) => format!("{} ({:.1} s)", name(p), secs(p)),
                None => format!("none (the smallest takes {:.1} s)", secs(&presets[0])),
            });
        }
        row.push(if wasm {
            presets
                .iter()
                .filter(|p| fits(p))
                .max_by(|a, b| a.params.total_cmp(&b.params))
                .map_or("none".into(), |p| {
                    format!("{} ({:.2} GiB of 4)", p.name, wasm_bytes(p) / 1073741824.0)
                })
        } else {
            "no wasm32 wall".into()
        });
        row.push(format!(
            "{:.3} ms a step + {:.1} GFLOP/s at {}, {} sizes",
            model.overhead_ms,
            model.effective_gflops(largest.flops, largest.bytes),
            largest.label,
            points.iter().filter(|p| p.family == "mlp").count()
        ));
        t.push(row);
        if series.len() < MAX_SERIES {
            let pts: Vec<Point> = presets
                .iter()
                .filter(|p| fits(p))
                .map(|p| {
                    let y = secs(p);
                    y_lo = y_lo.min(y);
                    y_hi = y_hi.max(y);
                    Point {
                        x: p.params,
                        y,
                        lo: y,
                        hi: y,
                    }
                })
                .collect();
            let groups = vec![0; pts.len()];
            series.push(Series {
                label: platform.to_string(),
                points: pts,
                groups,
            });
        }
    }
    // The budgets as horizontal lines across the parameter range, where they fall in the chart:
    // one series (one colour), a line per budget, so the chart keeps at most 8 series.
    let (x0, x1) = (
        presets.first().map_or(1.0, |p| p.params),
        presets.last().map_or(1.0, |p| p.params),
    );
    let shown: Vec<(f64, &str)> = BUDGETS
        .iter()
        .copied()
        .filter(|&(b, _)| b >= y_lo / 2.0 && b <= y_hi * 2.0)
        .collect();
    if !shown.is_empty() {
        let mut points = Vec::new();
        let mut groups = Vec::new();
        for (i, &(budget, _)) in shown.iter().enumerate() {
            for x in [x0, x1] {
                points.push(Point {
                    x,
                    y: budget,
                    lo: budget,
                    hi: budget,
                });
                // A line joins the points of one group: one group per budget, each drawn with
                // group 1's marker (the shape is the group modulo 4) and named once.
                groups.push(1 + 4 * i);
            }
        }
        series.push(Series {
            label: format!(
                "budgets: {}",
                shown.iter().map(|b| b.1).collect::<Vec<_>>().join(", ")
            ),
            points,
            groups,
        });
    }
    // wasm32's wall: the parameter count whose weights, Adam's state and the samples fill 4 GiB.
    let wall = (memory::WASM_MEMORY - memory::BASE - SAMPLES as f64 * 1024.0 * 4.0)
        / memory::BYTES_PER_PARAM_ADAM;
    if y_hi > 0.0
        && platforms
            .iter()
            .any(|(p, _)| p.as_str() != "native-ndarray")
    {
        series.push(Series {
            label: format!("wasm32 wall: {} parameters fill 4 GiB", charts::human(wall)),
            points: [y_lo, y_hi]
                .iter()
                .map(|&y| Point {
                    x: wall,
                    y,
                    lo: y,
                    hi: y,
                })
                .collect(),
            groups: vec![2, 2],
        });
    }
    match charts::log_log(
        "frontier.svg",
        "Time to train vs model size",
        "parameters (log)",
        &format!("seconds to train {EPOCHS} epochs over {SAMPLES} samples (log)"),
        &series,
        &[
            "predicted".to_string(),
            "budget".to_string(),
            "memory wall".to_string(),
        ],
    ) {
        Ok(chart) => s.blocks.push(Block::Chart(chart)),
        Err(_) => s.note("No positive predictions to chart."),
    }
    s.table(t);
    s
}
