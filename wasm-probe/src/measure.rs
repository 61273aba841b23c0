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
    /// The most warm-up steps run past `warmup` until the step time has settled ([`settled`]);
    /// 0 turns the extension off (a fixed warm-up of `warmup` steps). Not used with `epochs`
    /// or `warmup = 0` (measured from the cold first step: nothing to extend).
    #[serde(default)]
    pub max_extra_warmup: u32,
    /// Test-only fault injection: "panic", "pool-panic" (a panic on a pool thread), "hang", or
    /// "alloc:<MiB>"; or "slowdown:<fraction>", a known slow-down for checking what a verdict
    /// detects: every training step is stretched by that fraction (0.1: each step takes 10%
    /// longer) by spinning on the clock after it.
    #[serde(default)]
    pub fault: Option<String>,
    /// Train on this many threads (src/threads.rs): natively a pool of that many OS threads, in
    /// wasm the `threads` build with as many workers. None: the single-threaded build, as
    /// before the axis existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
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
    /// Warm-up step times, the first step included: as many as warm-up steps ran (`warmup`,
    /// plus the extension's extra steps).
    pub warmup_ms: Vec<f64>,
    /// Where the warm-up extension ended: `Some(true)` when the step time settled
    /// ([`settled`]), `Some(false)` when it stopped at its bound (`max_extra_warmup` steps or
    /// [`MAX_EXTRA_WARMUP_MS`]) unsettled; None when no extension ran (off, `epochs`,
    /// `warmup = 0`, or a peer library that keeps a fixed warm-up).
    #[serde(default)]
    pub warmup_settled: Option<bool>,
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
    /// Threads the training ran on, read back from the pool (1 without one); None from a peer.
    #[serde(default)]
    pub threads: Option<u32>,
}

/// Steps in each of the two windows the settle rule compares.
pub const SETTLE_WINDOW: usize = 4;
/// Largest relative change between the two windows' medians still counted as settled.
pub const SETTLE_TOLERANCE: f64 = 0.10;
/// Extra warm-up stops unsettled once its steps have taken this long, whatever
/// `max_extra_warmup` allows: a case of 2-second steps warms up at most ~5 steps more, one of
/// 1 ms steps is bound by the step count.
pub const MAX_EXTRA_WARMUP_MS: f64 = 10_000.0;

