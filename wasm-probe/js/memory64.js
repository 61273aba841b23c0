// gapbench's loader for the memory64 probe build (wasm64-unknown-unknown, harness/src/bundle.rs
// variant `memory64`): wasm-bindgen cannot bind wasm64 (wasm-bindgen issue #4436), so this
// hand-written glue drives the probe's C ABI (wasm-probe/src/wasm64.rs) and offers what the
// wasm32 builds' bindings offer (default init, install_panic_hook, last_panic, run_case), so
// probe.js and node-runner.mjs load it like any build. Pointers and lengths are i64: BigInt here.

let inst = null;
let now = () => performance.now();

const bytes = (ptr, len) => new Uint8Array(inst.exports.memory.buffer, Number(ptr), Number(len));

function randomFill(ptr, len) {
  const out = bytes(ptr, len);
  // getRandomValues fills at most 65536 bytes a call, and not views of a growable buffer in
  // every engine: fill a copy and move it in.
  for (let at = 0; at < out.length; at += 65536) {
    const part = new Uint8Array(Math.min(65536, out.length - at));
    globalThis.crypto.getRandomValues(part);
    out.set(part, at);
  }
}

// Instantiate the module (`module_or_path`: a URL, a Response, bytes or a compiled module).
// Returns its exports (`memory` included, for the memory meter).
export default async function init(options) {
  let src = options && options.module_or_path !== undefined ? options.module_or_path : options;
  if (typeof src === "string" || src instanceof URL) src = await fetch(src);
  if (typeof Response !== "undefined" && src instanceof Response) src = await src.arrayBuffer();
  const module = src instanceof WebAssembly.Module ? src : await WebAssembly.compile(src);
  const imports = { env: { now_ms: () => now(), random_fill: randomFill } };
  // burn's dependencies link wasm-bindgen's runtime (js-sys through cubecl-environment), whose
  // imports nothing binds here: training never calls them; if one is called, it says so.
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function" || (imports[imp.module] && imports[imp.module][imp.name])) continue;
    imports[imp.module] = imports[imp.module] || {};
    imports[imp.module][imp.name] = () => {
      throw new Error(`the memory64 build called ${imp.module}.${imp.name}, which has no glue without wasm-bindgen`);
    };
  }
  inst = await WebAssembly.instantiate(module, imports);
  return inst.exports;
}

const text = (len) => new TextDecoder().decode(bytes(inst.exports.gb_reply_ptr(), len).slice());

export function install_panic_hook() {
  inst.exports.gb_install_panic_hook();
}

// The panic message or the failed allocation Rust left, with the memory's size; null if none.
export function last_panic() {
  const len = inst.exports.gb_last_panic();
  if (len === 0n) return null;
  const said = text(len);
  if (!said.startsWith("memory allocation of ")) return said;
  return `${said} (wasm memory ${(inst.exports.memory.buffer.byteLength / 1048576).toFixed(0)} MiB)`;
}

export function simd() {
  return inst.exports.gb_simd() === 1;
}

// Run one case: its JSON in, the probe's JSON reply out. Between steps the probe returns here;
// `between` (the context's yielder, or undefined) is awaited before the next step.
export async function run_case(specJson, clock, between) {
  now = clock;
  const input = new TextEncoder().encode(specJson);
  const ptr = inst.exports.gb_input(BigInt(input.length));
  bytes(ptr, input.length).set(input);
  inst.exports.gb_start(ptr, BigInt(input.length));
  for (;;) {
    const len = inst.exports.gb_poll();
    if (len !== 0n) return text(len);
    if (between) await between();
  }
}
