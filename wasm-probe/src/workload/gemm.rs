//! `gemm`: the matrix product every dense workload spends its time in, measured alone, plus the
//! machine's own 4-lane multiply-add limit (`peak`) to hold it against.
//!
//! - Shape presets (`MxKxN`): one step is `C = A·B` with A `[M, K]` and B `[K, N]` on the case's
//!   backend (burn's matmul: `matrixmultiply` under ndarray, `gemm` under flex), then the sum of C
//!   is read back as the step's "loss" (which waits for the product). 2·M·K·N FLOPs per step. The
//!   shapes are those of the workloads: the Teachable Machine head's first layer at batch 16,
//!   the 256×1280×128 reference, and the MLP 10m hidden layer at batch 64; `-tn` presets
//!   multiply by a transposed A (`Aᵀ·B`, the weight gradient of a dense layer's backward pass).
//! - `peak`: the inner loop of a 4×8 register-blocked GEMM on operand panels that stay in L1
//!   (`PEAK_ITERS` steps of depth, 8 accumulators, separate multiply and add), written with
//!   `core::arch::wasm32` SIMD128 when the build has it, with SSE natively on x86-64, and as
//!   plain scalar loops in a wasm build without SIMD. No packing, no cache misses, no edge
//!   cases: what a SIMD128 GEMM reaches at best on this engine (wasm SIMD128 has no fused
//!   multiply-add); natively the same 4-lane limit without FMA or AVX. In the relaxed-SIMD build
//!   (`--cfg gapbench_relaxed_simd`: the loop has the `relaxed-simd` target feature) each
//!   multiply and add is one `f32x4.relaxed_madd`, as in that build's matrix kernel: the limit
//!   of *that* kernel, so a product's share stays comparable between builds.
//!
//! - After each measured step of a product, the measurement loop runs one `peak` step too and
//!   times it apart (`Trainer::peak_slice`): the product's share of the limit per step, with both
//!   timed within milliseconds of each other, holds where the machine's speed drifts between
//!   cases (a shared VM's does by up to 1.8x from one second to the next).
//!
//! "Accuracy" checks the result: for a product, the share of all entries of C within
//! 1e-3·Σ|a||b| of an f64 reference computed here (the same tolerance for every build: a fused
//! multiply-add rounds once where a multiply and an add round twice, a difference of order 2⁻²⁴
//! per term, far inside it); for `peak`, the share of accumulator (0, 0)'s lanes that scalar
//! floats, in the same order, reproduce bit for bit: with a multiply and an add, or in the
//! relaxed build with a fused multiply-add where the engine fuses (`relaxed_madd` may do
//! either; both are accepted, nothing in between).

use super::Trainer;
use crate::rng::Rng;
use burn::prelude::*;

/// Depth steps of one `peak` step (64 FLOPs each: 8 accumulators × 4 lanes × 2); a multiple of
/// `PANEL`.
pub const PEAK_ITERS: usize = 1 << 21;

/// A `gemm` preset: a product shape, or the multiply-add limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GemmShape {
    Product {
        m: usize,
        k: usize,
        n: usize,
        /// A is stored `[K, M]` and transposed before the product.
        transposed_a: bool,
    },
    Peak,
}

/// (preset, shape), smallest product first.
pub const PRESETS: [(&str, GemmShape); 6] = [
    ("peak", GemmShape::Peak),
    ("16x1280x100", product(16, 1280, 100, false)),
    ("256x1280x128", product(256, 1280, 128, false)),
    ("64x1660x1660", product(64, 1660, 1660, false)),
    ("1280x16x100-tn", product(1280, 16, 100, true)),
    ("1660x64x1660-tn", product(1660, 64, 1660, true)),
];

const fn product(m: usize, k: usize, n: usize, transposed_a: bool) -> GemmShape {
    GemmShape::Product {
        m,
        k,
        n,
        transposed_a,
    }
}

