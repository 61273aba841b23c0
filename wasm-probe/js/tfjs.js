// gapbench's TF.js peer: trains the same workloads as the wasm probe (same shapes, same kind of
// synthetic data, same optimizer settings) with TensorFlow.js, and replies with the probe's
// CaseResult JSON, so records and reports put TF.js side by side with burn.
//
// Backends: tfjs-cpu (plain JS), tfjs-wasm (XNNPACK wasm, 1 thread), tfjs-wasm-threads (its
// threaded SIMD build; needs SharedArrayBuffer), tfjs-webgl, tfjs-webgpu. For tfjs-wasm the
// case's `simd` picks the SIMD or the plain wasm build; the other backends have no such choice and
// skip `simd: false`. TF.js is loaded once per page/process: in a browser from the probe bundle
// (tfjs/, copied from node_modules; nothing is fetched from elsewhere), in Node from node_modules.

export const TFJS_BACKENDS = ["tfjs-cpu", "tfjs-wasm", "tfjs-wasm-threads", "tfjs-webgl", "tfjs-webgpu", "tfjs-wasm-fit", "tfjs-wasm-threads-fit"];
// `<backend>-fit` (e.g. tfjs-wasm-fit): the same model trained the way Teachable Machine drives
// TF.js (teachable-mobilenet.ts `train()`): the samples as a tf.data dataset shuffled once,
// `model.fitDataset` over whole epochs in batches, the held-out samples as `validationData`
// (evaluated at every epoch's end), metrics ['accuracy']. A step is timed from TF.js's
// onBatchBegin to onBatchEnd (whose logs TF.js resolves, so the step has finished); the dataset's
// iteration, the per-epoch validation and fit's `tf.nextFrame()` yields fall outside the steps
// but inside `train_ms`. Without `epochs` in the scenario, fit stops after warm-up + steps batches.
export const FIT_SUFFIX = "-fit";

const MLP_INPUT = 1024;
const MLP_CLASSES = 10;
const MLP_DEPTH = 4;
// Must match wasm-probe/src/workload/mod.rs MLP_PRESETS.
const MLP_PRESETS = { "0.1m": 80, "0.3m": 200, "1m": 430, "3m": 850, "10m": 1660, "30m": 3000, "100m": 5620, "300m": 9830 };

// --- loading ---------------------------------------------------------------------------------

let loaded = null;

// Browser (page or module worker): evaluate the UMD builds from the bundle; they set globalThis.tf.
export function loadBrowser(base) {
  if (!loaded) {
    loaded = (async () => {
      const dir = new URL("tfjs/", base).href;
      for (const file of ["tf.min.js", "tf-backend-wasm.min.js", "tf-backend-webgpu.min.js"]) {
        const resp = await fetch(dir + file);
        if (!resp.ok) throw new Error(`cannot load ${dir}${file}: HTTP ${resp.status} (is TF.js installed? run \`npm ci\` in the repository, then rerun)`);
        (0, eval)(await resp.text()); // indirect eval: global scope, `this` is globalThis
      }
      const tf = globalThis.tf;
      tf.wasm.setWasmPaths(dir); // the wasm backend's UMD build exports into tf.wasm
      return { tf, wasm: tf.wasm };
    })();
    loaded.catch(() => { loaded = null; });
  }
  return loaded;
}

// Node: the packages' own Node builds from node_modules (tfjs-node, native bindings, is not used).
export function loadNode(requireFn) {
  if (!loaded) {
    loaded = (async () => {
      const tf = requireFn("@tensorflow/tfjs");
      const wasm = requireFn("@tensorflow/tfjs-backend-wasm");
      return { tf, wasm };
    })();
    loaded.catch(() => { loaded = null; });
  }
  return loaded;
}

// --- data ------------------------------------------------------------------------------------

// A small seeded generator (mulberry32 on a mixed seed) with Box-Muller normals.
export function rng(seed, stream) {
  let h = 2166136261 >>> 0;
  const key = `${seed}/${stream}`;
  for (let i = 0; i < key.length; i++) { h ^= key.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0; }
  let a = h;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare = null;
  const normal = () => {
    if (spare !== null) { const s = spare; spare = null; return s; }
    let u = 0;
    while (u <= 1e-12) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const shuffle = (arr) => {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(uniform() * (i + 1));
      [arr[i], arr[j]] = [arr[j], arr[i]];
    }
  };
  return { uniform, normal, shuffle };
}

