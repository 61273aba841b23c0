//! Native criterion benches, `cargo bench --workspace`:
//! - `training_step`: one training step of each training workload (smallest size) on burn +
//!   ndarray and flex;
//! - `gemm`: the GEMM kernel alone — every `gemm` preset (C = A·B at the workloads' shapes, and
//!   A transposed) on both backends, and `peak`, the 4-lane multiply-add limit.
//!
//! gapbench itself measures the same through `gapbench run` (in browsers too, see
//! `scenarios/efficiency.toml`).

use burn::prelude::Device;
use criterion::{Criterion, criterion_group, criterion_main};
use wasm_probe::workload::{Workload, WorkloadSpec, catalog};

#[allow(deprecated)]
fn devices() -> Vec<(&'static str, Device)> {
    vec![
        ("ndarray", Device::ndarray().autodiff()),
        ("flex", Device::flex().autodiff()),
    ]
}

fn training_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("training_step");
    group.sample_size(20);
    for info in catalog().into_iter().filter(|w| w.name != "gemm") {
        let spec = WorkloadSpec {
            workload: info.name.into(),
            size: info.presets[0].name.into(),
            classes: None,
            samples_per_class: None,
        };
        let workload = Workload::resolve(&spec).expect("catalog workloads resolve");
        for (backend, device) in devices() {
            let mut trainer = workload.build(&device, 42);
            group.bench_function(
                format!("{}/{}/{backend}", info.name, info.presets[0].name),
                |b| {
                    // Reading the loss back waits for the step to finish.
                    b.iter(|| trainer.step().into_data())
                },
            );
        }
    }
    group.finish();
}

fn gemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    group.sample_size(20);
    let info = catalog()
        .into_iter()
        .find(|w| w.name == "gemm")
        .expect("the gemm workload");
    for preset in &info.presets {
        let spec = WorkloadSpec {
            workload: "gemm".into(),
            size: preset.name.into(),
            classes: None,
            samples_per_class: None,
        };
        let workload = Workload::resolve(&spec).expect("gemm presets resolve");
        group.throughput(criterion::Throughput::Elements(workload.flops_per_step()));
        let devices = if preset.name == "peak" {
            devices().into_iter().take(1).collect()
        } else {
            devices()
        };
        for (backend, device) in devices {
            let mut kernel = workload.build(&device, 42);
            let name = if preset.name == "peak" {
                "peak".to_string()
            } else {
                format!("{}/{backend}", preset.name)
            };
            // Elements/s in criterion's output are FLOP/s here.
            group.bench_function(name, |b| b.iter(|| kernel.step().into_data()));
        }
    }
    group.finish();
}

criterion_group!(benches, training_step, gemm);
criterion_main!(benches);
