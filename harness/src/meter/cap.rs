//! The memory cap: a watchdog thread that samples the proportional memory (PSS) of a case's whole
//! process tree (a native or Node child, or every process of a browser) and kills the tree when it
//! passes the cap, so the kernel's OOM killer is never reached. It runs for every case (the runner
//! hooks it in through `Meters`), and its samples feed the `memory` meter. Where the case runs in
//! a cgroup limited to the cap (`cgroup.rs`: native, Node and Keras case processes, local
//! browsers) the cgroup is the cap and the watchdog only samples; it kills where there is none.
//!
//! Sampling: every 100 ms while the tree is below half the cap, every 25 ms above it (Firefox grows
//! a memory64 buffer by copying it, so memory can double between two samples). The process list is
//! resolved again every few samples (browsers start processes while a case runs).

use crate::target::Processes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Largest default cap.
const DEFAULT_MAX: u64 = 8 << 30;
const SLOW: Duration = Duration::from_millis(100);
const FAST: Duration = Duration::from_millis(25);
/// Samples between two resolutions of the process list.
const RESOLVE_EVERY: u32 = 1;

/// The default cap: the smaller of 8 GiB and half this machine's RAM.
pub fn default_cap() -> u64 {
    let ram = crate::manifest::ram_bytes();
    if ram == 0 {
        DEFAULT_MAX
    } else {
        DEFAULT_MAX.min(ram / 2)
    }
}

/// Parse a memory size such as `2GiB`, `1024MiB`, `512M` or `1073741824` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("expected a size such as 2GiB or 1024MiB, found `{s}`"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        "t" | "tib" | "tb" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{s}` (use B, KiB, MiB, GiB or TiB)"
            ));
        }
    };
    let bytes = value * mult as f64;
    if !(bytes.is_finite() && bytes >= (64u64 << 20) as f64 && bytes < 1e18) {
        return Err(format!("a memory cap must be at least 64MiB, found `{s}`"));
    }
    Ok(bytes as u64)
}

pub use crate::target::{Trip, Via};

/// What the sampler saw during one case.
#[derive(Debug, Default)]
pub struct Seen {
    /// (milliseconds since start, summed PSS in bytes).
    pub samples: Vec<(f64, u64)>,
    pub tripped: Option<Trip>,
}

/// Samples a case's processes; kills them past the cap (`None`: sample only).
pub struct Watchdog {
    cap: Option<u64>,
    /// Whether the watchdog kills past the cap (false: a cgroup enforces it; sample only).
    enforce: bool,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    pub fn new(cap: Option<u64>) -> Self {
        Watchdog {
            cap,
            enforce: true,
            seen: Arc::new(Mutex::new(Seen::default())),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        }
    }

    pub fn cap(&self) -> Option<u64> {
        self.cap
    }

    /// Leave the cap to the case's cgroup: sample only, kill nothing.
    pub fn sample_only(&mut self) {
        self.enforce = false;
    }

    /// Whether the watchdog kills at the cap (false once a cgroup enforces it).
    pub fn enforces(&self) -> bool {
        self.enforce && self.cap.is_some()
    }

    /// The case's cgroup ended it at the cap.
    pub fn record_trip(&self, trip: Trip) {
        let mut s = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        s.tripped.get_or_insert(trip);
    }

    /// What was seen so far, shared (the `memory` meter reads it after the case).
    pub fn seen(&self) -> Arc<Mutex<Seen>> {
        self.seen.clone()
    }

