//! What this build can run: workloads and their sizes (from the probe), targets, backends, meters.
//! Scenario validation and `gapbench list` both read it.

use crate::scenario::Catalog;

/// Every target, native first.
pub const TARGETS: [(&str, &str); 7] = [
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
        "node",
        "the wasm probe in Node.js (the non-browser JS runtime)",
    ),
    ("chromium", "the wasm probe in Chromium over chromedriver"),
    ("firefox", "the wasm probe in Firefox over geckodriver"),
    (
        "webkit",
        "the wasm probe in WebKitGTK's MiniBrowser over WebKitWebDriver, under Xvfb",
    ),
];

/// Meters a scenario can ask for.
pub const METERS: [(&str, &str); 1] = [(
    "throughput",
    "step time, samples/s, GFLOP/s, cold start, loss and validation accuracy",
)];

/// The catalog of this build.
pub struct BuildCatalog;

impl Catalog for BuildCatalog {
    fn workloads(&self) -> Vec<String> {
        wasm_probe::catalog()
            .iter()
            .map(|w| w.name.to_string())
            .collect()
    }

    fn sizes(&self, workload: &str) -> Vec<String> {
        wasm_probe::catalog()
            .iter()
            .find(|w| w.name == workload)
            .map(|w| w.presets.iter().map(|p| p.name.to_string()).collect())
            .unwrap_or_default()
    }

    fn default_size(&self, workload: &str) -> String {
        wasm_probe::catalog()
            .iter()
            .find(|w| w.name == workload)
            .map(|w| w.default_size.to_string())
            .unwrap_or_default()
    }

    fn targets(&self) -> Vec<String> {
        TARGETS.iter().map(|(t, _)| t.to_string()).collect()
    }

    fn backends(&self) -> Vec<String> {
        wasm_probe::backend::BACKENDS
            .iter()
            .map(|b| b.to_string())
            .collect()
    }

    fn meters(&self) -> Vec<String> {
        METERS.iter().map(|(m, _)| m.to_string()).collect()
    }
}
