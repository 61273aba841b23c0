// Independent cross-check of gapbench's TF.js peer (outside gapbench's code path: nothing here
// comes from wasm-probe/ or harness/). Trains the Teachable-Machine head (1280 -> Dense(100, relu)
// -> Dense(3, softmax, no bias), batch 16, Adam 0.001, 300 samples per class, 15% held out) the
// way TF.js's own docs train a layers model: `model.compile` with the Adam optimizer and
// categorical cross-entropy, then `model.fit(xs, ys, { batchSize, epochs })` on tensors, on the
// wasm backend (XNNPACK, SIMD; one thread: Node.js has no threaded wasm build). Each step is the
// time between two `onBatchEnd` callbacks (the first step of each epoch from `onEpochBegin`).
//
//   node tests/peers/tfjs_check.mjs [warmup] [steps]     (from the repository root, after npm ci)
//
// Prints one JSON line: {"library":"@tensorflow/tfjs","version":...,"median_ms":...,"step_ms":[...]}.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const tf = require("@tensorflow/tfjs");
require("@tensorflow/tfjs-backend-wasm");

const warmup = Number(process.argv[2] ?? 5);
const steps = Number(process.argv[3] ?? 40);
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

const perEpoch = Math.ceil(nTrain / batch);
const epochs = Math.ceil((warmup + steps) / perEpoch);
const times = [];
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
const measured = times.slice(warmup, warmup + steps);
const sorted = [...measured].sort((a, b) => a - b);
const n = sorted.length;
const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
console.log(JSON.stringify({ library: "@tensorflow/tfjs", version: tf.version.tfjs, backend: tf.getBackend(), median_ms: median, step_ms: measured }));
