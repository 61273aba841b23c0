//! `gapbench estimate`: how long training takes on a platform, and whether it fits, from
//! gapbench's own records (issue 15).
//!
//! A platform is where a case ran: target, context, backend and SIMD (`chromium/worker/ndarray-simd`).
//! Its cost model ([`fit`]) is fitted to the mean step times of the training cases measured
//! there (a training's time is a sum, so the stalls a busy device inflicts count), and a request (a workload, its size, its data and how long it trains) is predicted from
//! the workload's exact FLOPs and parameter count. The interval is the range of the model's own
//! errors when each size it was fitted from is held out in turn, so it states how far the model
//! missed sizes it had not seen, not a sampling CI. Memory is analytic (see [`memory`]).

pub mod fit;
pub mod memory;

use crate::record::{Record, Status, read_records};
use fit::{Model, Point};
use std::collections::BTreeMap;
use std::path::PathBuf;
use wasm_probe::workload::{Workload, WorkloadSpec};

/// What is asked: a workload instance and how long it trains.
#[derive(Debug, Clone)]
pub struct Request {
    pub spec: WorkloadSpec,
    /// Full epochs over the training split (the workload's own when None and no `steps`).
    pub epochs: Option<u32>,
    /// Or a number of steps.
    pub steps: Option<u64>,
}

/// The workloads a cost model is fitted from: training, not the GEMM or the page tasks.
fn is_training(workload: &str) -> bool {
    workload.starts_with("tm-") || workload == "mlp" || workload == "cnn"
}

/// Bytes of parameter state the optimizer streams per step: weights, gradients and its moments.
pub fn state_bytes(w: &Workload) -> f64 {
    let per_param = match w.optimizer {
        wasm_probe::workload::Optimizer::Adam => 16.0,
        wasm_probe::workload::Optimizer::RmsProp => 12.0,
        wasm_probe::workload::Optimizer::Sgd => 8.0,
    };
    per_param * w.params() as f64
}

/// Every platform's points (one per workload instance: the median over its repetitions of the
/// step time's mean), its setup points, and its denormal phase where a long run measured it.
#[derive(Debug, Default)]
pub struct Observations {
    pub points: BTreeMap<String, Vec<Point>>,
    /// Setup time (building the model and the data set) against the data's bytes (`flops`) and
    /// the optimizer state's (`bytes`).
    pub setup: BTreeMap<String, Vec<Point>>,
    /// How much slower a Teachable-Machine step is once its floats turn subnormal (after about
    /// [`DENORMAL_ONSET`] steps), per platform: (label, factor) of each long tm-image run.
    pub denormal: BTreeMap<String, Vec<(String, f64)>>,
    /// Measured long runs (setup + every step), for validation.
    pub totals: Vec<Total>,
    pub runs: Vec<String>,
}

/// One long run measured whole: what trained, for how many steps, and how long it took.
#[derive(Debug, Clone)]
pub struct Total {
    pub platform: String,
    pub spec: WorkloadSpec,
    pub steps: u64,
    pub ms: f64,
}

/// The step after which tm-image's floats turn subnormal (docs/findings.md: about 700).
pub const DENORMAL_ONSET: u64 = 700;
/// A case with more measured steps than this is a long run: its median mixes both phases, so it
/// feeds the denormal factor and the totals, not the step-time fit.
const LONG: usize = 600;

fn median(mut v: Vec<f64>) -> f64 {
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
fn data_bytes(w: &Workload) -> f64 {
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
            if spec.workload == "tm-image" && t.len() as u64 > DENORMAL_ONSET + 300 {
                let early = median(t[100..600].to_vec());
                let late = median(t[DENORMAL_ONSET as usize + 300..].to_vec());
                denormal
                    .entry(platform.clone())
                    .or_default()
                    .push((label_of(&spec), late / early));
            }
            obs.totals.push(Total {
                platform,
                spec,
                steps: t.len() as u64,
                ms: setup + t.iter().sum::<f64>(),
            });
        }
    }
    obs.points = collect(steps);
    obs.setup = collect(setups);
    obs.denormal = denormal;
    Ok(obs)
}

