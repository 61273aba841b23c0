//! Finding what an engine needs on this machine: its WebDriver server, its browser (or the one
//! `GAPBENCH_<ENGINE>_BINARY` names) and, for an engine that needs a display, Xvfb.

use super::engines::Engine;
use std::path::PathBuf;

/// The programs an engine needs on this machine.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub driver: PathBuf,
    pub browser: PathBuf,
    pub xvfb: Option<PathBuf>,
}

/// `rel` under `$HOME`, when there is one.
pub fn home_join(rel: &str) -> Vec<PathBuf> {
    std::env::var_os("HOME")
        .map(|h| vec![PathBuf::from(h).join(rel)])
        .unwrap_or_default()
}

/// The first of `candidates` that is a file.
pub fn first_existing(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|p| p.is_file()).cloned()
}

/// Find what `engine` needs; the error says what is missing and how to install it. A browser
/// binary named in `GAPBENCH_<ENGINE>_BINARY` (what `gapbench ab` sets for a side) replaces the
/// installed one.
pub fn find_binaries(engine: &dyn Engine) -> Result<Binaries, String> {
    let mut b = engine.find_installed()?;
    let var = format!("GAPBENCH_{}_BINARY", engine.name().to_uppercase());
    if let Some(p) = std::env::var_os(&var) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(format!("{var}={}: no such file", p.display()));
        }
        b.browser = p;
    }
    Ok(b)
}
