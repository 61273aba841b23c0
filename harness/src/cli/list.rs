//! `gapbench list`: the workloads with their presets' sizes, the targets, the backends, the
//! peers and the meters; `--json`, every preset's workload spec with its resolution.

fn human(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2}G", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.2}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

/// Every workload preset as a workload spec, which serializes with its resolution.
fn presets() -> Vec<wasm_probe::WorkloadSpec> {
    wasm_probe::catalog()
        .iter()
        .flat_map(|w| {
            w.presets.iter().map(|p| wasm_probe::WorkloadSpec {
                workload: w.name.into(),
                size: p.name.into(),
                classes: None,
                samples_per_class: None,
            })
        })
        .collect()
}

/// `gapbench list --json`: every preset's workload spec with its `resolved` workload.
pub fn list_json() -> String {
    serde_json::to_string_pretty(&presets()).expect("workload specs serialize")
}

pub(super) fn list() {
    println!("Workloads (size: parameters, training FLOPs per step, batch):");
    let specs = presets();
    for w in wasm_probe::catalog() {
        println!("  {:9} {}", w.name, w.about);
        for p in &w.presets {
            let spec = specs
                .iter()
                .find(|s| s.workload == w.name && s.size == p.name)
                .expect("every preset has a spec");
            if let Ok(r) = wasm_probe::Workload::resolve(spec) {
                let default = if p.name == w.default_size {
                    " (default)"
                } else {
                    ""
                };
                println!(
                    "      {:8} {:>8} params  {:>8} FLOP/step  batch {:3}{default}",
                    p.name,
                    human(r.params()),
                    human(r.flops_per_step()),
                    r.batch
                );
            }
        }
    }
    for (w, about) in crate::target::page::PAGE_TASKS {
        println!("  {w:9} {about}");
    }
    println!("\nTargets:");
    for (t, about) in crate::catalog::targets() {
        println!("  {t:15} {about}");
    }
    println!(
        "\nWasm backends (for node and browser targets): {}",
        wasm_probe::backend::BACKENDS.join(", ")
    );
    println!("Peers (the same workloads trained by another library, in the page and in Node.js):");
    for p in &crate::target::peer::PEERS {
        let names: Vec<&str> = p.backends.iter().map(|(b, _)| *b).collect();
        println!("  {:10} {}: {}", p.module, p.about, names.join(", "));
    }
    println!("\nMeters:");
    for m in &crate::meter::CATALOG {
        println!("  {:15} {}", m.name, m.about);
    }
}
