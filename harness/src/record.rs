//! Records: one tidy row per case and metric, and every raw sample, written as they are produced.
//! Also the reader, which names the file and line of anything it cannot use.

use crate::stats::{self, Summary};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

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
pub const COLUMNS: [&str; 30] = [
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

    fn fields(&self) -> Vec<String> {
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
        ]
    }
}

fn fmt_num(x: f64) -> String {
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

/// Appends rows to `records.csv` and `samples.csv`, flushing after every case.
pub struct RecordWriter {
    dir: PathBuf,
    records: csv::Writer<File>,
    samples: csv::Writer<File>,
}

impl RecordWriter {
    /// Create (or, with `append`, continue) the record files in `dir`.
    pub fn open(dir: &Path, append: bool) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let open = |name: &str, header: &[&str]| -> std::io::Result<csv::Writer<File>> {
            let path = dir.join(name);
            let fresh = !append || !path.exists() || std::fs::metadata(&path)?.len() == 0;
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .append(!fresh)
                .truncate(fresh)
                .open(&path)?;
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file);
            if fresh {
                w.write_record(header)?;
                w.flush()?;
            }
            Ok(w)
        };
        Ok(RecordWriter {
            dir: dir.to_path_buf(),
            records: open("records.csv", &COLUMNS)?,
            samples: open(
                "samples.csv",
                &["run_id", "case_id", "metric", "phase", "index", "value"],
            )?,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write one case's rows and samples, then flush both files to the OS.
    pub fn write_case(
        &mut self,
        run_id: &str,
        records: &[Record],
        samples: &[Sample],
    ) -> std::io::Result<()> {
        for s in samples {
            self.samples.write_record([
                run_id,
                &s.case_id,
                &s.metric,
                s.phase,
                &s.index.to_string(),
                &format!("{}", s.value),
            ])?;
        }
        self.samples.flush()?;
        for r in records {
            self.records.write_record(r.fields())?;
        }
        self.records.flush()?;
        self.records.get_ref().sync_data()?;
        Ok(())
    }
}

/// A problem reading a result file, with where it is.
#[derive(Debug)]
pub struct ReadError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file.display(), l, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ReadError {}

/// A row read back from `records.csv`: every column by name, numbers parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRecord {
    pub line: u64,
    pub record: Record,
}

/// Read `records.csv`. A last line cut short (power loss mid-write) is dropped with a warning;
/// anything else malformed is an error naming the file and line.
pub fn read_records(path: &Path) -> Result<(Vec<ReadRecord>, Vec<String>), ReadError> {
    let err = |line: Option<u64>, message: String| ReadError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
    let mut warnings = Vec::new();
    let complete_last = text.ends_with('\n');
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| err(Some(1), format!("not CSV: {e}")))?
        .clone();
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        return Err(err(None, "file is empty (expected a header line)".into()));
    }
    let index: Vec<Option<usize>> = COLUMNS
        .iter()
        .map(|c| headers.iter().position(|h| h == *c))
        .collect();
    let missing: Vec<&str> = COLUMNS[..22]
        .iter()
        .zip(&index)
        .filter(|(_, i)| i.is_none())
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(err(
            Some(1),
            format!(
                "missing column(s): {} (is this a gapbench records.csv?)",
                missing.join(", ")
            ),
        ));
    }
    let rows: Vec<_> = rdr.records().collect();
    let total = rows.len();
    let mut out = Vec::with_capacity(total);
    let mut run_id: Option<String> = None;
    for (k, row) in rows.into_iter().enumerate() {
        let row = row.map_err(|e| err(e.position().map(|p| p.line()), format!("not CSV: {e}")))?;
        let line = row.position().map(|p| p.line()).unwrap_or(k as u64 + 2);
        let is_last = k + 1 == total;
        if row.len() != headers.len() {
            if is_last && !complete_last {
                warnings.push(format!(
                    "{}:{line}: last line is incomplete (cut short while writing?); dropped",
                    path.display()
                ));
                continue;
            }
            return Err(err(
                Some(line),
                format!("expected {} fields, found {}", headers.len(), row.len()),
            ));
        }
        let get = |col: usize| {
            index[col]
                .map(|i| row.get(i).unwrap_or("").to_string())
                .unwrap_or_default()
        };
        let parse_u = |col: usize| -> Result<u64, ReadError> {
            let v = get(col);
            if v.is_empty() {
                return Ok(0);
            }
            v.parse().map_err(|_| {
                err(
                    Some(line),
                    format!(
                        "column `{}`: expected a whole number, found `{v}`",
                        COLUMNS[col]
                    ),
                )
            })
        };
        let parse_f = |col: usize| -> Result<Option<f64>, ReadError> {
            let v = get(col);
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<f64>().map(Some).map_err(|_| {
                err(
                    Some(line),
                    format!("column `{}`: expected a number, found `{v}`", COLUMNS[col]),
                )
            })
        };
        let status_text = get(20);
        let status = Status::parse(&status_text).ok_or_else(|| {
            err(Some(line), format!("column `status`: expected ok, skipped, failed, crashed, oom or timeout, found `{status_text}`"))
        })?;
        let this_run = get(0);
        match &run_id {
            None => run_id = Some(this_run.clone()),
            Some(r) if *r != this_run => {
                return Err(err(
                    Some(line),
                    format!("mixed runs in one file: `{this_run}` after `{r}`"),
                ));
            }
            _ => {}
        }
        let n = parse_u(12)? as usize;
        let summary = match (parse_f(13)?, n) {
            (Some(median), n) if n > 0 => Some(Summary {
                n,
                median,
                ci_low: parse_f(14)?.unwrap_or(median),
                ci_high: parse_f(15)?.unwrap_or(median),
                mean: parse_f(16)?.unwrap_or(median),
                stddev: parse_f(17)?.unwrap_or(0.0),
                min: parse_f(18)?.unwrap_or(median),
                max: parse_f(19)?.unwrap_or(median),
                outliers_mild: parse_u(28)? as usize,
                outliers_severe: parse_u(29)? as usize,
            }),
            (None, n) if n > 0 => {
                return Err(err(
                    Some(line),
                    "column `median`: expected a number when n > 0, found nothing".into(),
                ));
            }
            _ => None,
        };
        let lower = get(27);
        out.push(ReadRecord {
            line,
            record: Record {
                case: CaseInfo {
                    run_id: this_run,
                    case_id: get(1),
                    workload: get(2),
                    size: get(3),
                    params: parse_u(4)?,
                    batch: parse_u(5)?,
                    target: get(6),
                    context: get(7),
                    engine: get(8),
                    engine_version: get(9),
                    backend: get(22),
                    simd: get(23),
                    device: get(24),
                    repetition: parse_u(25)? as u32,
                    flops_per_step: parse_u(26)?,
                },
                metric: get(10),
                unit: get(11),
                lower_is_better: lower == "true",
                summary,
                status,
                message: get(21),
            },
        });
    }
    Ok((out, warnings))
}

