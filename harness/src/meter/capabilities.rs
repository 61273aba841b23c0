//! Capability matrix (meter `capabilities`, page task `capabilities`): one record per platform
//! capability, `cap_<name>`, its value as text in the message and as a number where it has one.

use super::Meter;
use crate::plan::Case;
use crate::record::{CaseInfo, Record, Sample, Status};
use crate::target::Outcome;
use serde_json::Value as Json;

pub struct Capabilities;

pub fn capability_records(info: &CaseInfo, page: &Json) -> Vec<Record> {
    let Some(caps) = page["caps"].as_object() else {
        return Vec::new();
    };
    caps.iter()
        .map(|(name, v)| {
            let metric = format!("cap_{name}");
            let text = v["text"].as_str().unwrap_or_default();
            let mut r = match v["num"].as_f64() {
                Some(n) => Record::measured(info, &metric, "", false, &[n]),
                None => Record {
                    case: info.clone(),
                    metric,
                    unit: String::new(),
                    lower_is_better: false,
                    summary: None,
                    status: Status::Ok,
                    message: String::new(),
                },
            };
            r.message = text.split_whitespace().collect::<Vec<_>>().join(" ");
            r
        })
        .collect()
}

impl Meter for Capabilities {
    fn name(&self) -> &'static str {
        "capabilities"
    }

    fn records(
        &self,
        _case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>) {
        super::from_page(outcome, "capabilities", |p| capability_records(info, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_per_capability() {
        let page = serde_json::json!({"caps": {"wasm_simd": {"text": "yes", "num": 1},
            "webgpu": {"text": "no: navigator.gpu missing"}}});
        let recs = capability_records(&CaseInfo::default(), &page);
        assert_eq!(recs.len(), 2);
        let simd = recs.iter().find(|r| r.metric == "cap_wasm_simd").unwrap();
        assert_eq!(simd.summary.as_ref().unwrap().median, 1.0);
        let gpu = recs.iter().find(|r| r.metric == "cap_webgpu").unwrap();
        assert!(gpu.summary.is_none() && gpu.message.starts_with("no:"));
    }
}
