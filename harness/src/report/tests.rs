//! Tests of the report on synthetic runs: the files, self-containment, gap ratios, sections
//! without data, and errors for malformed input.

use super::testutil::{TempDir, case, md_section, on_backend, throughput_case, write_run};
use super::*;
use crate::record::Sample;

fn cap(run: &str, target: &str, name: &str, value: &str) -> Record {
    Record {
        case: case(run, "caps", "-", target, 1),
        metric: name.into(),
        unit: String::new(),
        lower_is_better: false,
        summary: None,
        status: Status::Ok,
        message: value.into(),
    }
}

/// A run with native, chromium and firefox throughput on two sizes, a tm-image case, memory,
/// capabilities and one failed case.
fn mixed_run(dir: &Path) {
    let r = "mixed-1";
    let mut cases: Vec<(Vec<Record>, Vec<Sample>)> = vec![
        // batch 10: 100 ms -> 100 samples/s, 200 ms -> 50, 250 ms -> 40
        throughput_case(
            &case(r, "mlp", "small", "native-ndarray", 1),
            &[99.0, 100.0, 101.0],
        ),
        throughput_case(
            &case(r, "mlp", "small", "chromium", 1),
            &[198.0, 200.0, 202.0],
        ),
        throughput_case(
            &case(r, "mlp", "small", "firefox", 1),
            &[248.0, 250.0, 252.0],
        ),
        throughput_case(
            &case(r, "mlp", "medium", "native-ndarray", 1),
            &[990.0, 1000.0, 1010.0],
        ),
        throughput_case(
            &case(r, "mlp", "medium", "chromium", 1),
            &[2900.0, 3000.0, 3100.0],
        ),
        throughput_case(
            &case(r, "tm-image", "small", "native-ndarray", 1),
            &[10.0, 10.0, 10.0],
        ),
        throughput_case(
            &case(r, "tm-image", "small", "chromium", 1),
            &[30.0, 30.0, 30.0],
        ),
    ];
    let native = case(r, "mlp", "small", "native-ndarray", 1);
    cases[0]
        .0
        .push(Record::measured(&native, "peak_rss", "MiB", true, &[123.4]));
    let failed = case(r, "mlp", "medium", "firefox", 1);
    cases.push((
        vec![Record::outcome(
            &failed,
            Status::Failed,
            "probe crashed: out of <memory> & more",
        )],
        vec![],
    ));
    cases.push((
        vec![
            cap(r, "chromium", "cap_webgpu", "yes"),
            cap(r, "firefox", "cap_webgpu", "no"),
            cap(r, "chromium", "cap_simd", "yes"),
        ],
        vec![],
    ));
    write_run(dir, r, "2025-11-26T10:00:00Z", &cases);
}

fn summary_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), SUMMARY_COLUMNS);
    rdr.records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn row<'a>(
    rows: &'a [BTreeMap<String, String>],
    case_prefix: &str,
    metric: &str,
) -> &'a BTreeMap<String, String> {
    rows.iter()
        .find(|r| r["case_id"].starts_with(case_prefix) && r["metric"] == metric)
        .unwrap_or_else(|| panic!("no {case_prefix} {metric} row"))
}

fn num_of(row: &BTreeMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = `{}`", row[col]))
}

