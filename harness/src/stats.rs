//! Statistics for benchmark samples: robust summaries, bootstrap confidence intervals,
//! Mann-Whitney U tests and the faster/slower/same verdict (knows nothing of browsers, targets or formats).
//!
//! Everything here is pure and deterministic: every resampling procedure takes an explicit
//! seed (or uses [`DEFAULT_SEED`]), so the same samples always produce the same report.
//! Quantiles use linear interpolation between order statistics (Hyndman & Fan type 7,
//! the NumPy/R default); bootstrap intervals are percentile intervals.

use std::cmp::Ordering;

/// Seed used by [`summarize`] and [`CompareConfig::default`].
pub const DEFAULT_SEED: u64 = 0x6761_7062_656E_6368; // "gapbench"
/// Bootstrap resamples used by [`summarize`] and [`CompareConfig::default`].
pub const DEFAULT_RESAMPLES: usize = 2_000;
/// Confidence level of the CI reported by [`summarize`].
pub const DEFAULT_LEVEL: f64 = 0.95;
/// [`compare`] gives up estimating `more_samples` when more than this many times the
/// current sample count would be needed (the effect is then practically on the threshold).
const MAX_GROWTH: f64 = 100.0;

// ---------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------

/// Deterministic small PRNG (SplitMix64) for resampling; seedable, not cryptographic.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// Next 64 random bits (SplitMix64, Steele/Lea/Flood; constants from Vigna's reference).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `0..n` without modulo bias (Lemire's multiply-and-reject).
    /// Panics if `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0): empty range");
        let n = n as u64;
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as usize
    }

    /// Uniform `f64` in `[0, 1)` with 53 bits of precision.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

// ---------------------------------------------------------------------------------------
// Descriptive statistics
// ---------------------------------------------------------------------------------------

/// Summary of one metric's samples. `ci_low..ci_high` is a bootstrap percentile CI of the median.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub mean: f64,
    pub stddev: f64,
    pub min: f64,
    pub max: f64,
    pub outliers_mild: usize,
    pub outliers_severe: usize,
}

/// [`summarize_with`] using [`DEFAULT_RESAMPLES`], a 95% level and [`DEFAULT_SEED`].
/// None for an empty slice or any non-finite sample.
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    summarize_with(samples, DEFAULT_RESAMPLES, DEFAULT_LEVEL, DEFAULT_SEED)
}

/// None for an empty slice or any non-finite sample. n=1: ci = (x, x), stddev 0.
/// CI = bootstrap percentile CI of the median at `level` (see [`bootstrap_median_ci`]),
/// deterministic for a given `seed`.
pub fn summarize_with(samples: &[f64], resamples: usize, level: f64, seed: u64) -> Option<Summary> {
    if samples.is_empty() || samples.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let sorted = sorted_copy(samples);
    let (outliers_mild, outliers_severe) = tukey_sorted(&sorted);
    let (ci_low, ci_high) = bootstrap_median_ci(samples, resamples, level, seed);
    Some(Summary {
        n: samples.len(),
        median: quantile(&sorted, 0.5),
        ci_low,
        ci_high,
        mean: mean(samples),
        stddev: stddev(samples),
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        outliers_mild,
        outliers_severe,
    })
}

/// Median of a non-empty slice (average of the two middle values for even n); NaN if empty.
pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    median_in_place(&mut samples.to_vec())
}

/// Quantile of an ascending `sorted` slice by linear interpolation between order statistics
/// (type 7: position `q * (n - 1)`). `q` is clamped to [0, 1]; NaN for an empty slice or NaN `q`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    let h = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = h - lo as f64;
    if frac == 0.0 {
        sorted[lo]
    } else {
        sorted[lo] + frac * (sorted[hi] - sorted[lo])
    }
}

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.iter().sum::<f64>() / samples.len() as f64
}

/// Sample standard deviation (divides by n - 1); 0 for n < 2. Two-pass for accuracy.
pub fn stddev(samples: &[f64]) -> f64 {
    if samples.len() < 2 {
        return 0.0;
    }
    let m = mean(samples);
    let ss: f64 = samples.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (samples.len() - 1) as f64).sqrt()
}

/// Tukey's fences on quartiles (type 7) of the samples: returns (mild, severe) where mild counts
/// samples strictly beyond 1.5 IQR from the quartiles but not beyond 3 IQR, and severe counts
/// samples strictly beyond 3 IQR. (0, 0) for an empty slice.
pub fn tukey_outliers(samples: &[f64]) -> (usize, usize) {
    tukey_sorted(&sorted_copy(samples))
}

