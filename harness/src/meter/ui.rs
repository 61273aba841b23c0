//! UI stalls (meter `ui`): the page's frame gaps, long tasks, long animation frames and pointer
//! input latency while a case trains (main or worker context), and the start stall; and the
//! calibration (meter `calibrate`) that checks the frame-gap meter against injected blocks.

use super::Meter;
use super::page::{not_measured, numbers, quantile};
use crate::plan::Case;
use crate::record::{CaseInfo, Record, Sample, Status};
use crate::target::Outcome;
use serde_json::Value as Json;

/// A frame longer than this is a long frame.
pub const LONG_FRAME_MS: f64 = 50.0;

pub struct Ui;

fn missing(info: &CaseInfo, name: &str, outcome: &Outcome) -> Vec<Record> {
    let why = if outcome.status == Status::Ok {
        format!("the page reported no `{name}` meter (this target has no page)")
    } else {
        format!(
            "case ended {}: {}",
            outcome.status.as_str(),
            outcome.message
        )
    };
    vec![not_measured(info, name, "", Status::Skipped, &why)]
}

/// How long the page kept the driver out, as the harness's poller noted it (`driver_starved_ms`),
/// worded to follow a reason; empty when it never did.
pub fn starved_note(page: &Json) -> String {
    match page["driver_starved_ms"].as_f64() {
        Some(ms) if ms > 0.0 => format!(
            "; the page's renderer kept the driver's commands out for {:.1} s of the case",
            ms / 1e3
        ),
        _ => String::new(),
    }
}

/// Records of one `ui` page report.
pub fn ui_records(case: &Case, info: &CaseInfo, page: &Json) -> (Vec<Record>, Vec<Sample>) {
    let gaps = numbers(&page["gaps"]);
    let mut recs = Vec::new();
    if let (Some(max), Some(p95)) = (quantile(&gaps, 1.0), quantile(&gaps, 0.95)) {
        let long = gaps.iter().filter(|&&g| g > LONG_FRAME_MS).count() as f64 / gaps.len() as f64;
        recs.push(Record::measured(info, "frame_gap_max", "ms", true, &[max]));
        recs.push(Record::measured(info, "frame_gap_p95", "ms", true, &[p95]));
        recs.push(Record::measured(
            info,
            "long_frames",
            "fraction",
            true,
            &[long],
        ));
    } else {
        recs.push(not_measured(
            info,
            "frame_gap_max",
            "ms",
            Status::Failed,
            "no animation frame ran while the case trained",
        ));
    }
    if let Some(s) = page["start_stall"].as_f64() {
        recs.push(Record::measured(info, "start_stall", "ms", true, &[s]));
    }
    let inputs = page["inputs"].as_array().cloned().unwrap_or_default();
    let delay: Vec<f64> = inputs.iter().filter_map(|i| i["delay"].as_f64()).collect();
    let to_frame: Vec<f64> = inputs
        .iter()
        .filter_map(|i| i["to_frame"].as_f64())
        .collect();
    match (quantile(&delay, 0.95), quantile(&to_frame, 0.95)) {
        (Some(d), Some(f)) => {
            recs.push(Record::measured(info, "input_delay_p95", "ms", true, &[d]));
            recs.push(Record::measured(info, "input_to_frame_p95", "ms", true, &[f]));
            recs.push(Record::measured(info, "inputs", "count", false, &[delay.len() as f64]));
        }
        _ => recs.push(not_measured(
            info,
            "input_delay_p95",
            "ms",
            Status::Skipped,
            &format!(
                "no pointer input reached the page while the case trained (clicks go out between polls: a page too busy to answer a poll gets none){}",
                starved_note(page)
            ),
        )),
    }
    for (key, metric, what) in [
        ("long_tasks", "long_tasks", "longtask"),
        (
            "long_animation_frames",
            "long_animation_frames",
            "long-animation-frame",
        ),
    ] {
        match page[key].as_array() {
            Some(a) => recs.push(Record::measured(
                info,
                metric,
                "count",
                true,
                &[a.len() as f64],
            )),
            None => recs.push(not_measured(
                info,
                metric,
                "count",
                Status::Skipped,
                &format!("this engine does not report `{what}` entries"),
            )),
        }
    }
    let samples = gaps
        .iter()
        .enumerate()
        .map(|(index, &value)| Sample {
            case_id: case.id.clone(),
            metric: "frame_gap".into(),
            phase: "measured",
            index,
            value,
        })
        .collect();
    (recs, samples)
}

impl Meter for Ui {
    fn name(&self) -> &'static str {
        "ui"
    }

    fn records(
        &self,
        case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>) {
        match outcome.page.get("ui") {
            Some(p) if p.is_object() => ui_records(case, info, p),
            _ => (missing(info, "ui", outcome), Vec::new()),
        }
    }
}

pub struct Calibrate;