impl GemmShape {
    pub fn named(name: &str) -> Option<GemmShape> {
        PRESETS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
    }

    /// Elements of B (the "weights"); 0 for `peak`.
    pub fn params(&self) -> u64 {
        match *self {
            GemmShape::Product { k, n, .. } => (k * n) as u64,
            GemmShape::Peak => 0,
        }
    }

    pub fn flops_per_step(&self) -> u64 {
        match *self {
            GemmShape::Product { m, k, n, .. } => 2 * (m * k * n) as u64,
            GemmShape::Peak => (PEAK_ITERS * 8 * 4 * 2) as u64,
        }
    }

    /// Rows of A (what a step processes, as a batch); 1 for `peak`.
    pub fn rows(&self) -> usize {
        match *self {
            GemmShape::Product { m, .. } => m,
            GemmShape::Peak => 1,
        }
    }
}

/// Runs one preset; built by `Workload::build`.
pub struct Gemm {
    shape: GemmShape,
    device: Device,
    /// Row-major A as stored (`[M, K]`, or `[K, M]` when transposed) and B `[K, N]`, kept on the
    /// host for the reference check.
    a: Vec<f32>,
    b: Vec<f32>,
    a_t: Option<Tensor<2>>,
    b_t: Option<Tensor<2>>,
    peak_result: Option<[f32; 4]>,
    seed: f32,
}

impl Gemm {
    pub fn new(shape: GemmShape, device: &Device, seed: u64) -> Self {
        let mut rng = Rng::derive(seed, "gemm");
        let (mut a, mut b, mut a_t, mut b_t) = (Vec::new(), Vec::new(), None, None);
        if let GemmShape::Product {
            m,
            k,
            n,
            transposed_a,
        } = shape
        {
            a = (0..m * k).map(|_| rng.symmetric(1.0)).collect();
            b = (0..k * n).map(|_| rng.symmetric(1.0)).collect();
            let stored = if transposed_a { [k, m] } else { [m, k] };
            a_t = Some(Tensor::from_data(
                TensorData::new(a.clone(), stored),
                device,
            ));
            b_t = Some(Tensor::from_data(
                TensorData::new(b.clone(), [k, n]),
                device,
            ));
        }
        Gemm {
            shape,
            device: device.clone(),
            a,
            b,
            a_t,
            b_t,
            peak_result: None,
            seed: 1.0 + rng.uniform() * 1e-3,
        }
    }

    fn product(&self) -> Tensor<2> {
        let a = self.a_t.clone().expect("a product preset");
        let a = match self.shape {
            GemmShape::Product {
                transposed_a: true, ..
            } => a.transpose(),
            _ => a,
        };
        a.matmul(self.b_t.clone().expect("a product preset"))
    }

    /// A(i, l) as the product sees it.
    fn a_at(&self, i: usize, l: usize) -> f32 {
        match self.shape {
            GemmShape::Product {
                m, k, transposed_a, ..
            } => {
                if transposed_a {
                    self.a[l * m + i]
                } else {
                    self.a[i * k + l]
                }
            }
            GemmShape::Peak => 0.0,
        }
    }
}

impl Trainer for Gemm {
    fn step(&mut self) -> Tensor<1> {
        match self.shape {
            GemmShape::Peak => {
                let lanes = peak(PEAK_ITERS, self.seed);
                self.peak_result = Some(lanes);
                Tensor::from_data(
                    TensorData::new(vec![lanes.iter().sum::<f32>()], [1]),
                    &self.device,
                )
            }
            GemmShape::Product { .. } => self.product().sum(),
        }
    }