// Class-conditional Gaussians, split per class like wasm-probe/src/data.rs (same shapes and sizes).
export function synthesize(d, seed) {
  const r = rng(seed, "data");
  const f = d.features;
  const means = new Float32Array(d.classes * f);
  for (let i = 0; i < means.length; i++) means[i] = r.normal() * d.separation;
  const held = Math.min(Math.round(d.samples_per_class * d.holdout), Math.max(d.samples_per_class - 1, 0));
  const nTrain = d.classes * (d.samples_per_class - held);
  const nValid = d.classes * held;
  const ds = {
    features: f, classes: d.classes,
    trainX: new Float32Array(nTrain * f), trainY: new Int32Array(nTrain),
    validX: new Float32Array(nValid * f), validY: new Int32Array(nValid),
  };
  let ti = 0, vi = 0;
  for (let c = 0; c < d.classes; c++) {
    for (let s = 0; s < d.samples_per_class; s++) {
      const valid = s < held;
      const xs = valid ? ds.validX : ds.trainX;
      const row = valid ? vi++ : ti++;
      (valid ? ds.validY : ds.trainY)[row] = c;
      const off = row * f;
      for (let k = 0; k < f; k++) {
        const v = means[c * f + k] + r.normal();
        xs[off + k] = d.non_negative ? Math.max(v, 0) : v;
      }
    }
  }
  ds.bytes = (ds.trainX.length + ds.validX.length) * 4;
  return ds;
}

// --- workloads -------------------------------------------------------------------------------

function tmData(features, spec, nonNegative) {
  return {
    features, classes: spec.classes ?? 3, samples_per_class: spec.samples_per_class ?? 300,
    holdout: 0.15, separation: 0.15, non_negative: nonNegative,
  };
}

// The same architectures and recipes as wasm-probe/src/workload/mod.rs.
export function resolve(spec) {
  const size = spec.size === "default" ? (spec.workload === "mlp" ? "1m" : "default") : spec.size;
  if (spec.classes != null && spec.classes < 2) throw new Error(`classes must be >= 2, found ${spec.classes}`);
  if (spec.samples_per_class === 0) throw new Error("samples_per_class must be >= 1");
  const layer = (d_in, d_out, bias, activation, dropout = 0) => ({ d_in, d_out, bias, activation, dropout });
  switch (spec.workload) {
    case "tm-image":
    case "tm-pose": {
      if (size !== "default") throw new Error(`unknown size \`${size}\` for workload \`${spec.workload}\` (expected one of: default)`);
      const pose = spec.workload === "tm-pose";
      const features = pose ? 14739 : 1280;
      const data = tmData(features, spec, !pose);
      return {
        name: spec.workload, size, data, batch: 16, lr: 0.001,
        optimizer: pose ? "rmsprop" : "adam", logits: false,
        layers: [layer(features, 100, true, "relu", pose ? 0.5 : 0), layer(100, data.classes, false, "softmax")],
      };
    }
    case "tm-audio": {
      if (size !== "default") throw new Error(`unknown size \`${size}\` for workload \`tm-audio\` (expected one of: default)`);
      const data = tmData(2000, spec, true);
      return {
        name: "tm-audio", size, data, batch: 32, lr: 0.01, optimizer: "sgd", logits: false,
        layers: [layer(2000, data.classes, true, "softmax")],
      };
    }
    case "mlp": {
      const width = MLP_PRESETS[size];
      if (!width) throw new Error(`unknown size \`${size}\` for workload \`mlp\` (expected one of: ${Object.keys(MLP_PRESETS).join(", ")})`);
      const classes = spec.classes ?? MLP_CLASSES;
      const layers = [layer(MLP_INPUT, width, true, "relu")];
      for (let i = 1; i < MLP_DEPTH; i++) layers.push(layer(width, width, true, "relu"));
      layers.push(layer(width, classes, true, "linear"));
      return {
        name: "mlp", size, batch: 64, lr: 0.001, optimizer: "adam", logits: true, layers,
        data: {
          features: MLP_INPUT, classes, samples_per_class: spec.samples_per_class ?? 64,
          holdout: 0.15, separation: 0.1, non_negative: false,
        },
      };
    }
    default:
      return null; // not written for TF.js (cnn): the caller skips the case
  }
}

