//! The in-page estimate (meter `estimate`, page task `estimate`): what `estimate.js` told the
//! page before training (wasm-probe/js/estimate.js): the predicted training time, with the range
//! its calibration's slowest and fastest quarter give as its interval, the mean step, the
//! calibration's own cost, and the sample ceiling.

use super::Meter;
use super::page::not_measured;
use crate::plan::Case;
use crate::record::{CaseInfo, Record, Sample, Status};
use crate::target::Outcome;
use serde_json::Value as Json;

pub struct Estimate;

/// One record for one number the page reported (None when it is missing).
fn one(info: &CaseInfo, metric: &str, unit: &str, lower: bool, v: Option<f64>) -> Option<Record> {
    v.filter(|v| v.is_finite())
        .map(|v| Record::measured(info, metric, unit, lower, &[v]))
}

pub fn estimate_records(info: &CaseInfo, page: &Json) -> Vec<Record> {
    let f = |k: &str| page[k].as_f64();
    let Some(mut training) = one(info, "est_training_time", "ms", true, f("trainingMs")) else {
        return vec![not_measured(
            info,
            "est_training_time",
            "ms",
            Status::Failed,
            &format!("estimate.js reported no trainingMs: {page}"),
        )];
    };
    // The interval: extrapolated from the calibration's slowest and fastest quarter (estimate.js).
    if let (Some(s), Some(lo), Some(hi)) = (
        training.summary.as_mut(),
        page["trainingRangeMs"][0].as_f64(),
        page["trainingRangeMs"][1].as_f64(),
    ) {
        s.ci_low = lo.min(s.median);
        s.ci_high = hi.max(s.median);
    }
    let reached = page["denormalReached"].as_bool() == Some(true);
    training.message = format!(
        "{} steps, {} measured in the calibration{}",
        f("steps").unwrap_or(f64::NAN),
        f("measuredSteps").unwrap_or(f64::NAN),
        match page["denormal"]["factor"].as_f64() {
            Some(x) => format!("; steps past 700 ×{x:.2} (denormals)"),
            None if reached => String::new(),
            None => "; the calibration did not reach the denormal phase (after step 700): the steps past it may be slower".into(),
        }
    );
    let mut recs = vec![training];
    recs.extend(one(info, "est_step_time", "ms", true, f("stepMs")));
    recs.extend(one(info, "est_calibration", "ms", true, f("calibrationMs")));
    if let Some(mut r) = one(info, "est_max_samples", "samples", false, f("maxSamples")) {
        r.message = page["maxSamplesReason"].as_str().unwrap_or("").to_string();
        recs.push(r);
    }
    recs
}

impl Meter for Estimate {
    fn name(&self) -> &'static str {
        "estimate"
    }

    fn records(
        &self,
        _case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>) {
        super::from_page(outcome, "estimate", |p| estimate_records(info, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prediction_with_its_spread_and_the_ceiling() {
        let page = serde_json::json!({"trainingMs": 2000.0, "trainingRangeMs": [1800.0, 2300.0],
            "steps": 2400, "measuredSteps": 1500, "stepMs": 0.5, "calibrationMs": 1900.0,
            "denormal": {"onset": 700, "factor": 2.9}, "denormalReached": true,
            "maxSamples": 493447, "maxSamplesReason": "wasm32's 2 GiB single allocation"});
        let recs = estimate_records(&CaseInfo::default(), &page);
        let t = recs
            .iter()
            .find(|r| r.metric == "est_training_time")
            .unwrap();
        let s = t.summary.as_ref().unwrap();
        assert_eq!((s.median, s.ci_low, s.ci_high), (2000.0, 1800.0, 2300.0));
        assert!(t.message.contains("×2.90"), "{}", t.message);
        let m = recs.iter().find(|r| r.metric == "est_max_samples").unwrap();
        assert_eq!(m.summary.as_ref().unwrap().median, 493447.0);
        assert!(m.message.contains("2 GiB"));
        assert_eq!(recs.len(), 4);
        // Nothing reported: one failed row saying so.
        let none = estimate_records(&CaseInfo::default(), &serde_json::json!({"oops": 1}));
        assert_eq!(none.len(), 1);
        assert_eq!(none[0].status, Status::Failed);
    }
}
