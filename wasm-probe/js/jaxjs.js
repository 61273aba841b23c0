// gapbench's jax-js peer (@jax-js/jax, pinned in package.json): trains the same workloads as the
// TF.js peer (tfjs.js: same shapes, same synthetic data, same batches in the same order, same
// optimizer settings) the way jax-js's own docs and demos train: a loss function of a parameter
// tree, `valueAndGrad`, and a few-line Adam, the whole step (forward, backward, Adam) under one
// `jit`. Replies with the probe's CaseResult JSON, so records and reports put jax-js beside burn.
//
// Backends: jaxjs-wasm (jax-js's wasm device: kernels it generates in wasm, run on a Web Worker
// pool of navigator.hardwareConcurrency workers where SharedArrayBuffer and Worker exist, one
// thread otherwise, e.g. in Node.js) and jaxjs-webgpu (browsers with a WebGPU adapter). The
// `device` column says which path ran. The first step includes jit's tracing and kernel
// compilation (`first_step_ms`, the record's cold start); warm-up steps are not measured.
// jax-js is loaded once per page/process: in a browser from the probe bundle (jaxjs/, copied from
// node_modules; nothing is fetched from elsewhere), in Node.js from node_modules.

import { workloadOf, synthesize, rng, stepCounts, batchOrder, resultHead } from "./peer.js";

export const BACKENDS = ["jaxjs-wasm", "jaxjs-webgpu"];
export const INSTALL = "npm ci (in the gapbench repository; package-lock.json pins @jax-js/jax)";

let loaded = null;

// Browser (page or module worker): the package's ESM build from the bundle's jaxjs/ folder.
export function loadBrowser(base) {
  if (!loaded) {
    loaded = (async () => {
      const dir = new URL("jaxjs/", base).href;
      const resp = await fetch(dir + "package.json");
      if (!resp.ok) throw new Error(`jax-js is not installed (${dir}package.json: HTTP ${resp.status}): run ${INSTALL}, then rerun`);
      const { version } = await resp.json();
      const jax = await import(dir + "index.js");
      return { jax, version };
    })();
    loaded.catch(() => { loaded = null; });
  }
  return loaded;
}

// Node.js: the package's ESM build from node_modules (`requireFn` resolves from the repository).
export function loadNode(requireFn, importFn) {
  if (!loaded) {
    loaded = (async () => {
      let main;
      try {
        main = requireFn.resolve("@jax-js/jax"); // dist/index.cjs (the package exports no package.json)
      } catch (err) {
        const e = new Error(`jax-js is not installed (${err.message.split("\n")[0]}): run ${INSTALL}`);
        e.notInstalled = true;
        throw e;
      }
      const dist = main.replace(/[\\/][^\\/]+$/, "");
      const { readFileSync } = await import("node:fs");
      const { version } = JSON.parse(readFileSync(`${dist}/../package.json`, "utf8"));
      const jax = await importFn(`${dist}/index.js`);
      return { jax, version };
    })();
    loaded.catch(() => { loaded = null; });
  }
  return loaded;
}

// Start the device a backend names; `{ skip }` says why it cannot run here.
async function useDevice(jax, version, backend, simd) {
  const want = { "jaxjs-wasm": "wasm", "jaxjs-webgpu": "webgpu" }[backend];
  if (!want) return { skip: `unknown jax-js backend \`${backend}\` (expected one of: ${BACKENDS.join(", ")})` };
  if (!simd) return { skip: `${backend} has no SIMD/no-SIMD variants (jax-js generates its own wasm): run it with simd = true` };
  if (want === "webgpu" && !(globalThis.navigator && navigator.gpu)) return { skip: "no WebGPU here (navigator.gpu is missing)" };
  const started = await jax.init(want);
  if (!started.includes(want)) return { skip: `jax-js could not start its ${want} device here (init gave: ${started.join(", ") || "none"})` };
  jax.defaultDevice(want);
  let detail;
  if (want === "wasm") {
    const pool = typeof SharedArrayBuffer !== "undefined" && typeof Worker !== "undefined";
    const n = pool ? Math.max(1, (globalThis.navigator && navigator.hardwareConcurrency) || 4) : 1;
    detail = pool ? `wasm, Web Worker pool of ${n} (SharedArrayBuffer)` : "wasm, 1 thread (no SharedArrayBuffer/Worker)";
  } else {
    let info = null;
    try { const d = jax.getWebGPUDevice && jax.getWebGPUDevice(); info = d && d.adapterInfo; } catch (_) { /* not exposed */ }
    detail = `webgpu${info ? ` (${[info.vendor, info.architecture].filter(Boolean).join(" ") || "adapter"})` : ""}`;
  }
  return { device: `jax-js ${version} ${detail}; jit on (whole step: valueAndGrad + Adam)` };
}

