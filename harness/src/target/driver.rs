//! The processes behind the browser targets: WebDriver servers, the Xvfb display WebKit needs, and
//! the browsers they start. Browsers re-parent themselves (some to PID 1), so they are found again
//! by what we gave them: their profile directory on the command line, or a tag in their
//! environment that every process started by a driver inherits.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that marks every process a browser target started.
pub const TAG_VAR: &str = "GAPBENCH_BROWSER_TAG";

/// A free TCP port on loopback (bound, read, released; the driver binds it next).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `name` on PATH, else the first of `extra` that exists.
pub fn find_binary(name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(extra.iter().cloned())
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A process we started, with its output going to a log file; killed (and reaped) on drop.
pub struct Spawned {
    child: Child,
    what: String,
    log: PathBuf,
}

impl Spawned {
    /// Start `cmd` with stdin closed and stdout+stderr appended to `log`.
    pub fn start(mut cmd: Command, what: &str, log: &Path) -> Result<Spawned, String> {
        let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let child = crate::proc::own(&mut cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        Ok(Spawned {
            child,
            what: what.into(),
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last `lines` non-empty lines of its log, joined with ` | `.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let v: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        v[v.len().saturating_sub(lines)..].join(" | ")
    }

    /// Why it is not running, for messages.
    pub fn exit_description(&mut self) -> String {
        match self.child.try_wait() {
            Ok(Some(st)) => format!("{} exited ({st}): {}", self.what, self.log_tail(4)),
            _ => format!("{} is running: {}", self.what, self.log_tail(4)),
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, so it can clean up after itself; SIGKILL if it is still there after `grace`.
    pub fn terminate(&mut self, grace: Duration) {
        if self.alive() {
            if let Err(e) = crate::proc::signal(self.pid(), rustix::process::Signal::TERM) {
                eprintln!("warning: {}: {e}", self.what);
            }
            let deadline = Instant::now() + grace;
            while self.alive() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Poll `http://127.0.0.1:port/status` until it answers 200 or `timeout` passes.
pub fn wait_for_status(port: u16, timeout: Duration, proc: &mut Spawned) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if status_ok(addr) {
            return Ok(());
        }
        if !proc.alive() {
            return Err(proc.exit_description());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{} did not answer /status on port {port} within {} s: {}",
                proc.what,
                timeout.as_secs(),
                proc.log_tail(4)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn status_ok(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    if write!(
        s,
        "GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match s.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    let head = String::from_utf8_lossy(&head[..got]);
    head.starts_with("HTTP/1.") && head.get(9..12) == Some("200")
}

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

fn read_nul_separated(path: &Path) -> Option<Vec<String>> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        bytes
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

/// The pids of every live process (not ourselves, not zombies) whose command line contains one of
/// `needles` or whose environment holds exactly `env_entry` (`NAME=value`).
pub fn find_processes(needles: &[&str], env_entry: Option<&str>) -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let base = entry.path();
        let Some(args) = read_nul_separated(&base.join("cmdline")) else {
            continue;
        };
        if args.is_empty() {
            continue; // kernel thread or zombie
        }
        let cmdline = args.join(" ");
        let by_cmd = needles.iter().any(|n| cmdline.contains(n));
        let by_env = !by_cmd
            && env_entry.is_some_and(|want| {
                read_nul_separated(&base.join("environ"))
                    .is_some_and(|env| env.iter().any(|e| e == want))
            });
        if by_cmd || by_env {
            out.push(pid);
        }
    }
    out
}

/// SIGKILL every process matching `needles` / `env_entry` except `keep`, until none is left
/// (browsers may fork while being killed). Returns how many were killed.
pub fn kill_matching(needles: &[&str], env_entry: Option<&str>, keep: &[u32]) -> usize {
    let mut killed = 0;
    for _ in 0..10 {
        let pids: Vec<u32> = find_processes(needles, env_entry)
            .into_iter()
            .filter(|p| !keep.contains(p))
            .collect();
        if pids.is_empty() {
            break;
        }
        killed += pids.len();
        crate::proc::kill_or_warn(&pids);
        std::thread::sleep(Duration::from_millis(100));
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_kills_a_tagged_process() {
        let tag = format!("driver-test-{}", std::process::id());
        let entry = format!("{TAG_VAR}={tag}");
        let mut child = Command::new("sleep")
            .arg("300")
            .env(TAG_VAR, &tag)
            .spawn()
            .unwrap();
        // Until the child has exec'd, /proc shows the parent's environment: poll briefly.
        let mut found = Vec::new();
        for _ in 0..100 {
            found = find_processes(&[], Some(&entry));
            if found.contains(&child.id()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(found.contains(&child.id()), "{found:?}");
        assert!(kill_matching(&[], Some(&entry), &[]) >= 1);
        let st = child.wait().unwrap();
        assert!(!st.success());
        assert!(find_processes(&[], Some(&entry)).is_empty());
    }

    #[test]
    fn free_ports_are_nonzero_and_binaries_are_found() {
        assert_ne!(free_port().unwrap(), 0);
        assert!(find_binary("sh", &[]).is_some());
        assert!(find_binary("no-such-binary-gapbench", &[]).is_none());
        assert_eq!(
            find_binary("no-such-binary-gapbench", &[PathBuf::from("/bin/sh")]),
            Some(PathBuf::from("/bin/sh"))
        );
    }
}
