//! One native training step of each workload (smallest size) on burn + ndarray and flex:
//! `cargo bench -p harness`. gapbench itself measures the same through `gapbench run`.

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
    for info in catalog() {
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

criterion_group!(benches, training_step);
criterion_main!(benches);
