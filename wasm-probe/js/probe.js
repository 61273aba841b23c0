// gapbench probe glue: runs one case of the wasm probe on the page's main thread or in a
// dedicated Web Worker, and hands back the probe's JSON reply. Shared by the page and the worker.

const bundles = new Map();

// Load the wasm-bindgen module of one build variant ("simd" or "nosimd"), once.
export async function load(variant, base) {
  if (!bundles.has(variant)) {
    bundles.set(variant, (async () => {
      const mod = await import(`${base}${variant}/wasm_probe.js`);
      await mod.default({ module_or_path: new URL(`${base}${variant}/wasm_probe_bg.wasm`, import.meta.url) });
      mod.install_panic_hook();
      return mod;
    })());
  }
  return bundles.get(variant);
}

// Yield to the event loop between steps, the way a responsive app would.
export function yielder() {
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
  const message = panic ? `${text} (panic: ${panic})` : text;
  const oom = /memory allocation|out of memory|capacity overflow|Out of memory|RangeError.*(memory|allocation)|could not allocate/i.test(message);
  return { status: oom ? "oom" : "failed", message };
}

// Run one case here (main thread or worker). `spec` is the CaseSpec plus `simd` and `context`.
export async function runHere(spec, base, yieldBetweenSteps) {
  const variant = spec.simd === false ? "nosimd" : "simd";
  let mod = null;
  try {
    mod = await load(variant, base);
    const now = () => performance.now();
    const reply = await mod.run_case(JSON.stringify(spec), now, yieldBetweenSteps ? yielder() : undefined);
    return reply;
  } catch (err) {
    bundles.delete(variant); // a trapped instance cannot be reused
    return JSON.stringify(failure(mod, err));
  }
}
