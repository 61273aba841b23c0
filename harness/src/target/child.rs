//! Run a helper process with input on stdin, a deadline, and both pipes drained; used by the
//! targets that run a case in a process of its own (native cases, Node.js).

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Finished {
    /// None when the deadline passed and the process was killed.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The last line of stdout that looks like a JSON object.
    pub fn json_line(&self) -> Option<&str> {
        self.stdout.lines().rev().find(|l| l.starts_with('{'))
    }

    pub fn stderr_tail(&self, lines: usize) -> String {
        let v: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        v[v.len().saturating_sub(lines)..].join(" | ")
    }
}

pub fn run(
    mut cmd: Command,
    input: &[u8],
    timeout: Duration,
    watch: &mut dyn super::CaseWatch,
) -> std::io::Result<Finished> {
    crate::proc::own(&mut cmd);
    // The memory cap as a cgroup of the case's own where one can be made (else the watchdog).
    let cgroup = match watch.memory_cap() {
        Some(cap) if crate::cgroup::parent().is_some() => {
            match crate::cgroup::CaseCgroup::create(cap) {
                Ok(cg) => match cg.join_on_exec(&mut cmd) {
                    Ok(()) => Some(cg),
                    Err(e) => {
                        eprintln!("warning: {e}; the memory watchdog caps this case");
                        None
                    }
                },
                Err(e) => {
                    eprintln!(
                        "warning: cannot make a cgroup for the case ({e}); the memory watchdog caps it"
                    );
                    None
                }
            }
        }
        _ => None,
    };
    if cgroup.is_some() {
        watch.cap_by_cgroup();
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    watch.started(&super::Processes::Pids(vec![child.id()]));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped")));
    let err = drain(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait()? {
            Some(st) => break Some(st),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    watch.finished();
    if let Some(cg) = cgroup {
        // Anything the case process left (its own children) goes with the cgroup.
        if cg.oom_kills() > 0 {
            watch.capped(super::Trip {
                cap_bytes: cg.limit(),
                pss_bytes: cg.peak().unwrap_or(cg.limit()),
                via: super::Via::Cgroup(cg.version()),
            });
        }
        drop(cg);
    }
    Ok(Finished {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// How a process that gave no answer ended, as a record status and message.
pub fn classify(f: &Finished) -> (crate::record::Status, String) {
    use crate::record::Status;
    use std::os::unix::process::ExitStatusExt;
    let tail = f.stderr_tail(3);
    let Some(status) = f.status else {
        return (
            Status::Timeout,
            "no answer before the case timeout; process killed".into(),
        );
    };
    let oom_text = tail.contains("memory allocation") || tail.contains("out of memory");
    match status.signal() {
        Some(9) => (
            Status::Oom,
            format!("killed by SIGKILL (out of memory?): {tail}"),
        ),
        Some(6) if oom_text => (Status::Oom, format!("aborted: {tail}")),
        Some(sig) => (Status::Crashed, format!("killed by signal {sig}: {tail}")),
        None if oom_text => (Status::Oom, format!("{status}: {tail}")),
        None => (
            Status::Crashed,
            format!("{status} without an answer: {tail}"),
        ),
    }
}

/// The outcome of a case process that answers one JSON `Reply` line: its reply, or what its exit
/// says (`what` names the process in the message when it could not start).
pub fn reply_outcome(
    started: std::io::Result<Finished>,
    what: &str,
    engine: &str,
    version: &str,
) -> super::Outcome {
    use super::{Outcome, Reply};
    match started {
        Err(e) => Outcome::bare(
            crate::record::Status::Failed,
            format!("cannot start {what}: {e}"),
            engine,
            version,
        ),
        Ok(f) => match f.json_line().map(serde_json::from_str::<Reply>) {
            Some(Ok(reply)) => Outcome::from_reply(reply, engine, version),
            _ => {
                let (status, message) = classify(&f);
                Outcome::bare(status, message, engine, version)
            }
        },
    }
}

/// Page-only workloads (page tasks) run in browsers only: the skip a process target records.
pub fn page_only(case: &crate::plan::Case, engine: &str, version: &str) -> Option<super::Outcome> {
    super::page::is_page_task(&case.workload).then(|| {
        super::Outcome::bare(
            crate::record::Status::Skipped,
            format!(
                "page-only workload `{}`: it runs in browsers",
                case.workload
            ),
            engine,
            version,
        )
    })
}
