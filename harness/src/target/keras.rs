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

/// The virtualenv `.ci/setup` installs TensorFlow into, under the home directory (Debian's
/// Python is externally managed: no `pip install` into it).
pub const VENV: &str = ".cache/gapbench-keras";

/// The Python the Keras targets run: `GAPBENCH_PYTHON` where set (e.g. a virtualenv's), else
/// the virtualenv `.ci/setup` made ([`VENV`]) where it exists, else `python3`.
pub fn python() -> String {
    if let Ok(p) = std::env::var("GAPBENCH_PYTHON") {
        return p;
    }
    let venv = std::env::var_os("HOME")
        .map(|h| std::path::PathBuf::from(h).join(VENV).join("bin/python"))
        .filter(|p| p.is_file());
    match venv {
        Some(p) => p.display().to_string(),
        None => "python3".into(),
    }
}

impl KerasTarget {
    /// `native-keras` (`train_on_batch`) or `native-keras-fit` (`model.fit`), on [`python`].
    pub fn new(name: &'static str) -> Self {
        let python = python();
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
