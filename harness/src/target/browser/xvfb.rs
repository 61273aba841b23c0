//! The virtual X display an engine that needs one (WebKitGTK) runs on.

use super::driver::{Spawned, TAG_VAR};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A virtual X display of our own.
pub struct Xvfb {
    pub display: u32,
    proc: Spawned,
}

impl Xvfb {
    /// Start Xvfb on the first display number from 99 with neither a socket nor a lock file.
    pub fn start(bin: &Path, log: &Path, tag: &str) -> Result<Xvfb, String> {
        let mut last = String::new();
        for display in 99..400u32 {
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{display}"));
            let lock = PathBuf::from(format!("/tmp/.X{display}-lock"));
            if socket.exists() || lock.exists() {
                continue;
            }
            let mut cmd = Command::new(bin);
            cmd.arg(format!(":{display}"))
                .args(["-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
                .env(TAG_VAR, tag);
            let mut proc = Spawned::start(cmd, "Xvfb", log)?;
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if socket.exists() {
                    return Ok(Xvfb { display, proc });
                }
                if !proc.alive() {
                    last = proc.exit_description();
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(format!(
                        "Xvfb :{display} did not come up within 15 s: {}",
                        proc.log_tail(4)
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // Lost a race for this display (or it failed): try the next one.
        }
        Err(format!("no free X display for Xvfb: {last}"))
    }

    pub fn alive(&mut self) -> bool {
        self.proc.alive()
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }
}

impl Drop for Xvfb {
    /// Let Xvfb remove its socket and lock file; remove them ourselves if it could not.
    fn drop(&mut self) {
        self.proc.terminate(Duration::from_secs(2));
        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{}", self.display));
        let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.display));
    }
}
