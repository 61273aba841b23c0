//! The memory cap as a cgroup: where this process's memory cgroup is writable (cgroup v2
//! `memory.max`, or v1 `memory.limit_in_bytes`), each case process (native, Node, Keras) runs in a
//! cgroup of its own, created under ours, limited to the cap. Past the cap the kernel's OOM killer
//! acts inside that cgroup only (never machine-wide), and the case is recorded `oom` from the
//! cgroup's own OOM-kill counter. Ending the case is killing every task of the cgroup, then
//! removing it.
//!
//! A local browser gets one too (`target/browser/`): its WebDriver server is started inside it,
//! so the browser and every process it starts are born there; the session outlives a case, so the
//! limit is set to each case's cap before it runs (`set_limit`), its peak reset, and its OOM-kill
//! count compared after it. The driver's few MiB count against the cap; Xvfb (WebKit's display)
//! is started outside it. Closing the target kills the cgroup's tasks and removes it.
//!
//! Elsewhere (no writable controller, `GAPBENCH_NO_CGROUP=1`, a remote WebDriver endpoint) the
//! PSS watchdog (`meter/cap.rs`) is the cap.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Which cgroup interface holds the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    /// The file that holds the limit, for messages.
    pub fn limit_file(self) -> &'static str {
        match self {
            Version::V1 => "cgroup v1 memory.limit_in_bytes",
            Version::V2 => "cgroup v2 memory.max",
        }
    }
}

/// Our own memory cgroup, where case cgroups are made.
#[derive(Debug, Clone)]
pub struct Parent {
    pub dir: PathBuf,
    pub version: Version,
}

/// Our memory cgroup, if a case cgroup can be made under it (probed once, by making one).
pub fn parent() -> Option<&'static Parent> {
    static PARENT: OnceLock<Option<Parent>> = OnceLock::new();
    PARENT
        .get_or_init(|| {
            if std::env::var_os("GAPBENCH_NO_CGROUP").is_some() {
                return None;
            }
            let p = find_parent()?;
            // Writable and with the controller: make a cgroup and remove it again.
            let probe = CaseCgroup::create_under(&p, 64 << 20).ok()?;
            drop(probe);
            Some(p)
        })
        .as_ref()
}

/// How the memory cap is enforced on this machine, for the manifest.
pub fn mechanism() -> String {
    match parent() {
        Some(p) => format!(
            "{} (under {}: a cgroup per case process for native, Node and Keras cases; one per local browser, its WebDriver server included, set to each case's cap); PSS watchdog for remote browsers",
            p.version.limit_file(),
            p.dir.display()
        ),
        None => "PSS watchdog (no writable cgroup memory controller here)".into(),
    }
}

fn mount_points() -> Vec<(String, PathBuf, String, String)> {
    // mountinfo: id parent major:minor root mountpoint options ... - fstype source superoptions
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let f: Vec<&str> = pre.split(' ').collect();
            let g: Vec<&str> = post.split(' ').collect();
            Some((
                f.get(3)?.to_string(),
                PathBuf::from(f.get(4)?),
                g.first()?.to_string(),
                g.get(2).unwrap_or(&"").to_string(),
            ))
        })
        .collect()
}

fn find_parent() -> Option<Parent> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mounts = mount_points();
    // v1 memory controller first (this machine), then the v2 unified hierarchy.
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        if ctrls.split(',').any(|c| c == "memory") {
            let (root, mp, _, _) = mounts.iter().find(|(_, _, fs, opts)| {
                fs == "cgroup" && opts.split(',').any(|o| o == "memory")
            })?;
            let rel = path.strip_prefix(root.as_str()).unwrap_or(path);
            let dir = mp.join(rel.trim_start_matches('/'));
            return dir
                .join("memory.limit_in_bytes")
                .exists()
                .then_some(Parent {
                    dir,
                    version: Version::V1,
                });
        }
    }
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("0::") {
            let (root, mp, _, _) = mounts.iter().find(|(_, _, fs, _)| fs == "cgroup2")?;
            let rel = path.strip_prefix(root.as_str()).unwrap_or(path);
            let dir = mp.join(rel.trim_start_matches('/'));
            let controllers = std::fs::read_to_string(dir.join("cgroup.controllers")).ok()?;
            if !controllers.split_whitespace().any(|c| c == "memory") {
                return None;
            }
            // Children get the memory controller only if we delegate it (fails with EBUSY when
            // our cgroup holds processes and is not the root: then there is no cgroup cap).
            let sub = std::fs::read_to_string(dir.join("cgroup.subtree_control")).ok()?;
            if !sub.split_whitespace().any(|c| c == "memory") {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(dir.join("cgroup.subtree_control"))
                    .and_then(|mut f| f.write_all(b"+memory"))
                    .ok()?;
            }
            return Some(Parent {
                dir,
                version: Version::V2,
            });
        }
    }
    None
}

