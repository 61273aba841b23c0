// gapbench page-side meters (UI stalls, background tab) and page-only tasks (capabilities,
// ingestion, calibrate). Raw observations go back in the probe reply's `meters` field; the
// harness's meter modules (harness/src/meter/*.rs) turn them into records.

const absNow = () => performance.timeOrigin + performance.now();

function supportedEntryTypes() {
  try {
    return (globalThis.PerformanceObserver && PerformanceObserver.supportedEntryTypes) || [];
  } catch (_) {
    return [];
  }
}

// Every requestAnimationFrame interval, long tasks, long animation frames and pointer input
// latency on this (main) thread between start() and stop().
export class UiMeter {
  constructor(target) {
    this.target = target;
    this.frames = [];
    this.inputs = [];
    this.longTasks = [];
    this.loaf = [];
    this.observers = [];
    this.running = false;
  }

  start() {
    this.running = true;
    this.t0 = performance.now();
    const tick = (t) => {
      if (!this.running) return;
      // The callback's own clock, not the frame's vsync time: a block shows in full.
      // Frames a hidden page still runs (throttled) are not stalls either.
      this.frames.push(document.visibilityState === "hidden" ? null : performance.now());
      requestAnimationFrame(tick);
    };
    // A hidden page renders no frames: the gap across a hidden spell is not a stall.
    this.onVis = () => this.frames.push(null);
    document.addEventListener("visibilitychange", this.onVis);
    requestAnimationFrame(tick);
    const types = supportedEntryTypes();
    for (const [type, into] of [["longtask", this.longTasks], ["long-animation-frame", this.loaf]]) {
      if (!types.includes(type)) continue;
      try {
        const o = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) if (e.startTime >= this.t0) into.push(e.duration);
        });
        o.observe({ type, buffered: false });
        this.observers.push(o);
      } catch (_) { /* not observable here */ }
    }
    this.onInput = (e) => {
      const handler = performance.now();
      const stamp = e.timeStamp;
      requestAnimationFrame(() => {
        this.inputs.push({ delay: handler - stamp, to_frame: performance.now() - stamp });
      });
    };
    if (this.target) this.target.addEventListener("pointerdown", this.onInput);
  }

  stop() {
    this.running = false;
    document.removeEventListener("visibilitychange", this.onVis);
    for (const o of this.observers) o.disconnect();
    if (this.target) this.target.removeEventListener("pointerdown", this.onInput);
    const f = this.frames;
    const gaps = [];
    let startStall = 0;
    for (let i = 1; i < f.length; i++) {
      if (f[i] === null || f[i - 1] === null) continue;
      const gap = f[i] - f[i - 1];
      gaps.push(gap);
      if (f[i - 1] < this.t0 + 1000) startStall = Math.max(startStall, gap);
    }
    // No frame at all in the first second is itself a stall of the whole second (or more).
    if (f.length === 0 || f[0] === null) startStall = Math.max(startStall, performance.now() - this.t0);
    else if (f[0] - this.t0 > startStall) startStall = f[0] - this.t0;
    const types = supportedEntryTypes();
    return {
      gaps,
      start_stall: startStall,
      inputs: this.inputs,
      long_tasks: types.includes("longtask") ? this.longTasks : null,
      long_animation_frames: types.includes("long-animation-frame") ? this.loaf : null,
      visibility: document.visibilityState,
    };
  }
}

// Per-step timestamps (absolute ms) and visibility changes, for the background-tab meter.
export class StepLog {
  constructor(total) {
    this.total = total;
    this.steps = [];
    this.visibility = [[absNow(), document.visibilityState]];
    this.onVis = () => this.visibility.push([absNow(), document.visibilityState]);
    document.addEventListener("visibilitychange", this.onVis);
    this.started = absNow();
  }

  step(t) {
    this.steps.push(t === undefined ? absNow() : t);
  }

  stop() {
    document.removeEventListener("visibilitychange", this.onVis);
    this.visibility.push([absNow(), document.visibilityState]);
    return { start: this.started, steps: this.steps, visibility: this.visibility, total: this.total };
  }
}

// ---- page-only tasks ------------------------------------------------------------------------

const valid = (bytes) => {
  try {
    return WebAssembly.validate(new Uint8Array(bytes));
  } catch (_) {
    return false;
  }
};

// Tiny modules from wasm-feature-detect (Apache-2.0), one per feature.
const MODULES = {
  wasm_simd: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11],
  wasm_relaxed_simd: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11],
  wasm_threads: [0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11],
  wasm_memory64: [0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 4, 1],
  wasm_exceptions: [0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 8, 1, 6, 0, 6, 64, 25, 11, 11],
};

