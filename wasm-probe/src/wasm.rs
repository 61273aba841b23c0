//! The wasm-bindgen surface of the probe: JS hands in a case as JSON plus a clock and a
//! yield function, and gets the raw result back as JSON. Panics, and allocations that failed, are
//! kept for JS to read.

use crate::measure::Host;
use crate::wasm_host;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Keep a panic's message: after the trap (`RuntimeError: unreachable`) JS asks for it.
#[wasm_bindgen]
pub fn install_panic_hook() {
    wasm_host::install_panic_hook();
}

/// The panic message, or else a failed allocation (with the memory's size then).
#[wasm_bindgen]
pub fn last_panic() -> Option<String> {
    wasm_host::last_panic().or_else(|| {
        wasm_host::failed_allocation().map(|size| {
            let pages = core::arch::wasm32::memory_size::<0>();
            format!(
                "memory allocation of {size} bytes failed (wasm memory {} MiB)",
                pages * 65536 / 1048576
            )
        })
    })
}

/// Whether this module was compiled with SIMD128.
#[wasm_bindgen]
pub fn simd() -> bool {
    cfg!(target_feature = "simd128")
}

/// The workload catalog, as JSON.
#[wasm_bindgen]
pub fn catalog_json() -> String {
    serde_json::to_string(&crate::workload::catalog()).unwrap_or_default()
}

struct JsHost {
    now: js_sys::Function,
    yield_fn: Option<js_sys::Function>,
}

impl Host for JsHost {
    fn now_ms(&self) -> f64 {
        self.now
            .call0(&JsValue::NULL)
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(f64::NAN)
    }

    async fn between_steps(&self) {
        if let Some(f) = &self.yield_fn {
            if let Ok(p) = f.call0(&JsValue::NULL) {
                let _ = JsFuture::from(js_sys::Promise::resolve(&p)).await;
            }
        }
    }
}

/// Run one case. Resolves to `{"status": "ok"|"skipped"|"failed", "message"?, "result"?}`.
#[wasm_bindgen]
pub async fn run_case(spec_json: String, now: js_sys::Function, yield_fn: JsValue) -> String {
    wasm_host::case_reply(&spec_json, || JsHost {
        now,
        yield_fn: yield_fn.dyn_into::<js_sys::Function>().ok(),
    })
    .await
}
