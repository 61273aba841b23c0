//! Writing: one case's rows committed at once (crash-safe), and atomic whole-file writes.

use super::*;

/// Appends rows to `records.csv` and `samples.csv`, one case at a time.
///
/// A case is committed in two steps: all its samples in one `write_all` + `fsync`, then all its
/// records rows in one `write_all` + `fsync`, the `case` row last. A case is done when its `case`
/// row is in `records.csv`. Whatever a crash leaves of a case that is not done (a torn last line,
/// samples without records, metric rows without the `case` row) is removed when the files are
/// opened again ([`repair`]), so a resumed run writes every case exactly once.
pub struct RecordWriter {
    pub(super) dir: PathBuf,
    pub(super) records: File,
    pub(super) samples: File,
    /// Test hook (`GAPBENCH_TEST_WRITE_CHUNK=<bytes>`): write each buffer in pieces of this many
    /// bytes with a millisecond between them, so that a test's SIGKILL lands mid-write.
    pub(super) chunk: Option<usize>,
    /// Fields per records row: [`COLUMNS`]'s count, or fewer when a resumed run's file was
    /// started by a gapbench with fewer columns (its header is a prefix of today's: the rows
    /// appended keep to it, so the file stays readable).
    pub(super) width: usize,
}

pub(super) fn csv_bytes<I, T>(rows: impl IntoIterator<Item = I>) -> std::io::Result<Vec<u8>>
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
        let width = if append {
            existing_width(&dir.join("records.csv"))?
        } else {
            COLUMNS.len()
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
                width,
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
        let width = self.width;
        let buf = csv_bytes(metrics.iter().chain(&marks).map(|r| {
            let mut f = r.fields();
            f.truncate(width);
            f
        }))?;
        Self::commit(&mut self.records, &buf, self.chunk)
    }
}

/// How many of [`COLUMNS`] an existing records.csv's header holds: all of them for a new or
/// empty file; its column count when its header is a prefix of [`COLUMNS`] (an older gapbench);
/// an error otherwise (not a file this gapbench can append to).
fn existing_width(path: &Path) -> std::io::Result<usize> {
    use std::io::BufRead;
    let Ok(f) = File::open(path) else {
        return Ok(COLUMNS.len());
    };
    let mut first = String::new();
    std::io::BufReader::new(f).read_line(&mut first)?;
    let header: Vec<&str> = first.trim_end().split(',').collect();
    if first.trim().is_empty() {
        return Ok(COLUMNS.len());
    }
    if header.len() <= COLUMNS.len() && COLUMNS[..header.len()] == header[..] {
        return Ok(header.len());
    }
    Err(std::io::Error::other(format!(
        "{}: its header is not one gapbench writes ({} columns); cannot append to it",
        path.display(),
        header.len()
    )))
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
