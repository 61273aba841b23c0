//! Records: one tidy row per case and metric, and every raw sample, written as they are produced.
//! Also the reader, which names the file and line of anything it cannot use.

use crate::stats::{self, Summary};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
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

/// The header of `samples.csv`.
pub const SAMPLE_COLUMNS: [&str; 6] = ["run_id", "case_id", "metric", "phase", "index", "value"];

/// Appends rows to `records.csv` and `samples.csv`, one case at a time.
///
/// A case is committed in two steps: all its samples in one `write_all` + `fsync`, then all its
/// records rows in one `write_all` + `fsync`, the `case` row last. A case is done when its `case`
/// row is in `records.csv`. Whatever a crash leaves of a case that is not done (a torn last line,
/// samples without records, metric rows without the `case` row) is removed when the files are
/// opened again ([`repair`]), so a resumed run writes every case exactly once.
pub struct RecordWriter {
    dir: PathBuf,
    records: File,
    samples: File,
    /// Test hook (`GAPBENCH_TEST_WRITE_CHUNK=<bytes>`): write each buffer in pieces of this many
    /// bytes with a millisecond between them, so that a test's SIGKILL lands mid-write.
    chunk: Option<usize>,
}

/// What [`repair`] removed from a run's record files.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Repair {
    /// Bytes of a torn last line cut from `records.csv` / `samples.csv`.
    pub torn_records: u64,
    pub torn_samples: u64,
    /// Rows of cases without a `case` row (not done), dropped.
    pub orphan_records: usize,
    pub orphan_samples: usize,
    /// Case ids that have a `case` row: the cases that are done.
    pub done: std::collections::HashSet<String>,
}

impl Repair {
    /// One line per thing that was removed, for the user.
    pub fn messages(&self, dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for (n, file) in [
            (self.torn_records, "records.csv"),
            (self.torn_samples, "samples.csv"),
        ] {
            if n > 0 {
                out.push(format!(
                    "{}: removed a torn last line ({n} bytes, cut short while writing)",
                    dir.join(file).display()
                ));
            }
        }
        for (n, file) in [
            (self.orphan_records, "records.csv"),
            (self.orphan_samples, "samples.csv"),
        ] {
            if n > 0 {
                out.push(format!(
                    "{}: removed {n} row(s) of a case that was not finished (it runs again)",
                    dir.join(file).display()
                ));
            }
        }
        out
    }
}

/// Where each row of a CSV file (with a header line) starts and ends, read as a stream.
struct Scan {
    /// The header line's fields, when the file has a complete one.
    header: Option<csv::ByteRecord>,
    /// Byte offset just past the header line.
    header_end: u64,
    /// Offset where a torn last row starts (None: the last row is whole).
    torn_at: Option<u64>,
    len: u64,
}

/// Read `path` row by row, calling `each(start, row)` for every whole row (a last row cut short
/// is not passed on: `torn_at` says where it starts).
fn scan(path: &Path, mut each: impl FnMut(u64, &csv::ByteRecord)) -> std::io::Result<Scan> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let ends_in_newline = len > 0 && {
        use std::os::unix::fs::FileExt;
        let mut b = [0u8; 1];
        file.read_exact_at(&mut b, len - 1)?;
        b[0] == b'\n'
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 16, file));
    let mut header = csv::ByteRecord::new();
    let read = |rdr: &mut csv::Reader<BufReader<File>>, rec: &mut csv::ByteRecord| {
        rdr.read_byte_record(rec)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))
    };
    if !read(&mut rdr, &mut header)? {
        return Ok(Scan {
            header: None,
            header_end: 0,
            torn_at: None,
            len,
        });
    }
    let header_end = rdr.position().byte();
    if header_end >= len && !ends_in_newline {
        // Only part of the header line.
        return Ok(Scan {
            header: None,
            header_end: 0,
            torn_at: Some(0),
            len,
        });
    }
    let width = header.len();
    let mut row = csv::ByteRecord::new();
    // The previous row: passed on once the next one shows it was not the last.
    let mut pending: Option<(u64, csv::ByteRecord)> = None;
    let mut torn_at = None;
    loop {
        let start = rdr.position().byte();
        if !read(&mut rdr, &mut row)? {
            break;
        }
        let end = rdr.position().byte();
        if let Some((s, r)) = pending.take() {
            each(s, &r);
        }
        let whole = row.len() == width && (end < len || ends_in_newline);
        if end >= len && !whole {
            torn_at = Some(start);
            break;
        }
        pending = Some((start, row.clone()));
    }
    if let Some((s, r)) = pending.take() {
        each(s, &r);
    }
    Ok(Scan {
        header: Some(header),
        header_end,
        torn_at,
        len,
    })
}