/// Strip every `xmlns="..."` / `xmlns:x="..."` attribute (a namespace name, not a fetch).
fn without_xmlns(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("xmlns") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        match after
            .find('"')
            .and_then(|q| after[q + 1..].find('"').map(|e| q + 1 + e + 1))
        {
            Some(end) => rest = &after[end..],
            None => {
                rest = after;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn report_on_native_and_browser_run() {
    let tmp = TempDir::new("report");
    let run = tmp.path().join("mixed-1");
    mixed_run(&run);
    let out = tmp.path().join("report");
    let files = write_report(std::slice::from_ref(&run), &out).unwrap();

    assert!(files.html.is_file() && files.markdown.is_file() && files.summary.is_file());
    assert_eq!(files.html, out.join("index.html"));
    assert_eq!(
        files.charts,
        vec![
            out.join("throughput.svg"),
            out.join("compute.svg"),
            out.join("gap.svg")
        ]
    );
    assert!(files.warnings.is_empty(), "{:?}", files.warnings);

    let html = std::fs::read_to_string(&files.html).unwrap();
    assert_eq!(
        html.matches("<svg").count(),
        files.charts.len(),
        "one inline <svg per chart"
    );
    for c in &files.charts {
        let svg = std::fs::read_to_string(c).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<text"), "labels are SVG text");
    }
    // self-contained: no fetches of any kind
    let stripped = without_xmlns(&html);
    assert!(html.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(
        !stripped.contains("http://") && !stripped.contains("https://"),
        "external URL in the HTML"
    );
    for bad in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
        assert!(!html.contains(bad), "{bad} in the HTML");
    }
    assert!(!stripped.contains("src="));
    // every href is an in-page anchor
    for (i, _) in html.match_indices("href=\"") {
        assert_eq!(&html[i + 6..i + 7], "#", "{}", &html[i..i + 40]);
    }
    // escaped text, failure listed, capabilities matrix, TM verdict
    assert!(html.contains("out of &lt;memory&gt; &amp; more"));
    assert!(html.contains("<th>chromium 131.0.6778.85</th>") && html.contains("<td>webgpu</td>"));
    assert!(
        html.contains("Verdict: chromium 131.0.6778.85 ndarray-simd main (small): 0.0900 s (3.00×"),
        "{html}"
    );
    assert!(html.contains("peak_rss (MiB)") && html.contains("123 MiB n=1 (no CI)"));

    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(md.contains("](throughput.svg)") && md.contains("](compute.svg)"));
    assert!(
        md.contains("## UI stalls\n\n_Not measured in these runs._"),
        "{md}"
    );
    assert!(md.contains("100 samples/s [99.0, 101] n=3"), "{md}");
    assert!(md.contains("2.00× ["), "{md}");
    assert!(
        md.contains("| mlp/medium/firefox/ndarray-simd/main/r1 | firefox 133.0 |  | failed |"),
        "{md}"
    );

    let rows = summary_rows(&files.summary);
    let chromium = row(&rows, "mlp/small/chromium/", "throughput");
    assert_eq!(num_of(chromium, "median"), 50.0);
    assert_eq!(num_of(chromium, "native_median"), 100.0);
    assert_eq!(num_of(chromium, "gap_ratio"), 2.0);
    assert_eq!(chromium["engine_version"], "131.0.6778.85");
    assert_eq!(
        num_of(row(&rows, "mlp/small/firefox/", "throughput"), "gap_ratio"),
        2.5
    );
    // lower is better: this / native
    assert_eq!(
        num_of(row(&rows, "mlp/small/chromium/", "step_time"), "gap_ratio"),
        2.0
    );
    // records.csv keeps 6 decimals: 10 / 3.333333
    assert!(
        (num_of(
            row(&rows, "mlp/medium/chromium/", "throughput"),
            "gap_ratio"
        ) - 3.0)
            .abs()
            < 1e-6
    );
    assert_eq!(
        num_of(
            row(&rows, "mlp/small/native-ndarray/", "throughput"),
            "gap_ratio"
        ),
        1.0
    );
    // no twin: empty gap fields; outcome and text-only records are not rows
    let rss = row(&rows, "mlp/small/native-ndarray/", "peak_rss");
    assert_eq!(
        (rss["native_median"].as_str(), rss["gap_ratio"].as_str()),
        ("123.4", "1")
    );
    assert!(
        rows.iter()
            .all(|r| r["metric"] != "case" && !r["metric"].starts_with("cap_"))
    );
    assert!(!rows.iter().any(|r| r["case_id"].contains("medium/firefox")));
}

#[test]
fn gap_uses_native_flex_and_the_median_over_repetitions() {
    let tmp = TempDir::new("flex");
    let dir = tmp.path().join("flex-1");
    let r = "flex-1";
    // native-flex r1..r3: 100, 125, 110 samples/s -> median of medians 110; chromium 55 -> gap 2.0
    let cases = vec![
        throughput_case(&case(r, "mlp", "small", "native-flex", 1), &[100.0]),
        throughput_case(&case(r, "mlp", "small", "native-flex", 2), &[80.0]),
        throughput_case(&case(r, "mlp", "small", "native-flex", 3), &[1000.0 / 11.0]),
        throughput_case(&case(r, "mlp", "small", "chromium", 1), &[1000.0 / 5.5]),
        throughput_case(&case(r, "cnn", "small", "chromium", 1), &[100.0]),
    ];
    write_run(&dir, r, "2025-11-26T10:00:00Z", &cases);
    let files = write_report(&[dir], &tmp.path().join("out")).unwrap();
    let rows = summary_rows(&files.summary);
    let c = row(&rows, "mlp/small/chromium/", "throughput");
    assert!((num_of(c, "native_median") - 110.0).abs() < 1e-9);
    assert!((num_of(c, "gap_ratio") - 2.0).abs() < 1e-9);
    let lonely = row(&rows, "cnn/small/chromium/", "throughput");
    assert_eq!(
        (
            lonely["native_median"].as_str(),
            lonely["gap_ratio"].as_str()
        ),
        ("", "")
    );
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(md.contains(" 3 reps (native-flex)"), "{md}");
    assert!(md.contains("1 case(s) have no native twin"), "{md}");
}

#[test]
fn no_twin_from_another_run_and_both_runs_in_the_environment() {
    let tmp = TempDir::new("tworuns");
    let (a, b) = (
        tmp.path().join("native-run"),
        tmp.path().join("browser-run"),
    );
    write_run(
        &a,
        "native-run",
        "2025-11-26T09:00:00Z",
        &[throughput_case(
            &case("native-run", "mlp", "small", "native-ndarray", 1),
            &[100.0, 100.0],
        )],
    );
    write_run(
        &b,
        "browser-run",
        "2025-11-26T10:00:00Z",
        &[throughput_case(
            &case("browser-run", "mlp", "small", "firefox", 1),
            &[400.0, 400.0],
        )],
    );
    let files = write_report(&[a.clone(), b, a], &tmp.path().join("out")).unwrap();
    assert_eq!(
        files.warnings.len(),
        1,
        "the repeated run is reported once: {:?}",
        files.warnings
    );
    // A native case of another run, an hour apart on a drifting machine, is no twin: the gap
    // is left out rather than divided across runs.
    let rows = summary_rows(&files.summary);
    assert_eq!(
        row(&rows, "mlp/small/firefox/", "throughput")["gap_ratio"],
        ""
    );
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(md.contains("|  | native-run | browser-run |"), "{md}");
    assert!(md.contains("have no native twin"), "{md}");
    assert!(md.contains("## Warnings while reading"));
}

#[test]
fn sections_without_their_metrics_say_so() {
    let tmp = TempDir::new("sparse");
    let dir = tmp.path().join("sparse-1");
    let r = "sparse-1";
    write_run(
        &dir,
        r,
        "2025-11-26T10:00:00Z",
        &[throughput_case(
            &case(r, "mlp", "small", "native-ndarray", 1),
            &[5.0; 4],
        )],
    );
    let files = write_report(&[dir], &tmp.path().join("out")).unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    for title in [
        "Browser/native gap",
        "Teachable Machine verdict",
        "Memory",
        "UI stalls",
        "Background tabs",
        "Data ingestion",
        "Probe efficiency: probe vs TF.js, GEMM vs SIMD128 peak",
        "Capabilities",
    ] {
        assert!(
            md.contains(&format!("## {title}\n\n_Not measured in these runs._")),
            "{title}: {md}"
        );
    }
    assert!(md.contains("_Every case finished ok._"));
    assert_eq!(files.charts.len(), 2);
}

#[test]
fn figures_carry_ci_and_n() {
    let a = Agg {
        median: 12.3,
        ci_low: 12.1,
        ci_high: 12.6,
        n: 20,
        reps: 1,
        level: 0.95,
    };
    assert_eq!(fig(&a, "ms"), "12.3 ms [12.1, 12.6] n=20");
    // three repetitions: the order-statistics interval [min, max] covers only 75%, and says so
    assert_eq!(
        fig(
            &Agg {
                n: 3,
                reps: 3,
                level: 0.75,
                ..a.clone()
            },
            ""
        ),
        "12.3 [12.1, 12.6 75.0% only] 3 reps"
    );
    assert_eq!(
        fig(
            &Agg {
                n: 7,
                reps: 7,
                level: 0.984375,
                ..a.clone()
            },
            ""
        ),
        "12.3 [12.1, 12.6] 7 reps"
    );
    assert_eq!(num(1234.5), "1234");
    assert_eq!(num(0.01234), "0.0123");
    assert_eq!(num(2.5), "2.50");
    assert_eq!(num(0.0), "0");
    assert_eq!(num(0.00001234), "1.23e-5");
}

fn corrupt(dir: &Path, f: impl Fn(&mut Vec<String>)) {
    let path = dir.join("records.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    f(&mut lines);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn malformed_records_are_errors_naming_file_and_line() {
    let tmp = TempDir::new("malformed");
    let dir = tmp.path().join("bad-1");
    let write = || {
        write_run(
            &dir,
            "bad-1",
            "2025-11-26T10:00:00Z",
            &[throughput_case(
                &case("bad-1", "mlp", "small", "native-ndarray", 1),
                &[10.0, 11.0],
            )],
        )
    };
    let out = tmp.path().join("out");

    // a line cut short in the middle of the file (line 3 of 6)
    write();
    corrupt(&dir, |l| {
        let cut = l[2].len() / 2;
        l[2].truncate(cut);
    });
    let e = write_report(std::slice::from_ref(&dir), &out).unwrap_err();
    assert!(
        e.contains("records.csv:3:")
            && e.contains(&format!("expected {} fields", crate::record::COLUMNS.len())),
        "{e}"
    );
    assert!(!e.contains('\n'), "one line: {e}");

    // a median that is not a number (line 3: the step_time row, after the header and the outcome row)
    write();
    corrupt(&dir, |l| {
        let mut f: Vec<String> = l[2].split(',').map(String::from).collect();
        f[13] = "fast".into();
        l[2] = f.join(",");
    });
    let e = write_report(std::slice::from_ref(&dir), &out).unwrap_err();
    assert!(
        e.contains("records.csv:3:") && e.contains("`median`") && e.contains("`fast`"),
        "{e}"
    );

    // no manifest, no run dir
    write();
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    let e = write_report(std::slice::from_ref(&dir), &out).unwrap_err();
    assert!(e.contains("manifest.json"), "{e}");
    let e = write_report(&[tmp.path().join("nope")], &out).unwrap_err();
    assert!(
        e.contains("nope") && e.contains("not a run directory"),
        "{e}"
    );
    assert!(write_report(&[], &out).is_err());
    assert!(!out.exists(), "nothing written on error");
}

#[test]
fn cut_short_last_line_is_a_warning_in_the_report() {
    let tmp = TempDir::new("cutlast");
    let dir = tmp.path().join("cut-1");
    write_run(
        &dir,
        "cut-1",
        "2025-11-26T10:00:00Z",
        &[throughput_case(
            &case("cut-1", "mlp", "small", "native-ndarray", 1),
            &[10.0, 11.0],
        )],
    );
    let path = dir.join("records.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 20]).unwrap();
    let files = write_report(&[dir], &tmp.path().join("out")).unwrap();
    assert_eq!(files.warnings.len(), 1);
    assert!(
        files.warnings[0].contains("records.csv:6"),
        "{:?}",
        files.warnings
    );
    let html = std::fs::read_to_string(&files.html).unwrap();
    assert!(html.contains("last line is incomplete"));
}

#[test]
fn efficiency_puts_probe_next_to_tfjs_and_gemm_next_to_its_peak() {
    let tmp = TempDir::new("efficiency");
    let dir = tmp.path().join("eff-1");
    let r = "eff-1";
    let tm = case(r, "tm-image", "default", "chromium", 1);
    let mut peak = case(r, "gemm", "peak", "chromium", 1);
    peak.flops_per_step = 1_000_000_000;
    let mut mm = case(r, "gemm", "256x1280x128", "chromium", 1);
    mm.flops_per_step = 1_000_000_000;
    let native = case(r, "tm-image", "default", "native-ndarray", 1);
    let keras = case(r, "tm-image", "default", "native-keras", 1);
    // A product timed against `peak` step by step: the share comes from its own pairs (75%),
    // not from the separate peak case (which would say 40 / 40 = 100%).
    let mut tn = case(r, "gemm", "1280x16x100-tn", "chromium", 1);
    tn.flops_per_step = 1_000_000_000;
    let mut paired = throughput_case(&tn, &[25.0, 25.0, 25.0]);
    paired.0.push(Record::measured(
        &tn,
        "peak_share",
        "%",
        false,
        &[70.0, 75.0, 80.0, 74.0, 76.0],
    ));
    write_run(
        &dir,
        r,
        "2025-11-26T10:00:00Z",
        &[
            // batch 10: probe 10 ms -> 1000 samples/s; TF.js wasm 40 ms -> 250, with threads
            // 20 ms -> 500 (the best, so the ratio is 2); TF.js cpu 100 ms
            throughput_case(&tm, &[9.9, 10.0, 10.1]),
            throughput_case(&on_backend(tm.clone(), "tfjs-wasm"), &[39.0, 40.0, 41.0]),
            throughput_case(
                &on_backend(tm.clone(), "tfjs-wasm-threads"),
                &[19.8, 20.0, 20.2],
            ),
            throughput_case(&on_backend(tm.clone(), "tfjs-cpu"), &[99.0, 100.0, 101.0]),
            // 1 GFLOP a step: peak 25 ms -> 40 GFLOP/s, the product 50 ms -> 20 (50%)
            throughput_case(&peak, &[25.0, 25.0, 25.0]),
            throughput_case(&mm, &[49.0, 50.0, 51.0]),
            throughput_case(&on_backend(mm.clone(), "flex"), &[99.0, 100.0, 101.0]),
            // natively, burn ndarray 5 ms against TF-Keras 10 ms: 2x, on one "native" row
            throughput_case(&native, &[4.9, 5.0, 5.1]),
            throughput_case(&keras, &[9.9, 10.0, 10.1]),
            paired,
        ],
    );
    let files = write_report(&[dir], &tmp.path().join("out")).unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    let section = md_section(&md, "Probe efficiency");
    let row = |first: &str, second: &str| {
        section
            .lines()
            .find(|l| l.starts_with(&format!("| {first} | {second} |")))
            .unwrap_or_else(|| panic!("no row {first} / {second}:\n{section}"))
            .to_string()
    };
    let tm_row = row("chromium 131.0.6778.85 main", "tm-image default");
    assert!(tm_row.contains("(tfjs-wasm-threads)"), "{tm_row}");
    assert!(tm_row.contains("| 2.00× ["), "{tm_row}");
    assert!(tm_row.contains("≥ 1"), "{tm_row}");
    assert!(tm_row.contains("1000 samples/s"), "{tm_row}");
    let native_row = row("native", "tm-image default");
    assert!(native_row.contains("(keras)"), "{native_row}");
    assert!(native_row.contains("| 2.00× ["), "{native_row}");
    assert!(native_row.contains("2000 samples/s"), "{native_row}");
    let mm_row = row("chromium 131.0.6778.85 main", "256x1280x128");
    assert!(
        mm_row.contains("| 50% (vs the peak case), 25% (vs the peak case) |"),
        "{mm_row}"
    );
    let tn_row = row("chromium 131.0.6778.85 main", "1280x16x100-tn");
    assert!(tn_row.contains("| 75% ["), "{tn_row}");
    assert!(tn_row.contains("], – |"), "{tn_row}");
    assert!(
        section.contains("chromium 131.0.6778.85 main: 40.0 GFLOP/s"),
        "{section}"
    );
    let peak_row = row("chromium 131.0.6778.85 main", "peak");
    assert!(peak_row.contains("(the limit)"), "{peak_row}");
}

#[test]
fn headline_gives_each_engine_its_geomean_over_the_shared_cases() {
    let tmp = TempDir::new("headline");
    let run = tmp.path().join("mixed-1");
    mixed_run(&run);
    let lines = headline(&run).unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    // chromium has mlp small (2×), mlp medium (3×) and tm-image (3×); firefox only mlp small
    // (2.5×): the mean is over the one case both have.
    let l = &lines[0];
    assert!(l.contains("over the same 1 case(s) (mlp/small)"), "{l}");
    assert!(l.contains("chromium") && l.contains(" 2.00×"), "{l}");
    assert!(l.contains("firefox") && l.contains(" 2.50×"), "{l}");
    assert!(headline(&tmp.path().join("absent")).is_err());
}

#[test]
fn report_opens_with_the_findings_table() {
    let tmp = TempDir::new("findings");
    let run = tmp.path().join("mixed-1");
    mixed_run(&run);
    let out = tmp.path().join("report");
    let files = write_report(std::slice::from_ref(&run), &out).unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    let first = md.lines().find(|l| l.starts_with("## ")).unwrap();
    assert_eq!(first, "## Findings", "{md}");
    let row = md
        .lines()
        .find(|l| l.starts_with("| gap to native, main (the probe, ndarray-simd;"))
        .unwrap_or_else(|| panic!("no gap row: {md}"));
    // chromium and firefox share mlp/small only: 2.00× and 2.50×, in the engines' columns
    let header = md.lines().find(|l| l.starts_with("|  | ")).unwrap();
    assert_eq!(
        header, "|  | chromium 131.0.6778.85 | firefox 133.0 |",
        "{md}"
    );
    assert!(row.ends_with("| 2.00× | 2.50× |"), "{row}");
    assert!(row.contains("over mlp/small"), "{row}");
    let html = std::fs::read_to_string(&files.html).unwrap();
    let findings = html.find("Findings").unwrap();
    assert!(findings < html.find("Environment").unwrap());
}

#[test]
fn rate_charts_draw_the_probe_and_native_only_and_the_table_has_every_series() {
    let tmp = TempDir::new("series");
    let r = "series-1";
    let mut cases = vec![throughput_case(
        &case(r, "mlp", "small", "native-ndarray", 1),
        &[99.0, 100.0, 101.0],
    )];
    // the probe in four engines, then ten peer variants in one of them
    for t in ["chromium", "firefox", "webkit", "node"] {
        cases.push(throughput_case(
            &case(r, "mlp", "small", t, 1),
            &[198.0, 200.0, 202.0],
        ));
    }
    for k in 0..10 {
        let c = on_backend(case(r, "mlp", "small", "chromium", 1), &format!("peer{k}"));
        cases.push(throughput_case(&c, &[298.0, 300.0, 302.0]));
    }
    let run = tmp.path().join(r);
    write_run(&run, r, "2025-11-26T10:00:00Z", &cases);
    let files = write_report(std::slice::from_ref(&run), &tmp.path().join("out")).unwrap();
    let svg = std::fs::read_to_string(
        files
            .charts
            .iter()
            .find(|c| c.ends_with("throughput.svg"))
            .unwrap(),
    )
    .unwrap();
    for drawn in [
        "native-ndarray main",
        "chromium ndarray-simd main",
        "node ndarray-simd main",
    ] {
        assert!(svg.contains(drawn), "{drawn} not drawn");
    }
    assert!(!svg.contains("peer"), "a peer series is drawn");
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(
        md.contains("| chromium peer9-simd main | mlp/small |"),
        "{md}"
    );
    assert!(md.contains("every series (15 here)"), "{md}");
}

#[test]
fn frontier_says_what_trains_within_each_budget_and_where_wasm32_stops() {
    let tmp = TempDir::new("frontier");
    let dir = tmp.path().join("front-1");
    let r = "front-1";
    let mut cases = Vec::new();
    // Two platforms measured at three MLP sizes: chromium at 1 ms a step + 10 GFLOP/s, native
    // at 0.1 ms + 50 GFLOP/s (the step time of a size follows from its exact FLOPs).
    for (target, overhead, gflops) in [("chromium", 1.0, 10.0), ("native-ndarray", 0.1, 50.0)] {
        for size in ["0.1m", "0.3m", "1m"] {
            let w = wasm_probe::Workload::resolve(&wasm_probe::WorkloadSpec {
                workload: "mlp".into(),
                size: size.into(),
                classes: None,
                samples_per_class: None,
            })
            .unwrap();
            let mut c = case(r, "mlp", size, target, 1);
            let variant = if target == "chromium" {
                "ndarray-simd"
            } else {
                "ndarray"
            };
            c.case_id = format!("mlp/{size}/{target}/{variant}/main/w2-s10-seed42/r1");
            c.params = w.params();
            c.flops_per_step = w.flops_per_step();
            let ms = overhead + w.flops_per_step() as f64 / (gflops * 1e6);
            cases.push(throughput_case(&c, &[ms, ms, ms]));
        }
    }
    write_run(&dir, r, "2025-11-26T10:00:00Z", &cases);
    let files = write_report(&[dir], &tmp.path().join("out")).unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    let section = md_section(&md, "What trains in a tab: the trainability frontier");
    assert!(section.contains("frontier.svg"), "{section}");
    let row = |first: &str| {
        section
            .lines()
            .find(|l| l.starts_with(&format!("| {first} |")))
            .unwrap_or_else(|| panic!("no row for {first}: {section}"))
            .to_string()
    };
    let chromium = row("chromium/main/ndarray-simd");
    let native = row("native-ndarray");
    // 10 epochs over 10,000 samples is 1,570 steps; the sizes past the measured 1m are
    // extrapolated, and wasm32's 4 GiB stops at 300m (native has no such wall).
    assert!(native.contains("no wasm32 wall"), "{native}");
    assert!(
        chromium.contains("300m ("),
        "300m is wasm32's largest: {chromium}"
    );
    assert!(chromium.contains("(extrapolated)"), "{chromium}");
    assert!(
        chromium.contains("1.000 ms a step + 10.0 GFLOP/s at mlp 1m"),
        "{chromium}"
    );
    // No platform with two MLP sizes: the section says what it needs.
    let empty = TempDir::new("frontier-empty");
    let d = empty.path().join("e-1");
    let one = case("e-1", "tm-image", "default", "chromium", 1);
    write_run(
        &d,
        "e-1",
        "2025-11-26T10:00:00Z",
        &[throughput_case(&one, &[1.0, 1.0])],
    );
    let files = write_report(&[d], &empty.path().join("out")).unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    let section = md_section(&md, "What trains in a tab: the trainability frontier");
    assert!(section.contains("Not measured in these runs"), "{section}");
}

#[test]
fn tm_style_tfjs_sample_ceilings_are_a_findings_row_of_their_own() {
    let tmp = TempDir::new("tm-ceiling");
    let d = tmp.path().join("c-1");
    let ceiling = |backend: &str, n: f64, stop: &str| {
        let mut c = on_backend(case("c-1", "tm-image", "default", "chromium", 1), backend);
        c.case_id =
            format!("ceiling-samples/chromium/{backend}-simd/main/w0-s2-c3-n16384-seed42/r1");
        let msg = format!("largest that trained: {n} samples; stopped by {stop} (9 trials)");
        let mut r = Record::measured(&c, "ceiling_samples", "samples", false, &[n]);
        r.message = msg.clone();
        (
            vec![Record::outcome(&c, Status::Ok, &msg), r],
            Vec::<Sample>::new(),
        )
    };
    write_run(
        &d,
        "c-1",
        "2025-11-26T10:00:00Z",
        &[
            ceiling(
                "ndarray",
                491520.0,
                "oom at 540672 samples: capacity overflow",
            ),
            ceiling(
                "tfjs-wasm-tm",
                811008.0,
                "oom at 860160 samples: over the memory cap of 6144 MiB",
            ),
        ],
    );
    let files = write_report(&[d], &tmp.path().join("out")).unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    let findings = md_section(&md, "Findings");
    let row = |label: &str| {
        findings
            .lines()
            .find(|l| l.starts_with(&format!("| {label}")))
            .unwrap_or_else(|| panic!("no row `{label}`: {findings}"))
            .to_string()
    };
    let probe = row("most tm-image samples held (under the memory cap)");
    let tm = row("most tm-image samples held, TF.js with TM-style samples");
    assert!(probe.contains("491520 samples; oom at 540672"), "{probe}");
    assert!(!probe.contains("811008"), "{probe}");
    assert!(
        tm.contains("811008 samples; oom at 860160 (tfjs-wasm-tm)"),
        "{tm}"
    );
    assert!(!tm.contains("491520"), "{tm}");
}
