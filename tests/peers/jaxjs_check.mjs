// Independent cross-check of gapbench's jax-js peer (outside gapbench's code path: nothing here
// comes from wasm-probe/ or harness/). Trains the Teachable-Machine head (1280 -> Dense(100, relu)
// -> Dense(3, softmax, no bias), batch 16, Adam 0.001, 300 samples per class, 15% held out) the
// way jax-js's own docs and MNIST demo train: `valueAndGrad` of a loss over a parameter object,
// Adam (optax's moments, TF.js's epsilon 1e-7), the step under `jit` (jax-js's README: jit fuses
// the step), a step timed with performance.now() until its parameters are ready and the loss is
// read. The samples stay in one Float32Array, as Teachable Machine keeps them, and each step copies
// its batch into a new array (the MNIST demo gathers on the device, `X.slice(indices)`: 0.2-0.5
// ms/step slower here). Adam's bias corrections are host scalars each step, applied by
// multiplication, as TF.js and burn do: optax's form, `b ** count` and divisions inside the jitted
// step, made it ~15-25% slower here (1.3-1.7 against 1.1-1.3 ms/step, interleaved pairs; dividing by
// host scalars was as slow), a cost of jax-js 0.1.25's kernels for that form, not of the harness,
// which is what this check is about.
//
//   node tests/peers/jaxjs_check.mjs [warmup] [steps]     (from the repository root, after npm ci)
//
// Prints one JSON line: {"library":"@jax-js/jax","version":...,"median_ms":...,"step_ms":[...]}.
import { init, defaultDevice, jit, valueAndGrad, numpy as np, nn, tree, blockUntilReady } from "@jax-js/jax";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const warmup = Number(process.argv[2] ?? 5);
const steps = Number(process.argv[3] ?? 40);
const features = 1280, hidden = 100, classes = 3, perClass = 300, batch = 16, lr = 0.001;

await init("wasm");
defaultDevice("wasm");

// Deterministic data: one Gaussian blob per class (xorshift + Box-Muller), non-negative like
// pooled ReLU embeddings.
let s = 12345;
const uni = () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return ((s >>> 0) + 0.5) / 4294967296; };
const normal = () => Math.sqrt(-2 * Math.log(uni())) * Math.cos(2 * Math.PI * uni());
const held = Math.round(perClass * 0.15);
const nTrain = classes * (perClass - held);
const xs = new Float32Array(nTrain * features), ys = new Int32Array(nTrain);
const centers = Array.from({ length: classes }, () => Float32Array.from({ length: features }, () => normal() * 0.15));
for (let i = 0; i < nTrain; i++) {
  const c = i % classes;
  ys[i] = c;
  for (let k = 0; k < features; k++) xs[i * features + k] = Math.max(0, centers[c][k] + normal());
}

const glorot = (fanIn, fanOut) => {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  return np.array(Float32Array.from({ length: fanIn * fanOut }, () => (2 * uni() - 1) * a)).reshape([fanIn, fanOut]);
};
let params = { w1: glorot(features, hidden), b1: np.zeros([hidden]), w2: glorot(hidden, classes) };

function loss(p, x, y) {
  const h = nn.relu(np.dot(x, p.w1).add(p.b1));
  const logp = nn.logSoftmax(np.dot(h, p.w2));
  return logp.mul(nn.oneHot(y, classes)).sum().mul(-1 / y.shape[0]);
}

// Adam: mu = b1 mu + (1-b1) g; nu = b2 nu + (1-b2) g^2; p -= a mu / (sqrt(r nu) + eps) with the
// host scalars a = lr / (1 - b1^t) and r = 1 / (1 - b2^t).
const b1 = 0.9, b2 = 0.999, eps = 1e-7;
const trainStep = jit((p, mu, nu, x, y, a, r) => {
  const [value, grads] = valueAndGrad(loss)(tree.ref(p), x, y);
  const out = {}, mu2 = {}, nu2 = {};
  for (const k of Object.keys(grads)) {
    mu2[k] = mu[k].mul(b1).add(grads[k].ref.mul(1 - b1));
    nu2[k] = nu[k].mul(b2).add(np.square(grads[k]).mul(1 - b2));
    out[k] = p[k].sub(mu2[k].ref.mul(a.ref).div(np.sqrt(nu2[k].ref.mul(r.ref)).add(eps)));
  }
  a.dispose();
  r.dispose();
  return [value, out, mu2, nu2];
});
let mu = tree.map((a) => np.zerosLike(a.ref), params);
let nu = tree.map((a) => np.zerosLike(a.ref), params);

const perm = () => { const o = Array.from({ length: nTrain }, (_, i) => i); for (let i = nTrain - 1; i > 0; i--) { const j = Math.floor(uni() * (i + 1)); [o[i], o[j]] = [o[j], o[i]]; } return o; };
let order = perm(), cursor = 0;
const times = [];
for (let t = 1; t <= warmup + steps; t++) {
  if (cursor + batch > nTrain) { order = perm(); cursor = 0; }
  const start = performance.now();
  const xb = new Float32Array(batch * features), yb = new Int32Array(batch);
  order.slice(cursor, cursor + batch).forEach((r, j) => {
    xb.set(xs.subarray(r * features, (r + 1) * features), j * features);
    yb[j] = ys[r];
  });
  cursor += batch;
  const x = np.array(xb).reshape([batch, features]);
  const y = np.array(yb, { dtype: np.int32 });
  let value;
  [value, params, mu, nu] = trainStep(params, mu, nu, x, y, np.array(lr / (1 - b1 ** t)), np.array(1 / (1 - b2 ** t)));
  await blockUntilReady([params, mu, nu]);
  const l = (await value.data())[0];
  const ms = performance.now() - start;
  if (!Number.isFinite(l)) throw new Error(`loss ${l} at step ${t}`);
  if (t > warmup) times.push(ms);
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const require = createRequire(import.meta.url);
const version = JSON.parse(readFileSync(require.resolve("@jax-js/jax").replace(/dist[\\/]index\.cjs$/, "package.json"), "utf8")).version;
console.log(JSON.stringify({ library: "@jax-js/jax", version, device: "wasm", median_ms: median, step_ms: times }));
