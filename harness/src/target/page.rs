//! Page tasks (workloads the probe page runs instead of a training case) and what a target does
//! for the page: the extra fields its case spec carries, the files it fetches, and its reply's
//! outcome. The page meters (`meter/{ui,background,ingestion,capabilities}.rs`) read the records.

use crate::plan::Case;
use crate::record::Status;
use crate::scenario::Simd;
use crate::target::{Outcome, Reply};
use serde_json::Value as Json;
use std::path::Path;

/// Workloads that are page tasks, not burn training cases, and what each measures.
pub const PAGE_TASKS: [(&str, &str); 4] = [
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
    (
        "estimate",
        "page task: estimate.js, what an app can ask before training: a calibration of about 2 s (in a worker unless the context is main) predicts a tm-image training (the group's classes, samples_per_class, epochs) and the most samples that fit",
    ),
];

/// Background-metered cases: the harness shows another tab this long after the case starts, and
/// shows the case's tab again after [`HIDE_FOR`]; a case must train for longer than both to be
/// measured hidden and visible again.
pub const HIDE_AFTER: std::time::Duration = std::time::Duration::from_secs(3);
pub const HIDE_FOR: std::time::Duration = std::time::Duration::from_secs(4);

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

/// Add the case's SIMD to its JSON spec: `simd`, false only for the scalar build (what the peers
/// read). The relaxed-SIMD build is named by `build` ("relaxed"): the page and the Node runner
/// check the engine validates relaxed SIMD before loading it, and skip the case saying so
/// otherwise.
pub fn add_simd_fields(spec: &mut Json, case: &Case) {
    spec["simd"] = Json::Bool(case.simd != Some(Simd::Off));
}

/// Why `case` cannot run on a relaxed-SIMD build, if it asks for one: only the probe's ndarray
/// backend has that build (relaxed SIMD changes its matrixmultiply kernel); a peer or another
/// backend would silently run its SIMD128 path under a relaxed label.
pub fn relaxed_unsupported(case: &Case) -> Option<String> {
    (case.simd == Some(Simd::Relaxed) && case.backend != "ndarray").then(|| {
        format!(
            "`simd = \"relaxed\"` is a build of the probe's ndarray backend (its matrix kernel with \
             f32x4.relaxed_madd); backend `{}` has no relaxed-SIMD build",
            case.backend
        )
    })
    .or_else(|| {
        // The memory64 build compiles only ndarray (bundle.rs); a peer keeps its own memory.
        (case.simd == Some(Simd::Memory64) && case.backend != "ndarray").then(|| {
            format!(
                "`simd = \"memory64\"` is a wasm64 build of the probe's ndarray backend; backend `{}` \
                 has no memory64 build",
                case.backend
            )
        })
    })
}

/// Add what the page meters and page tasks read to a case's JSON spec.
pub fn add_page_fields(spec: &mut Json, case: &Case) {
    spec["meters"] = Json::from(case.meters.clone());
    // A peer backend: the module that trains it (peer.js), which the page or the Node runner
    // imports.
    if let Some(peer) = super::peer::peer_of(&case.backend) {
        spec["peer"] = Json::from(peer.module);
    }
    // The probe build the case runs on (the bundle's subdirectory), chosen in one place.
    spec["build"] = Json::from(crate::bundle::variant_for(
        &case.backend,
        case.simd,
        case.threads,
    ));
    if is_page_task(&case.workload) {
        spec["mem_limit_bytes"] = Json::from(mem_limit_bytes());
        spec["ingest_mib"] = Json::from(INGEST_MIB);
    }
}

/// Whether `case` loads a build of the probe, so that its build must be made first: not a peer
/// (it trains with its own library), not a page task other than `estimate` (which trains the
/// probe), and in Node.js not a page task at all (the runner skips them) nor WebGPU (Node has no
/// `navigator.gpu`; the runner says so before loading anything).
pub fn needs_build(case: &Case, in_node: bool) -> bool {
    if crate::target::peer::peer_of(&case.backend).is_some() {
        return false;
    }
    if is_page_task(&case.workload) {
        return !in_node && case.workload == "estimate";
    }
    !(in_node && case.backend == "webgpu")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cases_that_load_the_probe_build_it() {
        let case = |workload: &str, backend: &str| Case {
            id: String::new(),
            workload: workload.into(),
            size: "default".into(),
            target: "chromium".into(),
            backend: backend.into(),
            simd: Some(Simd::On),
            context: "main".into(),
            repetition: 1,
            seed: 1,
            warmup: 1,
            steps: 1,
            epochs: None,
            timeout_s: 60,
            meters: Vec::new(),
            classes: None,
            samples_per_class: None,
            fault: None,
            max_extra_warmup: 0,
            threads: None,
        };
        assert!(needs_build(&case("tm-image", "ndarray"), false));
        assert!(needs_build(&case("tm-image", "ndarray"), true));
        assert!(needs_build(&case("estimate", "ndarray"), false));
        assert!(
            !needs_build(&case("estimate", "ndarray"), true),
            "Node skips page tasks"
        );
        assert!(!needs_build(&case("capabilities", "ndarray"), false));
        assert!(
            !needs_build(&case("tm-image", "tfjs-wasm"), false),
            "a peer"
        );
        assert!(needs_build(&case("tm-image", "webgpu"), false));
        assert!(!needs_build(&case("tm-image", "webgpu"), true));
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
