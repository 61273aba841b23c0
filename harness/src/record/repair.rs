//! What a crash left of a run's record files, found and removed before a run resumes.

use super::*;

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
pub(super) struct Scan {
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
pub(super) fn scan(
    path: &Path,
    mut each: impl FnMut(u64, &csv::ByteRecord),
) -> std::io::Result<Scan> {
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
pub(super) fn drop_rows(
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

pub(super) fn cut(path: &Path, at: u64) -> std::io::Result<()> {
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
