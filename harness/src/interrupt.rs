//! Ctrl-C (SIGINT) and SIGTERM during `gapbench run`: the run stops cleanly instead of dying with
//! browsers, drivers and Xvfb still running.
//!
//! A watcher thread (signal-hook) sets a flag and at once kills every process this run started:
//! our descendants (native and Node case processes, WebDriver servers, Xvfb) and every process
//! carrying one of our `GAPBENCH_BROWSER_TAG` tags or profile directories (browsers re-parent
//! themselves). The case in flight then ends quickly; the runner sees the flag, does not record
//! that case (so `--resume` runs it again), closes the targets, writes the manifest and exits
//! with 130. Records of finished cases are already on disk (flushed per case). If the runner has
//! not finished 30 s later, or a second signal comes, the watcher kills again and exits with 130.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The exit code of an interrupted run (128 + SIGINT), as shells report it.
pub const EXIT_CODE: i32 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// How long the runner gets to finish cleanly after the first signal.
const GRACE: Duration = Duration::from_secs(30);

/// Has SIGINT or SIGTERM arrived?
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Watch for SIGINT and SIGTERM (once per process). Returns an error line if it cannot.
pub fn install() -> Result<(), String> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            Err(e) => result = Err(format!("cannot watch for Ctrl-C: {e}")),
            Ok(mut signals) => {
                let spawned = std::thread::Builder::new()
                    .name("gapbench-signals".into())
                    .spawn(move || {
                        let mut first: Option<Instant> = None;
                        loop {
                            let got = signals.pending().next().is_some();
                            if got {
                                if first.is_some() {
                                    kill_children();
                                    std::process::exit(EXIT_CODE);
                                }
                                INTERRUPTED.store(true, Ordering::SeqCst);
                                eprintln!(
                                    "gapbench: interrupted; stopping the run (records so far are kept)"
                                );
                                kill_children();
                                first = Some(Instant::now());
                            }
                            if let Some(t) = first {
                                if t.elapsed() >= GRACE {
                                    kill_children();
                                    std::process::exit(EXIT_CODE);
                                }
                                // Anything started while the runner was winding down.
                                kill_children();
                            }
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    });
                if let Err(e) = spawned {
                    result = Err(format!("cannot watch for Ctrl-C: {e}"));
                }
            }
        }
    });
    result
}

/// The processes this run started: descendants, tagged browser processes, profile users.
pub fn children() -> Vec<u32> {
    let me = std::process::id();
    let mut pids: Vec<u32> = crate::proc::with_descendants(&[me]);
    for engine in ["chromium", "firefox", "webkit"] {
        let entry = format!("GAPBENCH_BROWSER_TAG=gapbench-{engine}-{me}");
        pids.extend(crate::proc::tagged(&entry));
    }
    let profile = std::env::temp_dir().join("gapbench-profile-");
    let profile = profile.display().to_string();
    let mine = format!("-{me}-");
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let cmd = String::from_utf8_lossy(&cmd);
            if cmd.contains(&profile) && cmd.contains(&mine) {
                pids.push(pid);
            }
        }
    }
    pids.retain(|&p| p != me);
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// SIGKILL everything [`children`] finds, a few rounds (browsers fork while dying).
pub fn kill_children() {
    for _ in 0..5 {
        let pids: Vec<String> = children().iter().map(u32::to_string).collect();
        if pids.is_empty() {
            return;
        }
        // `kill` is itself our child for a moment; it is gone before the next round.
        let _ = std::process::Command::new("kill")
            .arg("-9")
            .args(&pids)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_found_and_killed() {
        let mut child = std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .unwrap();
        assert!(children().contains(&child.id()));
        assert!(!children().contains(&std::process::id()));
        assert!(!interrupted());
        // Not kill_children(): other tests of this binary have children of their own.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!children().contains(&child.id()));
    }
}
