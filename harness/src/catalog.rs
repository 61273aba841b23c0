//! What this build can run: workloads and their sizes (from the probe), targets, backends, meters.
//! Scenario validation and `gapbench list` both read it.

use crate::scenario::Catalog;
use crate::target::browser::engines::ENGINES;
use crate::target::page::{PAGE_TASK_SIZE, PAGE_TASKS, is_page_task};

/// A page task's one size.
fn page_task_size(workload: &str) -> Vec<String> {
    if is_page_task(workload) {
        vec![PAGE_TASK_SIZE.to_string()]
    } else {
        Vec::new()
    }
}

/// Every target but the browsers, native first; [`targets`] adds the browser engines after them.
pub const TARGETS: [(&str, &str); 6] = [
    (
        "native-ndarray",
        "burn + ndarray on the CPU, in a child process (1 thread)",
    ),
    (
        "native-flex",
        "burn + flex (burn's newer pure-Rust CPU backend), in a child process (1 thread)",
    ),
    (
        "native-wgpu",
        "burn + wgpu on the first adapter found (GPU, or lavapipe without one)",
    ),
    (
        "native-keras",
        "the same workloads in TensorFlow's Keras on the CPU, train_on_batch per step (1 thread; a peer, not the probe; needs Python with tensorflow, GAPBENCH_PYTHON picks it)",
    ),
    (
        "native-keras-fit",
        "the same in Keras's model.fit over the training data (1 thread; Keras's other path: the efficiency report takes the faster)",
    ),
    (
        "node",
        "the wasm probe in Node.js (the non-browser JS runtime)",
    ),
];

/// Every target with what it is: [`TARGETS`], then each browser engine (`target::browser::engines`).
pub fn targets() -> Vec<(&'static str, &'static str)> {
    TARGETS
        .iter()
        .copied()
        .chain(ENGINES.iter().map(|e| (e.name(), e.about())))
        .collect()
}

/// The catalog of this build.
pub struct BuildCatalog;

impl Catalog for BuildCatalog {
    fn workloads(&self) -> Vec<String> {
        wasm_probe::catalog()
            .iter()
            .map(|w| w.name.to_string())
            .chain(PAGE_TASKS.iter().map(|(w, _)| w.to_string()))
            .collect()
    }

    fn sizes(&self, workload: &str) -> Vec<String> {
        wasm_probe::catalog()
            .iter()
            .find(|w| w.name == workload)
            .map(|w| w.presets.iter().map(|p| p.name.to_string()).collect())
            .unwrap_or_else(|| page_task_size(workload))
    }

    fn default_size(&self, workload: &str) -> String {
        wasm_probe::catalog()
            .iter()
            .find(|w| w.name == workload)
            .map(|w| w.default_size.to_string())
            .or_else(|| page_task_size(workload).pop())
            .unwrap_or_default()
    }

    fn targets(&self) -> Vec<String> {
        targets().iter().map(|(t, _)| t.to_string()).collect()
    }

    fn backends(&self) -> Vec<String> {
        wasm_probe::backend::BACKENDS
            .iter()
            .copied()
            .chain(
                crate::target::peer::PEERS
                    .iter()
                    .flat_map(|p| p.backends.iter().map(|(b, _)| *b)),
            )
            .map(|b| b.to_string())
            .collect()
    }

    fn meters(&self) -> Vec<String> {
        crate::meter::CATALOG
            .iter()
            .map(|m| m.name.to_string())
            .collect()
    }
}
