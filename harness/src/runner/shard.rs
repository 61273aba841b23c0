//! Fan-out (`--sessions N`): the remote cases sharded over N worker threads, each with targets
//! of its own holding at most one remote session at a time, one case per session at a time.
//! Every finished case comes back to the runner's thread, which commits it at once ([`Sink`]):
//! results stream into one run directory as they finish, in finishing order, and a resumed run
//! skips whatever any shard recorded.
//!
//! A session per engine at a time, unless the Grid lists more slots for that browser (Selenium
//! Grid 4's `/status`): a worker never asks the Grid for a browser another worker holds past
//! the Grid's slots, so no request waits in the Grid's queue for a session this run holds.

use super::*;
use crate::record::Sample;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// The session a shard's worker holds: the engine's name and its target (or why it has none).
type Held = Option<(String, Result<Box<dyn Target>, String>)>;

/// Where finished cases go: the record files, the manifest, the summary and the progress lines.
pub(super) struct Sink<'a> {
    pub writer: RecordWriter,
    pub manifest: Manifest,
    pub dir: &'a Path,
    pub lines: Vec<Line>,
    pub bar: indicatif::ProgressBar,
    pub progress: bool,
}

impl Sink<'_> {
    /// Commit one finished case: its records (fsynced), the manifest, its progress line.
    pub fn commit(
        &mut self,
        case: &Case,
        outcome: &Outcome,
        records: &[Record],
        samples: &[Sample],
    ) -> Result<(), Error> {
        let run_id = self.manifest.run_id.clone();
        self.writer
            .write_case(&run_id, records, samples)
            .map_err(|e| {
                Error::Other(format!(
                    "{}: cannot append records: {e}",
                    self.dir.display()
                ))
            })?;
        self.manifest.cases_done += 1;
        if let Some(d) = &outcome.device {
            self.manifest.add_device(d);
        }
        let _ = self.manifest.write(self.dir);
        let line = summary_line(case, outcome, records);
        if self.progress {
            // Each case as it ends (the table at the end sorts them): a first result shows
            // as soon as it is measured, not after the whole suite.
            let done = self.bar.position() + 1;
            let text = format!(
                "[{done}/{}] {}",
                self.bar.length().unwrap_or(0),
                line.brief()
            );
            if self.bar.is_hidden() {
                eprintln!("{text}");
            } else {
                self.bar.println(text);
            }
        }
        self.lines.push(line);
        self.bar.inc(1);
        Ok(())
    }
}

/// A case a worker finished.
struct Done {
    index: usize,
    outcome: Outcome,
    records: Vec<Record>,
    samples: Vec<Sample>,
}

/// What the workers share: the cases not yet taken, and how many workers hold each target.
struct Queue {
    /// Each case's target, by index.
    target_of: Vec<String>,
    pending: Vec<usize>,
    held: BTreeMap<String, usize>,
}

impl Queue {
    /// The next case for a worker holding `mine`: one of its own target first, else one whose
    /// target is held by fewer workers than `limit` allows. None: nothing it may take now.
    fn take(&mut self, mine: Option<&str>, limit: &dyn Fn(&str) -> usize) -> Option<usize> {
        let own = self
            .pending
            .iter()
            .position(|&i| Some(self.target_of[i].as_str()) == mine);
        let pos = own.or_else(|| {
            self.pending.iter().position(|&i| {
                let t = &self.target_of[i];
                self.held.get(t).copied().unwrap_or(0) < limit(t)
            })
        })?;
        let i = self.pending.remove(pos);
        let t = self.target_of[i].clone();
        if Some(t.as_str()) != mine {
            if let Some(m) = mine {
                self.release(m);
            }
            *self.held.entry(t).or_default() += 1;
        }
        Some(i)
    }