// Parameters and analytic FLOPs exactly as Workload::params / Workload::flops_per_step count them.
export function params(w) {
  return w.layers.reduce((s, l) => s + l.d_in * l.d_out + (l.bias ? l.d_out : 0), 0);
}
export function flopsPerStep(w) {
  return w.layers.reduce((s, l, i) => {
    const fwd = 2 * w.batch * l.d_in * l.d_out;
    return s + (i === 0 ? 2 * fwd : 3 * fwd);
  }, 0);
}

// --- backends --------------------------------------------------------------------------------

let caps = null; // what this engine's wasm supports, evaluated once before any flag is forced
let wasmConfig = null; // the flags the current wasm backend instance was created with

async function useBackend(tf, wasm, backend, simd) {
  const skip = (message) => ({ skip: message });
  if (backend === "tfjs-wasm" || backend === "tfjs-wasm-threads") {
    const threads = backend === "tfjs-wasm-threads";
    if (!caps) {
      caps = {
        simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
        threads: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"),
      };
    }
    if (simd && !caps.simd) return skip("this engine's WebAssembly has no SIMD (WASM_HAS_SIMD_SUPPORT is false)");
    if (threads && !simd) return skip("tfjs-backend-wasm has no threaded build without SIMD");
    if (threads && !caps.threads) {
      return skip("tfjs-backend-wasm cannot use threads here (WASM_HAS_MULTITHREAD_SUPPORT is false: no SharedArrayBuffer / not cross-origin isolated)");
    }
    const key = `${simd}/${threads}`;
    if (wasmConfig !== key) {
      // The wasm module picks its build when the backend is created: make a fresh one.
      const entry = tf.engine().registryFactory.wasm;
      if (!entry) throw new Error("the wasm backend of TF.js is not registered");
      tf.removeBackend("wasm");
      tf.env().set("WASM_HAS_SIMD_SUPPORT", simd);
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", threads);
      tf.registerBackend("wasm", entry.factory, entry.priority);
      wasmConfig = key;
    }
    if (!(await tf.setBackend("wasm"))) return skip("TF.js could not initialize its wasm backend here");
    let n = "?";
    try { n = wasm.getThreadsCount(); } catch (_) { /* older builds do not say */ }
    const build = threads ? "tfjs-backend-wasm-threaded-simd" : simd ? "tfjs-backend-wasm-simd" : "tfjs-backend-wasm";
    const cores = globalThis.navigator && navigator.hardwareConcurrency;
    return {
      device: `tfjs ${tf.version.tfjs} wasm (${simd ? "simd" : "no simd"}, ${threads ? "threads" : "1 thread"}; build ${build}, ` +
        `XNNPACK threads ${n}${cores ? `, hardwareConcurrency ${cores}` : ""})`,
    };
  }
  if (!simd) return skip(`${backend} has no SIMD/no-SIMD variants (only tfjs-wasm does): run it with simd = true`);
  const name = { "tfjs-cpu": "cpu", "tfjs-webgl": "webgl", "tfjs-webgpu": "webgpu" }[backend];
  if (!name) return skip(`unknown TF.js backend \`${backend}\` (expected one of: ${TFJS_BACKENDS.join(", ")})`);
  if (!tf.findBackendFactory(name)) return skip(`TF.js has no ${name} backend in this environment`);
  if (name === "webgpu" && !(globalThis.navigator && navigator.gpu)) return skip("no WebGPU here (navigator.gpu is missing)");
  let ok = false;
  const warn = console.warn;
  let why = "";
  console.warn = (...a) => { why = a.map(String).join(" "); };
  try { ok = await tf.setBackend(name); } finally { console.warn = warn; }
  if (!ok) return skip(`TF.js could not initialize its ${name} backend here${why ? `: ${why.slice(0, 300)}` : ""}`);
  let detail = name === "cpu" ? "cpu (plain JS, 1 thread)" : name;
  if (name === "webgl") detail = `webgl ${tf.env().getNumber("WEBGL_VERSION")}`;
  if (name === "webgpu") {
    const info = tf.backend().adapterInfo;
    if (info) detail = `webgpu (${[info.vendor, info.architecture].filter(Boolean).join(" ") || "adapter"})`;
  }
  return { device: `tfjs ${tf.version.tfjs} ${detail}` };
}

