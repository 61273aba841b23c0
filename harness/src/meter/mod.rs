//! Meters turn what a case measured into records. Each meter is one module; the runner calls every
//! meter a case asks for, and a meter never knows which target ran the case.

pub mod throughput;

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
pub struct Meters<'a> {
    pub case: &'a Case,
    pub meters: Vec<Box<dyn Meter>>,
}

impl<'a> Meters<'a> {
    /// Fresh instances of every meter the case asks for.
    pub fn for_case(case: &'a Case) -> Self {
        Meters {
            case,
            meters: case.meters.iter().filter_map(|n| by_name(n)).collect(),
        }
    }
}

impl CaseWatch for Meters<'_> {
    fn started(&mut self, procs: &Processes) {
        for m in &mut self.meters {
            m.start(self.case, procs);
        }
    }

    fn finished(&mut self) {
        for m in &mut self.meters {
            m.stop();
        }
    }
}

/// The meter called `name`, if this build has it.
pub fn by_name(name: &str) -> Option<Box<dyn Meter>> {
    match name {
        "throughput" => Some(Box::new(throughput::Throughput)),
        _ => None,
    }
}
