//! Linux process-tree helpers for meters and cleanup: children of a pid, processes carrying an
//! environment tag, proportional memory (PSS) from /proc/PID/smaps_rollup, signals through
//! kill(2), and the ownership of every process a run starts:
//!
//! - [`own`] puts a child in a process group of its own (a terminal's Ctrl-C reaches gapbench
//!   only, which then ends its children itself), gives it a parent-death signal (SIGKILL when
//!   gapbench dies, however it dies) and tags it with [`OWNER_VAR`] = `PID:START` of this gapbench,
//!   which every process it starts in turn (browsers under a driver) inherits;
//! - [`sweep_orphans`], at the start of every `gapbench run`, kills the tagged processes (and their
//!   descendants) whose owner is no longer alive, so a gapbench killed with SIGKILL leaves nothing
//!   behind past the next run.

use std::collections::{HashMap, HashSet};

fn read_nul(path: &std::path::Path) -> Option<Vec<String>> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        bytes
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// The environment entry that marks every process a run started: `GAPBENCH_OWNER=PID:START`, the
/// pid of the gapbench that owns it and that process's start time (clock ticks after boot), so a
/// reused pid is not taken for the owner.
pub const OWNER_VAR: &str = "GAPBENCH_OWNER";

/// Start time of `pid` in clock ticks after boot (field 22 of /proc/PID/stat).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    // Fields after the name start at field 3 (state); start time is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// This gapbench's owner tag value, `PID:START`.
pub fn owner_tag() -> String {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let me = std::process::id();
        format!("{me}:{}", start_time(me).unwrap_or(0))
    })
    .clone()
}

/// Whether the process named by an owner tag value (`PID:START`) is still alive: same pid, same
/// start time, not a zombie. A tag that does not parse names no live process.
pub fn owner_alive(tag: &str) -> bool {
    let Some((pid, start)) = tag.split_once(':') else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    if is_zombie(pid) {
        return false;
    }
    start_time(pid) == Some(start)
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.get(s.rfind(')')? + 2..)?.to_string();
            rest.split_whitespace()
                .next()
                .map(|st| st == "Z" || st == "X")
        })
        .unwrap_or(false)
}

/// Make `cmd` a child this run owns: its own process group, SIGKILL when gapbench dies (the
/// parent-death signal; set in the child between fork and exec, so there is no window where an
/// early death of gapbench is missed) and the owner tag in its environment.
///
/// The parent-death signal follows the *thread* that spawned the child: spawn long-lived children
/// from a thread that outlives them (the runner's thread does).
pub fn own(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    let parent = rustix::process::getpid();
    cmd.process_group(0).env(OWNER_VAR, owner_tag());
    // SAFETY: the hook only makes system calls (prctl, getppid, kill), which are
    // async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            // gapbench died between fork and prctl: nobody would send the signal.
            if rustix::process::getppid() != Some(parent) {
                let _ = rustix::process::kill_process(
                    rustix::process::getpid(),
                    rustix::process::Signal::KILL,
                );
            }
            Ok(())
        })
    }
}

/// Send `sig` to `pid` with kill(2). A process already gone (ESRCH) is not an error.
pub fn signal(pid: u32, sig: rustix::process::Signal) -> Result<(), String> {
    let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return Err(format!("cannot signal pid {pid}: not a process id"));
    };
    match rustix::process::kill_process(p, sig) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(e) => Err(format!(
            "cannot send signal {} to pid {pid}: {e}",
            sig.as_raw()
        )),
    }
}

/// SIGKILL every pid of `pids` (never ourselves); errors other than "already gone" are returned,
/// one line each.
pub fn kill_all(pids: &[u32]) -> Vec<String> {
    let me = std::process::id();
    pids.iter()
        .filter(|&&p| p != me && p != 0)
        .filter_map(|&p| signal(p, rustix::process::Signal::KILL).err())
        .collect()
}

/// SIGKILL `pids`, printing any error other than "already gone" as a warning.
pub fn kill_or_warn(pids: &[u32]) {
    for e in kill_all(pids) {
        eprintln!("warning: {e}");
    }
}

