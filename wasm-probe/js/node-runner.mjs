// gapbench's Node.js target: reads one case (JSON) on stdin, runs it with the same wasm probe
// the browsers run, and prints the probe's JSON reply as the last line of stdout.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { failure } from "./probe.js";
import { memory64Missing, relaxedSimdMissing } from "./meters.js";
import { startPool, threadsMissing } from "./pool.js";

const bundleDir = process.argv[2];
// Where `npm ci` put node_modules (the repository root); the bundle itself may live in any
// target directory (CARGO_TARGET_DIR), so packages never resolve from the bundle's own path.
const packagesRoot = process.argv[3];
if (!bundleDir) {
  console.error("usage: node node-runner.mjs <bundle-dir> [<dir holding node_modules>]  (case JSON on stdin)");
  process.exit(2);
}
const input = readFileSync(0, "utf8");
const spec = JSON.parse(input);
// The probe build the case runs on, named by gapbench (bundle::variant_for).
const variant = spec.build;
const dir = path.resolve(bundleDir, variant);
let mod = null;
let reply;
if (["capabilities", "ingestion", "calibrate", "estimate"].includes(spec.workload)) {
  // Page tasks: Node.js can answer the capability probe; the others need a page.
  if (spec.workload === "capabilities") {
    const { capabilities } = await import("./meters.js");
    reply = { status: "ok", meters: { capabilities: await capabilities(Number(spec.mem_limit_bytes) || 2 ** 31) } };
  } else {
    reply = { status: "skipped", message: `page-only workload \`${spec.workload}\`: Node.js has no page` };
  }
} else if (spec.peer) {
  // A peer backend: the module gapbench's catalog names trains the same workload with its own
  // library from node_modules (see peer.js), or says why it cannot run in Node.js.
  let peer = null;
  try {
    if (!/^[a-z0-9-]+\.js$/.test(spec.peer)) throw new Error(`bad peer module \`${spec.peer}\``);
    peer = await import(`./${spec.peer}`);
    if (!peer.loadNode) {
      reply = { status: "skipped", message: peer.NODE_SKIP || `${spec.peer} does not run in Node.js` };
    } else {
      const { createRequire } = await import("node:module");
      const from = packagesRoot ? pathToFileURL(path.join(path.resolve(packagesRoot), "package.json")) : import.meta.url;
      const lib = await peer.loadNode(createRequire(from), (file) => import(pathToFileURL(file).href));
      reply = await peer.run(spec, lib, () => performance.now(), undefined);
    }
  } catch (err) {
    reply = peer ? peer.failure(err) : failure(null, err);
  }
} else if (spec.backend === "webgpu" && !(globalThis.navigator && globalThis.navigator.gpu)) {
  // The WebGPU build is for browsers; Node.js exposes no navigator.gpu.
  const said = globalThis.navigator ? String(globalThis.navigator.gpu) : "unavailable (no navigator)";
  reply = { status: "skipped", message: `Node.js ${process.version} has no WebGPU: navigator.gpu is ${said}` };
} else if (variant === "relaxed" && relaxedSimdMissing()) {
  reply = { status: "skipped", message: `Node.js ${process.version}: ${relaxedSimdMissing()}` };
} else if (variant === "memory64" && memory64Missing()) {
  reply = { status: "skipped", message: `${memory64Missing()} (Node.js ${process.version})` };
} else if (variant === "threads" && threadsMissing(spec.threads || 1)) {
  reply = { status: "skipped", message: `Node.js ${process.version}: ${threadsMissing(spec.threads || 1)}` };
} else try {
  // The memory64 build's glue is the hand-written memory64.js (no wasm-bindgen for wasm64).
  const glue = variant === "memory64" ? path.join(path.dirname(dir), "memory64.js") : path.join(dir, "wasm_probe.js");
  mod = await import(pathToFileURL(glue).href);
  await mod.default({ module_or_path: readFileSync(path.join(dir, "wasm_probe_bg.wasm")) });
  mod.install_panic_hook();
  // `threads = N`: the pool's worker threads, started before the case (it waits for them).
  if (variant === "threads" && (spec.threads || 1) > 1) await startPool(mod, spec.threads, pathToFileURL(path.join(dir, "wasm_probe.js")).href);
  // A panic in the async workload traps in a microtask: the promise never settles and the trap
  // arrives as an uncaught exception instead. Race the two.
  const trap = new Promise((_, reject) => process.once("uncaughtException", reject));
  reply = JSON.parse(await Promise.race([mod.run_case(JSON.stringify(spec), () => performance.now(), undefined), trap]));
} catch (err) {
  reply = failure(mod, err);
}
const mem = process.memoryUsage();
reply.peak_rss_bytes = process.resourceUsage().maxRSS * 1024;
reply.rss_bytes_now = mem.rss;
process.stdout.write(JSON.stringify(reply) + "\n");
