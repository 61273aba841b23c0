//! Reading records.csv and samples.csv back, naming the file and line of anything unusable.

use super::*;

/// The `threads` column's place in [`COLUMNS`] (records written before it have none: empty).
const THREADS_COLUMN: usize = {
    let mut i = 0;
    while !matches!(COLUMNS[i].as_bytes(), b"threads") {
        i += 1;
    }
    i
};

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
                    host: get(30),
                    secure_context: get(31),
                    cross_origin_isolated: get(32),
                    threads: get(THREADS_COLUMN),
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