/// A prediction for one request on one platform.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub platform: String,
    pub model: Model,
    pub steps: u64,
    pub step_ms: f64,
    pub setup_ms: f64,
    /// The denormal phase's factor applied past [`DENORMAL_ONSET`] steps (tm-image), if this
    /// platform measured one; None where it applies but was not measured.
    pub denormal: Option<f64>,
    pub total_s: f64,
    /// The total scaled by the smallest and largest held-out relative error of the request's
    /// workload (of every workload when it has fewer than two; None with fewer than two).
    pub interval_s: Option<(f64, f64)>,
    pub held_out: usize,
    pub memory: memory::Footprint,
    /// GFLOP/s past the per-step overhead at this request's size ([`Model::effective_gflops`]).
    pub effective_gflops: f64,
}

fn steps_of(w: &Workload, req: &Request) -> u64 {
    match (req.steps, req.epochs) {
        (Some(s), _) => s,
        (None, e) => e.unwrap_or(w.epochs) as u64 * w.steps_per_epoch() as u64,
    }
}

/// The denormal factor of `platform`'s long tm-image runs other than `except` (a label held out).
fn denormal_of(obs: &Observations, platform: &str, except: Option<&str>) -> Option<f64> {
    let v: Vec<f64> = obs
        .denormal
        .get(platform)?
        .iter()
        .filter(|(l, _)| Some(l.as_str()) != except)
        .map(|(_, f)| *f)
        .collect();
    (!v.is_empty()).then(|| median(v))
}

/// Total milliseconds: setup, then `steps` steps, the ones past the onset slowed by `denormal`.
fn total_ms(w: &Workload, steps: u64, step_ms: f64, setup_ms: f64, denormal: Option<f64>) -> f64 {
    let slow = if w.name == "tm-image" {
        steps.saturating_sub(DENORMAL_ONSET) as f64 * (denormal.unwrap_or(1.0) - 1.0)
    } else {
        0.0
    };
    setup_ms + step_ms * (steps as f64 + slow)
}

/// Predict `w` on `platform` from its observations, leaving out the points labelled `except`.
fn predict_one(
    obs: &Observations,
    platform: &str,
    w: &Workload,
    steps: u64,
    except: Option<&str>,
) -> Option<(Model, f64, f64, Option<f64>, f64)> {
    let keep = |pts: &Vec<Point>| -> Vec<Point> {
        pts.iter()
            .filter(|p| Some(p.label.as_str()) != except)
            .cloned()
            .collect()
    };
    let points = keep(obs.points.get(platform)?);
    let model = fit::fit_for(&points, &w.name)?;
    let step_ms = model.predict(w.flops_per_step() as f64, state_bytes(w));
    let setup_ms = obs
        .setup
        .get(platform)
        .map(keep)
        .and_then(|pts| fit::fit_for(&pts, &w.name))
        .map_or(0.0, |m| m.predict(data_bytes(w), state_bytes(w)));
    let denormal = denormal_of(obs, platform, except);
    let total = total_ms(w, steps, step_ms, setup_ms, denormal);
    Some((model, step_ms, setup_ms, denormal, total))
}

/// Predict `req` on every platform of `obs` whose name contains `filter`.
pub fn predict(obs: &Observations, filter: &str, req: &Request) -> Result<Vec<Prediction>, String> {
    let w = Workload::resolve(&req.spec)?;
    let steps = steps_of(&w, req);
    let mut out = Vec::new();
    for (platform, points) in obs.points.iter().filter(|(p, _)| p.contains(filter)) {
        let Some((model, step_ms, setup_ms, denormal, total)) =
            predict_one(obs, platform, &w, steps, None)
        else {
            continue;
        };
        let total_s = total / 1000.0;
        // How far the model missed held-out sizes: those of the request's own workload when
        // there are at least two, all of them otherwise.
        let all = fit::leave_one_size_out(points);
        let own: Vec<_> = all
            .iter()
            .filter(|(label, ..)| label.split(' ').next() == Some(w.name.as_str()))
            .cloned()
            .collect();
        let loo = if own.len() >= 2 { own } else { all };
        let interval_s = (loo.len() >= 2).then(|| {
            let errs: Vec<f64> = loo.iter().map(|(_, m, p)| m / p - 1.0).collect();
            let lo = errs.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
            let hi = errs
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
                .max(0.0);
            (total_s * (1.0 + lo).max(0.0), total_s * (1.0 + hi))
        });
        out.push(Prediction {
            platform: platform.clone(),
            model,
            steps,
            step_ms,
            setup_ms,
            denormal,
            total_s,
            interval_s,
            held_out: loo.len(),
            memory: memory::footprint(&w),
            effective_gflops: model.effective_gflops(w.flops_per_step() as f64, state_bytes(&w)),
        });
    }
    if out.is_empty() {
        let known: Vec<&str> = obs.points.keys().map(String::as_str).collect();
        return Err(format!(
            "no platform matching `{filter}` has training cases in {} (platforms there: {})",
            obs.runs.join(", "),
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        ));
    }
    Ok(out)
}