/// Keep the rows of `path` for which `keep(row)` holds, rewriting the file only when a dropped
/// row is followed by a kept one (otherwise the file is cut). Returns how many rows were dropped.
fn drop_rows(
    path: &Path,
    header_end: u64,
    keep: impl Fn(&csv::ByteRecord) -> bool,
) -> std::io::Result<usize> {
    let mut first_dropped = None;
    let mut kept_after = false;
    let mut dropped = 0;
    scan(path, |start, row| {
        if keep(row) {
            kept_after |= first_dropped.is_some();
        } else {
            dropped += 1;
            first_dropped.get_or_insert(start);
        }
    })?;
    let Some(first) = first_dropped else {
        return Ok(0);
    };
    if !kept_after {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(first)?;
        f.sync_all()?;
        return Ok(dropped);
    }
    // Dropped rows between kept ones: copy the kept rows into a new file, then rename it over.
    let tmp = path.with_extension("csv.tmp");
    {
        let mut out = std::io::BufWriter::new(File::create(&tmp)?);
        let mut src = File::open(path)?;
        std::io::copy(&mut (&mut src).take(header_end), &mut out)?;
        let mut w = csv::WriterBuilder::new().from_writer(&mut out);
        let mut failed = None;
        scan(path, |_, row| {
            if keep(row)
                && let Err(e) = w.write_byte_record(row)
            {
                failed.get_or_insert(e);
            }
        })?;
        if let Some(e) = failed {
            return Err(std::io::Error::other(e.to_string()));
        }
        w.flush()?;
        drop(w);
        out.flush()?;
        out.get_ref().sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(dropped)
}

fn cut(path: &Path, at: u64) -> std::io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(at)?;
    f.sync_all()
}

/// Make a run's record files whole again after a crash: cut a torn last line from both files,
/// then drop the rows (records and samples) of every case that has no `case` row in
/// `records.csv`. Missing files are left missing; a file that is not a gapbench record file is
/// left alone (its reader names what is wrong).
pub fn repair(dir: &Path) -> std::io::Result<Repair> {
    let mut out = Repair::default();
    let records = dir.join("records.csv");
    let samples = dir.join("samples.csv");
    let case_col =
        |header: &csv::ByteRecord, name: &str| header.iter().position(|h| h == name.as_bytes());
    if records.exists() {
        let mut s = scan(&records, |_, _| {})?;
        if let Some(at) = s.torn_at {
            out.torn_records = s.len - at;
            cut(&records, at)?;
        }
        let header = s.header.take();
        if let Some(header) = &header
            && let (Some(id), Some(metric)) =
                (case_col(header, "case_id"), case_col(header, "metric"))
        {
            // Streamed: only the ids of done cases are kept.
            let mut done: std::collections::HashSet<Vec<u8>> = Default::default();
            scan(&records, |_, row| {
                if row.get(metric) == Some(b"case") {
                    done.insert(row.get(id).unwrap_or_default().to_vec());
                }
            })?;
            out.done = done
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            out.orphan_records = drop_rows(&records, s.header_end, |row| {
                done.contains(row.get(id).unwrap_or_default())
            })?;
        }
    }
    if samples.exists() {
        let s = scan(&samples, |_, _| {})?;
        if let Some(at) = s.torn_at {
            out.torn_samples = s.len - at;
            cut(&samples, at)?;
        }
        if let Some(id) = s.header.as_ref().and_then(|h| case_col(h, "case_id")) {
            out.orphan_samples = drop_rows(&samples, s.header_end, |row| {
                std::str::from_utf8(row.get(id).unwrap_or_default())
                    .is_ok_and(|c| out.done.contains(c))
            })?;
        }
    }
    Ok(out)
}

/// The case ids of `rows` that are done: those with a `case` row.
pub fn done_cases(rows: &[ReadRecord]) -> std::collections::HashSet<String> {
    rows.iter()
        .filter(|r| r.record.metric == "case")
        .map(|r| r.record.case.case_id.clone())
        .collect()
}

