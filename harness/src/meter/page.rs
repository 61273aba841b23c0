//! What the page meters share: small helpers for their records. The page tasks themselves and
//! what a target sends the page are in `target/page.rs`.

use crate::record::{CaseInfo, Record, Status};
use serde_json::Value as Json;

/// A record saying `metric` was not measured here, and why.
pub fn not_measured(
    info: &CaseInfo,
    metric: &str,
    unit: &str,
    status: Status,
    why: &str,
) -> Record {
    Record {
        case: info.clone(),
        metric: metric.into(),
        unit: unit.into(),
        lower_is_better: false,
        summary: None,
        status,
        message: why.into(),
    }
}

/// The `q` quantile (0..=1) of `values` by nearest rank; None when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// The numbers of a JSON array (non-numbers dropped).
pub fn numbers(v: &Json) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Json::as_f64).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.95), Some(95.0));
        assert_eq!(quantile(&v, 1.0), Some(100.0));
        assert_eq!(quantile(&[3.0], 0.5), Some(3.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
