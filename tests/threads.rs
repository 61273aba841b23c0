//! The threaded probe build end to end (issue 16): `threads = [1, 2]` trains mlp in Node.js and
//! in a Chromium worker on the `threads` build (a pool of workers on a shared memory), and
//! natively on a pool of OS threads; each ok case records the threads that ran (read back from
//! the pool) in the `threads` column, and its loss agrees with native ndarray as closely as
//! every build must. A page's main thread cannot block on the pool: there a 2-thread case is
//! recorded `skipped`, saying why. Behaviour only, never timings.

mod common;

use common::{agreement_problem, assert_no_problems, outcomes, run_scenario, temp_dir};
use harness::record::Status;

const SCENARIO: &str = r#"
name = "threads-test"
repetitions = 1
seed = 16
warmup = 2
steps = 3
max_extra_warmup = 0
timeout_s = 600

[[group]]
workloads = ["mlp"]
sizes = ["1m"]
targets = ["native-ndarray", "node", "chromium"]
contexts = ["worker", "main"]
threads = [1, 2]
meters = ["throughput", "agreement"]
"#;

#[test]
fn threaded_cases_run_on_two_threads_and_agree_with_native() {
    let _one = common::exclusive();
    let out = temp_dir("threads");
    let (_, rows) = run_scenario(&out, SCENARIO, &[]);
    let outcomes = outcomes(&rows);
    // x 2 thread counts: native, node (main only), chromium worker and main
    assert_eq!(outcomes.len(), 2 * 4, "{outcomes:#?}");
    let mut problems = Vec::new();
    for r in &outcomes {
        let c = &r.case;
        // `-seed16-t<N>` in the settings segment, before `-xw0` (the extension's bound).
        let wanted = if c.case_id.contains("-seed16-t2-") {
            "2"
        } else {
            "1"
        };
        assert!(
            c.case_id.contains(&format!("-seed16-t{wanted}-xw0/")),
            "{}",
            c.case_id
        );
        if c.target == "chromium" && c.context == "main" && wanted == "2" {
            if r.status != Status::Skipped || !r.message.contains("main thread may not block") {
                problems.push(format!(
                    "{}: {} ({}), expected skipped: a page's main thread cannot wait for the pool",
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
        if c.threads != wanted {
            problems.push(format!("{}: threads column `{}`", c.case_id, c.threads));
        }
        let plural = if wanted == "1" {
            "1 thread"
        } else {
            "2 threads"
        };
        if !c.device.contains(plural) {
            problems.push(format!("{}: device `{}`", c.case_id, c.device));
        }
        if c.target == "native-ndarray" {
            continue;
        }
        problems.extend(agreement_problem(&rows, &c.case_id, "loss_agreement"));
    }
    assert_no_problems(&problems);
    let _ = std::fs::remove_dir_all(&out);
}

const POOL_PANIC: &str = r#"
name = "threads-pool-panic"
repetitions = 1
seed = 16
warmup = 1
steps = 1
max_extra_warmup = 0
timeout_s = 180

[[group]]
fault = "pool-panic"
workloads = ["mlp"]
sizes = ["0.1m"]
targets = ["native-ndarray", "node", "chromium", "firefox", "webkit"]
contexts = ["worker"]
threads = [2]
meters = ["throughput"]
"#;

/// A panic on a pool thread while the case's thread waits for it ends the case with what the
/// panic said, in every runtime, not at the case's timeout: natively rayon hands the panic to the
/// waiting thread; in wasm the pool worker traps and says so where the harness hears it (Node.js:
/// on stderr, ending the process; a browser: to the page, which ends the case).
#[test]
fn a_panic_on_a_pool_thread_fails_the_case_saying_so() {
    common::retry_on_jsc_trap("webkit", pool_panic_cases);
}

fn pool_panic_cases() {
    let _one = common::exclusive();
    let out = temp_dir("threads-pool-panic");
    let (_, rows) = run_scenario(&out, POOL_PANIC, &[]);
    let outcomes = outcomes(&rows);
    assert_eq!(outcomes.len(), 5, "{outcomes:#?}");
    let mut problems = Vec::new();
    for r in &outcomes {
        let failed = matches!(r.status, Status::Failed | Status::Crashed);
        if !failed || !r.message.contains("injected fault: panic on a pool thread") {
            problems.push(format!(
                "{}: {} ({}), expected a failure quoting the pool thread's panic",
                r.case.case_id,
                r.status.as_str(),
                r.message
            ));
        }
    }
    assert_no_problems(&problems);
    let _ = std::fs::remove_dir_all(&out);
}

/// Natively, in this process: the same training on a pool of 2 threads computes every loss bit
/// for bit as one thread does (the products split by rows or column panels of C, the optimizer
/// by chunks), and says it ran on 2. (The only test here that starts this process's pool.)
#[test]
fn two_native_threads_compute_the_same_losses_as_one() {
    use wasm_probe::measure::{CaseSpec, run_native};
    use wasm_probe::workload::WorkloadSpec;
    let spec = |workload: &str, size: &str, threads: Option<u32>| CaseSpec {
        workload: WorkloadSpec {
            workload: workload.into(),
            size: size.into(),
            classes: None,
            samples_per_class: None,
        },
        backend: "ndarray".into(),
        seed: 16,
        warmup: 1,
        steps: 3,
        epochs: None,
        fault: None,
        max_extra_warmup: 0,
        threads,
    };
    let bits = |l: &[f32]| l.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let mut pairs = Vec::new();
    for (workload, size) in [("mlp", "1m"), ("tm-image", "default")] {
        let one = run_native(&spec(workload, size, None)).unwrap().unwrap();
        assert_eq!(one.threads, Some(1));
        assert!(one.device.contains("1 thread"), "{}", one.device);
        pairs.push((workload, one));
    }
    for (workload, one) in pairs {
        let size = if workload == "mlp" { "1m" } else { "default" };
        let two = run_native(&spec(workload, size, Some(2))).unwrap().unwrap();
        assert_eq!(two.threads, Some(2), "{workload}");
        assert!(two.device.contains("2 threads"), "{}", two.device);
        assert_eq!(one.losses.len(), 4);
        assert_eq!(bits(&one.losses), bits(&two.losses), "{workload}");
    }
}