// Glorot-uniform weights (zero biases) from the peers' seeded generator, as Keras initializes.
function initParams(jax, w, seed) {
  const { numpy: np } = jax;
  const p = {};
  w.layers.forEach((l, i) => {
    const r = rng(seed, `init/${i}`);
    const limit = Math.sqrt(6 / (l.d_in + l.d_out));
    const buf = new Float32Array(l.d_in * l.d_out);
    for (let k = 0; k < buf.length; k++) buf[k] = (2 * r.uniform() - 1) * limit;
    p[`w${i}`] = np.array(buf).reshape([l.d_in, l.d_out]);
    if (l.bias) p[`b${i}`] = np.zeros([l.d_out]);
  });
  return p;
}

function model(jax, w) {
  const { numpy: np, nn, jit, valueAndGrad, tree } = jax;
  const C = w.data.classes;
  // Logits of a batch (the last layer's softmax is folded into the loss, as JAX code does).
  const forward = (p, x) => {
    let h = x;
    w.layers.forEach((l, i) => {
      h = np.dot(h, p[`w${i}`]);
      if (l.bias) h = h.add(p[`b${i}`]);
      if (l.activation === "relu") h = nn.relu(h);
    });
    return h;
  };
  // Mean categorical cross-entropy over the batch (labels are class indices).
  const loss = (p, x, y) => {
    const rows = y.shape[0];
    return nn.logSoftmax(forward(p, x)).mul(nn.oneHot(y, C)).sum().mul(-1 / rows);
  };
  // One training step. Adam as TF.js and burn write it: m, v moments, bias-corrected; `a` is
  // lr / (1 - beta1^t) and `c2` is 1 / (1 - beta2^t), so that p -= a·m / (sqrt(c2·v) + eps).
  const { beta1: BETA_1, beta2: BETA_2, epsilon: EPSILON } = w.optimizer;
  const adamStep = jit((p, m, v, x, y, a, c2) => {
    const [value, g] = valueAndGrad(loss)(tree.ref(p), x, y);
    const next = {}, nm = {}, nv = {};
    for (const k of Object.keys(g)) {
      const mk = m[k].mul(BETA_1).add(g[k].ref.mul(1 - BETA_1));
      const vk = v[k].mul(BETA_2).add(np.square(g[k]).mul(1 - BETA_2));
      next[k] = p[k].sub(mk.ref.mul(a.ref).div(np.sqrt(vk.ref.mul(c2.ref)).add(EPSILON)));
      nm[k] = mk;
      nv[k] = vk;
    }
    a.dispose();
    c2.dispose();
    return [value, next, nm, nv];
  });
  const sgdStep = jit((p, x, y, lr) => {
    const [value, g] = valueAndGrad(loss)(tree.ref(p), x, y);
    const next = {};
    for (const k of Object.keys(g)) next[k] = p[k].sub(g[k].mul(lr.ref));
    lr.dispose();
    return [value, next];
  });
  const correct = jit((p, x, y) => np.argmax(forward(p, x), 1).equal(y).astype(np.int32).sum());
  return { adamStep, sgdStep, correct };
}

