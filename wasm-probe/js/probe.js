// gapbench probe glue: runs one case of the wasm probe on the page's main thread or in a
// dedicated Web Worker, and hands back the probe's JSON reply. Shared by the page and the worker.

import { memory64Missing, relaxedSimdMissing } from "./meters.js";
import { startPool, threadsMissing } from "./pool.js";

const bundles = new Map();
const memories = new Map(); // variant -> its WebAssembly.Memory (memory meter)

// Load the wasm-bindgen module of one build variant (a subdirectory of the bundle), once.
export async function load(variant, base) {
  if (!bundles.has(variant)) {
    bundles.set(variant, (async () => {
      // The memory64 build has no wasm-bindgen glue: memory64.js is its hand-written loader.
      const glue = variant === "memory64" ? `${base}memory64.js` : `${base}${variant}/wasm_probe.js`;
      const mod = await import(glue);
      const exports = await mod.default({ module_or_path: new URL(`${base}${variant}/wasm_probe_bg.wasm`, import.meta.url) });
      // The threads build imports its shared memory (no `memory` export): the module hands it out.
      const memory = exports && exports.memory
        ? exports.memory
        : typeof mod.pool_memory === "function" ? mod.pool_memory() : null;
      if (memory) memories.set(variant, memory);
      mod.install_panic_hook();
      return mod;
    })());
  }
  return bundles.get(variant);
}

// Budget of main-thread work between two animation frames in context `main-frame`.
const FRAME_BUDGET_MS = 16;

// Yield to the event loop between steps, the way a responsive app would. Context `main-frame`
// yields the way TF.js apps do (`tf.nextFrame()`, a requestAnimationFrame): once a frame's worth
// of steps has run, wait for the next frame; a hidden tab gets no frames, so training there waits
// until the tab is shown again. Otherwise: `scheduler.yield()` where the engine has it, else a
// MessageChannel task.
export function yielder(context) {
  if (context === "main-frame" && typeof globalThis.requestAnimationFrame === "function") {
    let since = performance.now();
    return () => {
      if (performance.now() - since < FRAME_BUDGET_MS) return undefined;
      return new Promise((resolve) => requestAnimationFrame(() => { since = performance.now(); resolve(); }));
    };
  }
  if (globalThis.scheduler && typeof globalThis.scheduler.yield === "function") {
    return () => globalThis.scheduler.yield();
  }
  const channel = new MessageChannel();
  let pending = [];
  channel.port1.onmessage = () => { const p = pending; pending = []; p.forEach((r) => r()); };
  return () => new Promise((resolve) => { pending.push(resolve); channel.port2.postMessage(0); });
}

// A trap is a measurement: classify it and keep the panic message if Rust left one.
export function failure(mod, err) {
  const text = String(err && err.stack ? `${err.name}: ${err.message}` : err);
  let panic = null;
  try { panic = mod ? mod.last_panic() : null; } catch (_) { /* the instance is gone */ }
  // last_panic() also reports an allocation that failed (Rust aborts on those without a panic).
  const said = panic && panic.startsWith("memory allocation of ") ? panic : `panic: ${panic}`;
  // A trap Rust said nothing about (an engine's bounds check, say): name where it happened.
  const frames = panic ? [] : wasmFrames(err);
  const where = frames.length ? ` [in ${frames.join(" < ")}]` : "";
  const message = panic ? `${text} (${said})` : text;
  const oom = /memory allocation|out of memory|capacity overflow|Out of memory|RangeError.*(memory|allocation)|could not allocate/i.test(message);
  return { status: oom ? "oom" : "failed", message: `${message}${where}` };
}

// The innermost `n` wasm functions on an error's stack, by the names of the probe's name section,
// in any engine's format: V8 `at NAME (wasm://...wasm-function[7]:0x1f)`, SpiderMonkey
// `NAME@URL:wasm-function[7]:0x1f`, JavaScriptCore `<?>.wasm-function[NAME]@[wasm code]`.
export function wasmFrames(err, n = 4) {
  const stack = err && typeof err.stack === "string" ? err.stack : "";
  const names = [];
  for (const line of stack.split("\n")) {
    if (!line.includes("wasm-function[")) continue;
    const jsc = /wasm-function\[([^\]]+)\]@\[wasm code\]/.exec(line);
    let name = jsc ? jsc[1] : line.trim().replace(/^at /, "").replace(/ \(wasm:.*$|@.*$/, "");
    if (name.length > 100) name = `${name.slice(0, 97)}...`;
    names.push(name);
    if (names.length === n) break;
  }
  return names;
}

// The build a case runs on: gapbench names it in the case spec (`build`, from the harness's
// bundle::variant_for), so the choice lives in one place.
export function variantFor(spec) {
  if (!spec.build) throw new Error("the case spec names no probe build (`build`)");
  return spec.build;
}

// Ask the browser for a WebGPU adapter before the probe does: `{ skip }` says, in the browser's
// own words, why there is none; `{ adapter }` describes the one found.
export async function webgpuAdapter() {
  const nav = globalThis.navigator;
  if (!nav || !nav.gpu) {
    const where = typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope ? "worker" : "page";
    return {
      skip: `no WebGPU in this browser: navigator.gpu is ${nav ? String(nav.gpu) : "unavailable (no navigator)"} ` +
        `in the ${where} (isSecureContext=${globalThis.isSecureContext === true})`,
    };
  }
  let adapter;
  try {
    adapter = await nav.gpu.requestAdapter();
  } catch (err) {
    return { skip: `no WebGPU adapter: navigator.gpu.requestAdapter() threw ${err && err.name}: ${err && err.message}` };
  }
  if (!adapter) {
    return { skip: "no WebGPU adapter: navigator.gpu.requestAdapter() returned null" };
  }
  let info = adapter.info;
  if (!info && typeof adapter.requestAdapterInfo === "function") {
    try { info = await adapter.requestAdapterInfo(); } catch (_) { info = null; }
  }
  info = info || {};
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((p) => p);
  const fallback = adapter.isFallbackAdapter === true || info.isFallbackAdapter === true;
  return { adapter: `WebGPU: ${parts.length ? parts.join(" / ") : "adapter info not exposed"}${fallback ? " (fallback adapter)" : ""}` };
}

