// gapbench's ONNX Runtime Web training peer (onnxruntime-web 1.19.2, export `./training`, pinned
// in package.json; training was removed from onnxruntime-web 1.20). Trains the same workloads as
// the TF.js peer (tfjs.js: same synthetic data, same batches in the same order) the way ORT's
// on-device-training docs do: a TrainingSession from artifacts made offline by PyPI
// onnxruntime-training (wasm-probe/py/ort_artifacts.py, run by .ci/setup into ort-artifacts/),
// then per step `runTrainStep(feeds)`, `runOptimizerStep()`, `lazyResetGrad()`. Labels are int64.
//
// Backends: ortweb-wasm (1 thread) and ortweb-wasm-threads (ORT's wasm threads, one per core;
// needs a cross-origin isolated page). Browsers only: the package's `./training` export is
// `"node": null`. The artifacts hold the initial weights (Glorot-uniform from numpy) and the
// recipe (softmax cross-entropy on logits, Adam lr 0.001, epsilon 1e-7, AdamW with weight decay 0).

import { workloadOf, synthesize, stepCounts, batchOrder, resultHead } from "./peer.js";

export const BACKENDS = ["ortweb-wasm", "ortweb-wasm-threads"];
export const INSTALL = "npm ci, then python3.11 -m pip install onnxruntime-training==1.19.2 onnx==1.16.2, gapbench list --json > ort-artifacts/workloads.json and python3.11 wasm-probe/py/ort_artifacts.py ort-artifacts ort-artifacts/workloads.json (all in .ci/setup)";
// onnxruntime-web's training build does not run in Node.js.
export const NODE_SKIP = "ONNX Runtime Web training runs in browsers only (onnxruntime-web's ./training export has \"node\": null)";

let loaded = null;

// The package's training build and the artifacts' manifest from the bundle's ort/ folder.
export function loadBrowser(base) {
  if (!loaded) {
    loaded = (async () => {
      const dir = new URL("ort/", base).href;
      const resp = await fetch(dir + "package.json");
      if (!resp.ok) throw notInstalled(`${dir}package.json: HTTP ${resp.status}`);
      const { version } = await resp.json();
      const ort = await import(dir + "ort.training.wasm.min.mjs");
      return { ort, version, dir };
    })();
    loaded.catch(() => { loaded = null; });
  }
  return loaded;
}

function notInstalled(why) {
  const e = new Error(`ONNX Runtime Web training is not installed (${why}): run ${INSTALL}`);
  e.notInstalled = true;
  return e;
}

let threadsSet = null; // ORT reads env.wasm.numThreads once, when its wasm starts

