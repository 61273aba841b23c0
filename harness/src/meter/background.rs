//! Background tab (meter `background`): training throughput while the probe's tab is hidden
//! against while it is visible. The page logs each step's end time and every visibility change
//! (absolute ms); half way through, the harness shows another tab for as long as the first half
//! took, then comes back.

use super::Meter;
use super::page::{not_measured, numbers};
use crate::plan::Case;
use crate::record::{CaseInfo, Record, Sample, Status};
use crate::target::Outcome;
use serde_json::Value as Json;

pub struct Background;

/// Steps per second while visible and while hidden, and ms spent hidden, from step end times
/// and visibility changes `(time, state)`. Warmup steps are left out; the first measured step's
/// end starts the clock.
pub fn rates(steps: &[f64], warmup: usize, vis: &[(f64, String)]) -> Option<(f64, f64, f64)> {
    let steps = steps.get(warmup.min(steps.len().saturating_sub(2))..)?;
    let (&first, &last) = (steps.first()?, steps.last()?);
    if last <= first || vis.is_empty() {
        return None;
    }
    let (mut vis_ms, mut hid_ms, mut vis_n, mut hid_n) = (0.0, 0.0, 0usize, 0usize);
    for (k, (t, state)) in vis.iter().enumerate() {
        let end = vis.get(k + 1).map(|v| v.0).unwrap_or(f64::INFINITY);
        let (a, b) = (t.max(first), end.min(last));
        if b <= a {
            continue;
        }
        let n = steps.iter().filter(|&&s| s > a && s <= b).count();
        if state == "hidden" {
            hid_ms += b - a;
            hid_n += n;
        } else {
            vis_ms += b - a;
            vis_n += n;
        }
    }
    // The state before the first change covers the time before it.
    if vis[0].0 > first {
        let b = vis[0].0.min(last);
        vis_ms += b - first;
        vis_n += steps.iter().filter(|&&s| s > first && s <= b).count();
    }
    let per_s = |n: usize, ms: f64| {
        if ms > 0.0 {
            n as f64 * 1e3 / ms
        } else {
            f64::NAN
        }
    };
    Some((per_s(vis_n, vis_ms), per_s(hid_n, hid_ms), hid_ms))
}

pub fn background_records(info: &CaseInfo, page: &Json) -> Vec<Record> {
    let steps = numbers(&page["steps"]);
    let warmup = page["warmup"].as_u64().unwrap_or(0) as usize;
    let vis: Vec<(f64, String)> = page["visibility"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| Some((v[0].as_f64()?, v[1].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let states: Vec<&str> = vis.iter().map(|v| v.1.as_str()).collect();
    let mut recs = Vec::new();
    match rates(&steps, warmup, &vis) {
        None => recs.push(not_measured(
            info,
            "background_ratio",
            "fraction",
            Status::Failed,
            &format!(
                "too few steps were logged ({}) to measure throughput",
                steps.len()
            ),
        )),
        Some((visible, hidden, hidden_ms)) => {
            recs.push(Record::measured(
                info,
                "visible_steps_per_s",
                "steps/s",
                false,
                &[visible],
            ));
            recs.push(Record::measured(
                info,
                "hidden_ms",
                "ms",
                false,
                &[hidden_ms],
            ));
            if hidden_ms <= 0.0 {
                let trained_s = match (steps.first(), steps.last()) {
                    (Some(a), Some(b)) => (b - a) / 1e3,
                    _ => 0.0,
                };
                let (after, away) = (
                    crate::target::page::HIDE_AFTER.as_secs_f64(),
                    crate::target::page::HIDE_FOR.as_secs_f64(),
                );
                let why = if trained_s < after + away {
                    format!(
                        "training lasted {trained_s:.1} s, and the harness hides the tab {after} s \
                         after the start for {away} s: give the case more steps"
                    )
                } else {
                    format!(
                        "training lasted {trained_s:.1} s, past the harness's tab switch ({after} s \
                         after the start, for {away} s), which did not reach the page: a page \
                         busy on its main thread can starve the WebDriver commands that switch \
                         tabs, and a browser without a window manager (WebKitGTK's MiniBrowser \
                         under Xvfb) never reports a tab hidden"
                    )
                };
                recs.push(not_measured(
                    info,
                    "background_ratio",
                    "fraction",
                    Status::Skipped,
                    &format!(
                        "the tab never became hidden while training (visibilityState seen: {}); {why}{}",
                        states.join(" -> "),
                        super::ui::starved_note(page)
                    ),
                ));
            } else {
                recs.push(Record::measured(
                    info,
                    "hidden_steps_per_s",
                    "steps/s",
                    false,
                    &[hidden],
                ));
                let mut r = Record::measured(
                    info,
                    "background_ratio",
                    "fraction",
                    false,
                    &[hidden / visible],
                );
                r.message = format!("visibilityState: {}", states.join(" -> "));
                recs.push(r);
            }
        }
    }
    recs
}

impl Meter for Background {
    fn name(&self) -> &'static str {
        "background"
    }

    fn records(
        &self,
        _case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>) {
        match outcome.page.get("background") {
            Some(p) if p.is_object() => {
                // The page logs the scenario's fixed `warmup`; the probe may have warmed up
                // longer (the warm-up extension): its own count says where measuring began.
                let mut p = p.clone();
                if let Some(r) = &outcome.result {
                    p["warmup"] = r.warmup_ms.len().into();
                }
                (background_records(info, &p), Vec::new())
            }
            _ => {
                let why = if outcome.status == Status::Ok {
                    "the page reported no `background` meter (this target has no page)".to_string()
                } else {
                    format!(
                        "case ended {}: {}",
                        outcome.status.as_str(),
                        outcome.message
                    )
                };
                (
                    vec![not_measured(
                        info,
                        "background_ratio",
                        "fraction",
                        Status::Skipped,
                        &why,
                    )],
                    Vec::new(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_half_at_a_quarter_of_the_speed() {
        // Visible 0..1000 ms: 10 steps/s; hidden 1000..3000: 2.5 steps/s; visible again after.
        let mut steps: Vec<f64> = (0..=10).map(|i| i as f64 * 100.0).collect();
        steps.extend((1..=5).map(|i| 1000.0 + i as f64 * 400.0));
        steps.extend((1..=10).map(|i| 3000.0 + i as f64 * 100.0));
        let vis = vec![
            (0.0, "visible".to_string()),
            (1000.0, "hidden".to_string()),
            (3000.0, "visible".to_string()),
        ];
        let (v, h, ms) = rates(&steps, 0, &vis).unwrap();
        assert!((v - 10.0).abs() < 1e-9, "{v}");
        assert!((h - 2.5).abs() < 1e-9, "{h}");
        assert_eq!(ms, 2000.0);
    }

    #[test]
    fn never_hidden_is_said() {
        let page = serde_json::json!({"steps": [0.0, 100.0, 200.0], "warmup": 0,
            "visibility": [[0.0, "visible"], [300.0, "visible"]]});
        let recs = background_records(&CaseInfo::default(), &page);
        let r = recs
            .iter()
            .find(|r| r.metric == "background_ratio")
            .unwrap();
        assert_eq!(r.status, Status::Skipped);
        assert!(r.message.contains("never became hidden"), "{}", r.message);
        assert!(r.message.contains("training lasted 0.2 s"), "{}", r.message);
    }
}
