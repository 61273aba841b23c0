// estimate.js: "how long will training take here, and how much fits?", asked in the page before
// training (issue 15). An app like Teachable Machine calls it with what it is about to train; it
// runs a short calibration on this device (at most `budgetMs`, in a Web Worker by default) with
// gapbench's probe training the same model at the same shapes, and a memory probe, then returns
// the predicted training time and the largest sample count that fits in wasm32.
//
//   import { estimateTraining } from "./estimate.js";
//   const e = await estimateTraining({ classes: 3, samplesPerClass: 300, epochs: 50 });
//   e.trainingMs           predicted training time (every step of every epoch), ms
//   e.trainingRangeMs      [low, high]: extrapolated from the slowest and fastest quarter of the
//                          steps it extrapolates from (how much the device's pace moved)
//   e.steps, e.stepMs      steps the training takes; the mean step measured
//   e.denormal             { onset, factor } where the calibration reached the slow phase that
//                          sets in once the floats turn subnormal (after about 700 steps), or null
//   e.measuredSteps        steps the calibration ran (training the same model on synthetic data)
//   e.maxSamples           the most samples (all classes, before the 15% held out) that fit
//   e.maxSamplesReason     what limits it (wasm32's 2 GiB single buffer, or the memory this
//                          engine lets a page grow)
//   e.fits                 whether the request's samples fit
//   e.calibrationMs        what the estimate itself took
//
// Options: { base (URL of the probe bundle; this file's directory by default), budgetMs (2000),
// worker (true: calibrate off the main thread, so the page keeps drawing), simd (true),
// build (the probe build to load: `simd` or `nosimd` from `simd` by default), memLimitBytes
// (4 GiB: the most the memory probe grows) }.
//
// The workload is gapbench's `tm-image`: Teachable Machine's image head (1280-d embedding →
// Dense(100, relu) → Dense(C, softmax)), Adam 0.001, batch 16, 15% of each class held out. A
// step's time does not depend on how many samples there are, so the calibration trains at most
// 300 samples a class; the time to prepare the samples (the app's own) is not in the estimate.

const MIB = 1048576;
const PAGE = 65536;
const FEATURES = 1280;
const HOLDOUT = 0.15;
const BATCH = 16;
const DENORMAL_ONSET = 700;
// Wasm memory the probe uses a parameter with Adam (gapbench's ceilings: 3.78 GiB at 300.1M).
const BYTES_PER_PARAM = (3.78 * 1024 * MIB) / 300.1e6;
const BASE_BYTES = 16 * MIB;
const SINGLE_BUFFER = 2 ** 31 - 1;

const here = new URL("./", import.meta.url).href;

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// Steps of one training: `epochs` passes over the training split, in batches of 16 (the last
// batch of an epoch may be short, as in wasm-probe's trainer).
export function stepsOf(classes, samplesPerClass, epochs) {
  const held = Math.min(Math.round(samplesPerClass * HOLDOUT), samplesPerClass - 1);
  const train = classes * (samplesPerClass - held);
  return { train, steps: epochs * Math.ceil(train / BATCH) };
}

// Something that trains tm-image with the probe: one worker kept for the pilot and the
// calibration (the module compiles once), or this thread.
function trainer(base, inWorker) {
  if (!inWorker) {
    return {
      async run(spec) {
        const { runHere } = await import(new URL("./probe.js", base).href);
        return parse(await runHere(spec, base, true));
      },
      close() {},
    };
  }
  const worker = new Worker(new URL("./worker.js", base), { type: "module" });
  let pending = null;
  worker.onmessage = (e) => {
    if (e.data && typeof e.data === "object" && "step" in e.data) return;
    if (pending) pending(e.data);
  };
  worker.onerror = (e) => {
    if (pending) pending(JSON.stringify({ status: "failed", message: `worker error: ${e.message || e}` }));
  };
  return {
    async run(spec) {
      const reply = await new Promise((resolve) => {
        pending = resolve;
        worker.postMessage({ spec, base, logSteps: false });
      });
      pending = null;
      return parse(reply);
    },
    close() { worker.terminate(); },
  };
}

function parse(reply) {
  const parsed = JSON.parse(reply);
  if (parsed.status !== "ok" || !parsed.result) {
    throw new Error(`calibration failed: ${parsed.message || parsed.status}`);
  }
  return parsed.result;
}