    fn accuracy(&self) -> Tensor<1> {
        match self.shape {
            GemmShape::Peak => {
                let ok = match self.peak_result {
                    None => 0.0,
                    Some(lanes) => {
                        let matching = |fused| {
                            let want = peak_reference(PEAK_ITERS, self.seed, fused);
                            lanes
                                .iter()
                                .zip(want)
                                .filter(|(v, w)| v.to_bits() == w.to_bits())
                                .count()
                        };
                        // Unfused, or fused where a relaxed build's engine fuses.
                        let fused = relaxed_madd_fuses() == Some(true);
                        matching(fused) as f32 / 4.0
                    }
                };
                Tensor::from_data(TensorData::new(vec![ok], [1]), &self.device)
            }
            GemmShape::Product { m, k, n, .. } => {
                // Every entry, so the kernel's edge tiles (M, N not multiples of its tile) and
                // both layouts of A are checked, not a sample.
                let got = self
                    .product()
                    .into_data()
                    .try_into_vec::<f32>()
                    .expect("the product reads back as f32");
                let a: Vec<f64> = (0..m * k).map(|x| self.a_at(x / k, x % k) as f64).collect();
                let mut ok = 0usize;
                let (mut sum, mut abs) = (vec![0.0f64; n], vec![0.0f64; n]);
                for i in 0..m {
                    sum.iter_mut().for_each(|v| *v = 0.0);
                    abs.iter_mut().for_each(|v| *v = 0.0);
                    for l in 0..k {
                        let ail = a[i * k + l];
                        let row = &self.b[l * n..(l + 1) * n];
                        for j in 0..n {
                            let p = ail * row[j] as f64;
                            sum[j] += p;
                            abs[j] += p.abs();
                        }
                    }
                    ok += (0..n)
                        .filter(|&j| ((got[i * n + j] as f64) - sum[j]).abs() <= abs[j] * 1e-3)
                        .count();
                }
                let share = ok as f32 / (m * n) as f32;
                Tensor::from_data(TensorData::new(vec![share], [1]), &self.device)
            }
        }
    }

    fn steps_per_epoch(&self) -> usize {
        1
    }

    fn dataset_bytes(&self) -> usize {
        (self.a.len() + self.b.len()) * 4
    }

    /// A product is read against `peak` run right after each of its steps, in the same case.
    fn peak_slice(&mut self) -> Option<u64> {
        match self.shape {
            GemmShape::Product { .. } => {
                std::hint::black_box(peak(PEAK_ITERS, self.seed));
                Some(GemmShape::Peak.flops_per_step())
            }
            GemmShape::Peak => None,
        }
    }
}

/// Depth of the operand panels `peak` cycles through (4·64 + 8·64 floats: 3 KiB, always in L1).
const PANEL: usize = 64;

/// The operand panels of `peak`: A as 4 rows × `PANEL`, B as `PANEL` × 8, from the seed.
fn panels(seed: f32) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed.to_bits() as u64);
    let a = (0..4 * PANEL).map(|_| rng.symmetric(1.0)).collect();
    let b = (0..8 * PANEL).map(|_| rng.symmetric(1.0)).collect();
    (a, b)
}

/// `acc + x·y`, 4 lanes: a multiply and an add in SIMD128, one `f32x4.relaxed_madd` (fused or
/// not, as the engine decides) in the relaxed build.
#[cfg(all(target_arch = "wasm32", gapbench_relaxed_simd))]
macro_rules! madd {
    ($acc:expr, $x:expr, $y:expr) => {
        f32x4_relaxed_madd($x, $y, $acc)
    };
}
#[cfg(all(target_arch = "wasm32", not(gapbench_relaxed_simd)))]
macro_rules! madd {
    ($acc:expr, $x:expr, $y:expr) => {
        f32x4_add($acc, f32x4_mul($x, $y))
    };
}

