//! Meters turn what a case measured into records. Each meter is one module; the runner calls every
//! meter a case asks for, and a meter never knows which target ran the case.

pub mod throughput;

use crate::plan::Case;
use crate::record::{CaseInfo, Record, Sample};
use crate::target::Outcome;

/// A meter's view of a finished case.
pub trait Meter {
    fn name(&self) -> &'static str;
    fn records(
        &self,
        case: &Case,
        info: &CaseInfo,
        outcome: &Outcome,
    ) -> (Vec<Record>, Vec<Sample>);
}

/// The meter called `name`, if this build has it.
pub fn by_name(name: &str) -> Option<Box<dyn Meter>> {
    match name {
        "throughput" => Some(Box::new(throughput::Throughput)),
        _ => None,
    }
}
