// `rustc -C opt-level=3 peak_x86.rs && ./peak_x86` (x86-64 with FMA): GAPBENCH.md, "Relaxed SIMD".
// The gemm `peak` inner loop (R rows x 8 columns of accumulators, two 4-lane loads of B and R
// broadcasts of A per step of depth, L1-resident panels), natively with SSE mul + add (what wasm
// SIMD128 compiles to) and with 128-bit FMA (what f32x4.relaxed_madd compiles to on x86-64 with FMA).
use std::arch::x86_64::*;
use std::time::Instant;
const PANEL: usize = 64;
const PASSES: usize = 200_000;
#[inline(always)]
unsafe fn madd<const F: bool>(acc: __m128, x: __m128, y: __m128) -> __m128 {
    if F { _mm_fmadd_ps(x, y, acc) } else { _mm_add_ps(acc, _mm_mul_ps(x, y)) }
}
#[target_feature(enable = "fma")]
unsafe fn peak<const R: usize, const F: bool>(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [[_mm_setzero_ps(); 2]; R];
    for _ in 0..PASSES {
        for k in 0..PANEL {
            let b0 = _mm_loadu_ps(b.as_ptr().add(k * 8));
            let b1 = _mm_loadu_ps(b.as_ptr().add(k * 8 + 4));
            for i in 0..R {
                let ai = _mm_set1_ps(*a.get_unchecked(k * R + i));
                acc[i][0] = madd::<F>(acc[i][0], ai, b0);
                acc[i][1] = madd::<F>(acc[i][1], ai, b1);
            }
        }
    }
    let mut s = 0.0;
    for r in acc { for v in r { s += _mm_cvtss_f32(v); } }
    s
}
fn run<const R: usize, const F: bool>(name: &str) {
    let a: Vec<f32> = (0..PANEL * R).map(|i| ((i * 7919 % 1000) as f32 / 1000.0) - 0.5).collect();
    let b: Vec<f32> = (0..PANEL * 8).map(|i| ((i * 104729 % 1000) as f32 / 1000.0) - 0.5).collect();
    let mut best = 0.0f64;
    let mut r = 0.0;
    for _ in 0..7 {
        let t = Instant::now();
        r = unsafe { peak::<R, F>(std::hint::black_box(&a), std::hint::black_box(&b)) };
        let s = t.elapsed().as_secs_f64();
        best = best.max((PASSES * PANEL * R * 8 * 2) as f64 / s / 1e9);
    }
    println!("{name:<26} {R}x8 tile ({:>2} accumulators): best of 7 {best:5.1} GFLOP/s ({r:.1})", 2 * R);
}
fn main() {
    for _ in 0..2 {
        run::<4, false>("SSE mul + add (SIMD128)");
        run::<4, true>("FMA (relaxed_madd)");
        run::<6, false>("SSE mul + add (SIMD128)");
        run::<6, true>("FMA (relaxed_madd)");
    }
}
