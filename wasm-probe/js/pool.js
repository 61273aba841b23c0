// gapbench's worker pool for the `threads` probe build (wasm-probe/src/threads.rs): N workers,
// Web Workers in a browser and worker_threads in Node.js, each instantiating the same module on
// the same shared WebAssembly.Memory and running one of rayon's threads. Shared by the page's
// case worker (probe.js) and the Node runner.

const inNode = typeof process !== "undefined" && !!(process.versions && process.versions.node);

// The BroadcastChannel a browser's pool worker that traps says so on (pool-worker.mjs); the page
// listens on it while a case runs in a worker (index.html).
export const POOL_CHANNEL = "gapbench-pool";

// How long the workers may take to load the module before the case fails saying so.
const START_LIMIT_MS = 60000;

// Why the `threads` build cannot run here with `threads` threads, or null. Its memory is a
// shared WebAssembly.Memory, which needs SharedArrayBuffer (in a browser: a cross-origin
// isolated page); a pool of more than one thread also needs a caller that may block.
export function threadsMissing(threads) {
  if (typeof SharedArrayBuffer === "undefined") {
    return `no SharedArrayBuffer here (crossOriginIsolated=${globalThis.crossOriginIsolated}): ` +
      "the threads build's memory is shared";
  }
  if (!inNode && globalThis.crossOriginIsolated !== true) {
    return "not cross-origin isolated (crossOriginIsolated is not true): no shared memory for the threads build";
  }
  const onPage = !inNode && typeof document !== "undefined";
  if (threads > 1 && onPage) {
    return "a page's main thread may not block (Atomics.wait), and the case's thread waits for " +
      "the pool: threaded cases run in a worker (context = \"worker\")";
  }
  return null;
}

// Start `n` pool workers for `mod` (the threads build's wasm-bindgen module, whose glue is at
// `glue`), wait until each has loaded it, then build rayon's pool on them. Returns the number
// of threads the pool runs (rayon's count).
export async function startPool(mod, n, glue) {
  const module = mod.pool_module();
  const memory = mod.pool_memory();
  const script = new URL("./pool-worker.mjs", import.meta.url);
  const NodeWorker = inNode ? (await import("node:worker_threads")).Worker : null;
  const ready = [];
  for (let i = 0; i < n; i++) {
    let worker;
    ready.push(new Promise((resolve, reject) => {
      if (inNode) {
        worker = new NodeWorker(script);
        // Blocked forever in the pool: it must not keep the process alive once the case is done.
        worker.unref();
        worker.once("message", (m) => (m && m.error ? reject(new Error(m.error)) : resolve()));
        worker.once("error", reject);
        worker.once("exit", (code) => reject(new Error(`pool worker ${i} exited with code ${code}`)));
      } else {
        worker = new Worker(script, { type: "module", name: `gapbench-pool-${i}` });
        worker.onmessage = (e) => (e.data && e.data.error ? reject(new Error(e.data.error)) : resolve());
        worker.onerror = (e) => reject(new Error(`pool worker ${i}: ${e.message || e}`));
      }
    }));
    worker.postMessage({ glue, module, memory });
  }
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the pool's ${n} workers did not load within ${START_LIMIT_MS / 1000} s`)), START_LIMIT_MS);
  });
  try {
    await Promise.race([Promise.all(ready), limit]);
  } finally {
    clearTimeout(timer);
  }
  return mod.pool_build(n);
}
