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

use super::xvfb::Xvfb;
use super::{BrowserTarget, DRIVER_START_TIMEOUT};

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

/// A running WebDriver server.
pub(super) struct Driver {
    pub(super) proc: Spawned,
    pub(super) port: u16,
    /// Started inside the browser's cgroup (so is every browser process it starts).
    pub(super) in_cgroup: bool,
}

impl BrowserTarget {
    /// Start Xvfb (WebKit) and the driver unless they are running.
    pub(super) fn ensure_driver(&mut self) -> Result<(), String> {
        if self.remote.is_some() {
            return Ok(());
        }
        if let Some(d) = &mut self.driver {
            if d.proc.alive() {
                return Ok(());
            }
            self.stop_driver();
        }
        let engine = self.engine();
        let bins = self
            .bins
            .clone()
            .expect("binaries found before the driver starts");
        let mut cmd = Command::new(&bins.driver);
        let port =
            free_port().map_err(|e| format!("no free port for {}: {e}", engine.driver_name()))?;
        let mut display = 0;
        if engine.needs_display() {
            let alive = self.xvfb.as_mut().is_some_and(|x| x.alive());
            if !alive {
                self.xvfb = None;
                let xvfb_bin = bins
                    .xvfb
                    .as_ref()
                    .expect("an engine that needs a display needs Xvfb");
                self.xvfb = Some(Xvfb::start(xvfb_bin, &self.log_path("xvfb"), &self.tag)?);
            }
            display = self.xvfb.as_ref().map(|x| x.display).unwrap_or_default();
        }
        let profile = match engine.profile_with_driver() {
            true => Some(self.new_profile_dir()?),
            false => None,
        };
        engine.driver_command(&mut cmd, port, display, profile.as_deref());
        if profile.is_some() {
            self.driver_profile = profile;
        }
        cmd.env(TAG_VAR, &self.tag);
        // The driver joins the browser's cgroup between fork and exec: the browser it starts, and
        // all that browser's processes, are born inside.
        let in_cgroup = match &self.cgroup {
            Some(cg) => match cg.join_on_exec(&mut cmd) {
                Ok(()) => true,
                Err(e) => {
                    eprintln!(
                        "warning: {e}; the memory watchdog caps the {} cases",
                        self.name
                    );
                    self.cgroup_failed = true;
                    false
                }
            },
            None => false,
        };
        let mut proc = Spawned::start(cmd, engine.driver_name(), &self.log_path("driver"))?;
        wait_for_status(port, DRIVER_START_TIMEOUT, &mut proc)?;
        self.driver = Some(Driver {
            proc,
            port,
            in_cgroup,
        });
        Ok(())
    }

    pub(super) fn keep_pids(&self) -> Vec<u32> {
        let mut keep = Vec::new();
        if let Some(d) = &self.driver {
            keep.push(d.proc.pid());
        }
        if let Some(x) = &self.xvfb {
            keep.push(x.pid());
        }
        keep
    }

    /// Kill the driver and every browser process it left.
    pub(super) fn stop_driver(&mut self) {
        if let Some(mut d) = self.driver.take() {
            d.proc.kill();
        }
        if self.remote.is_some() {
            return;
        }
        let keep: Vec<u32> = self
            .xvfb
            .as_ref()
            .map(|x| vec![x.pid()])
            .unwrap_or_default();
        kill_matching(&[&self.profile_prefix()], Some(&self.tag_entry()), &keep);
        // Without its driver, whatever is left in the browser's cgroup is the browser's.
        if let Some(cg) = &self.cgroup {
            cg.kill_all();
        }
        if let Some(p) = self.driver_profile.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
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
