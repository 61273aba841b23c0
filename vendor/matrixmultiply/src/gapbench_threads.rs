// gapbench: one product split across a rayon pool (GAPBENCH.md, "Threads").
//
// C is cut into `threads` contiguous parts along its longer side, columns (B, C) or rows (A, C),
// at multiples of the kernel's NR or MR, and each part is an ordinary single-threaded
// `gemm_loop` on its own thread. Every element of C is still computed by the same kernel tile
// over the same depth blocks (kc) in the same order, so the result is bit for bit the one
// thread's. Off (1 thread) unless the program calls `set_threads`.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::kernel::GemmKernel;
use crate::ptr::Ptr;
use crate::util::round_up_to;
use rawpointer::PointerExt;

static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Products smaller than this many multiply-adds stay on the calling thread: handing a part to
/// another thread costs a few microseconds (a wake-up), more than such a product takes.
pub const MIN_SPLIT_MACS: usize = 1 << 16;

/// Split every product of at least [`MIN_SPLIT_MACS`] over `n` threads of the current rayon pool
/// (the global one unless called inside `ThreadPool::install`); 1 (the default) splits nothing.
/// The caller makes sure the pool has `n` threads.
pub fn set_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// The number of parts a large product is split into.
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// Run the product in parts when it is worth it; false when it should run as one.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn split<K: GemmKernel>(
    m: usize, k: usize, n: usize,
    alpha: K::Elem,
    a: *const K::Elem, rsa: isize, csa: isize,
    b: *const K::Elem, rsb: isize, csb: isize,
    beta: K::Elem,
    c: *mut K::Elem, rsc: isize, csc: isize,
    run: unsafe fn(usize, usize, usize, K::Elem, *const K::Elem, isize, isize,
                   *const K::Elem, isize, isize, K::Elem, *mut K::Elem, isize, isize),
) -> bool {
    let t = threads();
    if t <= 1 || m.saturating_mul(k).saturating_mul(n) < MIN_SPLIT_MACS {
        return false;
    }
    // Along the longer side of C, in whole kernel tiles.
    let (len, unit) = if n >= m { (n, K::NR) } else { (m, K::MR) };
    let part = round_up_to(len.div_ceil(t), unit);
    if part >= len {
        return false;
    }
    let (a, b, c) = (Ptr(a), Ptr(b), Ptr(c));
    let by_columns = n >= m;
    rayon::scope(|s| {
        let mut start = 0;
        while start < len {
            let size = part.min(len - start);
            let job = move || {
                if by_columns {
                    run(m, k, size, alpha, a.ptr(), rsa, csa,
                        b.stride_offset(csb, start).ptr(), rsb, csb,
                        beta, c.stride_offset(csc, start).ptr(), rsc, csc)
                } else {
                    run(size, k, n, alpha, a.stride_offset(rsa, start).ptr(), rsa, csa,
                        b.ptr(), rsb, csb,
                        beta, c.stride_offset(rsc, start).ptr(), rsc, csc)
                }
            };
            s.spawn(move |_| job());
            start += size;
        }
    });
    true
}
