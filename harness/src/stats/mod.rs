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

mod descriptive;
mod mann_whitney;
mod multiplicity;
mod ratio;
mod rng;
mod verdict;

pub use descriptive::*;
pub use mann_whitney::*;
pub use multiplicity::*;
pub use ratio::*;
pub use rng::*;
pub use verdict::*;

#[cfg(test)]
mod tests;
