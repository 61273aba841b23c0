// One thread of gapbench's worker pool (pool.js): instantiate the threads build on the shared
// memory it is sent, say so, then run a rayon thread (blocks until the worker is ended).
const inNode = typeof process !== "undefined" && !!(process.versions && process.versions.node);
const port = inNode ? (await import("node:worker_threads")).parentPort : null;
const post = (m) => (inNode ? port.postMessage(m) : self.postMessage(m));

async function start({ glue, module, memory }) {
  let mod;
  try {
    mod = await import(glue);
    await mod.default({ module_or_path: module, memory });
  } catch (err) {
    post({ error: `pool worker could not load the module: ${err && err.name}: ${err && err.message}` });
    return;
  }
  post({ ready: true });
  mod.pool_worker();
}

if (inNode) port.once("message", start);
else self.onmessage = (e) => start(e.data);
