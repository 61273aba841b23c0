//! Trains one workload natively (burn + ndarray) for N steps and prints ms/step, for a profiler
//! (`perf record --call-graph dwarf`):
//! `cargo run --release -p wasm-probe --example profile_step -- mlp 30m 20`. A fourth argument
//! trains on a pool of that many threads (`--features threads`), as a case with `threads = N`.
//! gapbench's native cases run on mimalloc, which keeps freed memory; to see the same here on
//! glibc, set `GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295`.
use std::time::Instant;
use wasm_probe::workload::{Workload, WorkloadSpec};

#[allow(deprecated)]
fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let spec = WorkloadSpec {
        workload: a.first().cloned().unwrap_or("mlp".into()),
        size: a.get(1).cloned().unwrap_or("30m".into()),
        classes: None,
        samples_per_class: None,
    };
    let steps: usize = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let threads: Option<u32> = a.get(3).and_then(|s| s.parse().ok());
    wasm_probe::threads::start_native(threads).expect("the pool");
    let workload = Workload::resolve(&spec).expect("workload");
    let device = burn::prelude::Device::ndarray().autodiff();
    let mut t = workload.build(&device, 42);
    t.step().into_data();
    let start = Instant::now();
    for _ in 0..steps {
        t.step().into_data();
    }
    let s = start.elapsed().as_secs_f64() / steps as f64;
    println!(
        "{} {} on {} thread(s): {:.1} ms/step, {:.1} GFLOP/s",
        spec.workload,
        spec.size,
        wasm_probe::threads::running(),
        s * 1e3,
        workload.flops_per_step() as f64 / s / 1e9
    );
}