/// Remove the case cgroups a gapbench that is no longer alive left under ours (`gapbench-PID-N`),
/// killing any task still in one; how many were removed.
pub fn remove_stale() -> usize {
    let Some(parent) = parent() else {
        return 0;
    };
    let Ok(entries) = std::fs::read_dir(&parent.dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(owner) = name
            .strip_prefix("gapbench-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let dead = owner != std::process::id()
            && !std::path::Path::new(&format!("/proc/{owner}")).exists();
        if dead && e.path().is_dir() {
            // Dropping it kills its tasks and removes it.
            drop(CaseCgroup {
                dir: e.path(),
                version: parent.version,
                limit: 0,
            });
            if !e.path().exists() {
                removed += 1;
            }
        }
    }
    removed
}

/// One case's cgroup: limited, joined by the case process between fork and exec, emptied and
/// removed on drop.
#[derive(Debug)]
pub struct CaseCgroup {
    dir: PathBuf,
    version: Version,
    limit: u64,
}

fn write(path: &Path, value: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(value.as_bytes())
}

fn read_u64(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `key N` from a flat-keyed cgroup file (memory.events, memory.oom_control).
fn keyed(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

impl CaseCgroup {
    /// A new cgroup under ours limited to `limit` bytes; an error line where there is none.
    pub fn create(limit: u64) -> Result<CaseCgroup, String> {
        let parent = parent().ok_or("no writable cgroup memory controller")?;
        Self::create_under(parent, limit)
    }

    fn create_under(parent: &Parent, limit: u64) -> Result<CaseCgroup, String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = parent.dir.join(format!(
            "gapbench-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let cg = CaseCgroup {
            dir,
            version: parent.version,
            limit,
        };
        let set = |file: &str, value: String| {
            write(&cg.dir.join(file), &value).map_err(|e| format!("{file}: {e}"))
        };
        match cg.version {
            Version::V1 => {
                set("memory.limit_in_bytes", limit.to_string())?;
                // No swap past the cap either (absent without swap accounting).
                if cg.dir.join("memory.memsw.limit_in_bytes").exists() {
                    let _ = set("memory.memsw.limit_in_bytes", limit.to_string());
                }
                // The OOM killer must act at the limit (not pause the cgroup's tasks).
                let _ = set("memory.oom_control", "0".into());
            }
            Version::V2 => {
                set("memory.max", limit.to_string())?;
                if cg.dir.join("memory.swap.max").exists() {
                    let _ = set("memory.swap.max", "0".into());
                }
                // Kill the whole case at an OOM, not one of its processes.
                if cg.dir.join("memory.oom.group").exists() {
                    let _ = set("memory.oom.group", "1".into());
                }
            }
        }
        Ok(cg)
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// Change the limit (None: no limit), for a cgroup that outlives one case (a browser's). Fails
    /// when the cgroup already holds more than the new limit and the kernel cannot reclaim it.
    pub fn set_limit(&mut self, limit: Option<u64>) -> Result<(), String> {
        let set = |file: &str, value: &str| {
            write(&self.dir.join(file), value).map_err(|e| format!("{file}: {e}"))
        };
        match self.version {
            Version::V1 => {
                let value = limit.map_or("-1".to_string(), |l| l.to_string());
                // memory.memsw.limit_in_bytes may never be below memory.limit_in_bytes: raise it
                // first, lower it last.
                let memsw = self.dir.join("memory.memsw.limit_in_bytes").exists();
                let raising = limit.is_none_or(|l| l >= self.limit);
                if memsw && raising {
                    let _ = set("memory.memsw.limit_in_bytes", &value);
                }
                set("memory.limit_in_bytes", &value)?;
                if memsw && !raising {
                    let _ = set("memory.memsw.limit_in_bytes", &value);
                }
            }
            Version::V2 => {
                let value = limit.map_or("max".to_string(), |l| l.to_string());
                set("memory.max", &value)?;
            }
        }
        self.limit = limit.unwrap_or(u64::MAX);
        Ok(())
    }

    /// Start `peak` afresh (v1 `memory.max_usage_in_bytes`); false where it cannot be (v2's
    /// `memory.peak` is the cgroup's lifetime peak).
    pub fn reset_peak(&self) -> bool {
        self.version == Version::V1
            && write(&self.dir.join("memory.max_usage_in_bytes"), "0").is_ok()
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Make `cmd`'s process join this cgroup between fork and exec, before it allocates anything.
    pub fn join_on_exec(&self, cmd: &mut std::process::Command) -> Result<(), String> {
        use std::os::unix::process::CommandExt;
        let path = self.dir.join("cgroup.procs");
        // Opened here (close-on-exec): the hook only writes to it.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // SAFETY: write(2) on an open descriptor is async-signal-safe; nothing is allocated.
        // "0" is the writing process itself, in v1 and v2.
        unsafe {
            cmd.pre_exec(move || {
                rustix::io::write(&file, b"0")?;
                Ok(())
            });
        }
        Ok(())
    }

    /// The pids in this cgroup now.
    pub fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// How many processes the kernel's OOM killer ended in this cgroup.
    pub fn oom_kills(&self) -> u64 {
        match self.version {
            Version::V1 => keyed(&self.dir.join("memory.oom_control"), "oom_kill")
                // Older kernels have no counter: the limit was hit and the cgroup is under OOM.
                .or_else(|| {
                    let hit = read_u64(&self.dir.join("memory.failcnt")).unwrap_or(0) > 0;
                    let under =
                        keyed(&self.dir.join("memory.oom_control"), "under_oom").unwrap_or(0) > 0;
                    Some(u64::from(hit && under))
                })
                .unwrap_or(0),
            Version::V2 => keyed(&self.dir.join("memory.events"), "oom_kill").unwrap_or(0),
        }
    }

    /// The most memory charged to the cgroup, in bytes.
    pub fn peak(&self) -> Option<u64> {
        match self.version {
            Version::V1 => read_u64(&self.dir.join("memory.max_usage_in_bytes")),
            Version::V2 => read_u64(&self.dir.join("memory.peak")),
        }
    }

    /// SIGKILL every task of the cgroup until it is empty (bounded: 5 s); the pids that would not
    /// go, if any.
    pub fn kill_all(&self) -> Vec<u32> {
        if self.version == Version::V2 && self.dir.join("cgroup.kill").exists() {
            let _ = write(&self.dir.join("cgroup.kill"), "1");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pids = self.pids();
            if pids.is_empty() || Instant::now() >= deadline {
                return pids;
            }
            crate::proc::kill_or_warn(&pids);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for CaseCgroup {
    fn drop(&mut self) {
        let left = self.kill_all();
        // rmdir fails while a task is still leaving; retry briefly.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) if Instant::now() >= deadline => {
                    eprintln!(
                        "warning: cannot remove the case cgroup {} ({e}; tasks left: {left:?})",
                        self.dir.display()
                    );
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_names_the_cap() {
        let m = mechanism();
        assert!(m.contains("PSS watchdog"), "{m}");
        if parent().is_some() {
            assert!(m.contains("cgroup"), "{m}");
        }
    }

    /// A process past the cgroup's limit is ended by the kernel inside that cgroup, which counts
    /// it; the cgroup is gone afterwards.
    #[test]
    fn an_allocation_past_the_limit_is_an_oom_kill_in_the_cgroup() {
        if parent().is_none() {
            eprintln!("no writable cgroup memory controller: skipped");
            return;
        }
        let cg = CaseCgroup::create(64 << 20).unwrap();
        let dir = cg.dir().to_path_buf();
        let mut cmd = std::process::Command::new("python3");
        cmd.args([
            "-c",
            "x = bytearray(256 * 1024 * 1024)\nimport time\ntime.sleep(30)",
        ]);
        cg.join_on_exec(&mut cmd).unwrap();
        let Ok(mut child) = cmd.spawn() else {
            eprintln!("python3 missing: skipped");
            return;
        };
        let st = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(st.signal(), Some(9), "{st}");
        assert!(cg.oom_kills() >= 1);
        assert!(cg.peak().unwrap() <= 64 << 20);
        drop(cg);
        assert!(!dir.exists());
    }

    /// A browser's cgroup outlives a case: its limit is set per case (lowered, raised, lifted)
    /// and its peak restarts. Without a writable controller there is no cgroup to make, and the
    /// error says so (the watchdog caps then).
    #[test]
    fn the_limit_is_set_per_case_and_the_peak_restarts() {
        if parent().is_none() {
            let e = CaseCgroup::create(256 << 20).unwrap_err();
            assert!(e.contains("no writable cgroup memory controller"), "{e}");
            return;
        }
        let mut cg = CaseCgroup::create(512 << 20).unwrap();
        let file = match cg.version() {
            Version::V1 => "memory.limit_in_bytes",
            Version::V2 => "memory.max",
        };
        let path = cg.dir().join(file);
        let limit = || std::fs::read_to_string(&path).unwrap();
        assert_eq!(limit().trim(), (512u64 << 20).to_string());
        cg.set_limit(Some(128 << 20)).unwrap();
        assert_eq!(limit().trim(), (128u64 << 20).to_string());
        assert_eq!(cg.limit(), 128 << 20);
        cg.set_limit(Some(1 << 30)).unwrap();
        assert_eq!(limit().trim(), (1u64 << 30).to_string());
        cg.set_limit(None).unwrap();
        let lifted = limit();
        assert!(
            lifted.trim() == "max" || lifted.trim().parse::<u64>().unwrap() > 1 << 40,
            "{lifted}"
        );
        if cg.version() == Version::V1 {
            assert!(cg.reset_peak());
            assert_eq!(cg.peak(), Some(0));
        }
        let dir = cg.dir().to_path_buf();
        drop(cg);
        assert!(!dir.exists());
    }

    #[test]
    fn stale_cgroups_of_a_dead_gapbench_are_removed() {
        let Some(p) = parent() else {
            eprintln!("no writable cgroup memory controller: skipped");
            return;
        };
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let pid = gone.id();
        gone.wait().unwrap();
        let stale = p.dir.join(format!("gapbench-{pid}-0"));
        std::fs::create_dir(&stale).unwrap();
        let mine = CaseCgroup::create(64 << 20).unwrap();
        assert!(remove_stale() >= 1);
        assert!(!stale.exists());
        assert!(mine.dir().exists(), "a live gapbench's cgroup was removed");
    }

    #[test]
    fn kill_all_empties_and_drop_removes() {
        if parent().is_none() {
            eprintln!("no writable cgroup memory controller: skipped");
            return;
        }
        let cg = CaseCgroup::create(256 << 20).unwrap();
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "sleep 300 & sleep 300; true"]);
        cg.join_on_exec(&mut cmd).unwrap();
        let mut child = cmd.spawn().unwrap();
        let t = Instant::now();
        while cg.pids().len() < 3 && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(cg.pids().len(), 3, "sh and two sleeps: {:?}", cg.pids());
        assert_eq!(cg.oom_kills(), 0);
        assert_eq!(cg.kill_all(), Vec::<u32>::new());
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(child.wait().unwrap().signal(), Some(9));
        let dir = cg.dir().to_path_buf();
        drop(cg);
        assert!(!dir.exists());
    }
}