fn median_of(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The settle rule's two medians: of the last [`SETTLE_WINDOW`] warm-up step times and of the
/// [`SETTLE_WINDOW`] before them, `(recent, before)`; None with fewer than two windows of steps.
pub fn settle_medians(warmup_ms: &[f64]) -> Option<(f64, f64)> {
    let n = warmup_ms.len();
    (n >= 2 * SETTLE_WINDOW).then(|| {
        (
            median_of(&warmup_ms[n - SETTLE_WINDOW..]),
            median_of(&warmup_ms[n - 2 * SETTLE_WINDOW..n - SETTLE_WINDOW]),
        )
    })
}

/// The settle rule of the warm-up extension: the step time has settled when the median of the
/// last [`SETTLE_WINDOW`] warm-up steps is within [`SETTLE_TOLERANCE`] (10%) of the median of
/// the [`SETTLE_WINDOW`] steps before them, either way. Medians, so one slow step (a GC, the
/// cold first step) does not hold warm-up open; fewer than 2 × [`SETTLE_WINDOW`] steps, or a
/// non-finite time, have not settled.
pub fn settled(warmup_ms: &[f64]) -> bool {
    settle_medians(warmup_ms).is_some_and(|(recent, before)| {
        recent.is_finite()
            && before.is_finite()
            && (recent - before).abs() <= SETTLE_TOLERANCE * before
    })
}

/// Iterations of [`calibrate`]: about 0.44 ms natively on this project's 2-core VM, some tens of
/// ticks of a cross-origin-isolated page's clock (5 µs in Chromium, 20 µs in Firefox).
pub const CALIB_ITERS: u32 = 300_000;

/// The drift calibration: a fixed chain of dependent 64-bit multiplies and xor-shifts, no memory
/// traffic, no SIMD, no allocation: it runs at the core's speed of the moment, whatever the
/// workload, so `step / calibration` cancels the machine's own drift (frequency, steal time)
/// between and within runs. It also cancels an engine change that slows plain integer code as
/// much as training: such a change shows in the raw step time only.
///
/// The chain stays in registers: only its seed goes through `black_box` (so it is not folded),
/// and no closed form exists for it. An earlier version passed every link through `black_box`,
/// which puts the value in memory each time: its speed then hung on store-to-load forwarding and
/// was bimodal from one process to the next here (0.95 or 0.48 ms for the same loop, by process).
pub fn calibrate(iters: u32, seed: u64) -> u64 {
    let mut x = std::hint::black_box(seed | 1);
    for _ in 0..iters {
        x = x.wrapping_mul(6_364_136_223_846_793_005) ^ (x >> 29);
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
        "pool-panic" => {
            // A panic on one of the pool's threads while the case's thread waits for it.
            #[cfg(feature = "threads")]
            if crate::threads::running() > 1 {
                rayon::join(
                    || (),
                    || {
                        if std::hint::black_box(true) {
                            panic!("injected fault: panic on a pool thread")
                        }
                    },
                );
                return Ok(());
            }
            Err("fault `pool-panic` needs a pool of 2 or more threads (threads = 2)".into())
        }
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
    crate::threads::check(spec.threads)?;
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
    // The warm-up extension: past the fixed `warmup` steps, go on warming up until the step time
    // has settled or the bound is reached; then measure exactly `measured` steps.
    let extend = spec.epochs.is_none() && warmup > 0 && spec.max_extra_warmup > 0;
    let mut losses = Vec::with_capacity(warmup + measured);
    let mut warmup_ms = Vec::with_capacity(warmup.max(1));
    let mut step_ms = Vec::with_capacity(measured);
    let (mut peak_ms, mut peak_flops) = (Vec::new(), 0);
    let mut calib_ms = Vec::with_capacity(measured);
    let train_start = host.now_ms();
    let mut first_step_ms = f64::NAN;
    let mut step_cpu_ms = Vec::with_capacity(measured);
    let mut warming = warmup > 0;
    let mut warmup_settled = None;
    let (mut extra, mut extra_ms) = (0u32, 0.0);
    let mut i = 0usize;
    while warming || step_ms.len() < measured {
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
        if warming {
            warmup_ms.push(elapsed);
            if i >= warmup {
                extra += 1;
                extra_ms += elapsed;
            }
            if warmup_ms.len() >= warmup {
                if !extend {
                    warming = false;
                } else if settled(&warmup_ms) {
                    warming = false;
                    warmup_settled = Some(true);
                } else if extra >= spec.max_extra_warmup || extra_ms >= MAX_EXTRA_WARMUP_MS {
                    warming = false;
                    warmup_settled = Some(false);
                }
            }
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
        i += 1;
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
        threads: Some(crate::threads::running()),
        setup_ms,
        first_step_ms,
        warmup_ms,
        warmup_settled,
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
    if let Err(why) = crate::threads::start_native(spec.threads) {
        return Ok(Err(why));
    }
    let prepared = crate::backend::prepare(&spec.backend)?;
    Ok(block_on(run_case(spec, &prepared, &NativeHost::default())))
}

#[cfg(all(test, not(target_family = "wasm")))]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn the_settle_rule_compares_the_medians_of_the_last_two_windows() {
        // fewer than two windows of steps: not judged, not settled
        assert_eq!(settle_medians(&[1.0; 7]), None);
        assert!(!settled(&[1.0; 7]));
        assert_eq!(settle_medians(&[1.0; 8]), Some((1.0, 1.0)));
        assert!(settled(&[1.0; 8]));
        // a cold first step and one slow step inside a window are outvoted by the medians
        assert!(settled(&[50.0, 1.0, 1.05, 0.97, 1.0, 9.0, 1.02, 0.98]));
        // still speeding up: the last 4 run at 0.8x the 4 before
        let falling = [5.0, 5.0, 5.0, 5.0, 4.0, 4.0, 4.0, 4.0];
        assert_eq!(settle_medians(&falling), Some((4.0, 5.0)));
        assert!(!settled(&falling));
        // only the last two windows count: the same series settled once it levels off
        let levelled = [5.0, 5.0, 5.0, 5.0, 4.0, 4.0, 4.0, 4.0, 3.9, 4.1, 4.0, 4.0];
        assert!(settled(&levelled));
        // 10% either way is the edge; slowing down by more is not settled either
        assert!(settled(&[1.0, 1.0, 1.0, 1.0, 1.09, 1.09, 1.09, 1.09]));
        assert!(settled(&[1.0, 1.0, 1.0, 1.0, 0.91, 0.91, 0.91, 0.91]));
        assert!(!settled(&[1.0, 1.0, 1.0, 1.0, 1.11, 1.11, 1.11, 1.11]));
        assert!(!settled(&[1.0, 1.0, 1.0, 1.0, 0.89, 0.89, 0.89, 0.89]));
        // non-finite times never settle
        assert!(!settled(&[f64::NAN; 8]));
        assert!(!settled(&[f64::INFINITY; 8]));
    }

    /// A clock for the loop: each reading is `f(k)` ms for the k-th reading, so the step
    /// times it shows are chosen by the test, whatever the machine does.
    struct FakeClock<F: Fn(u64) -> f64> {
        calls: Cell<u64>,
        f: F,
    }

    impl<F: Fn(u64) -> f64> Host for FakeClock<F> {
        fn now_ms(&self) -> f64 {
            let k = self.calls.get();
            self.calls.set(k + 1);
            (self.f)(k)
        }

        async fn between_steps(&self) {}
    }

    fn spec(warmup: u32, steps: u32, max_extra_warmup: u32) -> CaseSpec {
        CaseSpec {
            workload: WorkloadSpec {
                workload: "mlp".into(),
                size: "0.1m".into(),
                classes: None,
                samples_per_class: None,
            },
            backend: "ndarray".into(),
            seed: 7,
            warmup,
            steps,
            epochs: None,
            fault: None,
            max_extra_warmup,
            threads: None,
        }
    }

    fn run<F: Fn(u64) -> f64>(spec: &CaseSpec, f: F) -> CaseResult {
        let prepared = crate::backend::prepare("ndarray").expect("ndarray is available");
        let host = FakeClock {
            calls: Cell::new(0),
            f,
        };
        block_on(run_case(spec, &prepared, &host)).expect("the case trains")
    }

    #[test]
    fn warm_up_goes_on_until_settled_or_the_bound_then_measures_steps_exactly() {
        // Constant 1 ms steps settle as soon as there are two windows: 8 warm-up steps.
        let r = run(&spec(2, 5, 20), |k| k as f64);
        assert_eq!((r.warmup_ms.len(), r.warmup_settled), (8, Some(true)));
        assert_eq!(r.step_ms.len(), 5);
        assert_eq!(r.losses.len(), 8 + 5);
        // Steps that keep slowing (time = k², so each reading gap grows): never settled,
        // stopped at the step bound, 2 fixed + 20 extra.
        let r = run(&spec(2, 5, 20), |k| (k * k) as f64);
        assert_eq!((r.warmup_ms.len(), r.warmup_settled), (22, Some(false)));
        assert_eq!((r.step_ms.len(), r.losses.len()), (5, 27));
        // The time bound: steps of tens of seconds stop after one extra step.
        let r = run(&spec(2, 3, 20), |k| (k * k) as f64 * 1e4);
        assert_eq!((r.warmup_ms.len(), r.warmup_settled), (3, Some(false)));
        assert_eq!(r.step_ms.len(), 3);
        // Off (0), or nothing to extend (warm-up 0): exactly the fixed counts, no verdict.
        let r = run(&spec(2, 5, 0), |k| (k * k) as f64);
        assert_eq!((r.warmup_ms.len(), r.warmup_settled), (2, None));
        assert_eq!((r.step_ms.len(), r.losses.len()), (5, 7));
        let r = run(&spec(0, 5, 20), |k| k as f64);
        assert_eq!((r.warmup_ms.len(), r.warmup_settled), (0, None));
        assert_eq!(r.step_ms.len(), 5);
        // With epochs every step is counted by the epochs: no extension.
        let mut e = spec(2, 5, 20);
        e.epochs = Some(1);
        let r = run(&e, |k| (k * k) as f64);
        assert_eq!((r.warmup_ms.len(), r.warmup_settled), (2, None));
    }

    #[test]
    fn an_extended_warm_up_trains_the_same_model_step_for_step() {
        // The loss of global step i is the same whatever the warm-up length: the agreement
        // meter compares over the steps both sides ran.
        let fixed = run(&spec(2, 5, 0), |k| k as f64);
        let extended = run(&spec(2, 5, 20), |k| (k * k) as f64);
        assert_eq!(extended.losses.len(), 27);
        assert_eq!(extended.losses[..7], fixed.losses[..]);
    }
}
