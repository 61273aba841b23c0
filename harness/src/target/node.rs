//! The Node.js target: the same wasm probe the browsers run, in `node`, one process per case.

use super::{CaseWatch, Outcome, Reply, Target, child};
use crate::plan::Case;
use crate::record::Status;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub struct NodeTarget {
    bundle: Result<PathBuf, String>,
    version: String,
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
        Self { bundle, version }
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
        let mut spec = serde_json::to_value(case.spec()).expect("a case spec serializes");
        spec["simd"] = serde_json::Value::Bool(case.simd != Some(false));
        spec["context"] = serde_json::Value::String(case.context.clone());
        super::page::add_page_fields(&mut spec, case);
        let mut cmd = Command::new(node_binary());
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
                Some(Ok(reply)) => super::page::outcome(case, reply, "node", &self.version),
                _ => {
                    let (status, message) = child::classify(&f);
                    Outcome::bare(status, message, "node", &self.version)
                }
            },
        }
    }
}

/// `node`, or the binary named in `GAPBENCH_NODE_BINARY` (what `gapbench ab` sets for a side).
fn node_binary() -> std::ffi::OsString {
    std::env::var_os("GAPBENCH_NODE_BINARY").unwrap_or_else(|| "node".into())
}