/// The inner loop of a 4×8 register-blocked GEMM with no memory traffic beyond L1: per step of
/// depth, two 4-lane loads of B, four broadcasts of A, 8 multiplies and 8 adds into 8
/// accumulators; `iters` steps cycling through the panels. Returns accumulator (0, 0), whose
/// lanes the check recomputes (the other seven are folded in as `· 0` so none is dead code).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[cfg_attr(gapbench_relaxed_simd, target_feature(enable = "relaxed-simd"))]
fn peak(iters: usize, seed: f32) -> [f32; 4] {
    use core::arch::wasm32::*;
    let (a, b) = panels(seed);
    // Eight named accumulators (wasm locals, so every engine's register allocator sees them).
    let z = f32x4_splat(0.0);
    let (mut c00, mut c01, mut c10, mut c11) = (z, z, z, z);
    let (mut c20, mut c21, mut c30, mut c31) = (z, z, z, z);
    // Whole passes over the panels: exact chunks, so no bounds checks or modulo in the loop.
    for _ in 0..iters / PANEL {
        for (ak, bk) in a.chunks_exact(4).zip(b.chunks_exact(8)) {
            // SAFETY: `bk` holds 8 floats, so both 4-lane loads lie inside it.
            let (b0, b1) = unsafe {
                let p = bk.as_ptr() as *const v128;
                (v128_load(p), v128_load(p.add(1)))
            };
            let a0 = f32x4_splat(ak[0]);
            c00 = madd!(c00, a0, b0);
            c01 = madd!(c01, a0, b1);
            let a1 = f32x4_splat(ak[1]);
            c10 = madd!(c10, a1, b0);
            c11 = madd!(c11, a1, b1);
            let a2 = f32x4_splat(ak[2]);
            c20 = madd!(c20, a2, b0);
            c21 = madd!(c21, a2, b1);
            let a3 = f32x4_splat(ak[3]);
            c30 = madd!(c30, a3, b0);
            c31 = madd!(c31, a3, b1);
        }
    }
    let acc = [c00, c01, c10, c11, c20, c21, c30, c31];
    let lane = |v: v128| {
        [
            f32x4_extract_lane::<0>(v),
            f32x4_extract_lane::<1>(v),
            f32x4_extract_lane::<2>(v),
            f32x4_extract_lane::<3>(v),
        ]
    };
    fold(lane(acc[0]), acc[1..].iter().map(|v| lane(*v)[0]))
}

/// Whether this build's `relaxed_madd` fuses (one rounding) on this engine and host: `None` in a
/// build without relaxed SIMD. `x = y = 1 + 2⁻¹²`: `x·y` is `1 + 2⁻¹¹ + 2⁻²⁴`, which f32 rounds to
/// `1 + 2⁻¹¹`, so `x·y − round(x·y)` is 2⁻²⁴ fused and 0 not.
pub fn relaxed_madd_fuses() -> Option<bool> {
    #[cfg(all(target_arch = "wasm32", gapbench_relaxed_simd))]
    {
        #[target_feature(enable = "relaxed-simd")]
        fn residue(x: f32, p: f32) -> f32 {
            use core::arch::wasm32::*;
            let r = f32x4_relaxed_madd(f32x4_splat(x), f32x4_splat(x), f32x4_splat(-p));
            f32x4_extract_lane::<0>(r)
        }
        let x = std::hint::black_box(1.0f32 + f32::powi(2.0, -12));
        let p = std::hint::black_box(x * x);
        Some(residue(x, p) != 0.0)
    }
    #[cfg(not(all(target_arch = "wasm32", gapbench_relaxed_simd)))]
    {
        None
    }
}

/// The same with SSE natively on x86-64 (4 lanes, separate multiply and add, as SIMD128 maps
/// onto it).
#[cfg(target_arch = "x86_64")]
fn peak(iters: usize, seed: f32) -> [f32; 4] {
    use core::arch::x86_64::*;
    let (a, b) = panels(seed);
    // SAFETY: SSE is part of the x86-64 baseline, and each `bk` holds the 8 floats loaded.
    unsafe {
        let mut acc = [_mm_setzero_ps(); 8];
        for _ in 0..iters / PANEL {
            for (ak, bk) in a.chunks_exact(4).zip(b.chunks_exact(8)) {
                let b0 = _mm_loadu_ps(bk.as_ptr());
                let b1 = _mm_loadu_ps(bk.as_ptr().add(4));
                for (i, &av) in ak.iter().enumerate() {
                    let ai = _mm_set1_ps(av);
                    acc[2 * i] = _mm_add_ps(acc[2 * i], _mm_mul_ps(ai, b0));
                    acc[2 * i + 1] = _mm_add_ps(acc[2 * i + 1], _mm_mul_ps(ai, b1));
                }
            }
        }
        let mut lanes = [[0.0f32; 4]; 8];
        for (l, v) in lanes.iter_mut().zip(acc) {
            _mm_storeu_ps(l.as_mut_ptr(), v);
        }
        fold(lanes[0], lanes[1..].iter().map(|l| l[0]))
    }
}

