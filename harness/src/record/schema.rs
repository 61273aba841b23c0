//! The record files' rows: a case's status, the records.csv columns, a record and a raw sample.

use super::*;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped,
    Failed,
    Crashed,
    Oom,
    Timeout,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Crashed => "crashed",
            Status::Oom => "oom",
            Status::Timeout => "timeout",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "ok" => Status::Ok,
            "skipped" => Status::Skipped,
            "failed" => Status::Failed,
            "crashed" => Status::Crashed,
            "oom" => Status::Oom,
            "timeout" => Status::Timeout,
            _ => return None,
        })
    }
}

/// The columns of `records.csv`, in order.
pub const COLUMNS: [&str; 34] = [
    "run_id",
    "case_id",
    "workload",
    "size",
    "params",
    "batch",
    "target",
    "context",
    "engine",
    "engine_version",
    "metric",
    "unit",
    "n",
    "median",
    "ci_low",
    "ci_high",
    "mean",
    "stddev",
    "min",
    "max",
    "status",
    "message",
    "backend",
    "simd",
    "device",
    "repetition",
    "flops_per_step",
    "lower_is_better",
    "outliers_mild",
    "outliers_severe",
    "host",
    "secure_context",
    "cross_origin_isolated",
    "threads",
];

/// What a row says about the case it belongs to (the same for all its metrics).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseInfo {
    pub run_id: String,
    pub case_id: String,
    pub workload: String,
    pub size: String,
    pub params: u64,
    pub batch: u64,
    pub target: String,
    pub context: String,
    pub engine: String,
    pub engine_version: String,
    pub backend: String,
    pub simd: String,
    pub device: String,
    pub repetition: u32,
    pub flops_per_step: u64,
    /// The device that ran the case: `local`, or a remote one's id (`manifest.json`'s `fleet`).
    pub host: String,
    /// Whether the probe page was a secure context / cross-origin isolated: `true`, `false`, or
    /// empty where no page ran or it was not read.
    pub secure_context: String,
    pub cross_origin_isolated: String,
    /// The threads the training ran on, read back from the probe's pool (`1` without one);
    /// empty where the case did not say (a peer, or no result).
    pub threads: String,
}

/// One row of `records.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub case: CaseInfo,
    pub metric: String,
    pub unit: String,
    pub lower_is_better: bool,
    pub summary: Option<Summary>,
    pub status: Status,
    pub message: String,
}

impl Record {
    /// A measured metric from raw samples (None when there are no finite samples).
    pub fn measured(
        case: &CaseInfo,
        metric: &str,
        unit: &str,
        lower: bool,
        samples: &[f64],
    ) -> Self {
        Record {
            case: case.clone(),
            metric: metric.into(),
            unit: unit.into(),
            lower_is_better: lower,
            summary: stats::summarize(samples),
            status: Status::Ok,
            message: String::new(),
        }
    }

    /// A row saying a case did not produce measurements, and why.
    pub fn outcome(case: &CaseInfo, status: Status, message: &str) -> Self {
        Record {
            case: case.clone(),
            metric: "case".into(),
            unit: String::new(),
            lower_is_better: false,
            summary: None,
            status,
            message: message.into(),
        }
    }

    pub(super) fn fields(&self) -> Vec<String> {
        let c = &self.case;
        let num = |f: fn(&Summary) -> f64| {
            self.summary
                .as_ref()
                .map(|s| fmt_num(f(s)))
                .unwrap_or_default()
        };
        vec![
            c.run_id.clone(),
            c.case_id.clone(),
            c.workload.clone(),
            c.size.clone(),
            c.params.to_string(),
            c.batch.to_string(),
            c.target.clone(),
            c.context.clone(),
            c.engine.clone(),
            c.engine_version.clone(),
            self.metric.clone(),
            self.unit.clone(),
            self.summary.as_ref().map(|s| s.n).unwrap_or(0).to_string(),
            num(|s| s.median),
            num(|s| s.ci_low),
            num(|s| s.ci_high),
            num(|s| s.mean),
            num(|s| s.stddev),
            num(|s| s.min),
            num(|s| s.max),
            self.status.as_str().into(),
            self.message.clone(),
            c.backend.clone(),
            c.simd.clone(),
            c.device.clone(),
            c.repetition.to_string(),
            c.flops_per_step.to_string(),
            self.lower_is_better.to_string(),
            self.summary
                .as_ref()
                .map(|s| s.outliers_mild)
                .unwrap_or(0)
                .to_string(),
            self.summary
                .as_ref()
                .map(|s| s.outliers_severe)
                .unwrap_or(0)
                .to_string(),
            c.host.clone(),
            c.secure_context.clone(),
            c.cross_origin_isolated.clone(),
            c.threads.clone(),
        ]
    }
}

pub(super) fn fmt_num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.6}")
    }
}

/// One raw sample of `samples.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub case_id: String,
    pub metric: String,
    pub phase: &'static str,
    pub index: usize,
    pub value: f64,
}

/// The header of `samples.csv`.
pub const SAMPLE_COLUMNS: [&str; 6] = ["run_id", "case_id", "metric", "phase", "index", "value"];
