// Independent cross-check of gapbench's ONNX Runtime Web training peer (outside gapbench's code
// path: nothing here comes from wasm-probe/ or harness/). Serves a bare page with onnxruntime-web's
// training build (node_modules) and the tm-image artifacts (ort-artifacts/, made by .ci/setup),
// opens it in headless Chromium, and times the training loop the way ORT's web training docs and
// examples write it: TrainingSession.create from the artifacts' URLs, then per batch
// runTrainStep(feeds), runOptimizerStep(), lazyResetGrad(), one thread (env.wasm.numThreads = 1),
// performance.now() around the step (which copies its batch of 16 out of the samples' one array).
// Its own data: one Gaussian blob per class, 765 samples.
//
//   node tests/peers/ortweb_check.mjs [warmup] [steps]     (from the repository root)
//
// Prints one JSON line: {"library":"onnxruntime-web","version":...,"median_ms":...,"step_ms":[...]}.
import http from "node:http";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";

const warmup = Number(process.argv[2] ?? 5);
const steps = Number(process.argv[3] ?? 40);
const root = process.cwd();
const dist = path.join(root, "node_modules/onnxruntime-web/dist");
const artifacts = path.join(root, "ort-artifacts/tm-image");
const version = JSON.parse(readFileSync(path.join(root, "node_modules/onnxruntime-web/package.json"), "utf8")).version;

const page = `<!doctype html><meta charset="utf-8"><script type="module">
import * as ort from "/ort/ort.training.wasm.min.mjs";
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = "/ort/";
const warmup = ${warmup}, steps = ${steps}, B = 16, F = 1280, C = 3;
let s = 12345;
const uni = () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return ((s >>> 0) + 0.5) / 4294967296; };
const normal = () => Math.sqrt(-2 * Math.log(uni())) * Math.cos(2 * Math.PI * uni());
const centers = Array.from({ length: C }, () => Float32Array.from({ length: F }, () => normal() * 0.15));
const session = await ort.TrainingSession.create({
  checkpointState: "/art/checkpoint", trainModel: "/art/training_model.onnx",
  evalModel: "/art/eval_model.onnx", optimizerModel: "/art/optimizer_model.onnx",
});
const N = 765, data = new Float32Array(N * F), labels = new Int32Array(N);
for (let i = 0; i < N; i++) {
  labels[i] = i % C;
  for (let k = 0; k < F; k++) data[i * F + k] = Math.max(0, centers[i % C][k] + normal());
}
const times = [];
for (let t = 0; t < warmup + steps; t++) {
  const start = performance.now();
  const x = new Float32Array(B * F), y = new BigInt64Array(B);
  for (let i = 0; i < B; i++) {
    const row = Math.floor(uni() * N);
    x.set(data.subarray(row * F, (row + 1) * F), i * F);
    y[i] = BigInt(labels[row]);
  }
  const out = await session.runTrainStep({ input: new ort.Tensor("float32", x, [B, F]), labels: new ort.Tensor("int64", y, [B]) });
  await session.runOptimizerStep();
  await session.lazyResetGrad();
  const loss = out[session.trainingOutputNames[0]].data[0];
  const ms = performance.now() - start;
  if (!Number.isFinite(loss)) throw new Error("loss " + loss);
  if (t >= warmup) times.push(ms);
}
await fetch("/result", { method: "POST", body: JSON.stringify(times) });
</script>`;

const types = { ".mjs": "text/javascript", ".wasm": "application/wasm" };
let done;
const result = new Promise((resolve) => { done = resolve; });
const server = http.createServer((req, res) => {
  // Cross-origin isolated, as a page that wants fine timers (and threads) is.
  res.setHeader("cross-origin-opener-policy", "same-origin");
  res.setHeader("cross-origin-embedder-policy", "require-corp");
  if (req.method === "POST") {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => { res.end("ok"); done(JSON.parse(body)); });
    return;
  }
  try {
    let file = null;
    if (req.url === "/") { res.setHeader("content-type", "text/html"); res.end(page); return; }
    if (req.url.startsWith("/ort/")) file = path.join(dist, path.basename(req.url));
    if (req.url.startsWith("/art/")) file = path.join(artifacts, path.basename(req.url));
    const body = readFileSync(file);
    res.setHeader("content-type", types[path.extname(file)] || "application/octet-stream");
    res.end(body);
  } catch {
    res.statusCode = 404;
    res.end();
  }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const profile = mkdtempSync(path.join(tmpdir(), "ortweb-check-"));
const browser = spawn(process.env.CHROMIUM || "chromium", [
  "--headless=new", "--no-sandbox", "--no-first-run", `--user-data-dir=${profile}`,
  `http://127.0.0.1:${server.address().port}/`,
], { stdio: "ignore" });
const timer = setTimeout(() => { console.error("no result within 120 s"); browser.kill("SIGKILL"); process.exit(1); }, 120000);
const times = await result;
clearTimeout(timer);
const exited = new Promise((r) => browser.once("exit", r));
browser.kill("SIGKILL");
await exited;
server.close();
try { rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }); } catch { /* a child still writing: left in tmp */ }
const sorted = [...times].sort((a, b) => a - b);
const n = sorted.length;
const median = n % 2 ? sorted[n >> 1] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
console.log(JSON.stringify({ library: "onnxruntime-web", version, engine: "chromium", median_ms: median, step_ms: times }));
process.exit(0);