function mean(v) {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

// The mean of each quarter of `v`: how much the rate moved within it.
function quarterMeans(v) {
  const q = Math.max(1, Math.floor(v.length / 4));
  const out = [];
  for (let i = 0; i + q <= v.length && out.length < 4; i += q) out.push(mean(v.slice(i, i + q)));
  return out;
}

// The largest WebAssembly.Memory this page may grow, up to `limit` bytes (grown in 256 MiB
// steps, then dropped: the pages are reserved, not written).
export function growableBytes(limit) {
  let mem;
  try {
    mem = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
  } catch (e) {
    return { bytes: 0, stopped: `${e.name}: ${e.message}` };
  }
  // Counted in whole pages, at most wasm32's 65,536: a limit that is not a multiple of a page
  // would otherwise end in grow(0) forever.
  const maxPages = Math.min(65536, Math.floor(limit / PAGE));
  let pages = mem.buffer.byteLength / PAGE;
  let stopped = "limit";
  const step = (256 * MIB) / PAGE;
  while (pages < maxPages) {
    try {
      mem.grow(Math.min(step, maxPages - pages));
      pages = mem.buffer.byteLength / PAGE;
    } catch (e) {
      stopped = `${e.name}: ${e.message}`;
      break;
    }
  }
  const bytes = pages * PAGE;
  mem = null;
  return { bytes, stopped };
}

// The most samples (all classes, before the held-out split) that fit, and why not more.
export function sampleCeiling(classes, growable) {
  const params = FEATURES * 100 + 100 + 100 * classes;
  const sampleBytes = FEATURES * 4;
  const byBuffer = Math.floor(SINGLE_BUFFER / sampleBytes / (1 - HOLDOUT));
  const room = growable.bytes - BASE_BYTES - params * BYTES_PER_PARAM;
  const byMemory = Math.max(0, Math.floor(room / sampleBytes));
  if (byBuffer <= byMemory) {
    return {
      maxSamples: byBuffer,
      reason: `wasm32's 2 GiB single allocation holds the training split of at most ${byBuffer} samples (${FEATURES} floats each)`,
    };
  }
  return {
    maxSamples: byMemory,
    reason: `this engine let a page grow a wasm memory to ${(growable.bytes / MIB).toFixed(0)} MiB (${growable.stopped}); the model and optimizer take ${(params * BYTES_PER_PARAM / MIB).toFixed(0)} MiB of it`,
  };
}

export async function estimateTraining(request, options = {}) {
  const t0 = performance.now();
  const classes = Number(request.classes ?? 3);
  const perClass = Number(request.samplesPerClass ?? 300);
  const epochs = Number(request.epochs ?? 50);
  if (!(classes >= 2 && perClass >= 2 && epochs >= 1)) {
    throw new Error("estimateTraining: expected classes ≥ 2, samplesPerClass ≥ 2 and epochs ≥ 1");
  }
  const base = options.base || here;
  const budget = Number(options.budgetMs ?? 2000);
  const inWorker = options.worker !== false && typeof Worker === "function";
  const simd = options.simd !== false;
  const { steps } = stepsOf(classes, perClass, epochs);
  const spec = (n, warmup) => ({
    workload: "tm-image",
    size: "default",
    classes,
    samples_per_class: Math.min(perClass, 300),
    backend: "ndarray",
    build: options.build || (simd ? "simd" : "nosimd"),
    simd,
    context: inWorker ? "worker" : "main",
    seed: Number(options.seed ?? 42),
    warmup,
    steps: n,
    max_extra_warmup: 0,
    meters: [],
  });
  // A pilot of a few steps sizes the calibration to the budget.
  const t = await (async () => {
    const run = trainer(base, inWorker);
    try {
      const pilot = await run.run(spec(8, 2));
      const pilotMs = median(pilot.step_ms);
      const left = budget - (performance.now() - t0);
      // Assume steps may turn up to 3× slower past the onset when sizing the run.
      const affordable = Math.floor((0.8 * left) / (pilotMs * 2));
      const n = Math.min(steps, Math.max(20, affordable));
      return (await run.run(spec(n, 0))).step_ms;
    } finally {
      run.close();
    }
  })();
  const measuredMs = t.reduce((a, b) => a + b, 0);
  // The steps left are extrapolated at the mean (a training's time is a sum: the stalls a busy
  // device inflicts count) of the latest phase measured: past the denormal onset when reached.
  let window;
  let denormal = null;
  if (t.length > DENORMAL_ONSET + 300) {
    window = t.slice(DENORMAL_ONSET + 300);
    const early = mean(t.slice(100, 600));
    denormal = { onset: DENORMAL_ONSET, factor: mean(window) / early };
  } else {
    window = t.slice(Math.floor(t.length / 2));
  }
  const rest = Math.max(0, steps - t.length);
  const trainingMs = measuredMs + rest * mean(window);
  // Its range: the lowest and highest mean of the window's quarters, extrapolated the same way.
  const quarters = quarterMeans(window);
  const range = [measuredMs + rest * Math.min(...quarters), measuredMs + rest * Math.max(...quarters)];
  const growable = growableBytes(Number(options.memLimitBytes ?? 4 * 1024 * MIB));
  const { maxSamples, reason } = sampleCeiling(classes, growable);
  return {
    trainingMs,
    trainingRangeMs: range,
    steps,
    stepMs: mean(t),
    measuredSteps: t.length,
    denormal,
    // Past the onset the calibration did not reach, the steps may slow (gapbench measured ×2–4).
    denormalReached: t.length > DENORMAL_ONSET + 300 || t.length >= steps || steps <= DENORMAL_ONSET,
    maxSamples,
    maxSamplesReason: reason,
    fits: classes * perClass <= maxSamples,
    calibrationMs: performance.now() - t0,
    context: inWorker ? "worker" : "main",
    simd,
  };
}
