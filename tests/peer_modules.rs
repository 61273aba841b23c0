//! A peer is one module plus one catalog line (issue 12): every case spec carries the workload as
//! `Workload::resolve` resolved it, so no JS or Python peer file keeps a copy of the workloads
//! (no preset's layer widths or input sizes in their code), and each line of `PEERS` names a
//! module in wasm-probe/js/ that exports that line's backends and the functions the page and the
//! Node runner call.

mod common;

use common::repo;
use harness::target::peer::PEERS;
use std::collections::BTreeSet;
use wasm_probe::workload::{Workload, WorkloadSpec};

/// The peers' files: the JS modules, what they share, and the Python peer and generator.
const PEER_FILES: [&str; 7] = [
    "wasm-probe/js/tfjs.js",
    "wasm-probe/js/tfjs-tm.js",
    "wasm-probe/js/jaxjs.js",
    "wasm-probe/js/ortweb.js",
    "wasm-probe/js/peer.js",
    "wasm-probe/py/keras_runner.py",
    "wasm-probe/py/ort_artifacts.py",
];

/// A file's code without its comments (and Python's docstrings).
fn code(path: &str) -> String {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    let py = path.ends_with(".py");
    let mut out = String::new();
    let mut in_doc = false;
    for line in text.lines() {
        if py && line.trim_start().starts_with("\"\"\"") {
            let once = line.trim().len() > 3 && line.trim().ends_with("\"\"\"");
            if !once {
                in_doc = !in_doc;
            }
            continue;
        }
        if in_doc {
            continue;
        }
        let cut = if py { line.find('#') } else { line.find("//") };
        out.push_str(cut.map_or(line, |i| &line[..i]));
        out.push('\n');
    }
    out
}

/// Every number that sizes a preset's layers: input features and hidden widths.
fn preset_sizes() -> BTreeSet<usize> {
    let mut sizes = BTreeSet::new();
    for w in wasm_probe::catalog() {
        for p in &w.presets {
            let spec = WorkloadSpec {
                workload: w.name.into(),
                size: p.name.into(),
                classes: None,
                samples_per_class: None,
            };
            let r = Workload::resolve(&spec).unwrap().describe();
            for l in &r.layers {
                // Class counts and tiny sizes are too common to be a copy of anything.
                sizes.extend([l.d_in, l.d_out].into_iter().filter(|&n| n >= 50));
            }
        }
    }
    sizes
}

fn has_number(code: &str, n: usize) -> bool {
    let digits = n.to_string();
    code.match_indices(&digits).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + digits.len()..].chars().next();
        let part =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        !part(before) && !part(after)
    })
}

#[test]
fn no_peer_file_keeps_a_copy_of_the_workloads() {
    let sizes = preset_sizes();
    assert!(sizes.contains(&1280) && sizes.contains(&9830), "{sizes:?}");
    let presets: Vec<String> = wasm_probe::catalog()
        .iter()
        .flat_map(|w| w.presets.iter().map(|p| p.name.to_string()))
        .filter(|p| p != "default")
        .collect();
    let mut copies = Vec::new();
    for file in PEER_FILES {
        let code = code(file);
        for &n in &sizes {
            if has_number(&code, n) {
                copies.push(format!("{file}: {n}"));
            }
        }
        for p in &presets {
            if code.contains(&format!("\"{p}\"")) {
                copies.push(format!("{file}: \"{p}\""));
            }
        }
    }
    assert!(
        copies.is_empty(),
        "peer files with a copy of a workload's sizes or presets (they must read the case spec's `resolved`): {copies:?}"
    );
}

#[test]
fn the_case_spec_carries_the_resolved_workload() {
    let spec = WorkloadSpec {
        workload: "mlp".into(),
        size: "0.1m".into(),
        classes: None,
        samples_per_class: None,
    };
    let ours = Workload::resolve(&spec).unwrap();
    let json = serde_json::to_value(&spec).unwrap();
    let r = &json["resolved"];
    assert_eq!(r["params"], ours.params());
    assert_eq!(r["flops_per_step"], ours.flops_per_step());
    assert_eq!(r["batch"], 64);
    assert_eq!(r["layers"].as_array().unwrap().len(), 5);
    assert_eq!(r["layers"][4]["activation"], "linear");
    assert_eq!(r["loss"]["from_logits"], true);
    assert_eq!(r["optimizer"]["name"], "adam");
    assert_eq!(r["optimizer"]["learning_rate"], 0.001);
    // Read back, it is the request alone.
    let back: WorkloadSpec = serde_json::from_value(json).unwrap();
    assert_eq!(back, spec);
    // Teachable Machine's head ends in softmax, on probabilities.
    let tm = WorkloadSpec {
        workload: "tm-image".into(),
        size: "default".into(),
        classes: Some(4),
        samples_per_class: Some(20),
    };
    let r = serde_json::to_value(&tm).unwrap()["resolved"].clone();
    assert_eq!(r["layers"][1]["activation"], "softmax");
    assert_eq!(r["layers"][1]["d_out"], 4);
    assert_eq!(r["layers"][1]["bias"], false);
    assert_eq!(r["data"]["samples_per_class"], 20);
    assert_eq!(r["loss"]["from_logits"], false);
    // What is not a workload of the probe carries nothing.
    let task = WorkloadSpec {
        workload: "capabilities".into(),
        size: "default".into(),
        classes: None,
        samples_per_class: None,
    };
    assert!(
        serde_json::to_value(&task)
            .unwrap()
            .get("resolved")
            .is_none()
    );
}

#[test]
fn every_catalog_line_names_a_module_with_its_backends() {
    for peer in &PEERS {
        let path = repo().join("wasm-probe/js").join(peer.module);
        assert!(path.is_file(), "{}: no such module", path.display());
        let url = format!("file://{}", path.display());
        let script = format!(
            "const m = await import({url:?}); console.log(JSON.stringify({{backends: m.BACKENDS, \
             run: typeof m.run, failure: typeof m.failure, loadBrowser: typeof m.loadBrowser, \
             node: typeof m.loadNode === 'function' || typeof m.NODE_SKIP === 'string'}}))"
        );
        let o = std::process::Command::new("node")
            .args(["--input-type=module", "-e", &script])
            .output()
            .expect("node runs");
        assert!(
            o.status.success(),
            "{}: {}",
            peer.module,
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut exported: Vec<String> = v["backends"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no BACKENDS export", peer.module))
            .iter()
            .map(|b| b.as_str().unwrap().to_string())
            .collect();
        let mut listed: Vec<String> = peer.backends.iter().map(|(b, _)| b.to_string()).collect();
        exported.sort();
        listed.sort();
        assert_eq!(exported, listed, "{}: BACKENDS against PEERS", peer.module);
        for f in ["run", "failure", "loadBrowser"] {
            assert_eq!(v[f], "function", "{}: {f}", peer.module);
        }
        assert_eq!(v["node"], true, "{}: loadNode or NODE_SKIP", peer.module);
    }
}
