//! Descriptive statistics: summaries, quantiles, outliers and the median's intervals.

use super::*;

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

pub(super) fn sorted_copy(samples: &[f64]) -> Vec<f64> {
    let mut v = samples.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// Median of a non-empty buffer, reordering it (O(n) selection, no full sort).
pub(super) fn median_in_place(v: &mut [f64]) -> f64 {
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
pub(super) fn resampled_median(samples: &[f64], buf: &mut [f64], rng: &mut Rng) -> f64 {
    for slot in buf.iter_mut() {
        *slot = samples[rng.below(samples.len())];
    }
    median_in_place(buf)
}

/// Central `level` interval of an ascending `sorted` bootstrap distribution.
pub(super) fn percentile_interval(sorted: &[f64], level: f64) -> (f64, f64) {
    let level = if level.is_nan() {
        DEFAULT_LEVEL
    } else {
        level.clamp(0.0, 1.0)
    };
    let tail = (1.0 - level) / 2.0;
    (quantile(sorted, tail), quantile(sorted, 1.0 - tail))
}

pub(super) fn tukey_sorted(sorted: &[f64]) -> (usize, usize) {
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