// --- training --------------------------------------------------------------------------------

function buildModel(tf, w, seed, withAccuracy = false) {
  const model = tf.sequential();
  w.layers.forEach((l, i) => {
    model.add(tf.layers.dense({
      units: l.d_out, activation: l.activation, useBias: l.bias,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
      ...(i === 0 ? { inputShape: [l.d_in] } : {}),
    }));
    if (l.dropout > 0) model.add(tf.layers.dropout({ rate: l.dropout, seed }));
  });
  const optimizer = w.optimizer === "adam" ? tf.train.adam(w.lr)
    : w.optimizer === "rmsprop" ? tf.train.rmsprop(w.lr, 0.9, 0, 1e-7)
      : tf.train.sgd(w.lr);
  const loss = w.logits ? (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred) : "categoricalCrossentropy";
  model.compile({ optimizer, loss, ...(withAccuracy ? { metrics: ["accuracy"] } : {}) });
  return { model, optimizer };
}

// Run one case; returns the reply object ({status: "ok", result: CaseResult}, or {status, message}).
// `now` is the clock; `between` (optional) is awaited between steps (a page's main thread yields).
export async function runTfjs(spec, lib, now = () => performance.now(), between = undefined) {
  const { tf, wasm } = lib;
  const w = resolve(spec);
  if (!w) return { status: "skipped", message: `workload \`${spec.workload}\` is not written for TF.js (tfjs.js has tm-image, tm-audio, tm-pose and mlp)` };
  if (spec.fault) return { status: "skipped", message: "fault injection is a wasm-probe feature" };
  const fit = String(spec.backend).endsWith(FIT_SUFFIX);
  const base = fit ? spec.backend.slice(0, -FIT_SUFFIX.length) : spec.backend;
  const chosen = await useBackend(tf, wasm, base, spec.simd !== false);
  if (chosen.skip) return { status: "skipped", message: chosen.skip };
  if (fit) chosen.device += "; model.fitDataset as Teachable Machine (batches of a tf.data dataset, validationData, metrics accuracy)";

  const t0 = now();
  const data = synthesize(w.data, spec.seed);
  const { model, optimizer } = buildModel(tf, w, spec.seed, fit);
  const setup_ms = now() - t0;
  const f = w.data.features, C = w.data.classes;
  const nTrain = data.trainY.length;
  const stepsPerEpoch = Math.ceil(nTrain / w.batch);
  let warmup, measured;
  if (spec.epochs != null) {
    const total = Math.max(spec.epochs * stepsPerEpoch, 1);
    warmup = Math.min(spec.warmup, total - 1);
    measured = total - warmup;
  } else {
    warmup = spec.warmup;
    measured = Math.max(spec.steps, 1);
  }
  const order = Array.from({ length: nTrain }, (_, i) => i);
  const r = rng(spec.seed, "batches");
  r.shuffle(order);
  let cursor = 0;
  const xbuf = new Float32Array(w.batch * f);
  const ybuf = new Int32Array(w.batch);
  const nextBatch = () => {
    if (cursor >= nTrain) { cursor = 0; r.shuffle(order); }
    const end = Math.min(cursor + w.batch, nTrain);
    const rows = end - cursor;
    for (let j = 0; j < rows; j++) {
      const i = order[cursor + j];
      xbuf.set(data.trainX.subarray(i * f, (i + 1) * f), j * f);
      ybuf[j] = data.trainY[i];
    }
    cursor = end;
    return tf.tidy(() => [
      tf.tensor2d(xbuf.slice(0, rows * f), [rows, f]),
      tf.oneHot(tf.tensor1d(ybuf.slice(0, rows), "int32"), C).toFloat(),
    ]);
  };

  const losses = [], warmup_ms = [], step_ms = [];
  let first_step_ms = NaN;
  try {
    const trainStart = now();
    if (fit) {
      const failed = await fitLikeTeachableMachine(tf, model, w, data, order, warmup, measured, spec.epochs, now, between,
        (i, elapsed, value) => {
          losses.push(value);
          if (i === 0) first_step_ms = elapsed;
          (i < warmup ? warmup_ms : step_ms).push(elapsed);
        });
      if (failed) return failed;
    }
    for (let i = 0; !fit && i < warmup + measured; i++) {
      const start = now();
      // The batch is made inside the step, as the probe's step does.
      const [x, y] = nextBatch();
      // trainOnBatch reads the loss back, so the step has finished when it resolves.
      const out = await model.trainOnBatch(x, y);
      x.dispose(); y.dispose();
      const elapsed = now() - start;
      const value = Array.isArray(out) ? out[0] : out;
      if (!Number.isFinite(value)) return { status: "failed", message: `loss is ${value} at step ${i}` };
      losses.push(value);
      if (i === 0) first_step_ms = elapsed;
      (i < warmup ? warmup_ms : step_ms).push(elapsed);
      if (between) await between();
    }
    const train_ms = now() - trainStart;
    const e0 = now();
    const nValid = data.validY.length;
    let correct = 0;
    for (let s = 0; s < nValid; s += 256) {
      const e = Math.min(s + 256, nValid);
      const hits = tf.tidy(() => {
        const x = tf.tensor2d(data.validX.subarray(s * f, e * f), [e - s, f]);
        const pred = model.predict(x).argMax(1);
        return pred.equal(tf.tensor1d(data.validY.subarray(s, e), "int32")).sum();
      });
      correct += (await hits.data())[0];
      hits.dispose();
    }
    const val_accuracy = nValid ? correct / nValid : 0;
    const eval_ms = now() - e0;
    return { status: "ok", result: {
      workload: w.name, size: w.size, params: params(w), flops_per_step: flopsPerStep(w),
      batch: w.batch, optimizer: w.optimizer, backend: spec.backend, device: chosen.device,
      setup_ms, first_step_ms, warmup_ms, step_ms, losses, val_accuracy, eval_ms, train_ms,
      epochs: spec.epochs ?? null, dataset_bytes: data.bytes,
    } };
  } finally {
    model.dispose();
    optimizer.dispose();
    tf.disposeVariables();
  }
}