/// The same with plain arrays: scalar code in a wasm build without SIMD (and on other hosts).
#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    target_arch = "x86_64"
)))]
fn peak(iters: usize, seed: f32) -> [f32; 4] {
    let (a, b) = panels(seed);
    let mut acc = [[0.0f32; 8]; 4];
    for t in 0..iters {
        let k = t % PANEL;
        for (i, row) in acc.iter_mut().enumerate() {
            let ai = a[k * 4 + i];
            for (j, v) in row.iter_mut().enumerate() {
                *v += ai * b[k * 8 + j];
            }
        }
    }
    let first = [acc[0][0], acc[0][1], acc[0][2], acc[0][3]];
    fold(first, acc.iter().flatten().skip(4).copied())
}

/// Accumulator (0, 0) with the others folded in as `· 0` (they stay live; finite values add 0).
fn fold(mut first: [f32; 4], rest: impl Iterator<Item = f32>) -> [f32; 4] {
    first[3] += rest.sum::<f32>() * 0.0;
    first
}

/// Accumulator (0, 0) of `peak`, one scalar lane at a time, in the same order; `fused`: each
/// multiply-add rounded once (`f32::mul_add`), as a relaxed build's `relaxed_madd` does where it
/// fuses.
fn peak_reference(iters: usize, seed: f32, fused: bool) -> [f32; 4] {
    let (a, b) = panels(seed);
    std::array::from_fn(|lane| {
        let mut acc = 0.0f32;
        for t in 0..iters {
            let k = t % PANEL;
            acc = if fused {
                a[k * 4].mul_add(b[k * 8 + lane], acc)
            } else {
                acc + a[k * 4] * b[k * 8 + lane]
            };
        }
        acc
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_matches_its_scalar_reference() {
        let lanes = peak(16 * PANEL, 1.0005);
        let want = peak_reference(16 * PANEL, 1.0005, false);
        assert_eq!(
            lanes.map(f32::to_bits),
            want.map(f32::to_bits),
            "{lanes:?} vs {want:?}"
        );
        assert_ne!(lanes[0], lanes[1], "lanes differ");
        // The fused reference is another sequence of roundings: the check can tell them apart.
        let fused = peak_reference(16 * PANEL, 1.0005, true);
        assert_ne!(fused.map(f32::to_bits), want.map(f32::to_bits));
        assert_eq!(
            relaxed_madd_fuses(),
            None,
            "a native build has no relaxed SIMD"
        );
    }

    #[test]
    fn presets_resolve_and_count() {
        assert_eq!(GemmShape::named("peak"), Some(GemmShape::Peak));
        let s = GemmShape::named("256x1280x128").unwrap();
        assert_eq!(s.flops_per_step(), 2 * 256 * 1280 * 128);
        assert_eq!(s.params(), 1280 * 128);
        assert_eq!(s.rows(), 256);
        assert!(GemmShape::named("1x1x1").is_none());
        for (name, shape) in PRESETS {
            if let GemmShape::Product {
                m,
                k,
                n,
                transposed_a,
            } = shape
            {
                let want = format!("{m}x{k}x{n}{}", if transposed_a { "-tn" } else { "" });
                assert_eq!(name, want);
            }
        }
    }
}
