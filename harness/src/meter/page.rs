//! What the page meters share: page-only workloads (tasks the probe page runs instead of a
//! training case), the extra fields the page receives, and small helpers for records.

use crate::plan::Case;
use crate::record::{CaseInfo, Record, Status};
use crate::target::{Outcome, Reply};
use serde_json::Value as Json;
use std::path::Path;

/// Workloads that are page tasks, not burn training cases, and what each measures.
pub const PAGE_TASKS: [(&str, &str); 3] = [
    (
        "capabilities",
        "page task: one record per platform capability (wasm features, memory, WebGPU, WebNN, storage, timers)",
    ),
    (
        "ingestion",
        "page task: MB/s bringing 64 MiB into wasm memory by fetch, from OPFS and from IndexedDB",
    ),
    (
        "calibrate",
        "page task: injected 200 ms and 500 ms main-thread blocks and a 3 s hidden interval, measured by the page meters",
    ),
];

/// The only size of a page task.
pub const PAGE_TASK_SIZE: &str = "default";
/// MiB of samples the ingestion task brings in.
pub const INGEST_MIB: u64 = 64;

pub fn is_page_task(workload: &str) -> bool {
    PAGE_TASKS.iter().any(|(w, _)| *w == workload)
}

/// The most memory a page may grow while probing capabilities: the smaller of 8 GiB and half
/// of the memory available now.
pub fn mem_limit_bytes() -> u64 {
    let cap = 8u64 << 30;
    let avail = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemAvailable:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    avail.map(|a| cap.min(a / 2)).unwrap_or(2u64 << 30)
}

/// Add what the page meters and page tasks read to a case's JSON spec.
pub fn add_page_fields(spec: &mut Json, case: &Case) {
    spec["meters"] = Json::from(case.meters.clone());
    if is_page_task(&case.workload) {
        spec["mem_limit_bytes"] = Json::from(mem_limit_bytes());
        spec["ingest_mib"] = Json::from(INGEST_MIB);
    }
}

/// Make sure the files a page task fetches are in the probe bundle.
pub fn prepare_bundle(case: &Case) -> Result<(), String> {
    if case.workload != "ingestion" {
        return Ok(());
    }
    ensure_ingest_file(&crate::bundle::bundle_dir(), INGEST_MIB)
}

/// `<bundle>/data/ingest-<mib>MiB.bin`: `mib` MiB of pseudo-random bytes (incompressible, so no
/// transfer encoding shortens it).
pub fn ensure_ingest_file(bundle: &Path, mib: u64) -> Result<(), String> {
    let dir = bundle.join("data");
    let path = dir.join(format!("ingest-{mib}MiB.bin"));
    let len = mib << 20;
    if std::fs::metadata(&path)
        .map(|m| m.len() == len)
        .unwrap_or(false)
    {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut rng = wasm_probe::rng::Rng::derive(1, "ingest");
    let mut bytes = Vec::with_capacity(len as usize);
    while (bytes.len() as u64) < len {
        bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    crate::record::write_atomic(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The outcome of a reply; a page task's "ok" needs no training result.
pub fn outcome(case: &Case, reply: Reply, engine: &str, version: &str) -> Outcome {
    let task_ok = is_page_task(&case.workload) && reply.status == "ok";
    let mut o = Outcome::from_reply(reply, engine, version);
    if task_ok {
        o.status = Status::Ok;
        o.message.clear();
    }
    o
}

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

    #[test]
    fn page_tasks_are_known() {
        assert!(is_page_task("capabilities") && is_page_task("calibrate"));
        assert!(!is_page_task("mlp"));
        let limit = mem_limit_bytes();
        assert!(limit > 0 && limit <= 8 << 30);
    }

    #[test]
    fn ingest_file_has_the_asked_size() {
        let dir = std::env::temp_dir().join(format!("gapbench-ingest-{}", std::process::id()));
        ensure_ingest_file(&dir, 1).unwrap();
        let p = dir.join("data/ingest-1MiB.bin");
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 1 << 20);
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            bytes.iter().filter(|&&b| b == 0).count() < 1 << 14,
            "not random"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