/// One held-out row of the validation table.
#[derive(Debug, Clone)]
pub struct Validation {
    pub platform: String,
    pub label: String,
    /// What is compared: `ms/step` (a size's median step) or `total s` (a long run, whole).
    pub what: &'static str,
    pub measured: f64,
    pub predicted: f64,
}

impl Validation {
    pub fn error(&self) -> f64 {
        self.predicted / self.measured - 1.0
    }
}

/// Every platform's sizes held out one at a time (see [`fit::leave_one_size_out`]), and every
/// long run's total predicted with its own size held out.
pub fn validate(obs: &Observations) -> Vec<Validation> {
    let mut out = Vec::new();
    for (platform, points) in &obs.points {
        for (label, measured, predicted) in fit::leave_one_size_out(points) {
            out.push(Validation {
                platform: platform.clone(),
                label,
                what: "ms/step",
                measured,
                predicted,
            });
        }
    }
    for t in &obs.totals {
        let Ok(w) = Workload::resolve(&t.spec) else {
            continue;
        };
        let label = label_of(&t.spec);
        if let Some((.., total)) = predict_one(obs, &t.platform, &w, t.steps, Some(&label)) {
            out.push(Validation {
                platform: t.platform.clone(),
                label: format!("{label}, {} steps", t.steps),
                what: "total s",
                measured: t.ms / 1000.0,
                predicted: total / 1000.0,
            });
        }
    }
    out
}

