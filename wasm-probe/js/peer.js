// What every JS peer shares (tfjs.js, jaxjs.js, ortweb.js): the workload as gapbench resolved it,
// the same synthetic data and the same batches in the same order. A peer keeps no copy of the
// workloads: the model, the recipe, the data and the parameter and FLOP counts come in the case
// spec's `resolved` (wasm-probe/src/workload/mod.rs `Resolved`, made by `Workload::resolve`).
//
// A peer module exports BACKENDS (its backend names), loadBrowser(base), loadNode(requireFn,
// importFn) or NODE_SKIP (why it cannot run in Node.js), run(spec, lib, now, between) and
// failure(err); gapbench's catalog (harness/src/catalog.rs PEERS) names the module in the case
// spec (`peer`), and probe.js / node-runner.mjs drive whichever module that is.

// The resolved workload of a case, or `{ skip }` when it is not one a peer can train.
export function workloadOf(spec, who) {
  const w = spec.resolved;
  if (!w) {
    return { skip: `the case spec carries no resolved workload (gapbench sends one for every workload of the probe): \`${spec.workload}\` ${spec.size} is not one` };
  }
  if (w.arch !== "dense") {
    return { skip: `workload \`${w.name}\` (${w.arch}) is not written for ${who}: the JS and Python peers build dense networks (tm-image, tm-audio, tm-pose, mlp)` };
  }
  return { w };
}

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

// Class-conditional Gaussians from the resolved data spec, split per class like
// wasm-probe/src/data.rs (same shapes and sizes).
export function synthesize(d, seed) {
  const r = rng(seed, "data");
  const f = d.features;
  const separation = decimalOfF32(d.separation);
  const means = new Float32Array(d.classes * f);
  for (let i = 0; i < means.length; i++) means[i] = r.normal() * separation;
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

// The data spec's `separation` is an f32 in Rust; on its way into a page it may arrive widened to
// f64 (0.15 as 0.15000000596046448). The peers multiply by its shortest decimal (0.15), as they
// did when they held the recipes themselves, so their data stay what they were.
function decimalOfF32(x) {
  for (let p = 1; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === Math.fround(x)) return d;
  }
  return x;
}

// Warm-up and measured steps: `epochs` whole epochs when the scenario asks for them, otherwise
// `warmup` + `steps`.
export function stepCounts(spec, w, nTrain) {
  if (spec.epochs != null) {
    const total = Math.max(spec.epochs * Math.ceil(nTrain / w.batch), 1);
    const warmup = Math.min(spec.warmup, total - 1);
    return { warmup, measured: total - warmup };
  }
  return { warmup: spec.warmup, measured: Math.max(spec.steps, 1) };
}

// The training order every JS peer uses: the samples shuffled once with the case's seed, then
// reshuffled at the end of each epoch. `next()` gives the next batch's sample indices.
export function batchOrder(nTrain, batch, seed) {
  const order = Array.from({ length: nTrain }, (_, i) => i);
  const r = rng(seed, "batches");
  r.shuffle(order);
  let cursor = 0;
  return {
    order,
    next() {
      if (cursor >= nTrain) { cursor = 0; r.shuffle(order); }
      const end = Math.min(cursor + batch, nTrain);
      const idx = order.slice(cursor, end);
      cursor = end;
      return idx;
    },
  };
}

// The reply's CaseResult fields every peer fills the same way: the counts gapbench resolved.
export function resultHead(w, spec, device) {
  return {
    workload: w.name, size: w.size, params: w.params, flops_per_step: w.flops_per_step,
    batch: w.batch, optimizer: w.optimizer.name, backend: spec.backend, device,
  };
}