fn csv_bytes<I, T>(rows: impl IntoIterator<Item = I>) -> std::io::Result<Vec<u8>>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for r in rows {
        w.write_record(r)?;
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

impl RecordWriter {
    /// Create (or, with `append`, continue) the record files in `dir`. Continuing first repairs
    /// what a crash left ([`repair`]); the returned [`Repair`] says what was removed and which
    /// cases are done.
    pub fn open(dir: &Path, append: bool) -> std::io::Result<(Self, Repair)> {
        std::fs::create_dir_all(dir)?;
        let repaired = if append {
            repair(dir)?
        } else {
            Repair::default()
        };
        let open = |name: &str, header: &[&str]| -> std::io::Result<File> {
            let path = dir.join(name);
            let fresh = !append || !path.exists() || std::fs::metadata(&path)?.len() == 0;
            let mut file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(fresh)
                .open(&path)?;
            if fresh {
                file.write_all(&csv_bytes([header])?)?;
                file.sync_all()?;
            }
            drop(file);
            OpenOptions::new().append(true).open(&path)
        };
        let chunk = std::env::var("GAPBENCH_TEST_WRITE_CHUNK")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0);
        Ok((
            RecordWriter {
                dir: dir.to_path_buf(),
                records: open("records.csv", &COLUMNS)?,
                samples: open("samples.csv", &SAMPLE_COLUMNS)?,
                chunk,
            },
            repaired,
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn commit(file: &mut File, buf: &[u8], chunk: Option<usize>) -> std::io::Result<()> {
        match chunk {
            None => file.write_all(buf)?,
            Some(n) => {
                for piece in buf.chunks(n) {
                    file.write_all(piece)?;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        }
        file.sync_data()
    }

    /// Commit one case: its samples (one write + fsync), then its records rows, the `case` row
    /// last (one write + fsync). The case is done once this returns.
    pub fn write_case(
        &mut self,
        run_id: &str,
        records: &[Record],
        samples: &[Sample],
    ) -> std::io::Result<()> {
        if !samples.is_empty() {
            let buf = csv_bytes(samples.iter().map(|s| {
                [
                    run_id.to_string(),
                    s.case_id.clone(),
                    s.metric.clone(),
                    s.phase.to_string(),
                    s.index.to_string(),
                    format!("{}", s.value),
                ]
            }))?;
            Self::commit(&mut self.samples, &buf, self.chunk)?;
        }
        // The `case` rows last: a case whose rows were cut short has none, so it is not done.
        let (marks, metrics): (Vec<&Record>, Vec<&Record>) =
            records.iter().partition(|r| r.metric == "case");
        let buf = csv_bytes(metrics.iter().chain(&marks).map(|r| r.fields()))?;
        Self::commit(&mut self.records, &buf, self.chunk)
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
    let mut out = Vec::new();
    let warnings = each_record(path, |r| out.push(r))?;
    Ok((out, warnings))
}

/// [`read_records`] as a stream: hands every row to `each` as it is read (the file is never held
/// whole), and returns the warnings.
pub fn each_record(
    path: &Path,
    mut each: impl FnMut(ReadRecord),
) -> Result<Vec<String>, ReadError> {
    let err = |line: Option<u64>, message: String| ReadError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let cannot = |e: std::io::Error| err(None, format!("cannot read: {e}"));
    let file = File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if meta.is_dir() {
        return Err(err(None, "cannot read: is a directory".into()));
    }
    let len = meta.len();
    let complete_last = len == 0 || {
        use std::os::unix::fs::FileExt;
        let mut b = [0u8; 1];
        file.read_exact_at(&mut b, len - 1).map_err(cannot)?;
        b[0] == b'\n'
    };
    let mut warnings = Vec::new();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 16, file));
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
    let mut rows = rdr.records().peekable();
    let mut run_id: Option<String> = None;
    let mut k = 0u64;
    while let Some(row) = rows.next() {
        k += 1;
        let row = row.map_err(|e| err(e.position().map(|p| p.line()), format!("not CSV: {e}")))?;
        let line = row.position().map(|p| p.line()).unwrap_or(k + 1);
        let is_last = rows.peek().is_none();
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
        each(ReadRecord {
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
    Ok(warnings)
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn dir(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("gapbench-record-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn info(case_id: &str) -> CaseInfo {
        CaseInfo {
            run_id: "run-1".into(),
            case_id: case_id.into(),
            workload: "mlp".into(),
            size: "0.1m".into(),
            target: "native-ndarray".into(),
            ..CaseInfo::default()
        }
    }

    /// A case's rows as the runner makes them: the `case` row first, then metrics.
    fn case(case_id: &str, message: &str) -> (Vec<Record>, Vec<Sample>) {
        let i = info(case_id);
        let records = vec![
            Record::outcome(&i, Status::Ok, message),
            Record::measured(&i, "step_time", "ms", true, &[1.0, 2.0, 3.0]),
            Record::measured(&i, "throughput", "samples/s", false, &[10.0, 20.0]),
        ];
        let samples = (0..3)
            .map(|k| Sample {
                case_id: case_id.into(),
                metric: "step_time".into(),
                phase: "measured",
                index: k,
                value: k as f64 + 1.5,
            })
            .collect();
        (records, samples)
    }

    fn write(d: &Path, append: bool, ids: &[&str]) -> Repair {
        let (mut w, repair) = RecordWriter::open(d, append).unwrap();
        for id in ids {
            let (r, s) = case(id, "");
            w.write_case("run-1", &r, &s).unwrap();
        }
        repair
    }

    fn append_bytes(path: &Path, bytes: &[u8]) {
        let mut f = OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(bytes).unwrap();
    }

    /// (case id, metric) of every records row.
    type Rows = Vec<(String, String)>;
    /// (case id, index) of every sample.
    type Samples = Vec<(String, usize)>;

    fn contents(d: &Path) -> (Rows, Samples) {
        let (rows, warnings) = read_records(&d.join("records.csv")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let (samples, warnings) = read_samples(&d.join("samples.csv")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        (
            rows.into_iter()
                .map(|r| (r.record.case.case_id, r.record.metric))
                .collect(),
            samples.into_iter().map(|s| (s.case_id, s.index)).collect(),
        )
    }

    /// Every case once in records (3 rows, `case` last) and samples (3 rows), in order.
    fn assert_exactly(d: &Path, ids: &[&str]) {
        let (rows, samples) = contents(d);
        let want: Vec<(String, String)> = ids
            .iter()
            .flat_map(|id| {
                ["step_time", "throughput", "case"].map(|m| (id.to_string(), m.to_string()))
            })
            .collect();
        assert_eq!(rows, want);
        let want: Vec<(String, usize)> = ids
            .iter()
            .flat_map(|id| (0..3).map(|k| (id.to_string(), k)))
            .collect();
        assert_eq!(samples, want);
    }

    #[test]
    fn case_row_is_written_last_and_marks_done() {
        let d = dir("order");
        write(&d.0, false, &["a/r1", "b/r1"]);
        assert_exactly(&d.0, &["a/r1", "b/r1"]);
        let (rows, _) = read_records(&d.0.join("records.csv")).unwrap();
        let done = done_cases(&rows);
        assert_eq!(done.len(), 2);
        let again = write(&d.0, true, &[]);
        assert_eq!(
            again,
            Repair {
                done,
                ..Repair::default()
            }
        );
    }

    #[test]
    fn torn_tails_are_cut_on_open() {
        let d = dir("torn");
        write(&d.0, false, &["a/r1", "b/r1"]);
        // The next case was cut mid-line in both files.
        let (r, s) = case("c/r1", "");
        // In the writer's order: metric rows, then the `case` row.
        let rec = csv_bytes(
            r.iter()
                .filter(|r| r.metric != "case")
                .chain(r.iter().filter(|r| r.metric == "case"))
                .map(|r| r.fields()),
        )
        .unwrap();
        let smp = csv_bytes(s.iter().map(|s| {
            [
                "run-1".into(),
                s.case_id.clone(),
                s.metric.clone(),
                "measured".into(),
                s.index.to_string(),
                "1.5".into(),
            ]
        }))
        .unwrap();
        append_bytes(&d.0.join("samples.csv"), &smp[..smp.len() - 4]);
        append_bytes(&d.0.join("records.csv"), &rec[..rec.len() / 2 + 7]);
        let repair = write(&d.0, true, &["c/r1", "d/r1"]);
        assert!(
            repair.torn_records > 0 && repair.torn_samples > 0,
            "{repair:?}"
        );
        assert_eq!(repair.done.len(), 2, "{repair:?}");
        assert!(!repair.done.contains("c/r1"));
        assert_eq!(repair.orphan_samples, 2, "{repair:?}");
        assert!(
            repair.messages(&d.0).len() >= 3,
            "{:?}",
            repair.messages(&d.0)
        );
        assert_exactly(&d.0, &["a/r1", "b/r1", "c/r1", "d/r1"]);
    }

    #[test]
    fn orphan_samples_and_rows_without_a_case_row_are_dropped() {
        let d = dir("orphans");
        write(&d.0, false, &["a/r1"]);
        // Killed after the samples of b, and after b's metric rows but before its `case` row
        // (a cut at a line boundary).
        let (r, s) = case("b/r1", "");
        let smp = csv_bytes(s.iter().map(|s| {
            [
                "run-1".into(),
                s.case_id.clone(),
                s.metric.clone(),
                "measured".into(),
                s.index.to_string(),
                "9".into(),
            ]
        }))
        .unwrap();
        append_bytes(&d.0.join("samples.csv"), &smp);
        let metrics =
            csv_bytes(r.iter().filter(|r| r.metric != "case").map(|r| r.fields())).unwrap();
        append_bytes(&d.0.join("records.csv"), &metrics);
        let repair = write(&d.0, true, &["b/r1"]);
        assert_eq!(
            (repair.orphan_samples, repair.orphan_records),
            (3, 2),
            "{repair:?}"
        );
        assert_eq!((repair.torn_records, repair.torn_samples), (0, 0));
        assert_exactly(&d.0, &["a/r1", "b/r1"]);
    }

    #[test]
    fn orphans_between_finished_cases_are_dropped_by_rewriting() {
        // What an older gapbench left: samples of a case that was cut, then a later case.
        let d = dir("middle");
        write(&d.0, false, &["a/r1"]);
        append_bytes(
            &d.0.join("samples.csv"),
            b"run-1,lost/r1,step_time,measured,0,1\nrun-1,lost/r1,step_time,measured,1,1\n",
        );
        // An older writer appended without repairing: write b that way.
        {
            let mut w = RecordWriter {
                dir: d.0.clone(),
                records: OpenOptions::new()
                    .append(true)
                    .open(d.0.join("records.csv"))
                    .unwrap(),
                samples: OpenOptions::new()
                    .append(true)
                    .open(d.0.join("samples.csv"))
                    .unwrap(),
                chunk: None,
            };
            let (r, s) = case("b/r1", "");
            w.write_case("run-1", &r, &s).unwrap();
        }
        let repair = write(&d.0, true, &["c/r1"]);
        assert_eq!(repair.orphan_samples, 2, "{repair:?}");
        assert_exactly(&d.0, &["a/r1", "b/r1", "c/r1"]);
        // And a true middle orphan, which cannot be cut off the end.
        let text = std::fs::read_to_string(d.0.join("samples.csv")).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(2, "run-1,ghost/r1,step_time,measured,0,1");
        std::fs::write(d.0.join("samples.csv"), lines.join("\n") + "\n").unwrap();
        let repair = write(&d.0, true, &[]);
        assert_eq!(repair.orphan_samples, 1, "{repair:?}");
        assert_exactly(&d.0, &["a/r1", "b/r1", "c/r1"]);
        assert!(!d.0.join("samples.csv.tmp").exists());
    }

    #[test]
    fn a_cut_inside_a_quoted_multi_line_message_is_torn() {
        let d = dir("quoted");
        write(&d.0, false, &["a/r1"]);
        let (r, _) = case("b/r1", "first line\nsecond line, with a comma");
        let rec = csv_bytes(
            r.iter()
                .filter(|r| r.metric != "case")
                .chain(r.iter().filter(|r| r.metric == "case"))
                .map(|r| r.fields()),
        )
        .unwrap();
        // Cut just after the newline inside the `case` row's message: the file ends in '\n'.
        let at = rec.windows(11).position(|w| w == b"first line\n").unwrap() + 11;
        append_bytes(&d.0.join("records.csv"), &rec[..at]);
        let repair = write(&d.0, true, &["b/r1"]);
        assert!(repair.torn_records > 0, "{repair:?}");
        assert_eq!(repair.orphan_records, 2, "{repair:?}");
        assert_exactly(&d.0, &["a/r1", "b/r1"]);
    }

    #[test]
    fn a_torn_header_starts_the_file_again() {
        let d = dir("header");
        std::fs::write(d.0.join("records.csv"), "run_id,case_i").unwrap();
        std::fs::write(d.0.join("samples.csv"), "").unwrap();
        let repair = write(&d.0, true, &["a/r1"]);
        assert!(repair.torn_records > 0, "{repair:?}");
        assert_exactly(&d.0, &["a/r1"]);
    }

    #[test]
    fn corruption_in_the_middle_is_still_named_by_file_and_line() {
        let d = dir("middle-corrupt");
        write(&d.0, false, &["a/r1", "b/r1"]);
        let path = d.0.join("records.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines[2].push_str(",extra,fields");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        write(&d.0, true, &[]);
        let e = read_records(&path).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(
            e.to_string().contains("records.csv:3: expected 30 fields"),
            "{e}"
        );
    }

    #[test]
    fn the_test_hook_writes_in_pieces_with_the_same_bytes() {
        let d = dir("chunks");
        let (mut w, _) = RecordWriter::open(&d.0, false).unwrap();
        w.chunk = Some(7);
        for id in ["a/r1", "b/r1"] {
            let (r, s) = case(id, "");
            w.write_case("run-1", &r, &s).unwrap();
        }
        assert_exactly(&d.0, &["a/r1", "b/r1"]);
    }
}
