//! The wasm-bindgen surface of the probe: JS hands in a case as JSON plus a clock and a
//! yield function, and gets the raw result back as JSON. Panics are kept for JS to read.

use crate::measure::{CaseSpec, Host, run_case as run};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keep a panic's message: after the trap (`RuntimeError: unreachable`) JS asks for it.
#[wasm_bindgen]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(msg));
    }));
}

#[wasm_bindgen]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
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
    let reply = match serde_json::from_str::<CaseSpec>(&spec_json) {
        Err(e) => serde_json::json!({"status": "failed", "message": format!("bad case JSON: {e}")}),
        Ok(spec) => match crate::backend::prepare_async(&spec.backend).await {
            Err(why) => serde_json::json!({"status": "skipped", "message": why}),
            Ok(prepared) => {
                let host = JsHost {
                    now,
                    yield_fn: yield_fn.dyn_into::<js_sys::Function>().ok(),
                };
                match run(&spec, &prepared, &host).await {
                    Ok(result) => serde_json::json!({"status": "ok", "result": result}),
                    Err(msg) => serde_json::json!({"status": "failed", "message": msg}),
                }
            }
        },
    };
    reply.to_string()
}
