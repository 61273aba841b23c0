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
        .flat_map(|id| ["step_time", "throughput", "case"].map(|m| (id.to_string(), m.to_string())))
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
    let metrics = csv_bytes(r.iter().filter(|r| r.metric != "case").map(|r| r.fields())).unwrap();
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
            width: COLUMNS.len(),
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
        e.to_string()
            .contains(&format!("records.csv:3: expected {} fields", COLUMNS.len())),
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
