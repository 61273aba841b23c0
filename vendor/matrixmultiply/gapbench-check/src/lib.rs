//! `check()`: `sgemm` against an f64 naive product over many small shapes (edge tiles in M and N,
//! depths past the kernel's blocking, transposed A, beta 0 and 0.5, row- and column-major C).
//! Returns the number of entries off; `shapes()` how many shapes ran, `entries()` how many entries.
//! An entry is off when `|c - ref| > 1e-5 * (sum |a||b| + |beta c0|)`: f32 rounding of up to 300
//! terms (fused or not) stays far inside it, a wrong index or a missed term does not.

static mut SHAPES: u32 = 0;
static mut ENTRIES: u32 = 0;

fn rng(state: &mut u64) -> f32 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

#[no_mangle]
pub extern "C" fn check() -> u32 {
    let mut off = 0u32;
    let mut s = 7u64;
    let (mut shapes, mut entries) = (0u32, 0u32);
    for m in [1usize, 2, 3, 4, 5, 7, 8, 13] {
        for k in [1usize, 3, 64, 300] {
            for n in [1usize, 4, 8, 9, 17] {
                for trans_a in [false, true] {
                    for beta in [0.0f32, 0.5] {
                        for col_major_c in [false, true] {
                            shapes += 1;
                            let a: Vec<f32> = (0..m * k).map(|_| rng(&mut s)).collect();
                            let b: Vec<f32> = (0..k * n).map(|_| rng(&mut s)).collect();
                            let c0: Vec<f32> = (0..m * n).map(|_| rng(&mut s)).collect();
                            let mut c = c0.clone();
                            // A: m x k, stored row-major, or its transpose stored row-major (k x m).
                            let (rsa, csa) = if trans_a { (1, m as isize) } else { (k as isize, 1) };
                            let (rsc, csc) = if col_major_c { (1, m as isize) } else { (n as isize, 1) };
                            let at = |i: usize, l: usize| if trans_a { a[l * m + i] } else { a[i * k + l] };
                            let ci = |i: usize, j: usize| if col_major_c { j * m + i } else { i * n + j };
                            unsafe {
                                matrixmultiply::sgemm(
                                    m, k, n, 1.0, a.as_ptr(), rsa, csa, b.as_ptr(), n as isize, 1,
                                    beta, c.as_mut_ptr(), rsc, csc,
                                );
                            }
                            for i in 0..m {
                                for j in 0..n {
                                    let (mut sum, mut abs) = (0.0f64, 0.0f64);
                                    for l in 0..k {
                                        let p = at(i, l) as f64 * b[l * n + j] as f64;
                                        sum += p;
                                        abs += p.abs();
                                    }
                                    let prior = beta as f64 * c0[ci(i, j)] as f64;
                                    let want = sum + prior;
                                    let tol = 1e-5 * (abs + prior.abs());
                                    entries += 1;
                                    if ((c[ci(i, j)] as f64) - want).abs() > tol {
                                        off += 1;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    unsafe {
        SHAPES = shapes;
        ENTRIES = entries;
    }
    off
}

#[no_mangle]
pub extern "C" fn shapes() -> u32 {
    unsafe { SHAPES }
}

#[no_mangle]
pub extern "C" fn entries() -> u32 {
    unsafe { ENTRIES }
}
