//! Peak memory. Every target: the summed proportional set size (PSS) of the case's whole process
//! tree, sampled by the case's watchdog (`cap.rs`) every 25-100 ms: `peak_pss`, `mean_pss` and
//! every sample (metric `pss` in samples.csv). Native and Node cases also report the peak RSS of
//! their process (`peak_rss`, unless the throughput meter records it already). In a page the probe
//! adds the wasm memory size at the end of the case (`wasm_memory`) and, where the engine has it
//! (Chromium, cross-origin isolated, main thread), `performance.measureUserAgentSpecificMemory()`
//! (`ua_memory`).

use super::Meter;
use super::cap::{Seen, Watchdog};
use crate::plan::Case;
use crate::record::{CaseInfo, Record, Sample, Status};
use crate::target::{Outcome, Processes};
use std::sync::{Arc, Mutex};

const MIB: f64 = 1048576.0;

/// The memory meter. Reads the samples of the case's watchdog when `Meters` attached it to one;
/// used alone it runs a sampler of its own.
pub struct Memory {
    seen: Arc<Mutex<Seen>>,
    own: Option<Watchdog>,
}

impl Memory {
    /// A meter with its own sampler (no cap).
    pub fn standalone() -> Self {
        let w = Watchdog::new(None);
        Memory {
            seen: w.seen(),
            own: Some(w),
        }
    }

    /// A meter that reads what the case's watchdog samples.
    pub fn attached(seen: Arc<Mutex<Seen>>) -> Self {
        Memory { seen, own: None }
    }
}

impl Meter for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn start(&mut self, _case: &Case, procs: &Processes) {
        if let Some(w) = &mut self.own {
            w.start(procs);
        }
    }

    fn stop(&mut self) {
        if let Some(w) = &mut self.own {
            w.stop();
        }
    }

    fn records(
        &self,
        case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>) {
        let mut recs = Vec::new();
        let mut smp = Vec::new();
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let pss: Vec<f64> = seen.samples.iter().map(|s| s.1 as f64 / MIB).collect();
        if !pss.is_empty() {
            let peak = pss.iter().copied().fold(f64::MIN, f64::max);
            let mean = pss.iter().sum::<f64>() / pss.len() as f64;
            recs.push(Record::measured(info, "peak_pss", "MiB", true, &[peak]));
            recs.push(Record::measured(info, "mean_pss", "MiB", true, &[mean]));
            smp.extend(pss.iter().enumerate().map(|(index, &value)| Sample {
                case_id: case.id.clone(),
                metric: "pss".into(),
                phase: "case",
                index,
                value,
            }));
        }
        // A remote browser: nothing here to sample, and the rows say so rather than go missing.
        if pss.is_empty()
            && let Some(d) = outcome.device.as_ref().filter(|d| d.remote())
        {
            for metric in ["peak_pss", "mean_pss"] {
                let mut r = Record::outcome(
                    info,
                    Status::Skipped,
                    &format!(
                        "not measured on the remote device {}: {}",
                        d.id, d.not_measured
                    ),
                );
                r.metric = metric.into();
                r.unit = "MiB".into();
                r.lower_is_better = true;
                recs.push(r);
            }
        }
        if let Some(rss) = outcome.peak_rss_bytes
            && !case.meters.iter().any(|m| m == "throughput")
        {
            recs.push(Record::measured(
                info,
                "peak_rss",
                "MiB",
                true,
                &[rss as f64 / MIB],
            ));
        }
        let page = &outcome.page["memory"];
        if let Some(b) = page["wasm_bytes"].as_f64() {
            recs.push(Record::measured(
                info,
                "wasm_memory",
                "MiB",
                true,
                &[b / MIB],
            ));
        }
        if let Some(b) = page["uasm_bytes"].as_f64() {
            recs.push(Record::measured(info, "ua_memory", "MiB", true, &[b / MIB]));
        }
        (recs, smp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    fn case() -> Case {
        Case {
            id: "mlp/0.1m/chromium/ndarray-simd/main/r1".into(),
            workload: "mlp".into(),
            size: "0.1m".into(),
            target: "chromium".into(),
            backend: "ndarray".into(),
            simd: Some(crate::scenario::Simd::On),
            context: "main".into(),
            repetition: 1,
            seed: 1,
            warmup: 0,
            steps: 1,
            epochs: None,
            timeout_s: 10,
            meters: vec!["memory".into()],
            classes: None,
            samples_per_class: None,
            fault: None,
            max_extra_warmup: 0,
            threads: None,
        }
    }

    #[test]
    fn records_from_samples_and_the_page() {
        let w = Watchdog::new(None);
        let seen = w.seen();
        seen.lock().unwrap().samples =
            vec![(0.0, 100 << 20), (100.0, 300 << 20), (200.0, 200 << 20)];
        let m = Memory::attached(seen);
        let mut o = Outcome::bare(Status::Ok, "", "chromium", "1");
        o.peak_rss_bytes = Some(50 << 20);
        o.page = serde_json::json!({"memory": {"wasm_bytes": 64.0 * MIB, "uasm_bytes": null, "uasm_error": "x"}});
        let (r, s) = m.records(&case(), &CaseInfo::default(), &o);
        let get = |n: &str| {
            r.iter()
                .find(|x| x.metric == n)
                .and_then(|x| x.summary.as_ref())
                .map(|s| s.median)
        };
        assert_eq!(get("peak_pss"), Some(300.0));
        assert_eq!(get("mean_pss"), Some(200.0));
        assert_eq!(get("peak_rss"), Some(50.0));
        assert_eq!(get("wasm_memory"), Some(64.0));
        assert_eq!(get("ua_memory"), None);
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|x| x.metric == "pss"));
    }
}
