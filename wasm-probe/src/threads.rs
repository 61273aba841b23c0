//! The probe's worker pool: `threads = N` in a scenario trains with N threads, natively and in
//! the `threads` wasm build (shared memory, `+atomics`; harness/src/bundle.rs).
//!
//! The pool is rayon's global pool. What runs on it: the matrix products, split by rows or
//! column panels of C in vendor/matrixmultiply (GAPBENCH.md, "Threads"), and the fused Adam
//! ([`zip4`], wasm-probe/src/optim.rs). Everything else in a step stays on the case's thread,
//! which waits while the pool works. Both split the work so that every number is computed
//! exactly as on one thread: results are bit for bit those of the single-threaded build.
//!
//! Natively the pool's threads are OS threads ([`start_native`]). In wasm each is a Web Worker
//! (or a Node.js worker thread) that instantiates the same module on the same shared
//! `WebAssembly.Memory` and calls [`pool_worker`]; the JS side (wasm-probe/js/pool.js) starts
//! them, waits until each has loaded, then calls [`pool_build`], whose spawn handler hands each
//! waiting worker one rayon thread to run. It is the approach of the wasm-bindgen-rayon crate,
//! for Node.js's worker threads too.

/// The number of threads training runs on: the pool's size, read back from rayon, or 1 when
/// no pool was started.
pub fn running() -> u32 {
    #[cfg(feature = "threads")]
    if STARTED.load(std::sync::atomic::Ordering::Relaxed) {
        return rayon::current_num_threads() as u32;
    }
    1
}

#[cfg(feature = "threads")]
static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Split work over the pool from now on (the pool has `n` threads).
#[cfg(feature = "threads")]
fn use_pool(n: usize) {
    matrixmultiply::set_threads(n);
    STARTED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Arrays of at least this many elements are split across the pool by [`zip4`]; below, a
/// thread's wake-up costs more than the loop.
pub const MIN_SPLIT_ELEMENTS: usize = 1 << 15;

/// Run `f` over `p`, `g`, `m`, `v` (the same length), as one call on one thread, or in as many
/// contiguous chunks as the pool has threads, one per thread. `f` must treat elements
/// independently (it sees one chunk at a time).
pub fn zip4<F>(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], f: F)
where
    F: Fn(&mut [f32], &[f32], &mut [f32], &mut [f32]) + Sync,
{
    #[cfg(feature = "threads")]
    {
        let t = matrixmultiply::threads();
        if t > 1 && p.len() >= MIN_SPLIT_ELEMENTS {
            let chunk = p.len().div_ceil(t);
            let f = &f;
            rayon::scope(|s| {
                let parts = p
                    .chunks_mut(chunk)
                    .zip(g.chunks(chunk))
                    .zip(m.chunks_mut(chunk))
                    .zip(v.chunks_mut(chunk));
                for (((p, g), m), v) in parts {
                    s.spawn(move |_| f(p, g, m, v));
                }
            });
            return;
        }
    }
    f(p, g, m, v)
}

/// Start a pool of `n` OS threads for this process (a native case runs in a process of its own).
/// `None` or 1: no pool, training stays on the calling thread.
#[cfg(not(target_family = "wasm"))]
pub fn start_native(n: Option<u32>) -> Result<(), String> {
    let n = n.unwrap_or(1) as usize;
    if n <= 1 {
        return Ok(());
    }
    #[cfg(feature = "threads")]
    {
        let built = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("gapbench-pool-{i}"))
            .build_global();
        if let Err(e) = built {
            // A process has one global pool: a later case asking for the same count reuses it.
            let same = STARTED.load(std::sync::atomic::Ordering::Relaxed)
                && rayon::current_num_threads() == n;
            if !same {
                return Err(format!("cannot start a pool of {n} threads: {e}"));
            }
        }
        use_pool(n);
        Ok(())
    }
    #[cfg(not(feature = "threads"))]
    Err(format!(
        "threads = {n}: this build of the probe has no pool (wasm-probe's `threads` feature)"
    ))
}

/// Why a case asking for `wanted` threads cannot run as asked, if it cannot.
pub fn check(wanted: Option<u32>) -> Result<(), String> {
    let wanted = wanted.unwrap_or(1);
    let ran = running();
    if wanted == ran {
        return Ok(());
    }
    if cfg!(all(target_family = "wasm", not(feature = "threads"))) {
        return Err(format!(
            "threads = {wanted}: this probe build is single-threaded (the `threads` build has the pool)"
        ));
    }
    Err(format!(
        "threads = {wanted} but the pool runs {ran} (it was not started for this case)"
    ))
}

#[cfg(all(target_family = "wasm", feature = "threads"))]
mod web {
    use std::sync::{Condvar, Mutex};
    use wasm_bindgen::prelude::*;

    /// rayon threads waiting for a worker to run them, and the signal that one arrived.
    static QUEUE: Mutex<Vec<rayon::ThreadBuilder>> = Mutex::new(Vec::new());
    static ARRIVED: Condvar = Condvar::new();

    /// This module, for the pool's workers to instantiate.
    #[wasm_bindgen]
    pub fn pool_module() -> JsValue {
        wasm_bindgen::module()
    }

    /// The shared memory, for the pool's workers to instantiate the module on.
    #[wasm_bindgen]
    pub fn pool_memory() -> JsValue {
        wasm_bindgen::memory()
    }

    /// Run in a pool worker once the module is instantiated there: wait (blocking the worker,
    /// `Atomics.wait`) for a rayon thread from [`pool_build`], then run it until the pool ends.
    #[wasm_bindgen]
    pub fn pool_worker() {
        let thread = {
            let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(t) = queue.pop() {
                    break t;
                }
                queue = ARRIVED.wait(queue).unwrap_or_else(|e| e.into_inner());
            }
        };
        thread.run();
    }

    /// Build rayon's global pool of `n` threads, each run by a worker waiting in
    /// [`pool_worker`] (JS starts them first). Returns the pool's size as rayon reports it.
    /// Blocks until every thread runs: call it from a worker or Node.js, not a page's main thread.
    #[wasm_bindgen]
    pub fn pool_build(n: usize) -> Result<usize, String> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .spawn_handler(|thread| {
                QUEUE.lock().unwrap_or_else(|e| e.into_inner()).push(thread);
                ARRIVED.notify_all();
                Ok(())
            })
            .build_global()
            .map_err(|e| format!("cannot start a pool of {n} threads: {e}"))?;
        super::use_pool(n);
        Ok(rayon::current_num_threads())
    }
}
