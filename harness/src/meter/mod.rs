//! Meters turn what a case measured into records. Each meter is one module; the runner calls every
//! meter a case asks for, and a meter never knows which target ran the case.

pub mod agreement;
pub mod background;
pub mod cap;
pub mod capabilities;
pub mod estimate;
pub mod ingestion;
pub mod memory;
pub mod page;
pub mod throughput;
pub mod ui;

use crate::plan::Case;
use crate::record::{CaseInfo, Record, Sample};
use crate::target::{CaseWatch, Outcome, Processes};

/// One meter, made fresh for each case. Lifecycle (as crossbench's probes): `start` when the
/// workload starts in `procs`, `stop` when it ends (both cheap: heavy work belongs in `records`),
/// then `records` turns what was seen, and the case's outcome, into records.
pub trait Meter {
    fn name(&self) -> &'static str;
    fn start(&mut self, _case: &Case, _procs: &Processes) {}
    fn stop(&mut self) {}
    fn records(
        &self,
        case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>);
}

/// The meters of one case, as the target's `CaseWatch`.
/// Every case also runs the memory watchdog (`cap.rs`), whether or not it asks for the memory meter.
pub struct Meters<'a> {
    pub case: &'a Case,
    pub meters: Vec<Box<dyn Meter>>,
    pub watchdog: cap::Watchdog,
}

impl<'a> Meters<'a> {
    /// Fresh instances of every meter the case asks for, under the default memory cap.
    pub fn for_case(case: &'a Case) -> Self {
        Self::with_cap(case, Some(cap::default_cap()))
    }

    /// As `for_case`, with the memory cap `cap` (None: memory is sampled, nothing is killed).
    pub fn with_cap(case: &'a Case, cap: Option<u64>) -> Self {
        let watchdog = cap::Watchdog::new(cap);
        let meters = case
            .meters
            .iter()
            .filter_map(|n| match n.as_str() {
                "memory" => {
                    Some(Box::new(memory::Memory::attached(watchdog.seen())) as Box<dyn Meter>)
                }
                n => by_name(n),
            })
            .collect();
        Meters {
            case,
            meters,
            watchdog,
        }
    }

    /// Prefer the watchdog's verdict: a case killed for passing the memory cap is `oom`, whatever
    /// the target made of its processes dying.
    pub fn apply_verdict(&self, outcome: &mut Outcome) {
        if let Some(trip) = self.watchdog.tripped() {
            outcome.status = crate::record::Status::Oom;
            outcome.message = trip.message();
            outcome.result = None;
        }
    }
}

impl CaseWatch for Meters<'_> {
    fn started(&mut self, procs: &Processes) {
        self.watchdog.start(procs);
        for m in &mut self.meters {
            m.start(self.case, procs);
        }
    }

    fn finished(&mut self) {
        self.watchdog.stop();
        for m in &mut self.meters {
            m.stop();
        }
    }

    fn memory_cap(&self) -> Option<u64> {
        self.watchdog
            .enforces()
            .then(|| self.watchdog.cap())
            .flatten()
    }

    fn cap_by_cgroup(&mut self) {
        self.watchdog.sample_only();
    }

    fn capped(&mut self, trip: cap::Trip) {
        self.watchdog.record_trip(trip);
    }
}

/// One meter of this build: its name as scenarios write it, what it records (`gapbench list`),
/// and a fresh instance.
pub struct Entry {
    pub name: &'static str,
    pub about: &'static str,
    pub make: fn() -> Box<dyn Meter>,
}

/// Every meter of this build. Adding a meter is its module plus one line here; scenario
/// validation, `gapbench list` and the runner all read this table. The page meters (`ui` to
/// `calibrate`) turn what the probe page measured into records.
pub const CATALOG: [Entry; 9] = [
    Entry {
        name: "throughput",
        about: "step time, samples/s, GFLOP/s, cold start, loss and validation accuracy",
        make: || Box::new(throughput::Throughput),
    },
    Entry {
        name: "agreement",
        about: "wasm cases: max relative loss difference from native ndarray, same seed, in ppm (tolerance 1e-3 = 1000 ppm)",
        make: || Box::new(agreement::Agreement),
    },
    Entry {
        name: "memory",
        about: "peak and mean PSS of the case's process tree (sampled), peak RSS, wasm memory, measureUserAgentSpecificMemory",
        make: || Box::new(memory::Memory::standalone()),
    },
    Entry {
        name: "ui",
        about: "browser: frame gaps (max, p95, share over 50 ms), long tasks/frames, click input latency, start stall",
        make: || Box::new(ui::Ui),
    },
    Entry {
        name: "background",
        about: "browser: steps/s with the tab hidden (another tab shown) against visible, and the ratio",
        make: || Box::new(background::Background),
    },
    Entry {
        name: "ingestion",
        about: "page task `ingestion`: MB/s into wasm memory by fetch, OPFS and IndexedDB",
        make: || Box::new(ingestion::Ingestion),
    },
    Entry {
        name: "capabilities",
        about: "page task `capabilities`: one cap_<name> record per platform capability",
        make: || Box::new(capabilities::Capabilities),
    },
    Entry {
        name: "calibrate",
        about: "page task `calibrate`: frame-gap and hidden-interval meters against injected truths",
        make: || Box::new(ui::Calibrate),
    },
    Entry {
        name: "estimate",
        about: "page task `estimate`: estimate.js's predicted tm-image training time (its spread as the interval), step time, calibration cost and sample ceiling",
        make: || Box::new(estimate::Estimate),
    },
];

/// The meter called `name`, if this build has it.
pub fn by_name(name: &str) -> Option<Box<dyn Meter>> {
    CATALOG.iter().find(|e| e.name == name).map(|e| (e.make)())
}

/// A page meter's records: what `build` makes of the object the page sent under `key`, or none
/// when the page sent none (the case did not run that page task).
pub fn from_page(
    outcome: &Outcome,
    key: &str,
    build: impl FnOnce(&serde_json::Value) -> Vec<Record>,
) -> (Vec<Record>, Vec<Sample>) {
    match outcome.page.get(key) {
        Some(p) if p.is_object() => (build(p), Vec::new()),
        _ => (Vec::new(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_line_makes_the_meter_it_names_once() {
        let mut seen = std::collections::BTreeSet::new();
        for e in &CATALOG {
            assert!(seen.insert(e.name), "{} listed twice", e.name);
            assert_eq!((e.make)().name(), e.name);
            assert_eq!(by_name(e.name).map(|m| m.name()), Some(e.name));
            assert!(!e.about.is_empty());
        }
        assert!(by_name("no-such-meter").is_none());
    }
}
