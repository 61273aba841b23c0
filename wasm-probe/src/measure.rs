//! The measurement loop shared by every target: warm-up, measured steps, cold start, loss, accuracy.
//! Time comes from an injected clock (wasm has no `Instant`); yielding between steps is the host's.

use crate::backend::Prepared;
use crate::workload::{Workload, WorkloadSpec};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// What the loop needs from where it runs.
pub trait Host {
    /// Milliseconds from an arbitrary origin (`performance.now()` in JS, `Instant` natively).
    fn now_ms(&self) -> f64;
    /// Called between steps: a page's main thread yields to its event loop here, like an app.
    fn between_steps(&self) -> impl std::future::Future<Output = ()>;
    /// CPU time this thread has run, in milliseconds, where the host can tell (natively);
    /// None in JS engines, which have no such clock.
    fn cpu_ms(&self) -> Option<f64> {
        None
    }
}

/// One case as the probe receives it (JSON in the browser and in Node).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseSpec {
    #[serde(flatten)]
    pub workload: WorkloadSpec,
    pub backend: String,
    pub seed: u64,
    pub warmup: u32,
    pub steps: u32,
    /// Train this many full epochs (all steps timed) instead of `warmup + steps`.
    #[serde(default)]
    pub epochs: Option<u32>,
    /// Test-only fault injection: "panic", "hang", or "alloc:<MiB>"; or "slowdown:<fraction>",
    /// a known slow-down for checking what a verdict detects: every training step is stretched
    /// by that fraction (0.1: each step takes 10% longer) by spinning on the clock after it.
    #[serde(default)]
    pub fault: Option<String>,
}

/// The fraction of a `slowdown:<fraction>` fault (0 < fraction <= 10); None for any other.
pub fn slowdown_of(fault: &str) -> Option<Result<f64, String>> {
    let v = fault.strip_prefix("slowdown:")?;
    Some(match v.parse::<f64>() {
        Ok(f) if f > 0.0 && f <= 10.0 => Ok(f),
        _ => Err(format!(
            "bad fault `{fault}`: expected slowdown:<fraction> with 0 < fraction <= 10, e.g. slowdown:0.1"
        )),
    })
}

/// Everything one case measured, raw. Statistics are the harness's job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseResult {
    pub workload: String,
    pub size: String,
    pub params: u64,
    pub flops_per_step: u64,
    pub batch: u64,
    pub optimizer: String,
    pub backend: String,
    pub device: String,
    /// Building the data set and the model.
    pub setup_ms: f64,
    /// The very first training step (cold start: lazy init, first allocations).
    pub first_step_ms: f64,
    /// Warm-up step times, the first step included.
    pub warmup_ms: Vec<f64>,
    /// Measured step times.
    pub step_ms: Vec<f64>,
    /// Loss of every step, warm-up included.
    pub losses: Vec<f32>,
    pub val_accuracy: f32,
    pub eval_ms: f64,
    /// Wall time of all training steps, warm-up included.
    pub train_ms: f64,
    pub epochs: Option<u32>,
    pub dataset_bytes: u64,
    /// FLOPs of the multiply-add limit loop run after each measured step (`gemm` products; 0
    /// when none ran).
    #[serde(default)]
    pub peak_flops: u64,
    /// Its time after each measured step, in step order.
    #[serde(default)]
    pub peak_ms: Vec<f64>,
    /// Time of the fixed calibration loop ([`calibrate`]) run right after each measured step:
    /// the host's speed at that moment, so a step time can be read relative to it.
    #[serde(default)]
    pub calib_ms: Vec<f64>,
    /// CPU time of each measured step where the host has a thread CPU clock (natively): the
    /// step without the time other processes took the core from it.
    #[serde(default)]
    pub step_cpu_ms: Vec<f64>,
}

/// Iterations of [`calibrate`]: about 0.3 ms natively on this project's 2-core VM, some tens of
/// ticks of a cross-origin-isolated page's clock (5 µs in Chromium, 20 µs in Firefox).
pub const CALIB_ITERS: u32 = 300_000;

/// The drift calibration: a fixed chain of dependent 64-bit multiply-adds (an LCG), no memory
/// traffic, no SIMD, no allocation: it runs at the core's speed of the moment, whatever the
/// workload, so `step / calibration` cancels the machine's own drift (frequency, steal time)
/// between and within runs. It also cancels an engine change that slows plain integer code as
/// much as training: such a change shows in the raw step time only.
pub fn calibrate(iters: u32, seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..iters {
        x = std::hint::black_box(
            x.wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        );
    }
    x
}

async fn read(t: Tensor<1>) -> Result<f32, String> {
    let data = t.into_data_async().await.map_err(|e| format!("{e:?}"))?;
    let v: Vec<f32> = data
        .convert::<f32>()
        .try_to_vec()
        .map_err(|e| format!("{e:?}"))?;
    v.first().copied().ok_or_else(|| "empty tensor".to_string())
}