/// Bootstrap percentile CI of the median: `resamples` resamples of size n drawn with replacement,
/// the CI is the `(1-level)/2` and `(1+level)/2` quantiles of their medians. `level` is clamped to
/// [0, 1] (NaN means 0.95). n = 1 or `resamples == 0` gives the degenerate (median, median);
/// an empty slice gives (NaN, NaN). Deterministic for a given `seed`.
pub fn bootstrap_median_ci(samples: &[f64], resamples: usize, level: f64, seed: u64) -> (f64, f64) {
    let n = samples.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    if n == 1 || resamples == 0 {
        let m = median(samples);
        return (m, m);
    }
    let mut rng = Rng::new(seed);
    let mut buf = vec![0.0; n];
    let mut medians: Vec<f64> = (0..resamples)
        .map(|_| resampled_median(samples, &mut buf, &mut rng))
        .collect();
    medians.sort_unstable_by(f64::total_cmp);
    percentile_interval(&medians, level)
}

// ---------------------------------------------------------------------------------------
// Mann-Whitney U
// ---------------------------------------------------------------------------------------

/// Result of [`mann_whitney`]. `u` is U for the first slice (number of (a, b) pairs with a > b,
/// ties counting 1/2); `z` is negative when `a` tends to be smaller than `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    pub u: f64,
    pub z: f64,
    pub p_two_sided: f64,
}

/// Mann-Whitney U with average ranks for ties, normal approximation with tie correction and
/// continuity correction (matches SciPy's `mannwhitneyu(method="asymptotic")`).
/// Both slices need >= 1 element and finite values; if either is empty, or all values are tied,
/// the result is u = n1*n2/2 (0 if empty), z = 0, p = 1 (no evidence of a difference).
pub fn mann_whitney(a: &[f64], b: &[f64]) -> MannWhitney {
    let (n1, n2) = (a.len(), b.len());
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let mu = n1f * n2f / 2.0;
    if n1 == 0 || n2 == 0 {
        return MannWhitney {
            u: mu,
            z: 0.0,
            p_two_sided: 1.0,
        };
    }
    // (value, is_from_a), sorted by value.
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));

    let n = all.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0; // sum over tie groups of t^3 - t
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        // positions i..j (0-based) share ranks i+1..=j, average (i + 1 + j) / 2
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        let in_a = all[i..j].iter().filter(|(_, from_a)| *from_a).count();
        rank_sum_a += avg_rank * in_a as f64;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }

    let u = rank_sum_a - n1f * (n1f + 1.0) / 2.0;
    let nf = n as f64;
    let variance = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if variance.partial_cmp(&0.0) != Some(Ordering::Greater) {
        return MannWhitney {
            u,
            z: 0.0,
            p_two_sided: 1.0,
        };
    }
    let diff = u - mu;
    let corrected = diff.signum() * (diff.abs() - 0.5).max(0.0);
    let z = corrected / variance.sqrt();
    MannWhitney {
        u,
        z,
        p_two_sided: two_sided_p(z),
    }
}

// ---------------------------------------------------------------------------------------
// Ratio of medians
// ---------------------------------------------------------------------------------------

/// Ratio of medians candidate/baseline with a bootstrap percentile CI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioCi {
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
}

/// Ratio of medians candidate/baseline with a bootstrap percentile CI at `level` (each side
/// resampled independently, `resamples` times; deterministic for a `seed`). With
/// `resamples == 0` or one sample per side the CI is (ratio, ratio). All NaN if either side is
/// empty. A baseline median of 0 gives an infinite or NaN ratio: check before relying on it.
pub fn ratio_of_medians(
    baseline: &[f64],
    candidate: &[f64],
    resamples: usize,
    level: f64,
    seed: u64,
) -> RatioCi {
    if baseline.is_empty() || candidate.is_empty() {
        return RatioCi {
            ratio: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    let ratio = median(candidate) / median(baseline);
    if resamples == 0 {
        return RatioCi {
            ratio,
            low: ratio,
            high: ratio,
        };
    }
    let mut rng = Rng::new(seed);
    let mut buf_b = vec![0.0; baseline.len()];
    let mut buf_c = vec![0.0; candidate.len()];
    let mut ratios: Vec<f64> = (0..resamples)
        .map(|_| {
            let mb = resampled_median(baseline, &mut buf_b, &mut rng);
            let mc = resampled_median(candidate, &mut buf_c, &mut rng);
            mc / mb
        })
        .collect();
    ratios.sort_unstable_by(f64::total_cmp);
    let (low, high) = percentile_interval(&ratios, level);
    RatioCi { ratio, low, high }
}

// ---------------------------------------------------------------------------------------
// Verdict
// ---------------------------------------------------------------------------------------

/// Outcome of [`compare`]. Faster/Slower mean better/worse for the metric (for throughput,
/// higher is better, so a higher candidate is `Faster`).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Faster,
    Slower,
    Same,
    /// Not decidable from these samples. `more_samples`, when known, estimates how many more
    /// samples per side would likely settle it.
    Unknown {
        reason: String,
        more_samples: Option<usize>,
    },
}

/// Verdict for one metric plus the evidence behind it.
/// `ratio` is candidate/baseline with a (1 - alpha) bootstrap CI; `p_value` is Mann-Whitney's
/// two-sided p (NaN when the comparison was not run).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub verdict: Verdict,
    pub ratio: RatioCi,
    pub p_value: f64,
    pub n_baseline: usize,
    pub n_candidate: usize,
}