fn secs(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// The predictions as text, one line per platform.
pub fn render(req: &Request, preds: &[Prediction]) -> String {
    let mut t = String::new();
    let Some(first) = preds.first() else {
        return t;
    };
    t.push_str(&format!(
        "{}: {} steps; {}\n",
        label_of(&req.spec),
        first.steps,
        first.memory.describe()
    ));
    for p in preds {
        let interval = match p.interval_s {
            Some((lo, hi)) => format!(
                " (held-out range {}–{} over {} sizes)",
                secs(lo),
                secs(hi),
                p.held_out
            ),
            None => " (too few sizes measured here to say how far it misses)".into(),
        };
        let denormal = match (p.denormal, req.spec.workload == "tm-image") {
            (Some(f), true) => format!("; steps past {DENORMAL_ONSET} ×{f:.2} (denormals)"),
            (None, true) if p.steps > DENORMAL_ONSET => format!(
                "; the denormal phase past step {DENORMAL_ONSET} was not measured here (a long tm-image run measures it): the total may be low"
            ),
            _ => String::new(),
        };
        t.push_str(&format!(
            "  {:36} {:>9.3} ms/step  setup {:.0} ms  total {}{}{}; model {:.3} ms a step + {:.1} GFLOP/s past it at this size\n",
            p.platform,
            p.step_ms,
            p.setup_ms,
            secs(p.total_s),
            interval,
            denormal,
            p.model.overhead_ms,
            p.effective_gflops,
        ));
    }
    t
}

/// The validation rows as a Markdown table, then per kind the median absolute error and the
/// worst case.
pub fn render_validation(rows: &[Validation]) -> String {
    let mut t = String::from(
        "| platform | held out | what | measured | predicted | error |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        t.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:+.1}% |\n",
            r.platform,
            r.label,
            r.what,
            r.measured,
            r.predicted,
            100.0 * r.error()
        ));
    }
    for what in ["ms/step", "total s"] {
        let of: Vec<&Validation> = rows.iter().filter(|r| r.what == what).collect();
        let Some(worst) = of
            .iter()
            .max_by(|a, b| a.error().abs().total_cmp(&b.error().abs()))
        else {
            continue;
        };
        let abs: Vec<f64> = of.iter().map(|r| r.error().abs()).collect();
        t.push_str(&format!(
            "\n{what}: median absolute error {:.1}% over {} held-out sizes; worst {} {} at {:+.1}%\n",
            100.0 * median(abs),
            of.len(),
            worst.platform,
            worst.label,
            100.0 * worst.error()
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_name_the_platform_and_the_request() {
        let (p, spec) =
            parse_id("tm-image/default/chromium/ndarray-simd/worker/w2-e50-c3-n300-seed42/r1")
                .unwrap();
        assert_eq!(p, "chromium/worker/ndarray-simd");
        assert_eq!((spec.classes, spec.samples_per_class), (Some(3), Some(300)));
        assert_eq!(label_of(&spec), "tm-image default 3×300");
        let (p, spec) = parse_id("mlp/1m/native-ndarray/ndarray/main/w2-s10-seed42/r3").unwrap();
        assert_eq!(p, "native-ndarray");
        assert_eq!((spec.classes, spec.samples_per_class), (None, None));
        assert!(parse_id("not/a/case").is_none());
    }

    #[test]
    fn predicts_from_a_fitted_platform_and_says_how_sure() {
        // A platform at 0.1 ms a step plus 20 GFLOP/s, measured on four MLP sizes.
        let mut obs = Observations::default();
        let mut pts = Vec::new();
        for size in ["0.1m", "0.3m", "1m", "3m"] {
            let w = Workload::resolve(&WorkloadSpec {
                workload: "mlp".into(),
                size: size.into(),
                classes: None,
                samples_per_class: None,
            })
            .unwrap();
            let f = w.flops_per_step() as f64;
            pts.push(Point {
                flops: f,
                bytes: state_bytes(&w),
                ms: 0.1 + f / 20e9 * 1000.0,
                label: format!("mlp {size}"),
                family: "mlp".into(),
            });
        }
        obs.points
            .insert("chromium/worker/ndarray-simd".into(), pts);
        obs.runs.push("test".into());
        let req = Request {
            spec: WorkloadSpec {
                workload: "mlp".into(),
                size: "10m".into(),
                classes: None,
                samples_per_class: None,
            },
            epochs: None,
            steps: Some(1000),
        };
        let preds = predict(&obs, "chromium", &req).unwrap();
        assert_eq!(preds.len(), 1);
        let w = Workload::resolve(&req.spec).unwrap();
        let truth = 0.1 + w.flops_per_step() as f64 / 20e9 * 1000.0;
        assert!((preds[0].step_ms / truth - 1.0).abs() < 1e-6);
        // No setup measured: 1000 steps of `truth` ms.
        assert!((preds[0].total_s - truth).abs() < 1e-6);
        let (lo, hi) = preds[0].interval_s.unwrap();
        assert!(lo <= preds[0].total_s && preds[0].total_s <= hi);
        let text = render(&req, &preds);
        assert!(text.contains("chromium/worker/ndarray-simd"), "{text}");
        // An unknown platform names those there are.
        let err = predict(&obs, "firefox", &req).unwrap_err();
        assert!(err.contains("chromium/worker/ndarray-simd"), "{err}");
        // Validation: an exact model misses no held-out size.
        let rows = validate(&obs);
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|r| r.error().abs() < 1e-6));
        assert!(render_validation(&rows).contains("ms/step: median absolute error 0.0%"));
    }

    #[test]
    fn the_denormal_phase_slows_the_steps_past_its_onset() {
        let w = Workload::resolve(&WorkloadSpec {
            workload: "tm-image".into(),
            size: "default".into(),
            classes: None,
            samples_per_class: None,
        })
        .unwrap();
        // 2,400 steps at 1 ms, 10 ms of setup, 3× slower past step 700.
        let t = total_ms(&w, 2400, 1.0, 10.0, Some(3.0));
        assert!((t - (10.0 + 700.0 + 1700.0 * 3.0)).abs() < 1e-9, "{t}");
        assert!((total_ms(&w, 500, 1.0, 0.0, Some(3.0)) - 500.0).abs() < 1e-9);
        assert!((total_ms(&w, 2400, 1.0, 0.0, None) - 2400.0).abs() < 1e-9);
        // Held out: a long run's own factor is not used to predict it.
        let mut obs = Observations::default();
        obs.denormal.insert(
            "p".into(),
            vec![("a".into(), 2.0), ("b".into(), 4.0), ("c".into(), 3.0)],
        );
        assert_eq!(denormal_of(&obs, "p", Some("c")), Some(3.0));
        assert_eq!(denormal_of(&obs, "p", None), Some(3.0));
        assert_eq!(denormal_of(&obs, "q", None), None);
    }
}