/// Read `samples.csv`, dropping a cut-short last line with a warning.
pub fn read_samples(path: &Path) -> Result<(Vec<Sample>, Vec<String>), ReadError> {
    let err = |line: Option<u64>, message: String| ReadError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let file = File::open(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
    let mut lines = BufReader::new(file).lines();
    match lines.next() {
        Some(Ok(h)) if h.starts_with("run_id,case_id,metric,phase,index,value") => {}
        Some(Ok(h)) => {
            return Err(err(
                Some(1),
                format!(
                    "unexpected header `{h}` (expected run_id,case_id,metric,phase,index,value)"
                ),
            ));
        }
        _ => return Err(err(None, "file is empty (expected a header line)".into())),
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
    let complete_last = text.ends_with('\n');
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let rows: Vec<_> = rdr.records().collect();
    let total = rows.len();
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (k, row) in rows.into_iter().enumerate() {
        let row = row.map_err(|e| err(e.position().map(|p| p.line()), format!("not CSV: {e}")))?;
        let line = row.position().map(|p| p.line()).unwrap_or(k as u64 + 2);
        let value = row.get(5).and_then(|v| v.parse::<f64>().ok());
        let index = row.get(4).and_then(|v| v.parse::<usize>().ok());
        let phase = match row.get(3) {
            Some("warmup") => Some("warmup"),
            Some("measured") => Some("measured"),
            _ => None,
        };
        match (row.len(), value, index, phase) {
            (6, Some(value), Some(index), Some(phase)) => out.push(Sample {
                case_id: row[1].to_string(),
                metric: row[2].to_string(),
                phase,
                index,
                value,
            }),
            _ if k + 1 == total && !complete_last => {
                warnings.push(format!(
                    "{}:{line}: last line is incomplete (cut short while writing?); dropped",
                    path.display()
                ));
            }
            _ => {
                return Err(err(Some(line), "expected 6 fields: run_id, case_id, metric, phase (warmup|measured), index (whole number), value (number)".into()));
            }
        }
    }
    Ok((out, warnings))
}

/// Flush a string to `path` atomically: write a temporary file, then rename it into place.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
