//! The memory64 probe build end to end (issue 16): the wasm64 build (`simd = "memory64"`, no
//! wasm-bindgen: a C ABI and `memory64.js`) trains mlp 0.1m in Chromium and Firefox, whose
//! WebAssembly has memory64, with its loss agreeing with native ndarray (the agreement meter),
//! and is recorded `skipped` with the reason in WebKitGTK, whose WebAssembly does not validate a
//! 64-bit memory (the page detects that; nothing is assumed per engine). Then a samples-ceiling
//! case with it trains on 420,000 tm-image samples, 2,150,400,000 bytes in one buffer, past
//! wasm32's largest allocation (2^31 - 1).

mod common;

use common::{agreement_problem, assert_no_problems, median, outcomes, run_scenario, temp_dir};
use harness::record::Status;

const TRAINS: &str = r#"
name = "memory64-test"
repetitions = 1
seed = 16
warmup = 2
steps = 3
max_extra_warmup = 0
timeout_s = 600

[[group]]
workloads = ["mlp"]
sizes = ["0.1m"]
targets = ["chromium", "firefox", "webkit"]
contexts = ["main", "worker"]
simd = ["memory64"]
backends = ["ndarray"]
meters = ["throughput", "agreement"]
"#;

#[test]
fn memory64_trains_where_the_engine_has_it_and_is_skipped_with_the_reason_in_webkit() {
    let _one = common::exclusive();
    let out = temp_dir("memory64");
    let (_, rows) = run_scenario(&out, TRAINS, &[]);
    let outcomes = outcomes(&rows);
    assert_eq!(outcomes.len(), 6, "{outcomes:#?}");
    let mut problems = Vec::new();
    for r in &outcomes {
        let c = &r.case;
        assert_eq!(c.simd, "memory64", "{}", c.case_id);
        assert!(c.case_id.contains("/ndarray-memory64/"), "{}", c.case_id);
        if c.target == "webkit" {
            if r.status != Status::Skipped || !r.message.contains("has no memory64") {
                problems.push(format!(
                    "{}: {} ({}), expected skipped for no memory64",
                    c.case_id,
                    r.status.as_str(),
                    r.message
                ));
            }
            continue;
        }
        if r.status != Status::Ok {
            problems.push(format!(
                "{}: {} ({})",
                c.case_id,
                r.status.as_str(),
                r.message
            ));
            continue;
        }
        problems.extend(agreement_problem(&rows, &c.case_id, "loss_agreement"));
    }
    assert_no_problems(&problems);
    let _ = std::fs::remove_dir_all(&out);
}

/// One case past the wall: 3 classes of 140,000 tm-image samples, 2,150,400,000 bytes in one
/// buffer (wasm32's largest allocation is 2^31 - 1), trained for a step in a Chromium worker under
/// a 4 GiB cap. (The search past it runs in `scenarios/ceilings-memory64.toml`: docs/findings.md.)
const PAST_THE_WALL: &str = r#"
name = "memory64-past-the-wall"
repetitions = 1
seed = 16

[[group]]
workloads = ["tm-image"]
targets = ["chromium"]
contexts = ["worker"]
simd = ["memory64"]
warmup = 0
steps = 1
max_extra_warmup = 0
classes = 3
samples_per_class = 140000
timeout_s = 600
meters = ["throughput", "memory"]
"#;

/// wasm32's largest allocation: `isize::MAX` bytes.
const WASM32_LARGEST: u64 = (1 << 31) - 1;

#[test]
fn the_memory64_build_trains_on_samples_past_the_wasm32_single_buffer_wall() {
    let _one = common::exclusive();
    let out = temp_dir("memory64-wall");
    let (_, rows) = run_scenario(&out, PAST_THE_WALL, &["--memory-cap", "4GiB"]);
    let outcomes = outcomes(&rows);
    assert_eq!(outcomes.len(), 1, "{outcomes:#?}");
    let case = outcomes[0];
    assert_eq!(case.case.simd, "memory64");
    assert_eq!(case.status, Status::Ok, "{}", case.message);
    let samples_bytes = 3 * 140_000 * harness::ceiling::BYTES_PER_SAMPLE;
    assert!(samples_bytes > WASM32_LARGEST);
    // The module's memory holds the samples' one buffer, which no wasm32 allocation can.
    let mib = median(&rows, &case.case.case_id, "wasm_memory");
    assert!(
        mib.is_some_and(|m| m * 1048576.0 > samples_bytes as f64),
        "wasm_memory {mib:?} MiB, not past the {samples_bytes} bytes of samples"
    );
    let _ = std::fs::remove_dir_all(&out);
}