/// Records of one `calibrate` page report: each injected block as the frame-gap meter saw it,
/// and the hidden interval as the page saw it, with relative errors.
pub fn calibrate_records(info: &CaseInfo, page: &Json) -> Vec<Record> {
    let mut recs = Vec::new();
    for b in page["blocks"].as_array().cloned().unwrap_or_default() {
        let Some(injected) = b["injected"].as_f64() else {
            continue;
        };
        let name = format!("calib_block_{injected:.0}");
        match b["measured"].as_f64() {
            Some(m) => {
                recs.push(Record::measured(
                    info,
                    &format!("{name}_measured"),
                    "ms",
                    false,
                    &[m],
                ));
                let err = (m - injected).abs() / injected;
                recs.push(Record::measured(
                    info,
                    &format!("{name}_error"),
                    "fraction",
                    true,
                    &[err],
                ));
            }
            None => recs.push(not_measured(
                info,
                &format!("{name}_measured"),
                "ms",
                Status::Failed,
                "no animation frames around the injected block",
            )),
        }
    }
    let h = &page["hidden"];
    let truth = h["harness_ms"].as_f64().or(h["requested"].as_f64());
    match (h["measured"].as_f64(), truth) {
        (Some(m), Some(t)) if t > 0.0 => {
            recs.push(Record::measured(
                info,
                "calib_hidden_measured",
                "ms",
                false,
                &[m],
            ));
            recs.push(Record::measured(
                info,
                "calib_hidden_error",
                "fraction",
                true,
                &[(m - t).abs() / t],
            ));
        }
        _ => {
            let states = h["states"].to_string();
            let why = if h["harness_ms"].as_f64().is_some_and(|t| t < 0.0) {
                "the harness could not switch tabs (the page's renderer did not take the driver's commands)".to_string()
            } else {
                format!(
                    "the page never saw itself hidden and shown again (visibilityState seen: {states})"
                )
            };
            recs.push(not_measured(
                info,
                "calib_hidden_measured",
                "ms",
                Status::Failed,
                &why,
            ));
        }
    }
    recs
}

impl Meter for Calibrate {
    fn name(&self) -> &'static str {
        "calibrate"
    }

    fn records(
        &self,
        _case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>) {
        match outcome.page.get("calibrate") {
            Some(p) if p.is_object() => (calibrate_records(info, p), Vec::new()),
            _ => (missing(info, "calibrate", outcome), Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(recs: &[Record], metric: &str) -> Option<f64> {
        recs.iter()
            .find(|r| r.metric == metric)
            .and_then(|r| r.summary.as_ref())
            .map(|s| s.median)
    }

    fn ui_case() -> Case {
        crate::plan::Case {
            id: "x".into(),
            workload: "mlp".into(),
            size: "s".into(),
            target: "chromium".into(),
            backend: "ndarray".into(),
            simd: Some(crate::scenario::Simd::On),
            context: "main".into(),
            repetition: 1,
            seed: 1,
            warmup: 0,
            steps: 1,
            epochs: None,
            timeout_s: 1,
            meters: vec!["ui".into()],
            classes: None,
            samples_per_class: None,
            fault: None,
            max_extra_warmup: 0,
            threads: None,
        }
    }

    #[test]
    fn ui_report_becomes_records() {
        let case = ui_case();
        let mut gaps = vec![16.0; 19];
        gaps.push(120.0);
        let page = json!({"gaps": gaps, "start_stall": 120.0,
            "inputs": [{"delay": 3.0, "to_frame": 10.0}, {"delay": 40.0, "to_frame": 55.0}],
            "long_tasks": [120.0], "long_animation_frames": null});
        let (recs, samples) = ui_records(&case, &CaseInfo::default(), &page);
        assert_eq!(value(&recs, "frame_gap_max"), Some(120.0));
        assert_eq!(value(&recs, "frame_gap_p95"), Some(16.0));
        assert_eq!(value(&recs, "long_frames"), Some(0.05));
        assert_eq!(value(&recs, "input_delay_p95"), Some(40.0));
        assert_eq!(value(&recs, "long_tasks"), Some(1.0));
        let loaf = recs
            .iter()
            .find(|r| r.metric == "long_animation_frames")
            .unwrap();
        assert_eq!(loaf.status, Status::Skipped);
        assert_eq!(samples.len(), 20);
    }

    #[test]
    fn a_starved_driver_is_named_in_the_skip() {
        let page = json!({"gaps": [16.0, 120.0], "inputs": [], "driver_starved_ms": 61_500.0});
        let (recs, _) = ui_records(&ui_case(), &CaseInfo::default(), &page);
        let skip = recs.iter().find(|r| r.metric == "input_delay_p95").unwrap();
        assert_eq!(skip.status, Status::Skipped);
        assert!(
            skip.message
                .contains("kept the driver's commands out for 61.5 s"),
            "{}",
            skip.message
        );
        assert_eq!(starved_note(&json!({})), "");
    }

    #[test]
    fn calibration_errors_are_relative() {
        let page = json!({"blocks": [{"injected": 200, "measured": 210.0}, {"injected": 500, "measured": null}],
            "hidden": {"requested": 3000, "measured": null, "states": ["visible"]}});
        let recs = calibrate_records(&CaseInfo::default(), &page);
        assert_eq!(value(&recs, "calib_block_200_error"), Some(0.05));
        let r500 = recs
            .iter()
            .find(|r| r.metric == "calib_block_500_measured")
            .unwrap();
        assert_eq!(r500.status, Status::Failed);
        let hidden = recs
            .iter()
            .find(|r| r.metric == "calib_hidden_measured")
            .unwrap();
        assert!(hidden.message.contains("visible"));
    }
}