// Teachable Machine's training loop (teachable-mobilenet.ts): the training samples shuffled once
// into a tf.data dataset of {xs, ys} (one-hot labels), batched, `fitDataset` with the held-out
// samples as validation data. `record(i, ms, loss)` gets every step; returns a failure or null.
async function fitLikeTeachableMachine(tf, model, w, data, order, warmup, measured, epochs, now, between, record) {
  const f = w.data.features, C = w.data.classes;
  const oneHot = (c) => { const y = new Array(C).fill(0); y[c] = 1; return y; };
  const samples = (xs, ys, idx) => ({
    xs: tf.data.array(idx.map((i) => xs.subarray(i * f, (i + 1) * f))),
    ys: tf.data.array(idx.map((i) => oneHot(ys[i]))),
  });
  const train = samples(data.trainX, data.trainY, order);
  const valid = samples(data.validX, data.validY, Array.from({ length: data.validY.length }, (_, i) => i));
  const trainData = tf.data.zip(train).batch(w.batch);
  const validationData = tf.data.zip(valid).batch(w.batch);
  const stepsPerEpoch = Math.ceil(order.length / w.batch);
  const total = warmup + measured;
  let i = 0, begin = 0, failed = null;
  await model.fitDataset(trainData, {
    epochs: epochs ?? Math.ceil(total / stepsPerEpoch),
    ...(validationData && data.validY.length ? { validationData } : {}),
    callbacks: {
      onBatchBegin: () => { begin = now(); },
      onBatchEnd: async (_batch, logs) => {
        const elapsed = now() - begin;
        const value = logs.loss;
        if (!Number.isFinite(value)) { failed = { status: "failed", message: `loss is ${value} at step ${i}` }; model.stopTraining = true; return; }
        record(i, elapsed, value);
        i += 1;
        if (i >= total) model.stopTraining = true;
        if (between) await between();
      },
    },
  });
  return failed;
}

// Classify a thrown error the way probe.js does for the wasm probe.
export function tfjsFailure(err) {
  const message = String(err && err.stack ? `${err.name}: ${err.message}` : err);
  const oom = /out of memory|memory allocation|could not allocate|RangeError.*(memory|allocation)|Failed to compile fragment shader|CONTEXT_LOST/i.test(message);
  return { status: oom ? "oom" : "failed", message };
}
