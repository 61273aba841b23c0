//! The wasm-bindgen surface of the probe: JS hands in a case as JSON plus a clock and a
//! yield function, and gets the raw result back as JSON. Panics, and allocations that failed, are
//! kept for JS to read.

use crate::measure::{CaseSpec, Host, run_case as run};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The panic message, or else a failed allocation: Rust aborts on those without a panic (the
/// trap is a bare `RuntimeError: unreachable`), so the allocator below keeps what it could not do.
#[wasm_bindgen]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone()).or_else(|| {
        let size = FAILED_ALLOC.load(Ordering::Relaxed);
        (size > 0).then(|| {
            let pages = core::arch::wasm32::memory_size::<0>();
            format!(
                "memory allocation of {size} bytes failed (wasm memory {} MiB)",
                pages * 65536 / 1048576
            )
        })
    })
}

static FAILED_ALLOC: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, remembering the size of the last allocation it could not make.
struct Remembering;

// SAFETY: every call forwards to `System` unchanged; only a null result is noted.
unsafe impl GlobalAlloc for Remembering {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            FAILED_ALLOC.store(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            FAILED_ALLOC.store(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            FAILED_ALLOC.store(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Remembering = Remembering;

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
