//! What `gapbench estimate` fits from: a run's training cases read into points per platform
//! (short cases: mean step time and setup), long runs whole (setup and every step, from the
//! samples; tm-image's denormal phase), and measured sample ceilings.

use super::fit::Point;
use super::{is_training, state_bytes};
use crate::record::{Record, Status, read_records};
use std::collections::BTreeMap;
use std::path::PathBuf;
use wasm_probe::workload::{Workload, WorkloadSpec};

/// Every platform's points (one per workload instance: the median over its repetitions of the
/// step time's mean), its setup points, and its denormal phase where a long run measured it.
#[derive(Debug, Default)]
pub struct Observations {
    pub points: BTreeMap<String, Vec<Point>>,
    /// Setup time (building the model and the data set) against the data's bytes (`flops`) and
    /// the optimizer state's (`bytes`).
    pub setup: BTreeMap<String, Vec<Point>>,
    /// How much slower a Teachable-Machine step is once its floats turn subnormal (after about
    /// [`DENORMAL_ONSET`] steps), per platform: (label, factor) of each long tm-image run (the
    /// mean step past step 1,000 over the mean of steps 100–599).
    pub denormal: BTreeMap<String, Vec<(String, f64)>>,
    /// Measured long runs (setup + every step), for validation.
    pub totals: Vec<Total>,
    /// Measured sample ceilings (`ceiling_samples`): platform, the request (its classes), the
    /// largest count that trained, and what the search said stopped the next trial.
    pub ceilings: Vec<(String, WorkloadSpec, f64, String)>,
    /// `estimate.js`'s predictions made in the page (`est_training_time`), to hold against the
    /// same run's measured training of the same request.
    pub in_page: Vec<InPage>,
    pub runs: Vec<String>,
}

/// One long run measured whole: what trained, for how many steps, and how long it took.
#[derive(Debug, Clone)]
pub struct Total {
    pub platform: String,
    pub spec: WorkloadSpec,
    pub steps: u64,
    pub ms: f64,
    /// The setup's share of `ms` (building the model and the data set).
    pub setup_ms: f64,
}

/// One prediction `estimate.js` made in the page: the platform it ran on, the request (its
/// classes and samples per class), the steps it predicted for, and the predicted training time.
#[derive(Debug, Clone)]
pub struct InPage {
    pub platform: String,
    pub spec: WorkloadSpec,
    pub steps: u64,
    pub ms: f64,
}

/// An `est_training_time` record as a prediction (its message starts with the step count).
pub(super) fn in_page(rec: &Record) -> Option<InPage> {
    if rec.metric != "est_training_time" || rec.status != Status::Ok {
        return None;
    }
    let (platform, mut spec) = parse_id(&rec.case.case_id)?;
    spec.workload = "tm-image".into();
    let steps = rec.message.split(' ').next()?.parse().ok()?;
    Some(InPage {
        platform,
        spec,
        steps,
        ms: rec.summary.as_ref()?.median,
    })
}

/// The step after which tm-image's floats turn subnormal (docs/findings.md: about 700).
pub const DENORMAL_ONSET: u64 = 700;
/// A case with more measured steps than this is a long run: its median mixes both phases, so it
/// feeds the denormal factor and the totals, not the step-time fit.
const LONG: usize = 600;

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

pub(super) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The parts of a case id (`workload/size/target/variant/context/settings/rN`, plan::Case) the
/// estimator needs: the platform and the workload request.
pub fn parse_id(case_id: &str) -> Option<(String, WorkloadSpec)> {
    let parts: Vec<&str> = case_id.split('/').collect();
    if parts.len() < 7 {
        return None;
    }
    let (workload, size, target, variant, context, settings) =
        (parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]);
    // An injected fault (a known slow-down, a panic) is not the platform's pace.
    if settings.contains("-fault-") {
        return None;
    }
    let platform = if target.starts_with("native") {
        target.to_string()
    } else {
        format!("{target}/{context}/{variant}")
    };
    let num = |prefix: char| {
        settings.split('-').find_map(|p| {
            p.strip_prefix(prefix)
                .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|r| r.parse::<usize>().ok())
        })
    };
    Some((
        platform,
        WorkloadSpec {
            workload: workload.into(),
            size: size.into(),
            classes: num('c'),
            samples_per_class: num('n'),
        },
    ))
}

/// A request's name in tables: workload, size, and its data when not the default.
pub fn label_of(spec: &WorkloadSpec) -> String {
    match (spec.classes, spec.samples_per_class) {
        (Some(c), Some(n)) => format!("{} {} {c}×{n}", spec.workload, spec.size),
        (Some(c), None) => format!("{} {} {c} classes", spec.workload, spec.size),
        (None, Some(n)) => format!("{} {} ×{n}", spec.workload, spec.size),
        _ => format!("{} {}", spec.workload, spec.size),
    }
}

/// Bytes of the data set a workload holds (training and held out).
pub(super) fn data_bytes(w: &Workload) -> f64 {
    (w.data.classes * w.data.samples_per_class * w.data.features) as f64 * 4.0
}

/// (platform, label) -> (family, first feature, second feature, medians)
type Acc = BTreeMap<(String, String), (String, f64, f64, Vec<f64>)>;

fn collect(acc: Acc) -> BTreeMap<String, Vec<Point>> {
    let mut out: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for ((platform, label), (family, flops, bytes, ms)) in acc {
        out.entry(platform).or_default().push(Point {
            flops,
            bytes,
            ms: median(ms),
            label,
            family,
        });
    }
    out
}

