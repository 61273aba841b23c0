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

/// Distribution-free interval for the median from order statistics: [x_(k), x_(n+1-k)] with the
/// largest k whose two-sided binomial tail 2·P(Bin(n, ½) <= k - 1) is at most 1 - `level`.
/// Returns (low, high, achieved coverage). Too few samples to reach `level` give [min, max] with
/// its real, lower coverage 1 - 2^(1-n) (2: 50%, 3: 75%, 4: 87.5%, 5: 93.75%), which the caller
/// must show. NaNs for an empty slice; (x, x, 0) for one sample.
pub fn median_ci_order(samples: &[f64], level: f64) -> (f64, f64, f64) {
    let n = samples.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let sorted = sorted_copy(samples);
    if n == 1 {
        return (sorted[0], sorted[0], 0.0);
    }
    // cdf[j] = P(Bin(n, 1/2) <= j), from the binomial coefficients
    let mut cdf = Vec::with_capacity(n + 1);
    let (mut coef, mut acc) = (1.0f64, 0.0f64);
    let total = 2f64.powi(n as i32);
    for j in 0..=n {
        acc += coef;
        cdf.push(acc / total);
        coef = coef * (n - j) as f64 / (j + 1) as f64;
    }
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    let k = cdf
        .iter()
        .take_while(|p| **p <= tail)
        .count()
        .clamp(1, n.div_ceil(2));
    (
        sorted[k - 1],
        sorted[n - k],
        (1.0 - 2.0 * cdf[k - 1]).max(0.0),
    )
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
/// ties counting 1/2); `z` is negative when `a` tends to be smaller than `b` (the normal
/// approximation's statistic, kept for sample-size estimates even when `exact`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    pub u: f64,
    pub z: f64,
    pub p_two_sided: f64,
    /// p comes from the exact permutation distribution of the rank sum (ties included), not
    /// from the normal approximation.
    pub exact: bool,
}

/// Largest combined sample size for which [`mann_whitney`] and [`ratio_ci`] use exact
/// distributions; above it the normal approximation is accurate to well under α = 0.01.
pub const EXACT_MAX_N: usize = 80;

/// Mann-Whitney U with average ranks for ties. For n1 + n2 <= [`EXACT_MAX_N`] the two-sided p
/// is exact: twice the smaller tail of the permutation distribution of the rank sum given the
/// observed ties (SciPy's `method="exact"` where there are no ties; a permutation test where
/// there are). Larger samples use the normal approximation with tie and continuity
/// corrections (SciPy's `method="asymptotic"`). With 5 a side, fully separated samples give
/// p = 2/252 = 0.0079, which the approximation (0.0122) would not let pass α = 0.01.
/// If either slice is empty, or all values are tied, the result is u = n1*n2/2 (0 if empty),
/// z = 0, p = 1 (no evidence of a difference).
pub fn mann_whitney(a: &[f64], b: &[f64]) -> MannWhitney {
    let (n1, n2) = (a.len(), b.len());
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let mu = n1f * n2f / 2.0;
    let none = |u: f64| MannWhitney {
        u,
        z: 0.0,
        p_two_sided: 1.0,
        exact: false,
    };
    if n1 == 0 || n2 == 0 {
        return none(mu);
    }
    let (doubled, in_a, tie_term) = doubled_ranks(a, b);
    let rank_sum_a2: u64 = doubled
        .iter()
        .zip(&in_a)
        .filter(|(_, a)| **a)
        .map(|(r, _)| *r as u64)
        .sum();
    let u = rank_sum_a2 as f64 / 2.0 - n1f * (n1f + 1.0) / 2.0;
    let nf = (n1 + n2) as f64;
    let variance = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if variance.partial_cmp(&0.0) != Some(Ordering::Greater) {
        return none(u);
    }
    let diff = u - mu;
    let corrected = diff.signum() * (diff.abs() - 0.5).max(0.0);
    let z = corrected / variance.sqrt();
    if n1 + n2 <= EXACT_MAX_N {
        let counts = subset_sum_counts(&doubled, n1.min(n2));
        // Count on the smaller side's rank sum (the DP is cheaper); the tails are symmetric in
        // which side is counted.
        let observed = if n1 <= n2 {
            rank_sum_a2
        } else {
            doubled.iter().map(|r| *r as u64).sum::<u64>() - rank_sum_a2
        } as usize;
        let total: f64 = counts.iter().sum();
        let lower: f64 = counts[..=observed].iter().sum::<f64>() / total;
        let upper: f64 = counts[observed..].iter().sum::<f64>() / total;
        return MannWhitney {
            u,
            z,
            p_two_sided: (2.0 * lower.min(upper)).min(1.0),
            exact: true,
        };
    }
    MannWhitney {
        u,
        z,
        p_two_sided: two_sided_p(z),
        exact: false,
    }
}