// Why this engine cannot run the probe's relaxed-SIMD build, or null when it can: detected (the
// wasm_relaxed_simd module above must validate), not assumed from the engine's name or version.
export function relaxedSimdMissing() {
  if (valid(MODULES.wasm_relaxed_simd)) return null;
  return "this engine's WebAssembly has no relaxed SIMD: WebAssembly.validate() rejects a module " +
    "using i8x16.relaxed_swizzle (wasm-feature-detect's relaxed-simd test), so the relaxed build cannot load";
}

// A module declaring a 64-bit function table (memory64's table64): the wasm64 build has one.
const TABLE64 = [0, 97, 115, 109, 1, 0, 0, 0, 4, 4, 1, 0x70, 4, 0];

// Why this engine cannot run the probe's memory64 build, or null when it can: detected (the
// wasm_memory64 module above, a 64-bit memory, and a 64-bit table, both of which the build
// declares, must validate), not assumed from the engine's name or version.
export function memory64Missing() {
  const memory = valid(MODULES.wasm_memory64);
  const table = valid(TABLE64);
  if (memory && table) return null;
  const what = memory ? "a 64-bit table (table64, which the wasm64 build declares)"
    : "a 64-bit memory (wasm-feature-detect's memory64 test)";
  return `this engine's WebAssembly has no memory64: WebAssembly.validate() rejects a module declaring ${what}, so the memory64 build cannot load`;
}

const MIB = 1048576;
const PAGE = 65536;

// Grow one memory in steps of `stepMiB` until it fails or reaches `limit` bytes; the largest size
// reached, in bytes. The memory is dropped afterwards.
function growMax(make, grow, limit, stepMiB) {
  let mem;
  try {
    mem = make();
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  }
  let bytes = mem.buffer.byteLength;
  const step = (stepMiB * MIB) / PAGE;
  let stopped = "limit";
  while (bytes < limit) {
    // Whole pages only: a limit that is not a multiple of a page would end in grow(0) forever.
    const pages = Math.min(step, Math.floor((limit - bytes) / PAGE));
    if (pages < 1) break;
    try {
      grow(mem, pages);
      bytes = mem.buffer.byteLength;
    } catch (e) {
      stopped = `${e.name}: ${e.message}`;
      break;
    }
  }
  mem = null;
  return { bytes, stopped };
}

async function webgpu() {
  if (!globalThis.navigator || !navigator.gpu) return { available: false, why: "navigator.gpu missing" };
  try {
    const adapter = await Promise.race([
      navigator.gpu.requestAdapter(),
      new Promise((r) => setTimeout(() => r("timeout"), 5000)),
    ]);
    if (adapter === "timeout") return { available: false, why: "requestAdapter did not answer in 5 s" };
    if (!adapter) return { available: false, why: "requestAdapter returned null" };
    let info = adapter.info || null;
    if (!info && adapter.requestAdapterInfo) info = await adapter.requestAdapterInfo();
    return {
      available: true,
      adapter: info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") : "",
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      features: [...adapter.features].sort(),
    };
  } catch (e) {
    return { available: false, why: `${e.name}: ${e.message}` };
  }
}

async function webnn() {
  if (!globalThis.navigator || !navigator.ml) return { available: false, why: "navigator.ml missing" };
  try {
    await navigator.ml.createContext();
    return { available: true, context: true };
  } catch (e) {
    return { available: true, context: false, why: `${e.name}: ${e.message}` };
  }
}

function timerResolution() {
  let min = Infinity;
  let last = performance.now();
  const end = last + 200;
  for (let i = 0; i < 2000000; i++) {
    const t = performance.now();
    if (t !== last) {
      min = Math.min(min, t - last);
      last = t;
    }
    if (t > end) break;
  }
  return min;
}

// Whether a dedicated worker sees FileSystemFileHandle.createSyncAccessHandle (null: no workers).
function syncAccessInWorker() {
  if (typeof Worker !== "function" || typeof Blob !== "function") return Promise.resolve(null);
  const src = "postMessage(typeof FileSystemFileHandle === 'function' && 'createSyncAccessHandle' in FileSystemFileHandle.prototype);";
  return new Promise((resolve) => {
    let w;
    try {
      w = new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
    } catch (_) {
      resolve(null);
      return;
    }
    const done = (v) => { w.terminate(); resolve(v); };
    w.onmessage = (e) => done(e.data === true);
    w.onerror = () => done(null);
    setTimeout(() => done(null), 3000);
  });
}

