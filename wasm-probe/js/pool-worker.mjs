// One thread of gapbench's worker pool (pool.js): instantiate the threads build on the shared
// memory it is sent, say so, then run a rayon thread (blocks until the worker is ended).
import { POOL_CHANNEL } from "./pool.js";

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
  try {
    mod.pool_worker();
  } catch (err) {
    // A trap on a pool thread (a panic aborts): the case's thread waits for this thread's work
    // forever and cannot hear of it. Say it where the harness hears: in Node.js on stderr, then
    // end the process (the case is recorded crashed with that line); in a browser to the page,
    // which ends the case's worker and fails the case with it (index.html).
    let panic = null;
    try { panic = mod.last_panic(); } catch (_) { /* the instance is gone */ }
    const said = `a pool thread failed: ${err && err.name}: ${err && err.message}` +
      (panic ? ` (panic: ${panic})` : "");
    if (inNode) {
      (await import("node:fs")).writeSync(2, `gapbench: ${said}\n`);
      process.kill(process.pid, "SIGTERM");
    } else {
      new BroadcastChannel(POOL_CHANNEL).postMessage(said);
    }
  }
}

if (inNode) port.once("message", start);
else self.onmessage = (e) => start(e.data);
