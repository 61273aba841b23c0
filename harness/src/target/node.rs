//! The Node.js target: the same wasm probe the browsers run, in `node`, one process per case.

use super::{CaseWatch, Outcome, Reply, Target, child};
use crate::plan::Case;
use crate::record::Status;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub struct NodeTarget {
    bundle: Result<PathBuf, String>,
    version: String,
    /// Probe builds (bundle variants), each built at the first case that needs it.
    builds: HashMap<&'static str, Result<(), String>>,
    /// The V8 flag this node needs for relaxed SIMD (Node 20's V8 11.3 has it behind
    /// `--experimental-wasm-relaxed-simd`; Node 22 ships it): found at the first relaxed case.
    relaxed_flag: Option<Option<&'static str>>,
}

impl NodeTarget {
    pub fn new(bundle: Result<PathBuf, String>) -> Self {
        let version = Command::new(node_binary())
            .arg("--version")
            .output()
            .ok()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .trim_start_matches('v')
                    .to_string()
            })
            .unwrap_or_default();
        Self {
            bundle,
            version,
            builds: HashMap::new(),
            relaxed_flag: None,
        }
    }
}

impl Target for NodeTarget {
    fn name(&self) -> &str {
        "node"
    }

    fn run(&mut self, case: &Case, watch: &mut dyn CaseWatch) -> Outcome {
        if self.version.is_empty() {
            return Outcome::bare(
                Status::Skipped,
                "node is not installed (apt install nodejs)",
                "node",
                "",
            );
        }
        let bundle = match &self.bundle {
            Ok(b) => b,
            Err(e) => return Outcome::bare(Status::Failed, e.clone(), "node", &self.version),
        };
        if let Some(why) = super::page::relaxed_unsupported(case) {
            return Outcome::bare(Status::Skipped, why, "node", &self.version);
        }
        let variant = crate::bundle::variant_for(&case.backend, case.simd, case.threads);
        if super::page::needs_build(case, true) {
            let built = self
                .builds
                .entry(variant)
                .or_insert_with(|| crate::bundle::ensure_variant(variant, true).map(|_| ()));
            if let Err(e) = built {
                return Outcome::bare(Status::Failed, e.clone(), "node", &self.version);
            }
        }
        let mut spec = serde_json::to_value(case.spec()).expect("a case spec serializes");
        super::page::add_simd_fields(&mut spec, case);
        spec["context"] = serde_json::Value::String(case.context.clone());
        super::page::add_page_fields(&mut spec, case);
        let mut cmd = Command::new(node_binary());
        let flag = if variant == "relaxed" {
            *self.relaxed_flag.get_or_insert_with(relaxed_simd_flag)
        } else {
            None
        };
        if let Some(flag) = flag {
            cmd.arg(flag);
        }
        cmd.arg(bundle.join("node-runner.mjs"))
            .arg(bundle)
            .arg(crate::bundle::repo_root());
        let input = spec.to_string().into_bytes();
        match child::run(cmd, &input, Duration::from_secs(case.timeout_s), watch) {
            Err(e) => Outcome::bare(
                Status::Failed,
                format!("cannot start node: {e}"),
                "node",
                &self.version,
            ),
            Ok(f) => match f.json_line().map(serde_json::from_str::<Reply>) {
                Some(Ok(reply)) => {
                    let mut o = super::page::outcome(case, reply, "node", &self.version);
                    // The record says the engine ran with a flag.
                    if let (Some(flag), Some(r)) = (flag, o.result.as_mut()) {
                        r.device.push_str(&format!("; node {flag}"));
                    }
                    o
                }
                _ => {
                    let (status, message) = child::classify(&f);
                    Outcome::bare(status, message, "node", &self.version)
                }
            },
        }
    }
}

/// A module using relaxed SIMD (wasm-feature-detect's relaxed-simd test, as `meters.js` holds it).
const RELAXED_SIMD_MODULE: &str = "[0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,15,1,13,0,65,1,253,15,65,2,253,15,253,128,2,11]";

/// The flag `node` needs to validate relaxed SIMD: none when it ships it, V8's
/// `--experimental-wasm-relaxed-simd` when only that makes it validate (Node 20), and none when
/// neither does (the runner then detects the lack and skips the case saying so).
fn relaxed_simd_flag() -> Option<&'static str> {
    const FLAG: &str = "--experimental-wasm-relaxed-simd";
    let script = format!(
        "process.exit(WebAssembly.validate(new Uint8Array({RELAXED_SIMD_MODULE})) ? 0 : 1)"
    );
    let validates = |flag: Option<&str>| {
        let mut cmd = Command::new(node_binary());
        cmd.args(flag).arg("-e").arg(&script);
        cmd.output().is_ok_and(|o| o.status.success())
    };
    (!validates(None) && validates(Some(FLAG))).then_some(FLAG)
}

/// `node`, or the binary named in `GAPBENCH_NODE_BINARY` (what `gapbench ab` sets for a side).
fn node_binary() -> std::ffi::OsString {
    std::env::var_os("GAPBENCH_NODE_BINARY").unwrap_or_else(|| "node".into())
}