// Run one case in a page or worker; returns the reply object.
export async function run(spec, lib, now = () => performance.now(), between = undefined) {
  const { ort, version, dir } = lib;
  const { w, skip } = workloadOf(spec, "ONNX Runtime Web");
  if (skip) return { status: "skipped", message: skip };
  // The artifacts' directory, as wasm-probe/py/ort_artifacts.py names it.
  const name = w.size === "default" ? w.name : `${w.name}-${w.size}`;
  if (spec.fault) return { status: "skipped", message: "fault injection is a wasm-probe feature" };
  if (spec.simd === false) return { status: "skipped", message: "onnxruntime-web's training build is SIMD only (ort-training-wasm-simd-threaded.wasm): run it with simd = true" };
  const threads = spec.backend === "ortweb-wasm-threads";
  if (!BACKENDS.includes(spec.backend)) return { status: "skipped", message: `unknown backend \`${spec.backend}\` (expected one of: ${BACKENDS.join(", ")})` };
  if (threads && !globalThis.crossOriginIsolated) return { status: "skipped", message: "ORT's wasm threads need a cross-origin isolated page (SharedArrayBuffer)" };
  const cores = (globalThis.navigator && navigator.hardwareConcurrency) || 1;
  const n = threads ? cores : 1;
  if (threadsSet !== null && threadsSet !== n) {
    return { status: "skipped", message: `ORT's wasm already started with ${threadsSet} thread(s) in this page; ${spec.backend} needs a fresh page` };
  }
  const madeFrom = await fetch(`${dir}artifacts/${name}/workload.json`);
  if (!madeFrom.ok) return { status: "skipped", message: `no ONNX Runtime training artifacts for ${name} (workload.json: HTTP ${madeFrom.status}; made for tm-image and the mlp presets up to 10m): run ${INSTALL}` };
  const stale = differs(await madeFrom.json(), w);
  if (stale) return { status: "skipped", message: `the ONNX Runtime training artifacts for ${name} were made for another workload (${stale}): run ${INSTALL}` };
  const files = {};
  for (const f of ["checkpoint", "training_model.onnx", "eval_model.onnx", "optimizer_model.onnx"]) {
    const resp = await fetch(`${dir}artifacts/${name}/${f}`);
    if (!resp.ok) return { status: "skipped", message: `no ONNX Runtime training artifacts for ${name} (${f}: HTTP ${resp.status}): run ${INSTALL}` };
    files[f] = new Uint8Array(await resp.arrayBuffer());
  }
  ort.env.wasm.numThreads = n;
  ort.env.wasm.wasmPaths = dir;
  threadsSet = n;

  const t0 = now();
  const data = synthesize(w.data, spec.seed);
  const session = await ort.TrainingSession.create({
    checkpointState: files.checkpoint,
    trainModel: files["training_model.onnx"],
    evalModel: files["eval_model.onnx"],
    optimizerModel: files["optimizer_model.onnx"],
  });
  // The learning rate is ORT's default, 0.001, the recipe's (onnxruntime-web has no setter).
  const setup_ms = now() - t0;
  const device = `onnxruntime-web ${version} training wasm (simd, ${n === 1 ? "1 thread" : `${n} threads`}; TrainingSession runTrainStep + runOptimizerStep, AdamW weight decay 0)`;

  const f = w.data.features;
  const nTrain = data.trainY.length;
  const { warmup, measured } = stepCounts(spec, w, nTrain);
  const batches = batchOrder(nTrain, w.batch, spec.seed);
  const nextBatch = () => {
    const idx = batches.next();
    const rows = idx.length;
    const x = new Float32Array(rows * f);
    const y = new BigInt64Array(rows);
    for (let j = 0; j < rows; j++) {
      const i = idx[j];
      x.set(data.trainX.subarray(i * f, (i + 1) * f), j * f);
      y[j] = BigInt(data.trainY[i]);
    }
    return { input: new ort.Tensor("float32", x, [rows, f]), labels: new ort.Tensor("int64", y, [rows]) };
  };
  const lossName = session.trainingOutputNames[0];

  const losses = [], warmup_ms = [], step_ms = [];
  let first_step_ms = NaN;
  try {
    const trainStart = now();
    for (let i = 0; i < warmup + measured; i++) {
      const start = now();
      const feeds = nextBatch();
      const out = await session.runTrainStep(feeds);
      await session.runOptimizerStep();
      await session.lazyResetGrad();
      const value = Number(out[lossName].data[0]);
      const elapsed = now() - start;
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
    const C = w.data.classes;
    for (let s = 0; s < nValid; s += 256) {
      const e = Math.min(s + 256, nValid);
      const out = await session.runEvalStep({
        input: new ort.Tensor("float32", data.validX.slice(s * f, e * f), [e - s, f]),
        labels: new ort.Tensor("int64", BigInt64Array.from(data.validY.subarray(s, e), (c) => BigInt(c)), [e - s]),
      });
      const logits = out.logits.data;
      for (let k = 0; k < e - s; k++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (logits[k * C + c] > logits[k * C + best]) best = c;
        if (best === data.validY[s + k]) correct += 1;
      }
    }
    const val_accuracy = nValid ? correct / nValid : 0;
    const eval_ms = now() - e0;
    return { status: "ok", result: {
      ...resultHead(w, spec, device), setup_ms, first_step_ms, warmup_ms, step_ms, losses, val_accuracy, eval_ms, train_ms,
      epochs: spec.epochs ?? null, dataset_bytes: data.bytes,
    } };
  } finally {
    await session.release();
  }
}

// Not installed is a skip with the install command; memory is oom; anything else failed.
// What differs between the workload the artifacts were made from and the case's (the batch is
// symbolic in the artifacts, so it may differ), or "" when they train the same.
function differs(made, w) {
  // Field by field, in one order (the case spec's objects may come with their keys sorted).
  const o = (x) => x.optimizer;
  const shape = (x) => JSON.stringify({
    layers: x.layers.map((l) => [l.d_in, l.d_out, l.bias, l.activation === "relu"]),
    optimizer: [o(x).name, o(x).learning_rate, o(x).beta1, o(x).beta2, o(x).epsilon],
    classes: x.data.classes,
  });
  return shape(made) === shape(w) ? "" : `made for ${shape(made)}, the case is ${shape(w)}`;
}

export function failure(err) {
  const message = String(err && err.stack ? `${err.name}: ${err.message}` : err);
  if (err && err.notInstalled) return { status: "skipped", message: err.message };
  const oom = /out of memory|memory allocation|could not allocate|bad_alloc|RangeError.*(memory|allocation|Array buffer)/i.test(message);
  return { status: oom ? "oom" : "failed", message };
}