/// Processes left by a gapbench that is no longer alive: every process whose environment holds an
/// owner tag of a dead gapbench, or whose command line names a browser profile directory of one
/// (`gapbench-profile-ENGINE-PID-`), and all their descendants. Never ourselves or a live run's.
pub fn orphans() -> Vec<u32> {
    let me = std::process::id();
    let prefix = format!("{OWNER_VAR}=");
    let profile = std::env::temp_dir()
        .join("gapbench-profile-")
        .display()
        .to_string();
    let mut roots = Vec::new();
    for pid in all_pids() {
        if pid == me {
            continue;
        }
        let base = std::path::PathBuf::from(format!("/proc/{pid}"));
        let dead_owner = read_nul(&base.join("environ")).is_some_and(|env| {
            env.iter()
                .filter_map(|e| e.strip_prefix(&prefix))
                .any(|tag| !owner_alive(tag))
        });
        let dead_profile = !dead_owner
            && read_nul(&base.join("cmdline")).is_some_and(|args| {
                args.iter().any(|a| {
                    a.find(&profile)
                        .and_then(|i| profile_owner(&a[i + profile.len()..]))
                        .is_some_and(|owner| owner != me && !alive(owner))
                })
            });
        if dead_owner || dead_profile {
            roots.push(pid);
        }
    }
    let mut out = with_descendants(&roots);
    out.retain(|&p| p != me);
    out
}

/// `ENGINE-PID-N...` (after `gapbench-profile-`): the PID.
fn profile_owner(rest: &str) -> Option<u32> {
    let mut parts = rest.split('-');
    parts.next()?;
    parts.next()?.parse().ok()
}

/// Whether `pid` is a live process (not a zombie). A profile directory names only its owner's
/// pid, so a reused pid keeps its processes until that process ends; the owner tag is exact.
fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid)
}

/// At the start of a run: kill whatever a gapbench that died (SIGKILL, a CI timeout) left
/// running, and say so (the caller then removes its case cgroups: `cgroup::remove_stale`).
pub fn sweep_at_start() {
    let swept = sweep_orphans();
    if swept > 0 {
        eprintln!(
            "gapbench: killed {swept} process(es) left by a gapbench run that is no longer alive"
        );
    }
}

