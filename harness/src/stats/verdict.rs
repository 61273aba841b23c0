//! The faster/slower/same verdict between two samples.

use super::*;

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

/// Factor by which n must grow for the CI (and, if needed, the test) to become decisive,
/// assuming widths shrink and |z| grows like sqrt(n). None when no finite factor exists.
pub(super) fn growth_needed(
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
