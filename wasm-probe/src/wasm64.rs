//! The memory64 probe build's surface (`wasm64-unknown-unknown`, harness/src/bundle.rs variant
//! `memory64`). wasm-bindgen has no wasm64 support (wasm-bindgen issue #4436), so this is a plain
//! C ABI that `js/memory64.js` drives by hand, in the shape of the wasm32 build's bindings:
//! JS hands in a case as JSON, polls the same measurement loop (`measure::run_case`) until it is
//! done, yielding to its event loop between steps where the context asks, and reads the JSON
//! reply. Imports (module `env`): `now_ms() -> f64` (`performance.now()`) and
//! `random_fill(ptr, len)` (`crypto.getRandomValues`, getrandom's custom backend: burn's RNG
//! seeds from it; the probe's weights and data come from its own seeded generator).
//! Pointers and lengths are i64 (BigInt in JS).

use crate::measure::Host;
use crate::wasm_host;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

unsafe extern "C" {
    fn now_ms() -> f64;
    fn random_fill(ptr: *mut u8, len: usize);
}

/// getrandom 0.4's custom backend (built with `--cfg getrandom_backend="custom"`).
///
/// # Safety
/// `dest` must be valid for `len` bytes of writes (getrandom's contract).
#[unsafe(no_mangle)]
unsafe extern "Rust" fn __getrandom_v03_custom(
    dest: *mut u8,
    len: usize,
) -> Result<(), getrandom04::Error> {
    unsafe { random_fill(dest, len) };
    Ok(())
}

type Running = Pin<Box<dyn Future<Output = String>>>;

thread_local! {
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
    static REPLY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Put `text` where [`gb_reply_ptr`] points; returns its length.
fn reply(text: String) -> usize {
    REPLY.with(|r| {
        *r.borrow_mut() = text.into_bytes();
        r.borrow().len()
    })
}

/// Keep a panic's message: after the trap JS asks for it ([`gb_last_panic`]).
#[unsafe(no_mangle)]
pub extern "C" fn gb_install_panic_hook() {
    wasm_host::install_panic_hook();
}

/// The panic message, or else a failed allocation, as the reply; 0 when there is neither. JS
/// adds the memory's size (it reads `memory.buffer.byteLength`).
#[unsafe(no_mangle)]
pub extern "C" fn gb_last_panic() -> usize {
    let said = wasm_host::last_panic().or_else(|| {
        wasm_host::failed_allocation()
            .map(|size| format!("memory allocation of {size} bytes failed"))
    });
    said.map_or(0, reply)
}

/// `len` bytes JS may write the case JSON into (freed by [`gb_start`]).
#[unsafe(no_mangle)]
pub extern "C" fn gb_input(len: usize) -> *mut u8 {
    let mut v = vec![0u8; len].into_boxed_slice();
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Where the last reply is (valid until the next call).
#[unsafe(no_mangle)]
pub extern "C" fn gb_reply_ptr() -> *const u8 {
    REPLY.with(|r| r.borrow().as_ptr())
}

/// Whether this module was compiled with SIMD128.
#[unsafe(no_mangle)]
pub extern "C" fn gb_simd() -> i32 {
    i32::from(cfg!(target_feature = "simd128"))
}

struct ImportedClock;

/// Pending once, then ready: the loop returns to JS between steps ([`gb_poll`] says 0).
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

impl Host for ImportedClock {
    fn now_ms(&self) -> f64 {
        // SAFETY: an import without arguments or memory access.
        unsafe { now_ms() }
    }

    fn between_steps(&self) -> impl Future<Output = ()> {
        YieldOnce(false)
    }
}

async fn case(spec_json: String) -> String {
    wasm_host::case_reply(&spec_json, || ImportedClock).await
}

/// Start the case whose JSON JS wrote at `ptr` ([`gb_input`], `len` bytes); [`gb_poll`] runs it.
///
/// # Safety
/// `ptr` must come from `gb_input(len)` and is consumed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gb_start(ptr: *mut u8, len: usize) {
    // SAFETY: `gb_input` leaked exactly this boxed slice.
    let bytes = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) };
    let json = String::from_utf8_lossy(&bytes).into_owned();
    RUNNING.with(|r| *r.borrow_mut() = Some(Box::pin(case(json))));
}

/// Run the started case up to its next step boundary: 0 while it goes on (JS yields, then calls
/// again), else the length of its JSON reply ([`gb_reply_ptr`]).
#[unsafe(no_mangle)]
pub extern "C" fn gb_poll() -> usize {
    let Some(mut fut) = RUNNING.with(|r| r.borrow_mut().take()) else {
        return reply(r#"{"status":"failed","message":"gb_poll: no case started"}"#.into());
    };
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(text) => reply(text),
        Poll::Pending => {
            RUNNING.with(|r| *r.borrow_mut() = Some(fut));
            0
        }
    }
}
