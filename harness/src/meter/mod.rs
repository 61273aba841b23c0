//! Meters turn what a case measured into records. Each meter is one module; the runner calls every
//! meter a case asks for, and a meter never knows which target ran the case.

pub mod agreement;
pub mod background;
pub mod cap;
pub mod capabilities;
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

/// The meter called `name`, if this build has it.
pub fn by_name(name: &str) -> Option<Box<dyn Meter>> {
    match name {
        "throughput" => Some(Box::new(throughput::Throughput)),
        "agreement" => Some(Box::new(agreement::Agreement)),
        "ui" => Some(Box::new(ui::Ui)),
        "background" => Some(Box::new(background::Background)),
        "ingestion" => Some(Box::new(ingestion::Ingestion)),
        "capabilities" => Some(Box::new(capabilities::Capabilities)),
        "calibrate" => Some(Box::new(ui::Calibrate)),
        "memory" => Some(Box::new(memory::Memory::standalone())),
        _ => None,
    }
}
