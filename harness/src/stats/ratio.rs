//! The candidate/baseline ratio and its interval.

use super::*;

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
pub(super) const MAX_PAIRS: usize = 4_000_000;

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
