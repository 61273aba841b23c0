// gapbench's Node.js target: reads one case (JSON) on stdin, runs it with the same wasm probe
// the browsers run, and prints the probe's JSON reply as the last line of stdout.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { failure } from "./probe.js";

const bundleDir = process.argv[2];
if (!bundleDir) {
  console.error("usage: node node-runner.mjs <bundle-dir>  (case JSON on stdin)");
  process.exit(2);
}
const input = readFileSync(0, "utf8");
const spec = JSON.parse(input);
const variant = spec.simd === false ? "nosimd" : "simd";
const dir = path.resolve(bundleDir, variant);
let mod = null;
let reply;
try {
  mod = await import(pathToFileURL(path.join(dir, "wasm_probe.js")).href);
  await mod.default({ module_or_path: readFileSync(path.join(dir, "wasm_probe_bg.wasm")) });
  mod.install_panic_hook();
  reply = JSON.parse(await mod.run_case(JSON.stringify(spec), () => performance.now(), undefined));
} catch (err) {
  reply = failure(mod, err);
}
const mem = process.memoryUsage();
reply.peak_rss_bytes = process.resourceUsage().maxRSS * 1024;
reply.rss_bytes_now = mem.rss;
process.stdout.write(JSON.stringify(reply) + "\n");