/// Ranks ×2 (so that average ranks of ties stay integers) of `a` then `b` pooled, in sorted
/// order, with whether each came from `a`, and the tie term Σ(t³ - t).
fn doubled_ranks(a: &[f64], b: &[f64]) -> (Vec<u32>, Vec<bool>, f64) {
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let mut doubled = vec![0u32; n];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        // positions i..j (0-based) share ranks i+1..=j, average (i + 1 + j) / 2
        for d in &mut doubled[i..j] {
            *d = (i + 1 + j) as u32;
        }
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    (doubled, all.iter().map(|x| x.1).collect(), tie_term)
}

/// `counts[s]`: how many of the size-`k` subsets of `weights` sum to `s` (as f64: C(80, 40) is
/// about 1e23). Dynamic programming over the items, O(n·k·Σweights).
fn subset_sum_counts(weights: &[u32], k: usize) -> Vec<f64> {
    let max: usize = weights.iter().map(|w| *w as usize).sum();
    let width = max + 1;
    // dp[j * width + s]: subsets of size j summing to s, over the items seen so far
    let mut dp = vec![0.0f64; (k + 1) * width];
    dp[0] = 1.0;
    let mut reach = 0usize; // largest sum reachable so far
    for (seen, &w) in weights.iter().enumerate() {
        let w = w as usize;
        reach += w;
        for j in (1..=k.min(seen + 1)).rev() {
            let (lower, upper) = dp.split_at_mut(j * width);
            let from = &lower[(j - 1) * width..];
            let to = &mut upper[..width];
            for s in (w..=reach).rev() {
                to[s] += from[s - w];
            }
        }
    }
    dp[k * width..].to_vec()
}

/// P(U <= u) for u = 0..=n1*n2 under the null hypothesis, without ties (exact).
fn u_null_cdf(n1: usize, n2: usize) -> Vec<f64> {
    let k = n1.min(n2);
    let ranks: Vec<u32> = (1..=(n1 + n2) as u32).collect();
    let counts = subset_sum_counts(&ranks, k);
    // rank sums of the smaller side run from k(k+1)/2; U = sum - k(k+1)/2
    let offset = k * (k + 1) / 2;
    let total: f64 = counts.iter().sum();
    let mut acc = 0.0;
    counts[offset..=offset + n1 * n2]
        .iter()
        .map(|c| {
            acc += c;
            acc / total
        })
        .collect()
}

/// Benjamini-Hochberg adjusted p-values (q-values) for a family of tests, in input order.
/// Non-finite p-values are left out of the family and come back as NaN.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    idx.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let m = idx.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in idx.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

// ---------------------------------------------------------------------------------------
// Ratio of medians
// ---------------------------------------------------------------------------------------

/// The candidate/baseline ratio with a confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioCi {
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
    /// The interval's real coverage: the exact level the order statistics achieve (at least the
    /// level asked for where the sample can reach it, less where it cannot), or the nominal
    /// level of a bootstrap or normal-approximation interval.
    pub level: f64,
}

