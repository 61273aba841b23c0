//! Ctrl-C (SIGINT), SIGTERM, SIGHUP and SIGQUIT during `gapbench run`: the run stops cleanly
//! instead of dying with browsers, drivers and Xvfb still running.
//!
//! The interrupted flag is set inside the signal handler itself (signal-hook's flag
//! registration), so it is set before any child can be seen dead because of the signal. Children
//! run in process groups of their own (`proc::own`), so a terminal's Ctrl-C, which goes to the
//! foreground process group, reaches gapbench only. A watcher thread, woken by the same signals,
//! then kills every process this run started: our descendants (native and Node case processes,
//! WebDriver servers, Xvfb) and every process carrying one of our `GAPBENCH_BROWSER_TAG` tags or
//! profile directories (browsers re-parent themselves). The case in flight then ends quickly; the
//! runner sees the flag, does not record that case (so `--resume` runs it again), closes the
//! targets, writes the manifest and exits with 130. Records of finished cases are already on disk
//! (flushed per case). If the runner has not finished 30 s later, or a second signal comes, the
//! watcher kills again and exits with 130.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once, OnceLock};
use std::time::{Duration, Instant};

/// The exit code of an interrupted run (128 + SIGINT), as shells report it.
pub const EXIT_CODE: i32 = 130;

/// The signals that stop a run.
pub const SIGNALS: [i32; 4] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGQUIT,
];

/// Set by the signal handler (`signal_hook::flag::register`).
static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();
static INSTALL: Once = Once::new();

/// How long the runner gets to finish cleanly after the first signal.
const GRACE: Duration = Duration::from_secs(30);

fn flag() -> &'static Arc<AtomicBool> {
    INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Has SIGINT, SIGTERM, SIGHUP or SIGQUIT arrived?
pub fn interrupted() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Handle SIGINT, SIGTERM, SIGHUP and SIGQUIT (once per process). Returns an error line if it
/// cannot.
pub fn install() -> Result<(), String> {
    let mut result = Ok(());
    INSTALL.call_once(|| result = install_once());
    result
}

fn install_once() -> Result<(), String> {
    let why = |e: std::io::Error| format!("cannot handle Ctrl-C: {e}");
    for sig in SIGNALS {
        signal_hook::flag::register(sig, Arc::clone(flag())).map_err(why)?;
    }
    let mut signals = signal_hook::iterator::Signals::new(SIGNALS).map_err(why)?;
    std::thread::Builder::new()
        .name("gapbench-signals".into())
        .spawn(move || {
            let mut first = true;
            for _ in signals.forever() {
                if !first {
                    kill_children();
                    std::process::exit(EXIT_CODE);
                }
                first = false;
                eprintln!("gapbench: interrupted; stopping the run (records so far are kept)");
                kill_children();
                let _ = std::thread::Builder::new()
                    .name("gapbench-grace".into())
                    .spawn(|| {
                        let t = Instant::now();
                        while t.elapsed() < GRACE {
                            // Anything started while the runner winds down.
                            std::thread::sleep(Duration::from_millis(100));
                            kill_children();
                        }
                        std::process::exit(EXIT_CODE);
                    });
            }
        })
        .map_err(why)?;
    Ok(())
}

/// The processes this run started: descendants, processes with our owner tag and theirs,
/// tagged browser processes, profile users.
pub fn children() -> Vec<u32> {
    let me = std::process::id();
    let mut roots = vec![me];
    roots.extend(crate::proc::tagged(&format!(
        "{}={}",
        crate::proc::OWNER_VAR,
        crate::proc::owner_tag()
    )));
    let mut pids: Vec<u32> = crate::proc::with_descendants(&roots);
    for engine in crate::target::browser::engines::ENGINES {
        let entry = format!("GAPBENCH_BROWSER_TAG=gapbench-{}-{me}", engine.name());
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
        let pids = children();
        if pids.is_empty() {
            return;
        }
        crate::proc::kill_or_warn(&pids);
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