// One entry per capability: { text, num? }. `limitBytes` bounds every memory grow.
export async function capabilities(limitBytes) {
  const caps = {};
  const put = (name, text, num) => {
    caps[name] = num === undefined || num === null || !Number.isFinite(num) ? { text: String(text) } : { text: String(text), num };
  };
  const hasWasm = typeof WebAssembly === "object";
  for (const [name, bytes] of Object.entries(MODULES)) {
    const ok = hasWasm && valid(bytes);
    put(name, ok ? "yes" : "no", ok ? 1 : 0);
  }
  const jspi = hasWasm && typeof WebAssembly.Suspending === "function" && typeof WebAssembly.promising === "function";
  put("wasm_jspi", jspi ? "yes" : "no", jspi ? 1 : 0);
  const sab = typeof SharedArrayBuffer === "function";
  put("shared_array_buffer", sab ? "yes" : "no", sab ? 1 : 0);
  const coi = globalThis.crossOriginIsolated === true;
  put("cross_origin_isolated", coi ? "yes" : "no", coi ? 1 : 0);

  // Largest growable memories, bounded by `limitBytes` (the harness's share of free RAM).
  const lim32 = Math.min(limitBytes, 4 * 1024 * MIB);
  const m32 = growMax(
    () => new WebAssembly.Memory({ initial: 1, maximum: 65536 }),
    (m, pages) => m.grow(pages),
    lim32,
    256,
  );
  if (m32.error) put("wasm32_max_memory", `error: ${m32.error}`);
  else put("wasm32_max_memory", `${(m32.bytes / MIB).toFixed(0)} MiB (stopped: ${m32.stopped}; bound ${(lim32 / MIB).toFixed(0)} MiB)`, m32.bytes / MIB);
  if (valid(MODULES.wasm_memory64)) {
    const lim64 = Math.min(limitBytes, 8 * 1024 * MIB);
    const maxPages = Math.floor(lim64 / PAGE);
    // The JS API for 64-bit memories changed names: try `address`, then `index`; BigInt sizes.
    const make = () => {
      const errs = [];
      for (const key of ["address", "index"]) {
        for (const big of [true, false]) {
          try {
            const d = { [key]: "i64", initial: big ? 1n : 1, maximum: big ? BigInt(maxPages) : maxPages };
            const m = new WebAssembly.Memory(d);
            m.big = big;
            return m;
          } catch (e) { errs.push(`${e.name}: ${e.message}`); }
        }
      }
      throw new Error(errs[errs.length - 1]);
    };
    const m64 = growMax(make, (m, pages) => m.grow(m.big ? BigInt(pages) : pages), lim64, 256);
    if (m64.error) put("memory64_max_memory", `error: ${m64.error}`);
    else put("memory64_max_memory", `${(m64.bytes / MIB).toFixed(0)} MiB (stopped: ${m64.stopped}; bound ${(lim64 / MIB).toFixed(0)} MiB)`, m64.bytes / MIB);
  } else {
    put("memory64_max_memory", "memory64 not supported");
  }

  const gpu = await webgpu();
  if (gpu.available) {
    put("webgpu", `yes: ${gpu.adapter || "adapter info not exposed"}`, 1);
    put("webgpu_max_buffer_size", gpu.maxBufferSize, gpu.maxBufferSize);
    put("webgpu_max_storage_binding", gpu.maxStorageBufferBindingSize, gpu.maxStorageBufferBindingSize);
    put("webgpu_features", gpu.features.join(" ") || "none", gpu.features.length);
    const f16 = gpu.features.includes("shader-f16");
    put("webgpu_shader_f16", f16 ? "yes" : "no", f16 ? 1 : 0);
  } else {
    put("webgpu", `no: ${gpu.why}`, 0);
  }
  const nn = await webnn();
  put("webnn", nn.available ? (nn.context ? "yes: context created" : `navigator.ml only: ${nn.why}`) : `no: ${nn.why}`, nn.context ? 1 : 0);

  const storage = globalThis.navigator && navigator.storage;
  const opfs = !!(storage && typeof storage.getDirectory === "function");
  put("opfs", opfs ? "yes" : "no", opfs ? 1 : 0);
  // Sync access handles exist only in dedicated workers: ask one.
  const sync = await syncAccessInWorker();
  put("opfs_sync_access", sync === null ? "no workers here" : sync ? "yes (in workers)" : "no", sync ? 1 : 0);
  const writable = typeof globalThis.FileSystemFileHandle === "function" && "createWritable" in FileSystemFileHandle.prototype;
  put("opfs_writable", writable ? "yes" : "no", writable ? 1 : 0);
  const pickers = typeof globalThis.showOpenFilePicker === "function";
  put("file_system_access_pickers", pickers ? "yes" : "no", pickers ? 1 : 0);
  const uasm = typeof performance.measureUserAgentSpecificMemory === "function";
  put("measure_ua_memory", uasm ? "yes" : "no", uasm ? 1 : 0);
  const types = supportedEntryTypes();
  put("longtask_entries", types.includes("longtask") ? "yes" : "no", types.includes("longtask") ? 1 : 0);
  put("long_animation_frame_entries", types.includes("long-animation-frame") ? "yes" : "no", types.includes("long-animation-frame") ? 1 : 0);
  const sy = !!(globalThis.scheduler && typeof globalThis.scheduler.yield === "function");
  put("scheduler_yield", sy ? "yes" : "no", sy ? 1 : 0);
  if (storage && typeof storage.estimate === "function") {
    try {
      const e = await storage.estimate();
      put("storage_quota", `${(e.quota / MIB).toFixed(0)} MiB`, e.quota / MIB);
    } catch (e) {
      put("storage_quota", `error: ${e.message}`);
    }
  } else {
    put("storage_quota", "navigator.storage.estimate missing");
  }
  const hc = globalThis.navigator && navigator.hardwareConcurrency;
  put("hardware_concurrency", hc || "missing", hc || null);
  const dm = globalThis.navigator && navigator.deviceMemory;
  put("device_memory", dm ? `${dm} GB` : "missing", dm || null);
  const res = timerResolution();
  put("timer_resolution", `${res} ms`, res);
  return { caps };
}