/// Knobs of [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompareConfig {
    /// Smallest relative change that matters (0.02 = 2%).
    pub threshold: f64,
    /// Significance level of the Mann-Whitney test; the ratio CI is computed at level 1 - alpha.
    pub alpha: f64,
    /// Bootstrap resamples for the ratio CI.
    pub resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
    /// Fewer samples than this on either side gives `Unknown`.
    pub min_samples: usize,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            threshold: 0.02,
            alpha: 0.01,
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
            min_samples: 5,
        }
    }
}

/// Verdict for one metric. `lower_is_better`: true for times (ms), false for throughput (samples/s).
///
/// With r = median(candidate)/median(baseline), its (1 - alpha) bootstrap CI `[L, H]`, Mann-Whitney
/// p, band = [1 - threshold, 1 + threshold], the rules apply in this order:
/// 1. a non-finite sample, or a baseline median <= 0: `Unknown`, `more_samples: None`;
/// 2. fewer than `min_samples` on either side: `Unknown` with reason `"n=3 < 5"` (smaller side)
///    and `more_samples = min_samples - n`;
/// 3. the CI lies entirely above or entirely below the band AND p <= alpha: `Slower` if that is the
///    bad direction for the metric (ratio > 1 for times, < 1 for throughput), else `Faster`;
/// 4. the CI lies entirely within the band: `Same` (any change is smaller than the threshold,
///    even if significant);
/// 5. p > alpha, the CI contains 1 and lies within 10 thresholds of it (e.g. 0.8..1.2 at 2%):
///    `Same` (no detectable change at this noise level; the CI in `ratio` says how large an
///    undetected change could be). A CI wider than that is too noisy to call anything: rule 6;
/// 6. otherwise `Unknown`: either p <= alpha but the CI straddles a band edge (the effect is near
///    the threshold), or p > alpha while the CI excludes 1 (the two tests disagree).
///
/// For rule 6, `more_samples` estimates how many more samples per side would settle it, assuming
/// the CI half-widths and |z| scale with sqrt(n): if r is outside the band, the CI edge nearest 1
/// must clear the band edge (and p must drop to alpha); if r is inside, both CI edges must fit
/// inside the band. `None` when that needs more than 100x the current samples.
pub fn compare(
    baseline: &[f64],
    candidate: &[f64],
    lower_is_better: bool,
    cfg: &CompareConfig,
) -> Comparison {
    let n_baseline = baseline.len();
    let n_candidate = candidate.len();
    let unknown =
        |reason: String, more_samples: Option<usize>, ratio: RatioCi, p_value: f64| Comparison {
            verdict: Verdict::Unknown {
                reason,
                more_samples,
            },
            ratio,
            p_value,
            n_baseline,
            n_candidate,
        };
    let no_ratio = RatioCi {
        ratio: f64::NAN,
        low: f64::NAN,
        high: f64::NAN,
    };

    if baseline.iter().chain(candidate).any(|x| !x.is_finite()) {
        return unknown("non-finite sample".to_string(), None, no_ratio, f64::NAN);
    }
    let n_min = n_baseline.min(n_candidate);
    let min_samples = cfg.min_samples.max(1);
    if n_min < min_samples {
        let reason = format!("n={n_min} < {min_samples}");
        return unknown(reason, Some(min_samples - n_min), no_ratio, f64::NAN);
    }
    let base_median = median(baseline);
    if base_median.partial_cmp(&0.0) != Some(Ordering::Greater) {
        let reason = format!("baseline median {base_median} is not positive; ratio undefined");
        return unknown(reason, None, no_ratio, f64::NAN);
    }

    let alpha = if cfg.alpha > 0.0 && cfg.alpha < 1.0 {
        cfg.alpha
    } else {
        0.01
    };
    let level = 1.0 - alpha;
    let ratio = ratio_of_medians(baseline, candidate, cfg.resamples, level, cfg.seed);
    let mw = mann_whitney(baseline, candidate);
    let p = mw.p_two_sided;
    let t = if cfg.threshold.is_finite() {
        cfg.threshold.abs()
    } else {
        0.0
    };
    let (band_lo, band_hi) = (1.0 - t, 1.0 + t);

    let significant = p <= alpha;
    let above = ratio.low > band_hi;
    let below = ratio.high < band_lo;
    let within = ratio.low >= band_lo && ratio.high <= band_hi;
    let contains_one = ratio.low <= 1.0 && 1.0 <= ratio.high;
    let narrow = ratio.low >= 1.0 - 10.0 * t && ratio.high <= 1.0 + 10.0 * t;

    let verdict = if significant && (above || below) {
        let worse = if lower_is_better { above } else { below };
        if worse {
            Verdict::Slower
        } else {
            Verdict::Faster
        }
    } else if within || (!significant && contains_one && narrow) {
        Verdict::Same
    } else {
        let ci = format!(
            "ratio {:.4} ({:.0}% CI {:.4}..{:.4})",
            ratio.ratio,
            level * 100.0,
            ratio.low,
            ratio.high
        );
        let reason = if significant {
            format!(
                "effect near the ±{:.1}% threshold: {ci} crosses the threshold band though \
                 Mann-Whitney p={p:.2e} <= {alpha}",
                t * 100.0
            )
        } else if contains_one {
            format!(
                "too noisy to call: {ci} is wider than ±{:.0}% around 1, Mann-Whitney \
                 p={p:.2e} > {alpha} (threshold ±{:.1}%)",
                t * 1000.0,
                t * 100.0
            )
        } else {
            format!(
                "inconclusive: {ci} excludes 1 but Mann-Whitney p={p:.2e} > {alpha} \
                 (threshold ±{:.1}%)",
                t * 100.0
            )
        };
        let growth = growth_needed(&ratio, band_lo, band_hi, mw.z, significant, alpha);
        let more = growth
            .filter(|g| g.is_finite() && *g <= MAX_GROWTH)
            .map(|g| {
                let needed = (n_min as f64 * g).ceil() as usize;
                needed.saturating_sub(n_min).max(1)
            });
        Verdict::Unknown {
            reason,
            more_samples: more,
        }
    };
    Comparison {
        verdict,
        ratio,
        p_value: p,
        n_baseline,
        n_candidate,
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn sorted_copy(samples: &[f64]) -> Vec<f64> {
    let mut v = samples.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// Median of a non-empty buffer, reordering it (O(n) selection, no full sort).
fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    let (left, &mut upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        upper
    } else {
        // the lower middle value is the largest of the left partition
        let lower = left.iter().copied().max_by(f64::total_cmp).unwrap_or(upper);
        lower + (upper - lower) / 2.0
    }
}

/// Fills `buf` (same length as `samples`) with a resample with replacement; returns its median.
fn resampled_median(samples: &[f64], buf: &mut [f64], rng: &mut Rng) -> f64 {
    for slot in buf.iter_mut() {
        *slot = samples[rng.below(samples.len())];
    }
    median_in_place(buf)
}

/// Central `level` interval of an ascending `sorted` bootstrap distribution.
fn percentile_interval(sorted: &[f64], level: f64) -> (f64, f64) {
    let level = if level.is_nan() {
        DEFAULT_LEVEL
    } else {
        level.clamp(0.0, 1.0)
    };
    let tail = (1.0 - level) / 2.0;
    (quantile(sorted, tail), quantile(sorted, 1.0 - tail))
}

fn tukey_sorted(sorted: &[f64]) -> (usize, usize) {
    if sorted.is_empty() {
        return (0, 0);
    }
    let q1 = quantile(sorted, 0.25);
    let q3 = quantile(sorted, 0.75);
    let iqr = q3 - q1;
    let (mild_lo, mild_hi) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
    let (severe_lo, severe_hi) = (q1 - 3.0 * iqr, q3 + 3.0 * iqr);
    let mut mild = 0;
    let mut severe = 0;
    for &x in sorted {
        if x < severe_lo || x > severe_hi {
            severe += 1;
        } else if x < mild_lo || x > mild_hi {
            mild += 1;
        }
    }
    (mild, severe)
}

/// Complementary error function (Numerical Recipes `erfcc`, Chebyshev fit, fractional error
/// < 1.2e-7 everywhere, so small p-values keep their relative accuracy).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// Two-sided standard-normal tail probability P(|Z| >= |z|).
fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// |z| at which the two-sided p equals `alpha` (bisection; `two_sided_p` is decreasing).
fn critical_z(alpha: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 40.0_f64);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if two_sided_p(mid) > alpha {
            lo = mid
        } else {
            hi = mid
        }
    }
    hi
}

