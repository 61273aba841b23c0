#!/bin/sh
# Build the checker for wasm32 with SIMD128 and with relaxed SIMD, and run both in Node.js
# (Node 20 needs --experimental-wasm-relaxed-simd for the second; newer Node has it on).
set -e
cd "$(dirname "$0")"
T="${CARGO_TARGET_DIR:-target}/mm-check"
for build in simd128 relaxed; do
  flags="-C target-feature=+simd128"
  [ "$build" = relaxed ] && flags="$flags --cfg gapbench_relaxed_simd"
  CARGO_TARGET_DIR="$T-$build" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$flags" \
    cargo build --quiet --release --target wasm32-unknown-unknown
  wasm="$T-$build/wasm32-unknown-unknown/release/mm_check.wasm"
  node --experimental-wasm-relaxed-simd -e '
    const fs = require("fs");
    const bytes = fs.readFileSync(process.argv[1]);
    WebAssembly.instantiate(bytes).then(({ instance: { exports: e } }) => {
      const off = e.check();
      console.log(`${process.argv[2]}: ${e.shapes()} shapes, ${e.entries()} entries, ${off} off`);
      process.exit(off === 0 ? 0 : 1);
    });' "$wasm" "$build"
done
