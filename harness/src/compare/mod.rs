//! Comparing two runs (baseline vs candidate) on their raw samples, with Markdown, JSON,
//! Perfherder and JUnit renderings, and the history page of every run under a results directory.

use crate::record::{self, Status};
use crate::report::charts::{self, Point};
use crate::report::doc::{Block, Doc, Section, Table};
use crate::report::{self, Agg, Run, fig, html, num};
use crate::stats::{self, CompareConfig, Comparison, Verdict};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One (series, metric) compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// The case id without its `/r<N>` repetition suffix.
    pub series: String,
    pub metric: String,
    pub unit: String,
    pub lower_is_better: bool,
    pub baseline_median: Option<f64>,
    pub candidate_median: Option<f64>,
    /// candidate/baseline ratio (Hodges-Lehmann: the median of the pairwise ratios) with its
    /// (1 - alpha) distribution-free interval (`stats::ratio_ci`).
    pub ratio: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// The interval's real coverage (exact order statistics at small n; see `stats::ratio_ci`).
    pub ci_level: Option<f64>,
    /// Two-sided Mann-Whitney p (exact at small n).
    pub p_value: Option<f64>,
    /// Benjamini-Hochberg q over every row of this comparison that has a p: the verdict is
    /// decided on q, so that a comparison of many series keeps its false discoveries at alpha.
    pub q_value: Option<f64>,
    /// Samples of the test a side: repetitions, or steps with `Unit::Steps`.
    pub n_baseline: usize,
    pub n_candidate: usize,
    /// "faster", "slower", "same" or "unknown".
    pub verdict: String,
    pub reason: String,
}

/// Every series compared; `regressions` counts the rows whose verdict is "slower".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareReport {
    pub baseline: String,
    pub candidate: String,
    pub threshold: f64,
    pub rows: Vec<CompareRow>,
    pub regressions: usize,
    /// Problems that did not stop the comparison (e.g. a cut-short last line that was dropped).
    pub warnings: Vec<String>,
}

mod history;
mod render;
mod side;
mod verdict;

pub use history::*;
pub use render::*;
pub use side::*;
pub use verdict::*;

#[cfg(test)]
mod tests;
