//! The one edge where a backend is chosen: a name becomes an autodiff `Device`.
//! Models never name a backend; only this module does.

use burn::prelude::*;

/// The backends the probe can train on, by the names scenarios and records use.
pub const BACKENDS: [&str; 4] = ["ndarray", "flex", "wgpu", "webgpu"];

/// An initialized training device and a description of what runs it (e.g. the GPU adapter).
#[derive(Clone, Debug)]
pub struct Prepared {
    pub device: Device,
    pub description: String,
}

// ndarray is deprecated in burn 0.22 (gone in 0.23) but still what most burn users run today:
// reports show it beside flex, its successor.
#[allow(deprecated)]
fn cpu(backend: &str) -> Option<Device> {
    match backend {
        #[cfg(feature = "ndarray")]
        "ndarray" => Some(Device::ndarray()),
        #[cfg(feature = "flex")]
        "flex" => Some(Device::flex()),
        _ => None,
    }
}

/// "1 thread", "2 threads": what the pool runs (src/threads.rs).
fn threads_text() -> String {
    match crate::threads::running() {
        1 => "1 thread".into(),
        n => format!("{n} threads"),
    }
}

/// Why a backend cannot run here; `Err` means the case is skipped, not failed.
pub type Unavailable = String;

/// Prepare a device synchronously (native targets).
#[cfg(not(target_family = "wasm"))]
pub fn prepare(backend: &str) -> Result<Prepared, Unavailable> {
    if let Some(device) = cpu(backend) {
        return Ok(Prepared {
            device: device.autodiff(),
            description: format!("{backend} (cpu, {})", threads_text()),
        });
    }
    match backend {
        #[cfg(feature = "wgpu")]
        "wgpu" => native_wgpu(),
        other => Err(unknown(other)),
    }
}

fn unknown(backend: &str) -> String {
    if backend == "wgpu" {
        "backend `wgpu` is not compiled into this gapbench: build it with the `wgpu` feature \
         (cargo run --release -p harness --features wgpu -- ...)"
            .into()
    } else if BACKENDS.contains(&backend) {
        format!("backend `{backend}` is not compiled into this build")
    } else {
        format!(
            "unknown backend `{backend}` (expected one of: {})",
            BACKENDS.join(", ")
        )
    }
}

/// The wgpu runtime can be initialized once per process: keep the outcome.
#[cfg(all(feature = "wgpu", not(target_family = "wasm")))]
fn native_wgpu() -> Result<Prepared, Unavailable> {
    use std::sync::OnceLock;
    static WGPU: OnceLock<Result<Prepared, Unavailable>> = OnceLock::new();
    WGPU.get_or_init(|| {
        let attempt = std::panic::catch_unwind(|| Device::wgpu_options().init_with_setup());
        match attempt {
            Ok(Ok((device, setup))) => {
                let info = setup.adapter.get_info();
                Ok(Prepared {
                    device: device.autodiff(),
                    description: format!("{} ({:?}, {})", info.name, info.backend, info.driver),
                })
            }
            Ok(Err(e)) => Err(format!("no wgpu adapter: {e}")),
            Err(_) => Err("no wgpu adapter: wgpu initialization panicked".into()),
        }
    })
    .clone()
}

/// Prepare a device asynchronously (wasm: WebGPU initializes asynchronously in browsers).
pub async fn prepare_async(backend: &str) -> Result<Prepared, Unavailable> {
    if let Some(device) = cpu(backend) {
        // The relaxed-SIMD build says whether this engine's relaxed_madd fuses.
        let relaxed = match crate::workload::gemm::relaxed_madd_fuses() {
            Some(true) => "; relaxed SIMD, relaxed_madd fused",
            Some(false) => "; relaxed SIMD, relaxed_madd not fused",
            None => "",
        };
        return Ok(Prepared {
            device: device.autodiff(),
            description: format!("{backend} (cpu, {}{relaxed})", threads_text()),
        });
    }
    #[cfg(feature = "webgpu")]
    if backend == "webgpu" || backend == "wgpu" {
        return webgpu().await;
    }
    #[cfg(not(target_family = "wasm"))]
    {
        prepare(backend)
    }
    #[cfg(target_family = "wasm")]
    {
        Err(unknown(backend))
    }
}

/// burn's wgpu runtime on WebGPU, initialized asynchronously (browsers allow nothing else) and
/// once per instance: a second init of the same runtime is an error, so keep the outcome.
#[cfg(feature = "webgpu")]
async fn webgpu() -> Result<Prepared, Unavailable> {
    use std::cell::RefCell;
    thread_local! {
        static WEBGPU: RefCell<Option<Result<Prepared, Unavailable>>> = const { RefCell::new(None) };
    }
    if let Some(done) = WEBGPU.with(|w| w.borrow().clone()) {
        return done;
    }
    let outcome = match Device::wgpu_options().init_with_setup_async().await {
        Ok((device, setup)) => {
            let info = setup.adapter.get_info();
            let name = if info.name.is_empty() {
                "unnamed adapter"
            } else {
                info.name.as_str()
            };
            Ok(Prepared {
                device: device.autodiff(),
                description: format!("{name} ({:?}, {:?})", info.backend, info.device_type),
            })
        }
        Err(e) => Err(format!(
            "burn could not initialize WebGPU (no usable adapter): {e}"
        )),
    };
    WEBGPU.with(|w| *w.borrow_mut() = Some(outcome.clone()));
    outcome
}
