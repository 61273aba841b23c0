//! `native-keras` and `native-keras-fit`: the same workloads trained natively by TensorFlow's
//! Keras on the CPU (wasm-probe/py/keras_runner.py, 1 thread), so reports can hold burn's native
//! backends against what Python users train with, on both of Keras's paths: `train_on_batch` per
//! step (backend `keras`) and `model.fit` over the data (backend `keras-fit`, how Keras's own
//! guides train); the efficiency report takes the faster as Keras's best path. Skipped, with the
//! reason, where TensorFlow is not installed: it is an optional peer (`pip install
//! tensorflow-cpu`), not something CI installs.

use super::{CaseWatch, Outcome, Target, child};
use crate::plan::{Case, native_backend};
use crate::record::Status;
use std::process::Command;
use std::time::Duration;

/// The runner, carried in the binary so the target works wherever gapbench does.
const RUNNER: &str = include_str!("../../../wasm-probe/py/keras_runner.py");

pub struct KerasTarget {
    /// `native-keras` or `native-keras-fit`.
    name: &'static str,
    python: String,
    version: Result<String, String>,
}

impl KerasTarget {
    /// `native-keras` (`train_on_batch`) or `native-keras-fit` (`model.fit`).
    /// `GAPBENCH_PYTHON` picks the interpreter (e.g. a virtualenv's); `python3` otherwise.
    pub fn new(name: &'static str) -> Self {
        let python = std::env::var("GAPBENCH_PYTHON").unwrap_or_else(|_| "python3".into());
        let version = match Command::new(&python).arg("--version").output() {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout).trim().to_string();
                Ok(text.trim_start_matches("Python ").to_string())
            }
            Ok(o) => Err(format!(
                "`{python} --version` failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Err(format!(
                "cannot run `{python}` ({e}): install Python 3 with TensorFlow, or set GAPBENCH_PYTHON"
            )),
        };
        Self {
            name,
            python,
            version,
        }
    }
}

impl Target for KerasTarget {
    fn name(&self) -> &str {
        self.name
    }

    fn run(&mut self, case: &Case, watch: &mut dyn CaseWatch) -> Outcome {
        let version = match &self.version {
            Ok(v) => format!("Python {v}"),
            Err(e) => return Outcome::bare(Status::Skipped, e.clone(), "python", ""),
        };
        if let Some(skip) = child::page_only(case, "python", &version) {
            return skip;
        }
        let mut spec = case.spec();
        spec.backend = native_backend(self.name()).unwrap_or("keras").into();
        let input = serde_json::to_vec(&spec).expect("a case spec serializes");
        let mut cmd = Command::new(&self.python);
        cmd.arg("-c").arg(RUNNER);
        let started = child::run(cmd, &input, Duration::from_secs(case.timeout_s), watch);
        child::reply_outcome(started, &self.python, "python", &version)
    }
}
