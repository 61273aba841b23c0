// The TF.js peer's `-tm` backends (tfjs-wasm-tm, tfjs-cpu-tm): the samples held the way Teachable
// Machine holds them, so that the memory-ceiling search finds where a TM-like app stops, not only
// where the probe (one wasm buffer for the whole training set) stops.
//
// Teachable Machine's image trainer (teachablemachine-community, libraries/image/src/
// teachable-mobilenet.ts): `addExample` runs the truncated MobileNet on one image, reads the
// activation back with `example.dataSync()` (a Float32Array of its own, 1280 floats for
// tm-image), disposes the tensors and pushes the Float32Array onto `examples[class]`. `train()`
// shuffles each class, puts the last ceil(15%) of each class into the validation set, shuffles
// both sets and makes them `tf.data.array(...)` datasets zipped with one-hot labels, batched and
// trained with `model.fitDataset` (tfjs.js fitLikeTeachableMachine does that part). So the
// samples live JS-side, one ArrayBuffer each, and the backend only ever holds a batch.
//
// Here the "activation" of a sample is computed by the backend as MobileNet's would be: the
// class's mean plus a noise row (then ReLU where the workload's data are non-negative), as a
// tensor, read back with dataSync() and disposed. The noise rows are a pool of NOISE_POOL rows
// drawn from the case's seed (fresh normals for every sample would cost a billion draws at the
// ceilings this search reaches); memory, which this backend is for, is the same either way.

import { rng } from "./peer.js";

export const TM_SUFFIX = "-tm";
export const TM_DEVICE = "; samples held as Teachable Machine holds them (one Float32Array per sample, read back with dataSync() from a tensor the backend computed; tf.data.array of them for fitDataset)";

// TM's VALIDATION_FRACTION is 0.15; the workload's own holdout (0.15 for tm-image) is used, split
// TM's way (ceil per class).
const NOISE_POOL = 500;
// Main thread: let the page breathe this often while samples are added (TM adds them one by one
// as the webcam delivers frames).
const YIELD_EVERY = 1 << 11;

// The training set as TM holds it: `{ features, classes, trainX: Float32Array[] (one per
// sample), trainY: Int32Array, validX: Float32Array[], validY: Int32Array, bytes }` (the same
// fields as peer.js synthesize(), the X fields arrays of rows instead of one buffer).
export async function holdLikeTeachableMachine(tf, d, seed, between) {
  const f = d.features, C = d.classes, per = d.samples_per_class;
  const r = rng(seed, "data");
  const means = [];
  const pool = [];
  const examples = [];
  try {
    for (let c = 0; c < C; c++) {
      const m = new Float32Array(f);
      for (let k = 0; k < f; k++) m[k] = r.normal() * d.separation;
      means.push(tf.tensor1d(m));
    }
    for (let j = 0; j < NOISE_POOL; j++) {
      const n = new Float32Array(f);
      for (let k = 0; k < f; k++) n[k] = r.normal();
      pool.push(tf.tensor1d(n));
    }
    let added = 0;
    for (let c = 0; c < C; c++) {
      const mine = [];
      examples.push(mine);
      for (let s = 0; s < per; s++) {
        const j = Math.floor(r.uniform() * NOISE_POOL);
        // addExample: the activation as a backend tensor, read back into its own Float32Array.
        const example = tf.tidy(() => {
          const a = tf.add(means[c], pool[j]);
          return d.non_negative ? tf.relu(a) : a;
        });
        const activation = example.dataSync();
        example.dispose();
        mine.push(activation);
        if (between && ++added % YIELD_EVERY === 0) await between();
      }
    }
  } finally {
    for (const t of [...means, ...pool]) t.dispose();
  }
  // convertToTfDataset: shuffle each class, split, then shuffle both sets.
  const train = [], valid = [];
  for (let c = 0; c < C; c++) {
    r.shuffle(examples[c]);
    const nValid = Math.min(Math.ceil(d.holdout * examples[c].length), Math.max(examples[c].length - 1, 0));
    const nTrain = examples[c].length - nValid;
    for (let i = 0; i < examples[c].length; i++) (i < nTrain ? train : valid).push([examples[c][i], c]);
    examples[c] = null;
  }
  r.shuffle(train);
  r.shuffle(valid);
  const ds = {
    features: f, classes: C,
    trainX: train.map((s) => s[0]), trainY: Int32Array.from(train, (s) => s[1]),
    validX: valid.map((s) => s[0]), validY: Int32Array.from(valid, (s) => s[1]),
  };
  ds.bytes = (ds.trainX.length + ds.validX.length) * f * 4;
  return ds;
}

// Rows s..e of a training or validation set as one Float32Array: a view of the peers' one buffer,
// or TM's own Float32Array for one row (no copy), or the rows TM holds copied together.
export function rowsOf(xs, f, s, e) {
  if (!Array.isArray(xs)) return xs.subarray(s * f, e * f);
  if (e === s + 1) return xs[s];
  const out = new Float32Array((e - s) * f);
  for (let i = s; i < e; i++) out.set(xs[i], (i - s) * f);
  return out;
}
