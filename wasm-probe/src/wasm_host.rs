//! What the probe's two wasm surfaces share: the wasm-bindgen one for wasm32 (`wasm.rs`) and the
//! C ABI one for wasm64 (`wasm64.rs`, memory64). Each brings its own clock and way to yield; the
//! panic message, the allocation that failed and the case's JSON reply are kept here once.

use crate::measure::{CaseSpec, Host, run_case};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keep a panic's message: after the trap (`RuntimeError: unreachable`) JS asks for it.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(msg));
    }));
}

/// The last panic's message on this thread, if one was kept.
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// The size of the last allocation that failed, if one did: Rust aborts on those without a
/// panic (the trap is a bare `RuntimeError: unreachable`), so the allocator keeps it.
pub fn failed_allocation() -> Option<usize> {
    let size = FAILED_ALLOC.load(Ordering::Relaxed);
    (size > 0).then_some(size)
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

/// Run the case `spec_json` describes on the host `host` makes (once the backend is ready):
/// `{"status": "ok"|"skipped"|"failed", "message"?, "result"?}`.
pub async fn case_reply<H: Host>(spec_json: &str, host: impl FnOnce() -> H) -> String {
    let reply = match serde_json::from_str::<CaseSpec>(spec_json) {
        Err(e) => serde_json::json!({"status": "failed", "message": format!("bad case JSON: {e}")}),
        Ok(spec) => match crate::backend::prepare_async(&spec.backend).await {
            Err(why) => serde_json::json!({"status": "skipped", "message": why}),
            Ok(prepared) => match run_case(&spec, &prepared, &host()).await {
                Ok(result) => serde_json::json!({"status": "ok", "result": result}),
                Err(msg) => serde_json::json!({"status": "failed", "message": msg}),
            },
        },
    };
    reply.to_string()
}
