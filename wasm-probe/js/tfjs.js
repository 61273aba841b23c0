// gapbench's TF.js peer: trains the same workloads as the wasm probe (same shapes, same kind of
// synthetic data, same optimizer settings) with TensorFlow.js, and replies with the probe's
// CaseResult JSON, so records and reports put TF.js side by side with burn.
//
// Backends: tfjs-cpu (plain JS), tfjs-wasm (XNNPACK wasm, 1 thread), tfjs-wasm-threads (its
// threaded SIMD build; needs SharedArrayBuffer), tfjs-webgl, tfjs-webgpu. For tfjs-wasm the
// case's `simd` picks the SIMD or the plain wasm build; the other backends have no such choice and
// skip `simd: false`. TF.js is loaded once per page/process: in a browser from the probe bundle
// (tfjs/, copied from node_modules; nothing is fetched from elsewhere), in Node from node_modules.

import { workloadOf, synthesize, stepCounts, batchOrder, resultHead } from "./peer.js";
import { holdLikeTeachableMachine, rowsOf, TM_SUFFIX, TM_DEVICE } from "./tfjs-tm.js";

export const BACKENDS = ["tfjs-cpu", "tfjs-wasm", "tfjs-wasm-threads", "tfjs-webgl", "tfjs-webgpu", "tfjs-wasm-fit", "tfjs-wasm-threads-fit", "tfjs-wasm-tm", "tfjs-cpu-tm"];
// `<backend>-fit` (e.g. tfjs-wasm-fit): the same model trained the way Teachable Machine drives
// TF.js (teachable-mobilenet.ts `train()`): the samples as a tf.data dataset shuffled once,
// `model.fitDataset` over whole epochs in batches, the held-out samples as `validationData`
// (evaluated at every epoch's end), metrics ['accuracy']. A step is timed from TF.js's
// onBatchBegin to onBatchEnd (whose logs TF.js resolves, so the step has finished); the dataset's
// iteration, the per-epoch validation and fit's `tf.nextFrame()` yields fall outside the steps
// but inside `train_ms`. Without `epochs` in the scenario, fit stops after warm-up + steps batches.
export const FIT_SUFFIX = "-fit";
// `<backend>-tm` (tfjs-wasm-tm, tfjs-cpu-tm): fit as `-fit`, with the samples also *held* the way
// Teachable Machine holds them (tfjs-tm.js): one Float32Array per sample, read back with
// dataSync() from a tensor the backend computed, instead of the peers' one Float32Array of the
// whole set. The memory-ceiling search (scenarios/ceilings-tm.toml) runs it to find where a TM-like
// app stops, beside where the probe stops.

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
  if (!name) return skip(`unknown TF.js backend \`${backend}\` (expected one of: ${BACKENDS.join(", ")})`);
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
  const o = w.optimizer;
  const optimizer = o.name === "adam" ? tf.train.adam(o.learning_rate, o.beta1, o.beta2, o.epsilon)
    : o.name === "rmsprop" ? tf.train.rmsprop(o.learning_rate, o.rho, o.momentum, o.epsilon)
      : tf.train.sgd(o.learning_rate);
  const loss = w.loss.from_logits ? (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred) : "categoricalCrossentropy";
  model.compile({ optimizer, loss, ...(withAccuracy ? { metrics: ["accuracy"] } : {}) });
  return { model, optimizer };
}

// Run one case; returns the reply object ({status: "ok", result: CaseResult}, or {status, message}).
// `now` is the clock; `between` (optional) is awaited between steps (a page's main thread yields).
export async function run(spec, lib, now = () => performance.now(), between = undefined) {
  const { tf, wasm } = lib;
  const { w, skip } = workloadOf(spec, "TF.js");
  if (skip) return { status: "skipped", message: skip };
  if (spec.fault) return { status: "skipped", message: "fault injection is a wasm-probe feature" };
  const tm = String(spec.backend).endsWith(TM_SUFFIX);
  const fit = tm || String(spec.backend).endsWith(FIT_SUFFIX);
  const base = tm ? spec.backend.slice(0, -TM_SUFFIX.length)
    : fit ? spec.backend.slice(0, -FIT_SUFFIX.length) : spec.backend;
  const chosen = await useBackend(tf, wasm, base, spec.simd !== false);
  if (chosen.skip) return { status: "skipped", message: chosen.skip };
  if (fit) chosen.device += "; model.fitDataset as Teachable Machine (batches of a tf.data dataset, validationData, metrics accuracy)";
  if (tm) chosen.device += TM_DEVICE;

  const t0 = now();
  const data = tm ? await holdLikeTeachableMachine(tf, w.data, spec.seed, between) : synthesize(w.data, spec.seed);
  const { model, optimizer } = buildModel(tf, w, spec.seed, fit);
  const setup_ms = now() - t0;
  const f = w.data.features, C = w.data.classes;
  const nTrain = data.trainY.length;
  const { warmup, measured } = stepCounts(spec, w, nTrain);
  const batches = batchOrder(nTrain, w.batch, spec.seed);
  const order = batches.order;
  const xbuf = new Float32Array(w.batch * f);
  const ybuf = new Int32Array(w.batch);
  const nextBatch = () => {
    const idx = batches.next();
    const rows = idx.length;
    for (let j = 0; j < rows; j++) {
      const i = idx[j];
      xbuf.set(rowsOf(data.trainX, f, i, i + 1), j * f);
      ybuf[j] = data.trainY[i];
    }
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
        const x = tf.tensor2d(rowsOf(data.validX, f, s, e), [e - s, f]);
        const pred = model.predict(x).argMax(1);
        return pred.equal(tf.tensor1d(data.validY.subarray(s, e), "int32")).sum();
      });
      correct += (await hits.data())[0];
      hits.dispose();
    }
    const val_accuracy = nValid ? correct / nValid : 0;
    const eval_ms = now() - e0;
    return { status: "ok", result: {
      ...resultHead(w, spec, chosen.device), setup_ms, first_step_ms, warmup_ms, step_ms, losses, val_accuracy, eval_ms, train_ms,
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
    xs: tf.data.array(idx.map((i) => rowsOf(xs, f, i, i + 1))),
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
export function failure(err) {
  const message = String(err && err.stack ? `${err.name}: ${err.message}` : err);
  const oom = /out of memory|memory allocation|could not allocate|RangeError.*(memory|allocation)|Failed to compile fragment shader|CONTEXT_LOST/i.test(message);
  return { status: oom ? "oom" : "failed", message };
}