/// The short cases' points of `records` (no long runs, no samples read): what the report's
/// frontier fits from.
pub fn observe_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> Observations {
    let mut steps: Acc = BTreeMap::new();
    let mut setups: Acc = BTreeMap::new();
    let mut long = BTreeMap::new();
    let mut setup_of = BTreeMap::new();
    for rec in records {
        add(rec, &mut steps, &mut setups, &mut long, &mut setup_of);
    }
    Observations {
        points: collect(steps),
        setup: collect(setups),
        ..Default::default()
    }
}

/// Long runs of a directory: case id -> (platform, request, setup ms).
type Long = BTreeMap<String, (String, WorkloadSpec, f64)>;

/// Add one record to the points (short cases), the setups, or the long runs.
fn add(
    rec: &Record,
    steps: &mut Acc,
    setups: &mut Acc,
    long: &mut Long,
    setup_of: &mut BTreeMap<String, f64>,
) {
    let c = &rec.case;
    if rec.status != Status::Ok || !is_training(&c.workload) {
        return;
    }
    let Some(s) = &rec.summary else { return };
    let Some((platform, spec)) = parse_id(&c.case_id) else {
        return;
    };
    let Ok(w) = Workload::resolve(&spec) else {
        return;
    };
    let label = label_of(&spec);
    match rec.metric.as_str() {
        "step_time" if s.n > LONG => {
            long.insert(c.case_id.clone(), (platform, spec, 0.0));
        }
        "step_time" => steps
            .entry((platform, label))
            .or_insert((
                c.workload.clone(),
                c.flops_per_step as f64,
                state_bytes(&w),
                Vec::new(),
            ))
            .3
            .push(s.mean),
        "setup" => {
            setup_of.insert(c.case_id.clone(), s.median);
            setups
                .entry((platform, label))
                .or_insert((
                    c.workload.clone(),
                    data_bytes(&w),
                    state_bytes(&w),
                    Vec::new(),
                ))
                .3
                .push(s.median)
        }
        _ => {}
    }
}

/// A measured sample ceiling (`ceiling-samples/<target>/<variant>/<context>/<settings>/rN`).
pub(super) fn ceiling(rec: &Record) -> Option<(String, WorkloadSpec, f64, String)> {
    if rec.metric != "ceiling_samples" || rec.status != Status::Ok {
        return None;
    }
    let parts: Vec<&str> = rec.case.case_id.split('/').collect();
    if parts.len() < 6 {
        return None;
    }
    let id = format!(
        "{}/{}/{}/{}/{}/{}/r1",
        rec.case.workload, rec.case.size, parts[1], parts[2], parts[3], parts[4]
    );
    let (platform, spec) = parse_id(&id)?;
    let measured = rec.summary.as_ref()?.median;
    Some((platform, spec, measured, rec.message.clone()))
}

/// Read the runs' records (and, for long runs, their step samples) into observations.
pub fn observe(dirs: &[PathBuf]) -> Result<Observations, String> {
    let mut steps: Acc = BTreeMap::new();
    let mut setups: Acc = BTreeMap::new();
    let mut obs = Observations::default();
    let mut denormal: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for dir in dirs {
        let path = dir.join("records.csv");
        let (records, _) = read_records(&path).map_err(|e| e.to_string())?;
        obs.runs.push(dir.display().to_string());
        let mut long: Long = BTreeMap::new();
        let mut setup_of: BTreeMap<String, f64> = BTreeMap::new();
        for r in &records {
            add(&r.record, &mut steps, &mut setups, &mut long, &mut setup_of);
            if let Some(c) = ceiling(&r.record) {
                obs.ceilings.push(c);
            }
            if let Some(p) = in_page(&r.record) {
                obs.in_page.push(p);
            }
        }
        if long.is_empty() {
            continue;
        }
        // Long runs: their setup and every step, from the run's samples.
        for (id, e) in long.iter_mut() {
            e.2 = setup_of.get(id).copied().unwrap_or(0.0);
        }
        let (samples, _) =
            crate::record::read_samples(&dir.join("samples.csv")).map_err(|e| e.to_string())?;
        let mut per_case: BTreeMap<&str, Vec<(usize, f64)>> = BTreeMap::new();
        for smp in &samples {
            if smp.metric == "step_time" && long.contains_key(&smp.case_id) {
                // Warm-up steps come first.
                let i = if smp.phase == "warmup" {
                    smp.index
                } else {
                    1_000_000 + smp.index
                };
                per_case
                    .entry(smp.case_id.as_str())
                    .or_default()
                    .push((i, smp.value));
            }
        }
        for (id, mut v) in per_case {
            v.sort_by_key(|x| x.0);
            let (platform, spec, setup) = long[id].clone();
            let t: Vec<f64> = v.iter().map(|x| x.1).collect();
            if t.len() >= 600 {
                // Its steps before the denormal onset are a point of the step-time fit too (the
                // whole run's mean mixes both phases), so a long run's size counts as a size.
                let early = mean(&t[100..600]);
                if let Ok(w) = Workload::resolve(&spec) {
                    steps
                        .entry((platform.clone(), label_of(&spec)))
                        .or_insert((
                            spec.workload.clone(),
                            w.flops_per_step() as f64,
                            state_bytes(&w),
                            Vec::new(),
                        ))
                        .3
                        .push(early);
                }
                if spec.workload == "tm-image" && t.len() as u64 > DENORMAL_ONSET + 300 {
                    // Means: a training's time is a sum, stalls included.
                    let late = mean(&t[DENORMAL_ONSET as usize + 300..]);
                    denormal
                        .entry(platform.clone())
                        .or_default()
                        .push((label_of(&spec), late / early));
                }
            }
            obs.totals.push(Total {
                platform,
                spec,
                steps: t.len() as u64,
                ms: setup + t.iter().sum::<f64>(),
                setup_ms: setup,
            });
        }
    }
    obs.points = collect(steps);
    obs.setup = collect(setups);
    obs.denormal = denormal;
    Ok(obs)
}