    /// Start sampling `procs` (stops a previous sampler first).
    pub fn start(&mut self, procs: &Processes) {
        self.stop();
        self.stop.store(false, Ordering::SeqCst);
        let (procs, cap, enforce, seen, stop) = (
            procs.clone(),
            self.cap,
            self.enforce,
            self.seen.clone(),
            self.stop.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("gapbench-memory".into())
            .spawn(move || sample_loop(&procs, cap, enforce, &seen, &stop));
        self.thread = spawned.ok();
    }

    /// Stop sampling (waits for the thread; cheap).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Whether the case was killed for passing the cap.
    pub fn tripped(&self) -> Option<Trip> {
        self.seen.lock().map(|s| s.tripped).unwrap_or(None)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGKILL through kill(2); an error other than "already gone" is said once per case.
fn kill(pids: &[u32], warned: &mut bool) {
    let errors = crate::proc::kill_all(pids);
    if let Some(e) = errors.first()
        && !*warned
    {
        *warned = true;
        eprintln!("warning: the memory cap could not kill the case: {e}");
    }
}

fn sample_loop(
    procs: &Processes,
    cap: Option<u64>,
    enforce: bool,
    seen: &Mutex<Seen>,
    stop: &AtomicBool,
) {
    let t0 = Instant::now();
    let mut pids = procs.live();
    let mut n: u32 = 0;
    let mut warned = false;
    while !stop.load(Ordering::SeqCst) {
        if n > 0 && n.is_multiple_of(RESOLVE_EVERY) {
            pids = procs.live();
        }
        n += 1;
        let pss = crate::proc::total_pss_bytes(&pids);
        let tripped = {
            let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
            if !pids.is_empty() {
                s.samples.push((t0.elapsed().as_secs_f64() * 1e3, pss));
            }
            if enforce
                && s.tripped.is_none()
                && let Some(c) = cap
                && pss > c
            {
                s.tripped = Some(Trip {
                    cap_bytes: c,
                    pss_bytes: pss,
                    via: Via::Pss,
                });
            }
            enforce && s.tripped.is_some()
        };
        if tripped {
            // Kill the whole tree, again on every tick: a browser may start a process meanwhile.
            kill(&procs.live(), &mut warned);
        }
        let wait = match cap {
            Some(c) if pss > c / 2 => FAST,
            _ => SLOW,
        };
        let until = Instant::now() + wait;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5).min(wait));
        }
    }
    // One last sample when the case ends: a short case may end between two ticks, right after
    // its memory peaked (a page that allocated half a GiB and finished its steps within 100 ms).
    let pids = procs.live();
    if !pids.is_empty() {
        let pss = crate::proc::total_pss_bytes(&pids);
        let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
        if s.tripped.is_none() {
            s.samples.push((t0.elapsed().as_secs_f64() * 1e3, pss));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_ones_are_named() {
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("1024MiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_size("134217728").unwrap(), 128 << 20);
        for bad in ["", "GiB", "2XB", "-1GiB", "1MiB", "abc"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let c = default_cap();
        assert!(c > 0 && c <= DEFAULT_MAX);
    }

    #[test]
    fn kills_a_tree_past_the_cap_and_samples_it() {
        // A child that holds ~200 MiB: a 100 MiB cap kills it, sampling alone does not.
        let script = "x = bytearray(200 * 1024 * 1024)\nimport time\ntime.sleep(30)";
        let spawn = || {
            std::process::Command::new("python3")
                .args(["-c", script])
                .spawn()
        };
        let Ok(mut child) = spawn() else {
            eprintln!("python3 missing: skipped");
            return;
        };
        let mut w = Watchdog::new(Some(100 << 20));
        w.start(&Processes::Pids(vec![child.id()]));
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        w.stop();
        let trip = w.tripped().expect("tripped");
        assert!(status.is_some(), "the child was not killed");
        assert!(trip.pss_bytes > 100 << 20);
        assert!(trip.message().contains("over the memory cap of 100 MiB"));

        let mut child = spawn().unwrap();
        let mut w = Watchdog::new(None);
        w.start(&Processes::Pids(vec![child.id()]));
        std::thread::sleep(Duration::from_millis(1500));
        w.stop();
        assert!(child.try_wait().unwrap().is_none(), "killed without a cap");
        child.kill().unwrap();
        child.wait().unwrap();
        let seen = w.seen();
        let s = seen.lock().unwrap();
        assert!(s.tripped.is_none());
        assert!(s.samples.len() >= 5, "{}", s.samples.len());
        let peak = s.samples.iter().map(|x| x.1).max().unwrap();
        assert!(peak > 150 << 20 && peak < 400 << 20, "{peak}");
    }
}