/// Factor by which n must grow for the CI (and, if needed, the test) to become decisive,
/// assuming widths shrink and |z| grows like sqrt(n). None when no finite factor exists.
fn growth_needed(
    r: &RatioCi,
    band_lo: f64,
    band_hi: f64,
    z: f64,
    significant: bool,
    alpha: f64,
) -> Option<f64> {
    // (half-width on the relevant side / distance from r to the band edge)^2
    let factor = |half_width: f64, distance: f64| {
        if distance > 0.0 {
            Some((half_width.max(0.0) / distance).powi(2))
        } else {
            None
        }
    };
    let ci_growth = if r.ratio > band_hi {
        factor(r.ratio - r.low, r.ratio - band_hi)?
    } else if r.ratio < band_lo {
        factor(r.high - r.ratio, band_lo - r.ratio)?
    } else {
        let up = factor(r.high - r.ratio, band_hi - r.ratio)?;
        let down = factor(r.ratio - r.low, r.ratio - band_lo)?;
        return Some(up.max(down).max(1.0));
    };
    let test_growth = if significant {
        1.0
    } else if z != 0.0 {
        (critical_z(alpha) / z.abs()).powi(2)
    } else {
        return None;
    };
    Some(ci_growth.max(test_growth).max(1.0))
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// `n` samples of uniform noise around `center` within ±`spread` (relative).
    fn noisy(rng: &mut Rng, n: usize, center: f64, spread: f64) -> Vec<f64> {
        (0..n)
            .map(|_| center * (1.0 + spread * (2.0 * rng.next_f64() - 1.0)))
            .collect()
    }

    #[test]
    fn splitmix64_matches_reference_vector() {
        // Reference outputs of Vigna's splitmix64.c for seed 1234567.
        let mut rng = Rng::new(1_234_567);
        let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821
            ]
        );
    }

    #[test]
    fn rng_is_seeded_and_below_is_in_range_and_roughly_uniform() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::new(8);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);

        let mut rng = Rng::new(42);
        let mut counts = [0usize; 7];
        for _ in 0..70_000 {
            counts[rng.below(7)] += 1;
        }
        // expected 10_000 each; sd ~ 93, so ±500 is > 5 sd
        for &c in &counts {
            assert!((9_500..=10_500).contains(&c), "counts {counts:?}");
        }
        assert_eq!(rng.below(1), 0);
        for _ in 0..1000 {
            let f = rng.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
    }

    #[test]
    #[should_panic(expected = "empty range")]
    fn below_zero_panics() {
        Rng::new(1).below(0);
    }

    #[test]
    fn medians_and_quantiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[5.0]), 5.0);
        assert_eq!(median(&[10.0, -10.0]), 0.0);
        assert!(median(&[]).is_nan());

        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&s, 0.0), 1.0);
        assert_eq!(quantile(&s, 1.0), 4.0);
        assert_eq!(quantile(&s, 0.5), 2.5);
        assert!(close(quantile(&s, 0.25), 1.75, 1e-12)); // numpy.quantile default
        assert!(close(quantile(&s, 0.9), 3.7, 1e-12));
        assert_eq!(quantile(&s, 2.0), 4.0); // clamped
        assert!(quantile(&[], 0.5).is_nan());
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!(close(quantile(&ten, 0.1), 1.9, 1e-12));
    }

    #[test]
    fn mean_and_sample_stddev() {
        let s = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&s), 5.0);
        // sum of squared deviations 32, sample variance 32/7 (population sd would be 2)
        assert!(close(stddev(&s), (32.0_f64 / 7.0).sqrt(), 1e-12));
        assert_eq!(stddev(&[3.0]), 0.0);
        assert_eq!(stddev(&[]), 0.0);
        assert!(mean(&[]).is_nan());
    }

    #[test]
    fn tukey_counts_on_constructed_set() {
        // sorted: -8, 1..=11, 22, 40 (n=14): Q1 = 3.25, Q3 = 9.75, IQR = 6.5
        // mild fences [-6.5, 19.5], severe fences [-16.25, 29.25]
        // => -8 and 22 are mild, 40 is severe
        let mut s: Vec<f64> = (1..=11).map(f64::from).collect();
        s.extend([40.0, -8.0, 22.0]);
        assert_eq!(tukey_outliers(&s), (2, 1));
        // [1, 2, 3, 4, 5, x] with x >= 5: Q1 = 2.25, Q3 = 4.75, IQR = 2.5,
        // upper mild fence 8.5, upper severe fence 12.25; values exactly on a fence don't count
        let with_max = |x: f64| tukey_outliers(&[1.0, 2.0, 3.0, 4.0, 5.0, x]);
        assert_eq!(with_max(8.5), (0, 0));
        assert_eq!(with_max(8.6), (1, 0));
        assert_eq!(with_max(12.25), (1, 0));
        assert_eq!(with_max(12.3), (0, 1));
        assert_eq!(tukey_outliers(&[1.0, 2.0, 3.0, 4.0, 5.0]), (0, 0));
        assert_eq!(tukey_outliers(&[]), (0, 0));
    }

    #[test]
    fn summarize_basic_fields_and_rejects_bad_input() {
        assert_eq!(summarize(&[]), None);
        assert_eq!(summarize(&[1.0, f64::NAN]), None);
        assert_eq!(summarize(&[1.0, f64::INFINITY]), None);

        let one = summarize(&[4.5]).unwrap();
        assert_eq!(
            one,
            Summary {
                n: 1,
                median: 4.5,
                ci_low: 4.5,
                ci_high: 4.5,
                mean: 4.5,
                stddev: 0.0,
                min: 4.5,
                max: 4.5,
                outliers_mild: 0,
                outliers_severe: 0
            }
        );

        let mut s: Vec<f64> = (1..=11).map(f64::from).collect();
        s.extend([40.0, -8.0, 22.0]);
        let sum = summarize(&s).unwrap();
        assert_eq!(sum.n, 14);
        assert_eq!(sum.median, 6.5);
        assert_eq!(sum.min, -8.0);
        assert_eq!(sum.max, 40.0);
        assert!(close(sum.mean, 120.0 / 14.0, 1e-12));
        assert!(close(sum.stddev, stddev(&s), 0.0));
        assert_eq!((sum.outliers_mild, sum.outliers_severe), (2, 1));
        assert!(sum.ci_low <= sum.median && sum.median <= sum.ci_high);
        assert!(sum.ci_low < sum.ci_high);
    }

    #[test]
    fn bootstrap_ci_contains_median_is_deterministic_and_narrows_with_n() {
        let mut rng = Rng::new(99);
        let small = noisy(&mut rng, 20, 10.0, 0.05);
        let big = noisy(&mut rng, 500, 10.0, 0.05);

        let m = median(&small);
        let ci = bootstrap_median_ci(&small, 2000, 0.95, 5);
        assert!(ci.0 < m && m < ci.1, "{ci:?} vs {m}");
        assert!(ci.0 >= 9.5 && ci.1 <= 10.5);
        assert_eq!(ci, bootstrap_median_ci(&small, 2000, 0.95, 5));
        assert_ne!(ci, bootstrap_median_ci(&small, 2000, 0.95, 6));

        // a wider level gives a wider (or equal) interval
        let ci80 = bootstrap_median_ci(&small, 2000, 0.80, 5);
        assert!(ci80.0 >= ci.0 && ci80.1 <= ci.1 && ci80.1 - ci80.0 < ci.1 - ci.0);

        let big_ci = bootstrap_median_ci(&big, 2000, 0.95, 5);
        let mb = median(&big);
        assert!(big_ci.0 < mb && mb < big_ci.1);
        assert!(big_ci.1 - big_ci.0 < (ci.1 - ci.0) / 2.0);

        let s = summarize(&small).unwrap();
        assert_eq!(
            (s.ci_low, s.ci_high),
            bootstrap_median_ci(&small, 2000, 0.95, DEFAULT_SEED)
        );
        assert_eq!(s, summarize(&small).unwrap());

        assert_eq!(bootstrap_median_ci(&[3.0], 2000, 0.95, 1), (3.0, 3.0));
        assert_eq!(bootstrap_median_ci(&[1.0, 3.0], 0, 0.95, 1), (2.0, 2.0));
        let e = bootstrap_median_ci(&[], 10, 0.95, 1);
        assert!(e.0.is_nan() && e.1.is_nan());
    }

    #[test]
    fn erfc_matches_reference_values() {
        // reference: Python math.erfc
        assert!(close(erfc(0.0), 1.0, 1e-7));
        assert!(close(erfc(0.5), 0.4795001221869535, 1e-7));
        assert!(close(erfc(1.0), 0.15729920705028513, 1e-7));
        assert!(close(erfc(2.0), 0.004677734981047265, 1e-9));
        assert!(close(erfc(-1.0), 1.842700792949715, 1e-7));
        assert!(close(critical_z(0.05), 1.959964, 1e-5));
        assert!(close(critical_z(0.01), 2.575829, 1e-5));
    }

    #[test]
    fn mann_whitney_separated_sets_matches_normal_approximation() {
        let a: Vec<f64> = (1..=10).map(f64::from).collect();
        let b: Vec<f64> = (11..=20).map(f64::from).collect();
        let r = mann_whitney(&a, &b);
        // U = 0, mu = 50, sigma^2 = 10*10*21/12 = 175, z = (0 - 50 + 0.5)/sqrt(175)
        assert_eq!(r.u, 0.0);
        assert!(close(r.z, -3.7418482827913495, 1e-12));
        // SciPy mannwhitneyu(method="asymptotic") gives 0.00018267179
        assert!(
            close(r.p_two_sided, 0.0001826717911095504, 1e-10),
            "{}",
            r.p_two_sided
        );
        // symmetric: swapping sides flips U to n1*n2 - U and z's sign, same p
        let s = mann_whitney(&b, &a);
        assert_eq!(s.u, 100.0);
        assert!(close(s.z, -r.z, 1e-12));
        assert!(close(s.p_two_sided, r.p_two_sided, 1e-15));
    }

    #[test]
    fn mann_whitney_with_ties_matches_hand_computation() {
        // combined: 1a 2a 2a 2b 3a 3b 4a 5b 6b 7b; ranks: 1, 3,3,3, 5.5,5.5, 7, 8, 9, 10
        // R_a = 1+3+3+5.5+7 = 19.5, U_a = 19.5 - 15 = 4.5, mu = 12.5
        // ties: t=3 -> 24, t=2 -> 6; sigma^2 = 25/12 * (11 - 30/90) = 22.222...
        // z = (4.5 - 12.5 + 0.5)/sqrt(22.222) = -1.5909902576697, p = erfc(|z|/sqrt 2) = 0.1116117683
        let a = [1.0, 2.0, 2.0, 3.0, 4.0];
        let b = [2.0, 3.0, 5.0, 6.0, 7.0];
        let r = mann_whitney(&a, &b);
        assert_eq!(r.u, 4.5);
        assert!(close(r.z, -1.590990257669732, 1e-12));
        assert!(
            close(r.p_two_sided, 0.11161176829829222, 1e-7),
            "{}",
            r.p_two_sided
        );
    }

    #[test]
    fn mann_whitney_identical_and_degenerate_inputs_give_p_one() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let r = mann_whitney(&a, &a);
        assert_eq!(r.u, 8.0);
        assert_eq!(r.z, 0.0);
        assert_eq!(r.p_two_sided, 1.0);
        let t = mann_whitney(&[5.0, 5.0, 5.0], &[5.0, 5.0]);
        assert_eq!((t.z, t.p_two_sided), (0.0, 1.0));
        assert_eq!(mann_whitney(&[], &[1.0]).p_two_sided, 1.0);
    }

    #[test]
    fn ratio_of_medians_point_and_ci() {
        let mut rng = Rng::new(3);
        let base = noisy(&mut rng, 40, 10.0, 0.03);
        let cand: Vec<f64> = base.iter().map(|x| x * 1.5).collect();
        let r = ratio_of_medians(&base, &cand, 2000, 0.95, 11);
        assert!(close(r.ratio, 1.5, 1e-12));
        assert!(r.low < 1.5 && 1.5 < r.high, "{r:?}");
        assert!(r.low > 1.4 && r.high < 1.6, "{r:?}");
        assert_eq!(r, ratio_of_medians(&base, &cand, 2000, 0.95, 11));
        let d = ratio_of_medians(&[2.0], &[3.0], 100, 0.95, 1);
        assert_eq!((d.ratio, d.low, d.high), (1.5, 1.5, 1.5));
        assert!(ratio_of_medians(&[], &[1.0], 10, 0.95, 1).ratio.is_nan());
    }

    #[test]
    fn compare_same_distribution_is_same() {
        let cfg = CompareConfig::default();
        let mut rng = Rng::new(2024);
        let base = noisy(&mut rng, 30, 10.0, 0.03);
        let cand = noisy(&mut rng, 30, 10.0, 0.03);
        let c = compare(&base, &cand, true, &cfg);
        assert_eq!(c.verdict, Verdict::Same, "{c:?}");
        assert_eq!((c.n_baseline, c.n_candidate), (30, 30));
        assert!(c.p_value > cfg.alpha);

        // over many independent pairs, no false Faster/Slower and nearly always Same
        let mut same = 0;
        for seed in 0..40 {
            let mut rng = Rng::new(1000 + seed);
            let base = noisy(&mut rng, 30, 10.0, 0.03);
            let cand = noisy(&mut rng, 30, 10.0, 0.03);
            for lower_is_better in [true, false] {
                match compare(&base, &cand, lower_is_better, &cfg).verdict {
                    Verdict::Same => same += 1,
                    Verdict::Unknown { .. } => {}
                    v => panic!("seed {seed}: false {v:?}"),
                }
            }
        }
        assert!(same >= 76, "only {same}/80 Same");
    }

    #[test]
    fn compare_detects_regressions_and_improvements() {
        let cfg = CompareConfig::default();
        let mut rng = Rng::new(77);
        let base = noisy(&mut rng, 30, 10.0, 0.03);
        let slower: Vec<f64> = base.iter().map(|x| x * 1.2).collect();
        let faster: Vec<f64> = base.iter().map(|x| x * 0.8).collect();

        let c = compare(&base, &slower, true, &cfg);
        assert_eq!(c.verdict, Verdict::Slower, "{c:?}");
        assert!(close(c.ratio.ratio, 1.2, 1e-12));
        assert!(c.ratio.low > 1.02 && c.p_value <= cfg.alpha);

        let c = compare(&base, &faster, true, &cfg);
        assert_eq!(c.verdict, Verdict::Faster, "{c:?}");
        assert!(c.ratio.high < 0.98);

        // throughput: higher is better, so dropping to 0.8x is a regression and 1.2x a win
        let c = compare(&base, &faster, false, &cfg);
        assert_eq!(c.verdict, Verdict::Slower, "{c:?}");
        let c = compare(&base, &slower, false, &cfg);
        assert_eq!(c.verdict, Verdict::Faster, "{c:?}");
    }

    #[test]
    fn compare_too_few_samples_is_unknown_with_more_samples() {
        let cfg = CompareConfig::default();
        let c = compare(
            &[10.0, 10.1, 9.9],
            &[12.0, 12.1, 11.9, 12.2, 12.3, 12.0],
            true,
            &cfg,
        );
        assert_eq!(
            c.verdict,
            Verdict::Unknown {
                reason: "n=3 < 5".to_string(),
                more_samples: Some(2)
            }
        );
        assert_eq!((c.n_baseline, c.n_candidate), (3, 6));
        let c = compare(&[], &[1.0; 10], true, &cfg);
        assert_eq!(
            c.verdict,
            Verdict::Unknown {
                reason: "n=0 < 5".to_string(),
                more_samples: Some(5)
            }
        );
    }

    #[test]
    fn compare_rejects_non_finite_and_non_positive_baseline() {
        let cfg = CompareConfig::default();
        let good = [1.0, 1.1, 0.9, 1.0, 1.05];
        let c = compare(&good, &[1.0, f64::NAN, 1.0, 1.0, 1.0], true, &cfg);
        assert!(
            matches!(
                c.verdict,
                Verdict::Unknown {
                    more_samples: None,
                    ..
                }
            ),
            "{c:?}"
        );
        let c = compare(&[0.0; 5], &good, true, &cfg);
        assert!(
            matches!(
                c.verdict,
                Verdict::Unknown {
                    more_samples: None,
                    ..
                }
            ),
            "{c:?}"
        );
    }

    #[test]
    fn compare_small_but_significant_change_inside_threshold_is_same() {
        // 0.5% shift with 2000 samples: clearly significant, but well inside the 2% band
        let cfg = CompareConfig::default();
        let mut rng = Rng::new(5);
        let base = noisy(&mut rng, 2000, 10.0, 0.03);
        let cand = noisy(&mut rng, 2000, 10.05, 0.03);
        let c = compare(&base, &cand, true, &cfg);
        assert!(c.p_value <= cfg.alpha, "{c:?}");
        assert!(c.ratio.low >= 0.98 && c.ratio.high <= 1.02, "{c:?}");
        assert_eq!(c.verdict, Verdict::Same);
    }

    #[test]
    fn compare_effect_straddling_threshold_is_unknown_with_estimate() {
        // a ~2% shift: significant, but the CI straddles the 1.02 band edge
        let cfg = CompareConfig::default();
        let mut rng = Rng::new(11);
        let base = noisy(&mut rng, 200, 10.0, 0.03);
        let cand = noisy(&mut rng, 200, 10.2, 0.03);
        let c = compare(&base, &cand, true, &cfg);
        assert!(c.p_value <= cfg.alpha, "{c:?}");
        assert!(c.ratio.low < 1.02 && 1.02 < c.ratio.high, "{c:?}");
        match &c.verdict {
            Verdict::Unknown {
                reason,
                more_samples,
            } => {
                assert!(reason.contains("threshold"), "{reason}");
                assert!(reason.contains("near"), "{reason}");
                let more = more_samples.expect("an estimate");
                assert!(more >= 1);
                // check the estimate against the sqrt(n) model by hand
                let r = c.ratio;
                let g = if r.ratio > 1.02 {
                    ((r.ratio - r.low) / (r.ratio - 1.02)).powi(2)
                } else {
                    ((r.high - r.ratio) / (1.02 - r.ratio))
                        .powi(2)
                        .max(((r.ratio - r.low) / (r.ratio - 0.98)).powi(2))
                };
                assert_eq!(more, ((200.0 * g).ceil() as usize - 200).max(1));
            }
            v => panic!("expected Unknown, got {v:?}"),
        }
    }

    #[test]
    fn growth_needed_follows_sqrt_n_model() {
        // r = 1.05 with CI 1.01..1.09 and band edge 1.02: half-width 0.04, distance 0.03
        let r = RatioCi {
            ratio: 1.05,
            low: 1.01,
            high: 1.09,
        };
        let g = growth_needed(&r, 0.98, 1.02, -5.0, true, 0.01).unwrap();
        assert!(close(g, (0.04_f64 / 0.03).powi(2), 1e-12));
        // not yet significant with |z| = 1.2875: the test needs (2.5758/1.2875)^2 ~ 4x
        let g = growth_needed(&r, 0.98, 1.02, 1.2879, false, 0.01).unwrap();
        assert!(close(g, (critical_z(0.01) / 1.2879).powi(2), 1e-9));
        assert!(g > 3.9 && g < 4.1);
        // inside the band: both edges must fit
        let r = RatioCi {
            ratio: 1.0,
            low: 0.97,
            high: 1.01,
        };
        let g = growth_needed(&r, 0.98, 1.02, 0.0, false, 0.01).unwrap();
        assert!(close(g, (0.03_f64 / 0.02).powi(2), 1e-12));
        // exactly on the edge: no finite estimate
        let r = RatioCi {
            ratio: 1.02,
            low: 1.0,
            high: 1.04,
        };
        assert_eq!(growth_needed(&r, 0.98, 1.02, 3.0, true, 0.01), None);
    }
}
