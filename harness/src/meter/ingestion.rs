//! Data ingestion (meter `ingestion`, page task `ingestion`): MB/s for bringing N MiB of samples
//! into a WebAssembly.Memory by fetch, from OPFS and from IndexedDB, where the engine has each.

use super::Meter;
use super::page::not_measured;
use crate::plan::Case;
use crate::record::{CaseInfo, Record, Sample, Status};
use crate::target::Outcome;
use serde_json::Value as Json;

pub struct Ingestion;

/// The ways in, as the page names them, and their metrics.
pub const SOURCES: [(&str, &str); 3] = [
    ("fetch", "ingest_fetch"),
    ("opfs", "ingest_opfs"),
    ("idb", "ingest_idb"),
];

pub fn ingestion_records(info: &CaseInfo, page: &Json) -> Vec<Record> {
    let mut recs = Vec::new();
    for (key, metric) in SOURCES {
        let v = &page[key];
        if let Some(why) = v["skipped"].as_str() {
            recs.push(not_measured(info, metric, "MB/s", Status::Skipped, why));
            continue;
        }
        let rates: Vec<f64> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| {
                        let (ms, bytes) = (r["ms"].as_f64()?, r["bytes"].as_f64()?);
                        (ms > 0.0).then(|| bytes / 1e6 / (ms / 1e3))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if rates.is_empty() {
            let why = if v.is_null() {
                "not tried (an earlier way in failed)".to_string()
            } else {
                format!("no timing in the page's report: {v}")
            };
            recs.push(not_measured(info, metric, "MB/s", Status::Skipped, &why));
        } else {
            recs.push(Record::measured(info, metric, "MB/s", false, &rates));
        }
    }
    recs
}

impl Meter for Ingestion {
    fn name(&self) -> &'static str {
        "ingestion"
    }

    fn records(
        &self,
        _case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>) {
        super::from_page(outcome, "ingestion", |p| ingestion_records(info, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_skips() {
        let page = serde_json::json!({"fetch": [{"ms": 100.0, "bytes": 64e6}, {"ms": 200.0, "bytes": 64e6}],
            "opfs": {"skipped": "no OPFS"}});
        let recs = ingestion_records(&CaseInfo::default(), &page);
        let f = recs.iter().find(|r| r.metric == "ingest_fetch").unwrap();
        let s = f.summary.as_ref().unwrap();
        assert_eq!((s.min, s.max), (320.0, 640.0));
        let o = recs.iter().find(|r| r.metric == "ingest_opfs").unwrap();
        assert_eq!((o.status, o.message.as_str()), (Status::Skipped, "no OPFS"));
        assert_eq!(
            recs.iter()
                .find(|r| r.metric == "ingest_idb")
                .unwrap()
                .status,
            Status::Skipped
        );
    }
}