// ---- ingestion ------------------------------------------------------------------------------

// Copy `buf` into a fresh WebAssembly.Memory, as a probe would hold samples.
function intoWasm(buf) {
  const pages = Math.ceil(buf.byteLength / PAGE) + 1;
  const mem = new WebAssembly.Memory({ initial: 1 });
  mem.grow(pages);
  new Uint8Array(mem.buffer, 0, buf.byteLength).set(new Uint8Array(buf));
  return mem.buffer.byteLength;
}

async function timed(reps, once) {
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const bytes = await once();
    ms.push({ ms: performance.now() - t, bytes });
  }
  return ms;
}

function idbRequest(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// Bytes/s for bringing the bytes at `url` into wasm memory by fetch, from OPFS and from IndexedDB.
export async function ingestion(url, reps) {
  const out = {};
  let data = null;
  try {
    out.fetch = await timed(reps, async () => {
      const buf = await (await fetch(url, { cache: "no-store" })).arrayBuffer();
      intoWasm(buf);
      data = buf;
      return buf.byteLength;
    });
  } catch (e) {
    out.fetch = { skipped: `fetch failed: ${e.name}: ${e.message}` };
  }
  if (!data) return out;
  // OPFS: write once (not timed), read back with getFile().arrayBuffer().
  const storage = navigator.storage;
  if (!storage || typeof storage.getDirectory !== "function") {
    out.opfs = { skipped: "navigator.storage.getDirectory missing" };
  } else {
    try {
      const dir = await storage.getDirectory();
      const fh = await dir.getFileHandle("gapbench-ingest.bin", { create: true });
      if (typeof fh.createWritable !== "function") {
        out.opfs = { skipped: "FileSystemFileHandle.createWritable missing (OPFS writes need a worker's sync access handle here)" };
      } else {
        const w = await fh.createWritable();
        await w.write(data);
        await w.close();
        out.opfs = await timed(reps, async () => {
          const buf = await (await fh.getFile()).arrayBuffer();
          intoWasm(buf);
          return buf.byteLength;
        });
      }
      await dir.removeEntry("gapbench-ingest.bin").catch(() => {});
    } catch (e) {
      out.opfs = { skipped: `OPFS failed: ${e.name}: ${e.message}` };
    }
  }
  if (typeof indexedDB === "undefined") {
    out.idb = { skipped: "indexedDB missing" };
  } else {
    try {
      const open = indexedDB.open("gapbench-ingest", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("s");
      const db = await idbRequest(open);
      const put = db.transaction("s", "readwrite");
      put.objectStore("s").put(data, "samples");
      await new Promise((resolve, reject) => {
        put.oncomplete = resolve;
        put.onerror = () => reject(put.error);
        put.onabort = () => reject(put.error || new Error("transaction aborted"));
      });
      out.idb = await timed(reps, async () => {
        const buf = await idbRequest(db.transaction("s").objectStore("s").get("samples"));
        intoWasm(buf);
        return buf.byteLength;
      });
      db.close();
      indexedDB.deleteDatabase("gapbench-ingest");
    } catch (e) {
      out.idb = { skipped: `IndexedDB failed: ${e.name}: ${e.message}` };
    }
  }
  return out;
}

// ---- calibration ----------------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const frame = () => new Promise((r) => requestAnimationFrame(() => r(performance.now())));

// Block this thread for `ms` from inside a frame callback, and let the UI meter measure it.
export async function calibrateBlocks(blocks) {
  const out = [];
  for (const ms of blocks) {
    const meter = new UiMeter(null);
    meter.start();
    await sleep(500);
    await new Promise((resolve) => requestAnimationFrame(() => {
      const end = performance.now() + ms;
      while (performance.now() < end) { /* busy */ }
      resolve();
    }));
    await sleep(500);
    await frame();
    const r = meter.stop();
    out.push({ injected: ms, measured: r.gaps.length ? Math.max(...r.gaps) : null, frames: r.gaps.length });
  }
  return out;
}
