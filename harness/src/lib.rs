//! gapbench: measures how far machine-learning training inside web browsers lags native training,
//! and why. Scenario -> plan of cases -> target -> records -> report; each stage is one module.

pub mod ab;
pub mod bundle;
pub mod catalog;
pub mod ceiling;
pub mod cgroup;
pub mod cli;
pub mod compare;
pub mod doctor;
pub mod error;
pub mod estimate;
pub mod interrupt;
pub mod manifest;
pub mod meter;
pub mod plan;
pub mod power;
pub mod proc;
pub mod record;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod server;
pub mod stats;
pub mod target;

/// glibc's malloc hands large buffers back to the OS on every free (mmap/munmap churn), which
/// made a 33M-parameter native step 2.5x slower; mimalloc keeps them. Recorded in every manifest.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator named in manifests.
pub const ALLOCATOR: &str =
    "mimalloc 0.1 (global allocator of gapbench and its native case processes)";