    fn release(&mut self, target: &str) {
        if let Some(n) = self.held.get_mut(target) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Run `cases` over `opts.targets.sessions` workers, committing each to `sink` as it ends.
/// Returns whether the run was interrupted.
pub(super) fn run(
    cases: &[&Case],
    opts: &RunOptions,
    cap: u64,
    sink: &mut Sink,
) -> Result<bool, Error> {
    let targets = &opts.targets;
    let slots: BTreeMap<String, usize> = targets_of(cases)
        .into_iter()
        .map(|t| {
            let n = targets
                .endpoint(&t)
                .and_then(|url| target::browser::grid_slots(url, &t))
                .unwrap_or(1);
            (t, n.max(1))
        })
        .collect();
    let limit = |t: &str| slots.get(t).copied().unwrap_or(1);
    let queue = Mutex::new(Queue {
        target_of: cases.iter().map(|c| c.target.clone()).collect(),
        pending: (0..cases.len()).collect(),
        held: BTreeMap::new(),
    });
    let stop = AtomicBool::new(false);
    let interrupted = AtomicBool::new(false);
    let run_id = sink.manifest.run_id.clone();
    let (tx, rx) = mpsc::channel::<Done>();
    let workers = targets.sessions.min(cases.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (queue, stop, interrupted, run_id) = (&queue, &stop, &interrupted, &run_id);
            let limit = &limit;
            scope.spawn(move || {
                let mut mine: Held = None;
                loop {
                    if stop.load(Ordering::SeqCst) || crate::interrupt::interrupted() {
                        break;
                    }
                    let held = mine.as_ref().map(|(n, _)| n.as_str());
                    let taken = {
                        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                        let t = q.take(held, limit);
                        (t, q.pending.is_empty())
                    };
                    let index = match taken {
                        (Some(i), _) => i,
                        (None, true) => break,
                        // Every case left is for a browser others hold: wait for one to end.
                        (None, false) => {
                            std::thread::sleep(Duration::from_millis(100));
                            continue;
                        }
                    };
                    let case = cases[index];
                    if held != Some(case.target.as_str()) {
                        // One session at a time per worker: the old one ends first.
                        if let Some((_, Ok(mut t))) = mine.take() {
                            t.close();
                        }
                        mine = Some((case.target.clone(), target::open(&case.target, targets)));
                    }
                    let target = &mut mine.as_mut().expect("opened above").1;
                    let mut meters = meter::Meters::with_cap(case, Some(cap));
                    let mut outcome = match target {
                        Ok(t) => t.run(case, &mut meters),
                        Err(why) => Outcome::bare(Status::Skipped, why.clone(), &case.target, ""),
                    };
                    meters.apply_verdict(&mut outcome);
                    // A case cut short by Ctrl-C is not a measurement: leave it to `--resume`.
                    if crate::interrupt::interrupted() && outcome.status != Status::Ok {
                        interrupted.store(true, Ordering::SeqCst);
                        break;
                    }
                    let (records, samples) = records_for(run_id, case, &outcome, &meters);
                    drop(meters);
                    let done = Done {
                        index,
                        outcome,
                        records,
                        samples,
                    };
                    if tx.send(done).is_err() {
                        break;
                    }
                }
                if let Some((name, t)) = mine.take() {
                    if let Ok(mut t) = t {
                        t.close();
                    }
                    queue
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .release(&name);
                }
            });
        }
        drop(tx);
        let mut failed = None;
        for done in rx {
            if failed.is_some() {
                continue;
            }
            let case = cases[done.index];
            if let Err(e) = sink.commit(case, &done.outcome, &done.records, &done.samples) {
                // Stop the workers; what they finish meanwhile cannot be written either.
                stop.store(true, Ordering::SeqCst);
                failed = Some(e);
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(interrupted.load(Ordering::SeqCst) || crate::interrupt::interrupted()),
        }
    })
}

/// The distinct targets of `cases`.
fn targets_of(cases: &[&Case]) -> Vec<String> {
    let mut t: Vec<String> = cases.iter().map(|c| c.target.clone()).collect();
    t.sort();
    t.dedup();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_keep_their_browser_and_never_pass_its_slots() {
        let mut q = Queue {
            target_of: ["chromium", "chromium", "firefox", "chromium"]
                .map(String::from)
                .to_vec(),
            pending: (0..4).collect(),
            held: BTreeMap::new(),
        };
        let one = |_: &str| 1;
        // Worker A takes Chromium; worker B may not take Chromium too: it takes Firefox.
        assert_eq!(q.take(None, &one), Some(0));
        assert_eq!(q.take(None, &one), Some(2));
        // B, done with Firefox, waits: only Chromium is left, and A holds its one slot.
        assert_eq!(q.take(Some("firefox"), &one), None);
        // A goes on with its own browser.
        assert_eq!(q.take(Some("chromium"), &one), Some(1));
        // With two Chromium slots, B switches to Chromium (releasing Firefox).
        let two = |t: &str| if t == "chromium" { 2 } else { 1 };
        assert_eq!(q.take(Some("firefox"), &two), Some(3));
        assert_eq!(q.held.get("chromium"), Some(&2));
        assert_eq!(q.held.get("firefox"), Some(&0));
        assert!(q.pending.is_empty());
    }
}