/// Kill what [`orphans`] finds, a few rounds (browsers fork while dying); how many were killed.
pub fn sweep_orphans() -> usize {
    let mut killed = std::collections::BTreeSet::new();
    for _ in 0..5 {
        let found = orphans();
        if found.is_empty() {
            break;
        }
        kill_or_warn(&found);
        killed.extend(found);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    killed.len()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// `roots` and all their live descendants.
pub fn with_descendants(roots: &[u32]) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for pid in all_pids() {
        if let Some(ppid) = parent_of(pid) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut seen: HashSet<u32> = HashSet::new();
    let mut stack: Vec<u32> = roots
        .iter()
        .copied()
        .filter(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
        .collect();
    while let Some(p) = stack.pop() {
        if seen.insert(p) {
            stack.extend(children.get(&p).into_iter().flatten().copied());
        }
    }
    let mut v: Vec<u32> = seen.into_iter().collect();
    v.sort_unstable();
    v
}

/// Live processes whose environment holds exactly `env_entry` (`NAME=value`), not ourselves.
pub fn tagged(env_entry: &str) -> Vec<u32> {
    let me = std::process::id();
    all_pids()
        .into_iter()
        .filter(|&p| p != me)
        .filter(|p| {
            read_nul(std::path::Path::new(&format!("/proc/{p}/environ")))
                .is_some_and(|env| env.iter().any(|e| e == env_entry))
        })
        .collect()
}

/// Proportional set size of one process in bytes (shared pages split between their users).
pub fn pss_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Pss:"))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

/// Summed PSS of `pids` (processes that vanished count zero).
pub fn total_pss_bytes(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|&p| pss_bytes(p)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_child_and_its_memory() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let tree = with_descendants(&[std::process::id()]);
        assert!(tree.contains(&child.id()), "{tree:?}");
        assert!(pss_bytes(std::process::id()).unwrap() > 0);
        assert!(
            total_pss_bytes(&[std::process::id(), child.id()])
                >= pss_bytes(std::process::id()).unwrap()
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!with_descendants(&[std::process::id()]).contains(&child.id()));
    }

    /// `own`: a process group of its own, the owner tag, and SIGKILL when the spawning thread
    /// (here one that ends at once) is gone.
    #[test]
    fn owned_children_have_their_own_group_the_tag_and_die_with_their_parent() {
        let (pid, tag) = std::thread::spawn(|| {
            let mut cmd = std::process::Command::new("sleep");
            cmd.arg("300");
            own(&mut cmd);
            let child = cmd.spawn().unwrap();
            let pid = child.id();
            let entry = format!("{OWNER_VAR}={}", owner_tag());
            // Until the child has exec'd, /proc shows the parent's environment: poll briefly.
            let mut tagged_ok = false;
            for _ in 0..100 {
                if tagged(&entry).contains(&pid) {
                    tagged_ok = true;
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            let pgid: u32 = rest.split_whitespace().nth(2).unwrap().parse().unwrap();
            assert_eq!(pgid, pid, "not a process group leader: {stat}");
            std::mem::forget(child); // not reaped here: the parent-death signal must end it
            (pid, tagged_ok)
        })
        .join()
        .unwrap();
        assert!(tag, "the owner tag is not in the child's environment");
        // The spawning thread has ended: the kernel sends SIGKILL; we are still its parent.
        let t = std::time::Instant::now();
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        let r = loop {
            let r = unsafe { waitpid_nohang(pid as i32, &mut status) };
            if r != 0 || t.elapsed() > std::time::Duration::from_secs(10) {
                break r;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(r, pid as i32, "the child outlived its parent thread");
        assert_eq!(
            status & 0x7f,
            9,
            "not killed by SIGKILL: status {status:#x}"
        );
    }

    unsafe extern "C" {
        fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    }

    unsafe fn waitpid_nohang(pid: i32, status: &mut i32) -> i32 {
        const WNOHANG: i32 = 1;
        unsafe { waitpid(pid, status, WNOHANG) }
    }

    /// A process tagged by a gapbench that is gone is an orphan and is swept; one tagged by us
    /// (alive) is not.
    #[test]
    fn orphans_of_a_dead_owner_are_swept_and_a_live_owners_are_not() {
        // A pid that is gone: a child that ran and was reaped.
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let gone_pid = gone.id();
        gone.wait().unwrap();
        assert!(!owner_alive(&format!("{gone_pid}:12345")));
        assert!(owner_alive(&owner_tag()));
        assert!(!owner_alive("garbage"));
        assert!(
            !owner_alive(&format!("{}:1", std::process::id())),
            "wrong start time"
        );
        let spawn = |tag: String| {
            std::process::Command::new("sleep")
                .arg("300")
                .env(OWNER_VAR, tag)
                .spawn()
                .unwrap()
        };
        let mut orphan = spawn(format!("{gone_pid}:12345"));
        let mut mine = spawn(owner_tag());
        let t = std::time::Instant::now();
        while !orphans().contains(&orphan.id()) && t.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let found = orphans();
        assert!(found.contains(&orphan.id()), "{found:?}");
        assert!(!found.contains(&mine.id()), "{found:?}");
        assert!(!found.contains(&std::process::id()));
        assert!(sweep_orphans() >= 1);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(orphan.wait().unwrap().signal(), Some(9));
        assert!(
            mine.try_wait().unwrap().is_none(),
            "a live owner's process was killed"
        );
        mine.kill().unwrap();
        mine.wait().unwrap();
    }

    #[test]
    fn signal_reports_errors_but_not_a_process_already_gone() {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        assert_eq!(signal(pid, rustix::process::Signal::KILL), Ok(()));
        // pid 1 is not ours to kill as an unprivileged user, and never ours to signal here
        // (SIGCONT is harmless): root may, others get EPERM, which is reported.
        let r = signal(1, rustix::process::Signal::CONT);
        let root = rustix::process::geteuid().is_root();
        assert_eq!(r.is_ok(), root, "{r:?}");
        assert!(signal(u32::MAX, rustix::process::Signal::KILL).is_err());
    }
}