// Run one case; returns the reply object ({status: "ok", result: CaseResult}, or {status, message}).
// `now` is the clock; `between` (optional) is awaited between steps (a page's main thread yields).
export async function run(spec, lib, now = () => performance.now(), between = undefined) {
  const { jax, version } = lib;
  const { numpy: np, tree, blockUntilReady } = jax;
  const { w, skip } = workloadOf(spec, "jax-js");
  if (skip) return { status: "skipped", message: skip };
  const opt = w.optimizer.name;
  if (w.layers.some((l) => l.dropout > 0)) return { status: "skipped", message: `workload \`${w.name}\` has dropout, not written for jax-js (jaxjs.js has tm-image, tm-audio and mlp)` };
  if (opt !== "adam" && opt !== "sgd") return { status: "skipped", message: `optimizer ${opt} is not written for jax-js (adam, sgd)` };
  if (spec.fault) return { status: "skipped", message: "fault injection is a wasm-probe feature" };
  const chosen = await useDevice(jax, version, spec.backend, spec.simd !== false);
  if (chosen.skip) return { status: "skipped", message: chosen.skip };

  const t0 = now();
  const data = synthesize(w.data, spec.seed);
  let p = initParams(jax, w, spec.seed);
  let m = opt === "adam" ? tree.map((a) => np.zerosLike(a.ref), p) : null;
  let v = opt === "adam" ? tree.map((a) => np.zerosLike(a.ref), p) : null;
  await blockUntilReady([p, m, v]);
  const fns = model(jax, w);
  const setup_ms = now() - t0;

  const f = w.data.features;
  const nTrain = data.trainY.length;
  const { warmup, measured } = stepCounts(spec, w, nTrain);
  // The same batches in the same order as the TF.js peer.
  const batches = batchOrder(nTrain, w.batch, spec.seed);
  const xbuf = new Float32Array(w.batch * f);
  const ybuf = new Int32Array(w.batch);
  const nextBatch = () => {
    const idx = batches.next();
    const rows = idx.length;
    for (let j = 0; j < rows; j++) {
      const i = idx[j];
      xbuf.set(data.trainX.subarray(i * f, (i + 1) * f), j * f);
      ybuf[j] = data.trainY[i];
    }
    return [
      np.array(xbuf.slice(0, rows * f)).reshape([rows, f]),
      np.array(ybuf.slice(0, rows), { dtype: np.int32 }),
    ];
  };

  const losses = [], warmup_ms = [], step_ms = [];
  let first_step_ms = NaN;
  try {
    const trainStart = now();
    for (let i = 0; i < warmup + measured; i++) {
      const start = now();
      // The batch is made inside the step, as the probe's step does.
      const [x, y] = nextBatch();
      let value;
      if (opt === "adam") {
        const t = i + 1;
        const { learning_rate: lr, beta1, beta2 } = w.optimizer;
        const a = np.array(lr / (1 - beta1 ** t));
        const c2 = np.array(1 / (1 - beta2 ** t));
        [value, p, m, v] = fns.adamStep(p, m, v, x, y, a, c2);
      } else {
        [value, p] = fns.sgdStep(p, x, y, np.array(w.optimizer.learning_rate));
      }
      // The step has finished when its results are: wait for the new parameters, read the loss.
      await blockUntilReady([p, m, v]);
      const lossValue = (await value.data())[0];
      const elapsed = now() - start;
      if (!Number.isFinite(lossValue)) return { status: "failed", message: `loss is ${lossValue} at step ${i}` };
      losses.push(lossValue);
      if (i === 0) first_step_ms = elapsed;
      (i < warmup ? warmup_ms : step_ms).push(elapsed);
      if (between) await between();
    }
    const train_ms = now() - trainStart;
    const e0 = now();
    const nValid = data.validY.length;
    let hits = 0;
    for (let s = 0; s < nValid; s += 256) {
      const e = Math.min(s + 256, nValid);
      const x = np.array(data.validX.slice(s * f, e * f)).reshape([e - s, f]);
      const y = np.array(data.validY.slice(s, e), { dtype: np.int32 });
      hits += (await fns.correct(tree.ref(p), x, y).data())[0];
    }
    const val_accuracy = nValid ? hits / nValid : 0;
    const eval_ms = now() - e0;
    return { status: "ok", result: {
      ...resultHead(w, spec, chosen.device), setup_ms, first_step_ms, warmup_ms, step_ms, losses, val_accuracy, eval_ms, train_ms,
      epochs: spec.epochs ?? null, dataset_bytes: data.bytes,
    } };
  } finally {
    for (const t of [p, m, v]) if (t) tree.dispose(t);
    for (const fn of Object.values(fns)) if (typeof fn.dispose === "function") fn.dispose();
  }
}

// Classify a thrown error: not installed is a skip with the install command; memory is oom.
export function failure(err) {
  const message = String(err && err.stack ? `${err.name}: ${err.message}` : err);
  if (err && err.notInstalled) return { status: "skipped", message: err.message };
  if (/jax-js is not installed/.test(message)) return { status: "skipped", message: err.message || message };
  const oom = /out of memory|memory allocation|could not allocate|RangeError.*(memory|allocation|Array buffer)|WebAssembly\.Memory|grow/i.test(message);
  return { status: oom ? "oom" : "failed", message };
}
