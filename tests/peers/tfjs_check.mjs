// Independent cross-check of gapbench's TF.js peer (outside gapbench's code path: nothing here
// comes from wasm-probe/ or harness/). Trains the Teachable-Machine head (1280 -> Dense(100, relu)
// -> Dense(3, softmax, no bias), batch 16, Adam 0.001, 300 samples per class, 15% held out) the
// way TF.js's own docs train a layers model: `model.compile` with the Adam optimizer and
// categorical cross-entropy, then `model.fit(xs, ys, { batchSize, epochs })` on tensors, on the
// wasm backend (XNNPACK, SIMD; one thread: Node.js has no threaded wasm build). Each step is the
// time between two `onBatchEnd` callbacks (the first step of each epoch from `onEpochBegin`).
// With `trainOnBatch` as the third argument, it trains the same model with the other loop TF.js's
// API documents, the one gapbench's `tfjs-wasm` figure takes: per step, a random batch of rows
// copied out of the samples' arrays into `tf.tensor2d`s (features and one-hot labels), then
// `model.trainOnBatch(xs, ys)`, whose loss it awaits; a step is that whole iteration.
//
//   node tests/peers/tfjs_check.mjs [warmup] [steps] [fit|trainOnBatch]   (from the repository
//   root, after npm ci; fit by default)
//
// Prints one JSON line: {"library":"@tensorflow/tfjs","version":...,"loop":...,"median_ms":...,"step_ms":[...]}.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const tf = require("@tensorflow/tfjs");
require("@tensorflow/tfjs-backend-wasm");

const warmup = Number(process.argv[2] ?? 5);
const steps = Number(process.argv[3] ?? 40);
const loop = process.argv[4] ?? "fit";
if (loop !== "fit" && loop !== "trainOnBatch") throw new Error(`loop: expected fit or trainOnBatch, got ${loop}`);
const features = 1280, hidden = 100, classes = 3, perClass = 300, batch = 16;

await tf.setBackend("wasm");
await tf.ready();

// Deterministic data: one Gaussian blob per class (xorshift + Box-Muller), non-negative like
// pooled ReLU embeddings.
let s = 2463534242;
const uni = () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return ((s >>> 0) + 0.5) / 4294967296; };
const normal = () => Math.sqrt(-2 * Math.log(uni())) * Math.cos(2 * Math.PI * uni());
const held = Math.round(perClass * 0.15);
const nTrain = classes * (perClass - held);
const xData = new Float32Array(nTrain * features);
const yData = new Float32Array(nTrain * classes);
const centers = Array.from({ length: classes }, () => Float32Array.from({ length: features }, () => normal() * 0.15));
for (let i = 0; i < nTrain; i++) {
  const c = i % classes;
  yData[i * classes + c] = 1;
  for (let k = 0; k < features; k++) xData[i * features + k] = Math.max(0, centers[c][k] + normal());
}
const xs = tf.tensor2d(xData, [nTrain, features]);
const ys = tf.tensor2d(yData, [nTrain, classes]);

const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [features], units: hidden, activation: "relu", kernelInitializer: "glorotUniform", useBias: true }),
    tf.layers.dense({ units: classes, activation: "softmax", kernelInitializer: "glorotUniform", useBias: false }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.001), loss: "categoricalCrossentropy" });

const times = [];
if (loop === "trainOnBatch") {
  const xb = new Float32Array(batch * features), yb = new Float32Array(batch * classes);
  for (let t = 0; t < warmup + steps; t++) {
    const start = performance.now();
    for (let j = 0; j < batch; j++) {
      const r = Math.floor(uni() * nTrain);
      xb.set(xData.subarray(r * features, (r + 1) * features), j * features);
      yb.set(yData.subarray(r * classes, (r + 1) * classes), j * classes);
    }
    const x = tf.tensor2d(xb, [batch, features]), y = tf.tensor2d(yb, [batch, classes]);
    const loss = await model.trainOnBatch(x, y);
    tf.dispose([x, y]);
    if (!Number.isFinite(loss)) throw new Error("loss " + loss);
    times.push(performance.now() - start);
  }
} else {
  const perEpoch = Math.ceil(nTrain / batch);
  const epochs = Math.ceil((warmup + steps) / perEpoch);
  let last = 0;
  await model.fit(xs, ys, {
    batchSize: batch,
    epochs,
    shuffle: true,
    verbose: 0,
    callbacks: {
      onEpochBegin: async () => { last = performance.now(); },
      onBatchEnd: async () => { const now = performance.now(); times.push(now - last); last = now; },
    },
  });
}
const measured = times.slice(warmup, warmup + steps);
const sorted = [...measured].sort((a, b) => a - b);
const n = sorted.length;
const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
console.log(JSON.stringify({ library: "@tensorflow/tfjs", version: tf.version.tfjs, backend: tf.getBackend(), loop, median_ms: median, step_ms: measured }));