/// Ratio of medians candidate/baseline with a bootstrap percentile CI at `level` (each side
/// resampled independently, `resamples` times; deterministic for a `seed`). With
/// `resamples == 0` or one sample per side the CI is (ratio, ratio). All NaN if either side is
/// empty. A baseline median of 0 gives an infinite or NaN ratio: check before relying on it.
/// At small n its real coverage is far below `level` (the bootstrap of a median of 4 values
/// never leaves [min, max]): [`ratio_ci`] is what verdicts use.
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
            level: f64::NAN,
        };
    }
    let ratio = median(candidate) / median(baseline);
    if resamples == 0 {
        return RatioCi {
            ratio,
            low: ratio,
            high: ratio,
            level: 0.0,
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
    RatioCi {
        ratio,
        low,
        high,
        level,
    }
}

/// Most pairwise ratios [`ratio_ci`] sorts (n1·n2); beyond, it falls back to the bootstrap.
const MAX_PAIRS: usize = 4_000_000;

/// The candidate/baseline ratio as the Hodges-Lehmann estimate (the median of all n1·n2
/// pairwise ratios c_j / b_i) with its distribution-free interval (Bauer 1972; the Moses
/// interval on log values): the k-th smallest and k-th largest pairwise ratio, k taken from the
/// Mann-Whitney null distribution, so the interval and the test agree. Exact for
/// n1 + n2 <= [`EXACT_MAX_N`]; `level` in the result is the coverage the order statistics really
/// achieve, which is below the level asked for when the samples are too few to reach it (4 a
/// side reach 97.1%, not 99%). Needs positive values; otherwise, or past [`MAX_PAIRS`], it is
/// [`ratio_of_medians`]'s bootstrap. All NaN if either side is empty.
pub fn ratio_ci(
    baseline: &[f64],
    candidate: &[f64],
    level: f64,
    resamples: usize,
    seed: u64,
) -> RatioCi {
    let (n1, n2) = (baseline.len(), candidate.len());
    let positive = baseline.iter().chain(candidate).all(|x| *x > 0.0);
    if n1 == 0 || n2 == 0 || !positive || n1 * n2 > MAX_PAIRS {
        return ratio_of_medians(baseline, candidate, resamples, level, seed);
    }
    let lb: Vec<f64> = baseline.iter().map(|x| x.ln()).collect();
    let mut d: Vec<f64> = candidate
        .iter()
        .flat_map(|c| {
            let lc = c.ln();
            lb.iter().map(move |b| lc - b)
        })
        .collect();
    d.sort_unstable_by(f64::total_cmp);
    let m = d.len();
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    // k: the largest count with P(U <= k - 1) <= tail; the interval is [d_(k), d_(m+1-k)].
    let (k, achieved) = if n1 + n2 <= EXACT_MAX_N {
        let cdf = u_null_cdf(n1, n2);
        let k = cdf.iter().take_while(|p| **p <= tail).count();
        let k = k.clamp(1, m.div_ceil(2));
        (k, 1.0 - 2.0 * cdf[k - 1])
    } else {
        let (n1f, n2f) = (n1 as f64, n2 as f64);
        let sd = (n1f * n2f * (n1f + n2f + 1.0) / 12.0).sqrt();
        let k = (n1f * n2f / 2.0 - critical_z(2.0 * tail) * sd).floor();
        let k = (k.max(1.0) as usize).min(m.div_ceil(2));
        (k, level)
    };
    let ratio = quantile(&d, 0.5).exp();
    RatioCi {
        ratio,
        low: d[k - 1].exp(),
        high: d[m - k].exp(),
        level: achieved.max(0.0),
    }
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
/// `ratio` is candidate/baseline with its (1 - alpha) interval ([`ratio_ci`]); `p_value` is
/// Mann-Whitney's two-sided p (NaN when the comparison was not run).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub verdict: Verdict,
    pub ratio: RatioCi,
    pub p_value: f64,
    /// `p_value` is exact (small samples), not the normal approximation.
    pub exact: bool,
    /// Mann-Whitney's z (normal approximation), for sample-size estimates.
    pub z: f64,
    pub n_baseline: usize,
    pub n_candidate: usize,
}

/// Knobs of [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompareConfig {
    /// Smallest relative change that matters (0.02 = 2%).
    pub threshold: f64,
    /// Significance level of the Mann-Whitney test (or of its BH-adjusted q); the ratio's
    /// interval is computed at level 1 - alpha.
    pub alpha: f64,
    /// Bootstrap resamples, where the ratio's interval falls back to the bootstrap.
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

impl CompareConfig {
    fn alpha(&self) -> f64 {
        if self.alpha > 0.0 && self.alpha < 1.0 {
            self.alpha
        } else {
            0.01
        }
    }

    fn threshold(&self) -> f64 {
        if self.threshold.is_finite() {
            self.threshold.abs()
        } else {
            0.0
        }
    }
}

/// Verdict for one metric. `lower_is_better`: true for times (ms), false for throughput (samples/s).
///
/// The evidence: r, the candidate/baseline ratio with its (1 - alpha) interval `[L, H]` from
/// [`ratio_ci`] (exact, distribution-free; its achieved level is reported), and Mann-Whitney's
/// p ([`mann_whitney`], exact for small samples). Before any test:
/// 1. a non-finite sample, or a baseline median <= 0: `Unknown`, `more_samples: None`;
/// 2. fewer than `min_samples` on either side: `Unknown` with reason `"n=3 < 5"` (smaller side)
///    and `more_samples = min_samples - n`.
///
/// Then [`decide`] with q = p (a single test). See there for the rules.
pub fn compare(
    baseline: &[f64],
    candidate: &[f64],
    lower_is_better: bool,
    cfg: &CompareConfig,
) -> Comparison {
    let n_baseline = baseline.len();
    let n_candidate = candidate.len();
    let no_ratio = RatioCi {
        ratio: f64::NAN,
        low: f64::NAN,
        high: f64::NAN,
        level: f64::NAN,
    };
    let unknown = |reason: String, more_samples: Option<usize>| Comparison {
        verdict: Verdict::Unknown {
            reason,
            more_samples,
        },
        ratio: no_ratio,
        p_value: f64::NAN,
        exact: false,
        z: 0.0,
        n_baseline,
        n_candidate,
    };

    if baseline.iter().chain(candidate).any(|x| !x.is_finite()) {
        return unknown("non-finite sample".to_string(), None);
    }
    let n_min = n_baseline.min(n_candidate);
    let min_samples = cfg.min_samples.max(1);
    if n_min < min_samples {
        let reason = format!("n={n_min} < {min_samples}");
        return unknown(reason, Some(min_samples - n_min));
    }
    let base_median = median(baseline);
    if base_median.partial_cmp(&0.0) != Some(Ordering::Greater) {
        let reason = format!("baseline median {base_median} is not positive; ratio undefined");
        return unknown(reason, None);
    }

    let alpha = cfg.alpha();
    let ratio = ratio_ci(baseline, candidate, 1.0 - alpha, cfg.resamples, cfg.seed);
    let mw = mann_whitney(baseline, candidate);
    let mut c = Comparison {
        verdict: Verdict::Same,
        ratio,
        p_value: mw.p_two_sided,
        exact: mw.exact,
        z: mw.z,
        n_baseline,
        n_candidate,
    };
    c.verdict = decide(&c, mw.p_two_sided, lower_is_better, cfg);
    c
}

/// The verdict of a comparison whose test gave `q`: its own p for a single test, or its
/// Benjamini-Hochberg q-value ([`benjamini_hochberg`]) within a family of comparisons.
/// A comparison that [`compare`] left undecided (no p) keeps its verdict. With
/// band = [1 - threshold, 1 + threshold], the rules apply in this order:
/// 1. q <= alpha AND the interval lies entirely above or entirely below the band: `Slower` if
///    that is the bad direction for the metric (ratio > 1 for times, < 1 for throughput), else
///    `Faster`;
/// 2. the interval lies entirely within the band and reaches level 1 - alpha: `Same` (an
///    equivalence test: any change is smaller than the threshold, even if significant);
/// 3. otherwise `Unknown`, saying how large a change the interval could still hide, and
///    `more_samples`, how many more samples per side would likely settle it, assuming the
///    interval's half-widths and |z| scale with sqrt(n) (None past 100x the current samples).
pub fn decide(c: &Comparison, q: f64, lower_is_better: bool, cfg: &CompareConfig) -> Verdict {
    if c.p_value.is_nan() {
        return c.verdict.clone();
    }
    let alpha = cfg.alpha();
    let t = cfg.threshold();
    let (band_lo, band_hi) = (1.0 - t, 1.0 + t);
    let r = c.ratio;
    let significant = q <= alpha;
    let above = r.low > band_hi;
    let below = r.high < band_lo;
    let within = r.low >= band_lo && r.high <= band_hi;
    let full_level = r.level >= 1.0 - alpha - 1e-9;

    if significant && (above || below) {
        let worse = if lower_is_better { above } else { below };
        return if worse {
            Verdict::Slower
        } else {
            Verdict::Faster
        };
    }
    if within && full_level {
        return Verdict::Same;
    }
    let ci = format!(
        "ratio {:.4} ({:.1}% CI {:.4}..{:.4})",
        r.ratio,
        r.level * 100.0,
        r.low,
        r.high
    );
    let test = if q == c.p_value {
        format!("Mann-Whitney p={:.2e}", c.p_value)
    } else {
        format!("Mann-Whitney p={:.2e}, q={q:.2e}", c.p_value)
    };
    let hide = ((1.0 - r.low).max(r.high - 1.0) * 100.0).max(0.0);
    let reason = if significant {
        format!(
            "effect near the ±{:.1}% threshold: {ci} reaches into the band though {test} <= \
             {alpha}; it could hide a change of up to {hide:.1}%",
            t * 100.0
        )
    } else if within {
        format!(
            "{ci} lies within ±{:.1}% but reaches only {:.1}% coverage, not {:.0}%: too few \
             samples to say same; it could hide a change of up to {hide:.1}%",
            t * 100.0,
            r.level * 100.0,
            (1.0 - alpha) * 100.0
        )
    } else {
        format!(
            "could hide a change of up to {hide:.1}%: {ci}, {test} (threshold ±{:.1}%)",
            t * 100.0
        )
    };
    let n_min = c.n_baseline.min(c.n_candidate);
    let growth = growth_needed(&r, band_lo, band_hi, c.z, significant, alpha);
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
    fn mann_whitney_separated_sets_small_is_exact_large_is_normal() {
        let a: Vec<f64> = (1..=10).map(f64::from).collect();
        let b: Vec<f64> = (11..=20).map(f64::from).collect();
        let r = mann_whitney(&a, &b);
        // U = 0, mu = 50, sigma^2 = 10*10*21/12 = 175, z = (0 - 50 + 0.5)/sqrt(175)
        assert_eq!(r.u, 0.0);
        assert!(close(r.z, -3.7418482827913495, 1e-12));
        // exact: 2 of the C(20, 10) = 184756 splits are as extreme (SciPy method="exact")
        assert!(r.exact);
        assert!(close(r.p_two_sided, 2.0 / 184_756.0, 1e-15), "{r:?}");
        // symmetric: swapping sides flips U to n1*n2 - U and z's sign, same p
        let s = mann_whitney(&b, &a);
        assert_eq!(s.u, 100.0);
        assert!(close(s.z, -r.z, 1e-12));
        assert!(close(s.p_two_sided, r.p_two_sided, 1e-15));
        // n1 + n2 > EXACT_MAX_N: normal approximation with continuity correction
        let a: Vec<f64> = (1..=50).map(f64::from).collect();
        let b: Vec<f64> = (51..=100).map(f64::from).collect();
        let r = mann_whitney(&a, &b);
        assert!(!r.exact);
        assert!(close(r.z, -8.613827934383663, 1e-9), "{r:?}");
        // Python: math.erfc(8.613827934383663 / sqrt(2)) = 7.066071930389029e-18
        assert!(
            close(r.p_two_sided / 7.066071930389029e-18, 1.0, 1e-6),
            "{r:?}"
        );
    }

    #[test]
    fn five_a_side_fully_separated_reaches_p_below_one_percent() {
        // The normal approximation's smallest p at 5 a side is 0.0122 > 0.01: a nightly of 5
        // repetitions could never fail. The exact test gives 2/252.
        let a = [10.0, 10.2, 9.9, 10.1, 10.3];
        let b: Vec<f64> = a.iter().map(|x| x * 1.5).collect();
        let r = mann_whitney(&a, &b);
        assert!(r.exact);
        assert!(close(r.p_two_sided, 2.0 / 252.0, 1e-15), "{r:?}");
        let c = compare(&a, &b, true, &CompareConfig::default());
        assert_eq!(c.verdict, Verdict::Slower, "{c:?}");
        // 4 a side cannot reach 1%: p = 2/70, and the interval's coverage says so
        let c = compare(
            &a[..4],
            &b[..4],
            true,
            &CompareConfig {
                min_samples: 4,
                ..CompareConfig::default()
            },
        );
        assert!(close(c.p_value, 2.0 / 70.0, 1e-15), "{c:?}");
        assert!(close(c.ratio.level, 1.0 - 2.0 / 70.0, 1e-12), "{c:?}");
        assert!(matches!(c.verdict, Verdict::Unknown { .. }), "{c:?}");
    }

    #[test]
    fn mann_whitney_with_ties_is_an_exact_permutation_test() {
        // combined: 1a 2a 2a 2b 3a 3b 4a 5b 6b 7b; ranks: 1, 3,3,3, 5.5,5.5, 7, 8, 9, 10
        // R_a = 1+3+3+5.5+7 = 19.5, U_a = 19.5 - 15 = 4.5, mu = 12.5
        // ties: t=3 -> 24, t=2 -> 6; sigma^2 = 25/12 * (11 - 30/90) = 22.222...
        // z = (4.5 - 12.5 + 0.5)/sqrt(22.222) = -1.5909902576697
        // Exact, by enumerating the 252 splits of those ranks (Python): 14 have R <= 19.5,
        // so p = 2 * 14/252 = 0.1111.
        let a = [1.0, 2.0, 2.0, 3.0, 4.0];
        let b = [2.0, 3.0, 5.0, 6.0, 7.0];
        let r = mann_whitney(&a, &b);
        assert_eq!(r.u, 4.5);
        assert!(close(r.z, -1.590990257669732, 1e-12));
        assert!(r.exact);
        assert!(close(r.p_two_sided, 28.0 / 252.0, 1e-12), "{r:?}");
    }

    #[test]
    fn null_distribution_of_u_matches_the_tables() {
        // n1 = n2 = 5: U = 0, 1, 2, 3, 4 in 1, 1, 2, 3, 5 of the 252 splits
        let cdf = u_null_cdf(5, 5);
        assert_eq!(cdf.len(), 26);
        for (u, count) in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 7.0), (4, 12.0)] {
            assert!(close(cdf[u], count / 252.0, 1e-15), "U <= {u}: {}", cdf[u]);
        }
        assert!(close(cdf[25], 1.0, 1e-12));
        // unequal sizes: 3 and 7, C(10, 3) = 120 splits, U = 0 in one
        let cdf = u_null_cdf(3, 7);
        assert_eq!(cdf.len(), 22);
        assert!(close(cdf[0], 1.0 / 120.0, 1e-15));
        assert!(close(cdf[21], 1.0, 1e-12));
    }

    #[test]
    fn benjamini_hochberg_matches_r_p_adjust() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005, NA), "BH") = 0.02 0.04 0.04 0.02 NA
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, f64::NAN]);
        for (got, want) in q.iter().zip([0.02, 0.04, 0.04, 0.02]) {
            assert!(close(*got, want, 1e-15), "{q:?}");
        }
        assert!(q[4].is_nan());
        assert_eq!(benjamini_hochberg(&[0.5]), vec![0.5]);
        assert!(benjamini_hochberg(&[]).is_empty());
    }

    #[test]
    fn ratio_interval_coverage_is_what_it_says_at_small_n() {
        // 5 a side, continuous data, no change: the exact interval's level is 1 - 2/252 = 99.2%,
        // so about 0.8% of 4000 intervals miss the true ratio 1 (a binomial sd of 0.14%).
        let mut rng = Rng::new(99);
        let mut miss = 0;
        let trials = 4000;
        for _ in 0..trials {
            let a = noisy(&mut rng, 5, 10.0, 0.15);
            let b = noisy(&mut rng, 5, 10.0, 0.15);
            let r = ratio_ci(&a, &b, 0.99, 0, 0);
            assert!(close(r.level, 1.0 - 2.0 / 252.0, 1e-12));
            if r.low > 1.0 || r.high < 1.0 {
                miss += 1;
            }
        }
        let rate = miss as f64 / trials as f64;
        assert!(rate > 0.002 && rate < 0.015, "miss rate {rate}");
        // the bootstrap percentile interval of the same data misses far more often
        let mut rng = Rng::new(99);
        let mut boot_miss = 0;
        for i in 0..400 {
            let a = noisy(&mut rng, 5, 10.0, 0.15);
            let b = noisy(&mut rng, 5, 10.0, 0.15);
            let r = ratio_of_medians(&a, &b, 500, 0.99, i);
            if r.low > 1.0 || r.high < 1.0 {
                boot_miss += 1;
            }
        }
        assert!(boot_miss as f64 / 400.0 > rate, "{boot_miss}/400 vs {rate}");
    }

    #[test]
    fn an_underpowered_comparison_is_never_same_and_says_what_it_could_hide() {
        // a real +10% change, 10 a side, 15% noise: never `same`
        let cfg = CompareConfig::default();
        for seed in 0..200 {
            let mut rng = Rng::new(5000 + seed);
            let base = noisy(&mut rng, 10, 10.0, 0.15);
            let cand = noisy(&mut rng, 10, 11.0, 0.15);
            let c = compare(&base, &cand, true, &cfg);
            match &c.verdict {
                Verdict::Same => panic!("seed {seed}: same: {c:?}"),
                Verdict::Unknown { reason, .. } => {
                    assert!(reason.contains("could hide a change of up to"), "{reason}")
                }
                _ => {}
            }
        }
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
        let base = noisy(&mut rng, 60, 10.0, 0.03);
        let cand = noisy(&mut rng, 60, 10.0, 0.03);
        let c = compare(&base, &cand, true, &cfg);
        assert_eq!(c.verdict, Verdict::Same, "{c:?}");
        assert_eq!((c.n_baseline, c.n_candidate), (60, 60));
        assert!(c.p_value > cfg.alpha);

        // over many independent pairs, no false Faster/Slower and, with enough samples for
        // the equivalence test (the 99% interval inside ±2%), nearly always Same
        let mut same = 0;
        for seed in 0..40 {
            let mut rng = Rng::new(1000 + seed);
            let base = noisy(&mut rng, 60, 10.0, 0.03);
            let cand = noisy(&mut rng, 60, 10.0, 0.03);
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
            level: 0.99,
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
            level: 0.99,
        };
        let g = growth_needed(&r, 0.98, 1.02, 0.0, false, 0.01).unwrap();
        assert!(close(g, (0.03_f64 / 0.02).powi(2), 1e-12));
        // exactly on the edge: no finite estimate
        let r = RatioCi {
            ratio: 1.02,
            low: 1.0,
            high: 1.04,
            level: 0.99,
        };
        assert_eq!(growth_needed(&r, 0.98, 1.02, 3.0, true, 0.01), None);
    }

    #[test]
    fn order_statistic_median_interval_states_its_real_coverage() {
        let (lo, hi, level) = median_ci_order(&[3.0, 1.0, 2.0, 4.0], 0.95);
        assert_eq!((lo, hi), (1.0, 4.0));
        assert!(
            close(level, 0.875, 1e-15),
            "4 values: [min, max] covers 87.5%"
        );
        let (_, _, level) = median_ci_order(&[1.0, 2.0], 0.95);
        assert!(close(level, 0.5, 1e-15));
        // 6 values reach 95%: [min, max] covers 1 - 2/64
        let (lo, hi, level) = median_ci_order(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0], 0.95);
        assert_eq!((lo, hi), (1.0, 6.0));
        assert!(close(level, 1.0 - 2.0 / 64.0, 1e-15));
        // 20 values: k = 6 (2·P(Bin(20, ½) <= 5) = 0.0414), the 6th and 15th values
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        let (lo, hi, level) = median_ci_order(&v, 0.95);
        assert_eq!((lo, hi), (6.0, 15.0));
        assert!(
            close(level, 1.0 - 0.041_389_465_332_031_25, 1e-12),
            "{level}"
        );
        assert!(median_ci_order(&[], 0.95).0.is_nan());
    }
}