// Rejects with the first uncaught error of this global (a wasm trap in a microtask).
function uncaughtTrap() {
  return new Promise((_, reject) => {
    const onError = (event) => {
      globalThis.removeEventListener("error", onError);
      if (event.preventDefault) event.preventDefault();
      reject(event.error || new Error(event.message || "uncaught error"));
    };
    globalThis.addEventListener("error", onError);
  });
}

// Run one case here (main thread or worker). `spec` is the CaseSpec plus `simd` and `context`.
// `onStep`, when given, is called after every training step (page meters log step times).
export async function runHere(spec, base, yieldBetweenSteps, onStep) {
  if (spec.peer) return runPeerHere(spec, base, yieldBetweenSteps, onStep);
  const variant = variantFor(spec);
  let mod = null;
  try {
    if (variant === "relaxed") {
      const missing = relaxedSimdMissing();
      if (missing) return JSON.stringify({ status: "skipped", message: missing });
    }
    if (variant === "memory64") {
      const missing = memory64Missing();
      if (missing) return JSON.stringify({ status: "skipped", message: missing });
    }
    if (variant === "threads") {
      const missing = threadsMissing(spec.threads || 1);
      if (missing) return JSON.stringify({ status: "skipped", message: missing });
    }
    let adapter = null;
    if (variant === "webgpu") {
      const found = await webgpuAdapter();
      if (found.skip) return JSON.stringify({ status: "skipped", message: found.skip });
      adapter = found.adapter;
    }
    mod = await load(variant, base);
    // `threads = N`: the pool's workers, started before the case (it waits for them).
    if (variant === "threads" && (spec.threads || 1) > 1) {
      await startPool(mod, spec.threads, new URL(`${base}threads/wasm_probe.js`, import.meta.url).href);
    }
    const now = () => performance.now();
    let between = yieldBetweenSteps ? yielder(spec.context) : undefined;
    if (onStep) {
      const inner = between;
      between = () => { onStep(); return inner ? inner() : undefined; };
    }
    // A panic inside the async workload traps in a microtask: run_case's promise then never
    // settles, and the trap surfaces as an uncaught error event instead. Race the two.
    let reply = await Promise.race([mod.run_case(JSON.stringify(spec), now, between), uncaughtTrap()]);
    if ((spec.meters || []).includes("memory")) reply = await withMemory(reply, variant);
    if (adapter === null) return reply;
    // Record the adapter as the browser describes it, beside what wgpu saw.
    const parsed = JSON.parse(reply);
    if (parsed.result) {
      const seen = parsed.result.device;
      parsed.result.device = seen && !adapter.includes(seen) ? `${adapter}; wgpu: ${seen}` : adapter;
    }
    return JSON.stringify(parsed);
  } catch (err) {
    bundles.delete(variant); // a trapped instance cannot be reused
    return JSON.stringify(failure(mod, err));
  }
}

// A peer backend (TF.js, jax-js, ONNX Runtime Web, ...) trains the same workload with another
// library: `spec.peer` names its module (gapbench's catalog, harness/src/catalog.rs PEERS), which
// loads the library from the bundle and replies in the probe's shape (see peer.js).
async function runPeerHere(spec, base, yieldBetweenSteps, onStep) {
  let peer = null;
  try {
    if (!/^[a-z0-9-]+\.js$/.test(spec.peer)) throw new Error(`bad peer module \`${spec.peer}\``);
    peer = await import(`./${spec.peer}`);
    const lib = await peer.loadBrowser(base);
    let between = yieldBetweenSteps ? yielder(spec.context) : undefined;
    if (onStep) {
      const inner = between;
      between = () => { onStep(); return inner ? inner() : undefined; };
    }
    return JSON.stringify(await peer.run(spec, lib, () => performance.now(), between));
  } catch (err) {
    return JSON.stringify(peer ? peer.failure(err) : failure(null, err));
  }
}

// Memory meter: the wasm memory size at the end of the case, and the engine's own measurement
// where it has one (performance.measureUserAgentSpecificMemory needs cross-origin isolation; it
// may wait for a GC, so it gets a time limit).
async function withMemory(reply, variant) {
  const parsed = JSON.parse(reply);
  const mem = memories.get(variant);
  const out = { wasm_bytes: mem ? mem.buffer.byteLength : null, uasm_bytes: null, uasm_error: null };
  const perf = globalThis.performance;
  if (!perf || typeof perf.measureUserAgentSpecificMemory !== "function") {
    out.uasm_error = "performance.measureUserAgentSpecificMemory is not available here";
  } else if (globalThis.crossOriginIsolated !== true) {
    out.uasm_error = "not cross-origin isolated";
  } else {
    let timer;
    const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("no answer within 20 s")), 20000); });
    try {
      out.uasm_bytes = (await Promise.race([perf.measureUserAgentSpecificMemory(), limit])).bytes;
    } catch (err) {
      out.uasm_error = `${err && err.name}: ${err && err.message}`;
    } finally {
      clearTimeout(timer);
    }
  }
  parsed.meters = parsed.meters || {};
  parsed.meters.memory = out;
  return JSON.stringify(parsed);
}
