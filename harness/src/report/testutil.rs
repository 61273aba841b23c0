//! Test fixtures for the report and compare tests: synthetic run directories written with the
//! real `RecordWriter` and `Manifest`, and temporary directories that remove themselves.

use crate::manifest::Manifest;
use crate::record::{CaseInfo, Record, RecordWriter, Sample, Status};
use crate::stats::Rng;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("gapbench-test-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The text of section `title` (`## title`) of a rendered report.md, up to the next section.
pub(crate) fn md_section<'a>(md: &'a str, title: &str) -> &'a str {
    md.split(&format!("## {title}"))
        .nth(1)
        .unwrap_or_else(|| panic!("no section {title}"))
        .split("\n## ")
        .next()
        .unwrap()
}

/// A case of [`case`] on another backend (and the case id to match).
pub(crate) fn on_backend(mut c: CaseInfo, backend: &str) -> CaseInfo {
    c.case_id = c
        .case_id
        .replace("/ndarray-simd/", &format!("/{backend}-simd/"));
    c.backend = backend.into();
    c
}

/// A case of a synthetic run with the fields a real run would give it.
pub(crate) fn case(run_id: &str, workload: &str, size: &str, target: &str, rep: u32) -> CaseInfo {
    let native = target.starts_with("native-");
    let backend = match target {
        "native-ndarray" => "ndarray",
        "native-flex" => "flex",
        "native-wgpu" => "wgpu",
        "native-keras" => "keras",
        _ => "ndarray",
    };
    let (engine, version) = match target {
        "chromium" => ("chromium", "131.0.6778.85"),
        "firefox" => ("firefox", "133.0"),
        "node" => ("node", "22.11.0"),
        t if t.starts_with("native-") => {
            ("native", "rustc 1.95.0 (59807616e 2026-04-14); burn 0.22.1")
        }
        t => (t, "1"),
    };
    let params = match size {
        "small" => 10_000,
        "medium" => 1_000_000,
        _ => 100_000,
    };
    let variant = if native {
        backend.to_string()
    } else {
        format!("{backend}-simd")
    };
    CaseInfo {
        run_id: run_id.into(),
        case_id: format!("{workload}/{size}/{target}/{variant}/main/r{rep}"),
        workload: workload.into(),
        size: size.into(),
        params,
        batch: 10,
        target: target.into(),
        context: "main".into(),
        engine: engine.into(),
        engine_version: version.into(),
        backend: backend.into(),
        simd: if native { "-".into() } else { "simd".into() },
        device: if native { "cpu".into() } else { String::new() },
        repetition: rep,
        flops_per_step: params * 60,
        ..CaseInfo::default()
    }
}

fn samples_of(case_id: &str, metric: &str, phase: &'static str, values: &[f64]) -> Vec<Sample> {
    values
        .iter()
        .enumerate()
        .map(|(index, &value)| Sample {
            case_id: case_id.into(),
            metric: metric.into(),
            phase,
            index,
            value,
        })
        .collect()
}

/// What the throughput meter writes for a case with these measured step times (ms).
pub(crate) fn throughput_case(info: &CaseInfo, step_ms: &[f64]) -> (Vec<Record>, Vec<Sample>) {
    let per_s: Vec<f64> = step_ms
        .iter()
        .map(|ms| info.batch as f64 * 1e3 / ms)
        .collect();
    let gflops: Vec<f64> = step_ms
        .iter()
        .map(|ms| info.flops_per_step as f64 / ms / 1e6)
        .collect();
    let train: f64 = step_ms.iter().sum();
    let recs = vec![
        Record::outcome(info, Status::Ok, ""),
        Record::measured(info, "step_time", "ms", true, step_ms),
        Record::measured(info, "throughput", "samples/s", false, &per_s),
        Record::measured(info, "compute", "GFLOP/s", false, &gflops),
        Record::measured(info, "train_time", "ms", true, &[train]),
    ];
    let warmup = [step_ms[0] * 3.0, step_ms[0] * 1.5];
    let losses: Vec<f64> = (0..step_ms.len()).map(|i| 2.0 / (1.0 + i as f64)).collect();
    let mut smp = samples_of(&info.case_id, "step_time", "warmup", &warmup);
    smp.extend(samples_of(&info.case_id, "step_time", "measured", step_ms));
    smp.extend(samples_of(&info.case_id, "loss", "measured", &losses));
    (recs, smp)
}

/// `n` samples around `center` with relative spread `rel` (normal, Box-Muller), deterministic.
pub(crate) fn noisy(seed: u64, n: usize, center: f64, rel: f64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let u1 = rng.next_f64().max(1e-12);
            let u2 = rng.next_f64();
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            center * (1.0 + rel * z)
        })
        .collect()
}

/// Write a run directory: manifest.json (started at `started`), records.csv and samples.csv.
pub(crate) fn write_run(
    dir: &Path,
    run_id: &str,
    started: &str,
    cases: &[(Vec<Record>, Vec<Sample>)],
) {
    let mut m = Manifest::new(
        run_id,
        "synthetic",
        Path::new("scenarios/synthetic.toml"),
        cases.len(),
    );
    m.started = started.into();
    m.ended = Some(started.into());
    m.cases_done = cases.len();
    m.host_cpu = "Test CPU @ 3.0GHz".into();
    std::fs::create_dir_all(dir).unwrap();
    m.write(dir).unwrap();
    let (mut w, _) = RecordWriter::open(dir, false).unwrap();
    for (r, s) in cases {
        let mut r = r.clone();
        for x in r.iter_mut() {
            x.case.run_id = run_id.into();
        }
        w.write_case(run_id, &r, s).unwrap();
    }
}
