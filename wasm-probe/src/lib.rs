//! gapbench's probe: the reference training workloads and the measurement loop, written once
//! and compiled both natively (for the harness) and to wasm (for browsers and Node.js).

pub mod backend;
pub mod data;
pub mod measure;
pub mod optim;
pub mod rng;
pub mod threads;
pub mod workload;

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm64")]
mod wasm64;
#[cfg(target_family = "wasm")]
mod wasm_host;

pub use measure::{CaseResult, CaseSpec};
pub use workload::{Workload, WorkloadSpec, catalog};