fn inject(fault: &str) -> Result<(), String> {
    match fault {
        "panic" => panic!("injected fault: panic inside the workload"),
        "hang" => {
            // An endless loop the optimizer cannot remove.
            let mut x: u64 = 1;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        f if f.starts_with("alloc:") => {
            let mib: usize = f[6..].parse().map_err(|_| format!("bad fault `{f}`"))?;
            let mut held: Vec<Vec<u8>> = Vec::new();
            for _ in 0..mib {
                held.push(vec![1u8; 1 << 20]);
            }
            std::hint::black_box(&held);
            Ok(())
        }
        other => Err(format!("unknown fault `{other}`")),
    }
}

/// Run one case on a prepared device. `Err` is a failure message for the record.
pub async fn run_case<H: Host>(
    spec: &CaseSpec,
    prepared: &Prepared,
    host: &H,
) -> Result<CaseResult, String> {
    let workload = Workload::resolve(&spec.workload)?;
    let stretch = match spec.fault.as_deref() {
        Some(f) => match slowdown_of(f) {
            Some(s) => Some(s?),
            None => {
                inject(f)?;
                None
            }
        },
        None => None,
    };
    let t0 = host.now_ms();
    let mut trainer = workload.build(&prepared.device, spec.seed);
    let setup_ms = host.now_ms() - t0;

    let (warmup, measured) = match spec.epochs {
        Some(e) => {
            let total = (e as usize * trainer.steps_per_epoch()).max(1);
            let w = (spec.warmup as usize).min(total - 1);
            (w, total - w)
        }
        None => (spec.warmup as usize, spec.steps.max(1) as usize),
    };
    let mut losses = Vec::with_capacity(warmup + measured);
    let mut warmup_ms = Vec::with_capacity(warmup.max(1));
    let mut step_ms = Vec::with_capacity(measured);
    let (mut peak_ms, mut peak_flops) = (Vec::new(), 0);
    let mut calib_ms = Vec::with_capacity(measured);
    let train_start = host.now_ms();
    let mut first_step_ms = f64::NAN;
    let mut step_cpu_ms = Vec::with_capacity(measured);
    for i in 0..warmup + measured {
        let cpu_start = host.cpu_ms();
        let start = host.now_ms();
        let loss = trainer.step();
        // Reading the loss waits for the step to finish on every backend.
        let value = read(loss).await?;
        let mut elapsed = host.now_ms() - start;
        if let Some(s) = stretch {
            // The known slow-down: spin until the step has taken (1 + s) times as long.
            let until = elapsed * (1.0 + s);
            while elapsed < until {
                elapsed = host.now_ms() - start;
            }
        }
        if !value.is_finite() {
            return Err(format!("loss is {value} at step {i}"));
        }
        losses.push(value);
        if i == 0 {
            first_step_ms = elapsed;
        }
        if i < warmup {
            warmup_ms.push(elapsed);
        } else {
            step_ms.push(elapsed);
            if let (Some(a), Some(b)) = (cpu_start, host.cpu_ms()) {
                step_cpu_ms.push(b - a);
            }
            let start = host.now_ms();
            if let Some(flops) = trainer.peak_slice() {
                peak_ms.push(host.now_ms() - start);
                peak_flops = flops;
            }
            let start = host.now_ms();
            std::hint::black_box(calibrate(CALIB_ITERS, i as u64));
            calib_ms.push(host.now_ms() - start);
        }
        host.between_steps().await;
    }
    let train_ms = host.now_ms() - train_start;
    let e0 = host.now_ms();
    let val_accuracy = read(trainer.accuracy()).await?;
    let eval_ms = host.now_ms() - e0;
    Ok(CaseResult {
        workload: workload.name.clone(),
        size: workload.size.clone(),
        params: workload.params(),
        flops_per_step: workload.flops_per_step(),
        batch: workload.batch as u64,
        optimizer: workload.optimizer.name().into(),
        backend: spec.backend.clone(),
        device: prepared.description.clone(),
        setup_ms,
        first_step_ms,
        warmup_ms,
        step_ms,
        losses,
        val_accuracy,
        eval_ms,
        train_ms,
        epochs: spec.epochs,
        dataset_bytes: trainer.dataset_bytes() as u64,
        peak_flops,
        peak_ms,
        calib_ms,
        step_cpu_ms,
    })
}

/// A native host: `Instant` clock, no yielding.
#[cfg(not(target_family = "wasm"))]
pub struct NativeHost {
    origin: std::time::Instant,
}

#[cfg(not(target_family = "wasm"))]
impl Default for NativeHost {
    fn default() -> Self {
        Self {
            origin: std::time::Instant::now(),
        }
    }
}

#[cfg(not(target_family = "wasm"))]
impl Host for NativeHost {
    fn now_ms(&self) -> f64 {
        self.origin.elapsed().as_secs_f64() * 1e3
    }

    async fn between_steps(&self) {}

    fn cpu_ms(&self) -> Option<f64> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec through a valid pointer.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        (rc == 0).then(|| ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6)
    }
}

/// Drive a future that never waits on I/O (every native backend here) to completion.
#[cfg(not(target_family = "wasm"))]
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// Run a case natively from start to end.
#[cfg(not(target_family = "wasm"))]
pub fn run_native(
    spec: &CaseSpec,
) -> Result<Result<CaseResult, String>, crate::backend::Unavailable> {
    let prepared = crate::backend::prepare(&spec.backend)?;
    Ok(block_on(run_case(spec, &prepared, &NativeHost::default())))
}
