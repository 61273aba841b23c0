//! `gapbench report` on a real run (tm-image and the smallest MLP natively, in Node.js and in
//! Chromium): writes index.html, report.md, summary.csv and the charts; index.html renders in
//! headless Chromium with every chart's SVG present and makes no network request (Chromium's own
//! net log is read to check); summary.csv has a gap ratio for every node and chromium row.

mod common;

use common::{find_run_dir, temp_dir, text};
use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/lib/chromium/chromium";
/// How every headless Chromium of these tests starts (as root, no GPU, no first-run UI).
const HEADLESS: [&str; 4] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
];

const SCENARIO: &str = r#"
name = "report-small"
description = "tm-image and the smallest MLP natively, in Node.js and in Chromium"
seed = 3
warmup = 1
steps = 5
timeout_s = 300

[[group]]
workloads = ["tm-image"]
sizes = ["default"]
targets = ["native-ndarray", "node", "chromium"]

[[group]]
workloads = ["mlp"]
sizes = ["0.1m"]
targets = ["native-ndarray", "node", "chromium"]
"#;

/// What headless Chromium saw loading `page`: the serialised DOM, and every URL the page
/// requested over the network (requests whose top frame is a file:// page, from the net log;
/// the browser's own background requests are not the page's).
fn load_in_chromium(page: &Path, scratch: &Path) -> (String, Vec<String>) {
    let netlog = scratch.join("netlog.json");
    let profile = scratch.join("profile");
    let _ = std::fs::remove_file(&netlog);
    let url = format!("file://{}", page.display());
    let out = Command::new(CHROMIUM)
        .args(HEADLESS)
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("cannot start headless Chromium");
    assert!(
        out.status.success(),
        "chromium --dump-dom {url}: {}",
        text(&out.stderr)
    );
    let log: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&netlog).expect("Chromium wrote its net log"),
    )
    .expect("the net log is JSON");
    let events = log["events"].as_array().expect("net log events");
    assert!(!events.is_empty(), "an empty net log proves nothing");
    let mut urls: Vec<String> = events
        .iter()
        .filter_map(|e| {
            let p = &e["params"];
            let key = p["network_isolation_key"].as_str()?;
            let u = p["url"].as_str()?;
            key.starts_with("file://").then(|| u.to_string())
        })
        .filter(|u| *u != url)
        .collect();
    urls.sort();
    urls.dedup();
    (text(&out.stdout), urls)
}

/// Attribute values and CSS url()s in `html` that point off the page (http, https, //host).
fn external_refs(html: &str) -> Vec<String> {
    let html = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    for attr in ["src=", "href=", "url(", "srcset=", "action=", "@import"] {
        for (i, _) in lower.match_indices(attr) {
            let rest = lower[i + attr.len()..].trim_start_matches(['"', '\'', ' ']);
            if rest.starts_with("http:") || rest.starts_with("https:") || rest.starts_with("//") {
                out.push(html[i..(i + 80).min(html.len())].to_string());
            }
        }
    }
    out
}

#[test]
fn report_of_a_real_run_renders_offline_in_chromium() {
    let dir = temp_dir("report");
    let scenario = dir.join("report-small.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let results = dir.join("results");
    let run = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .args(["run", "--quiet", "--out"])
        .arg(&results)
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "gapbench run: {}\n{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let run_dir = find_run_dir(&results).expect("a run directory");

    let reports = dir.join("reports");
    let rep = Command::new(env!("CARGO_BIN_EXE_gapbench"))
        .arg("report")
        .arg(&run_dir)
        .args(["--name", "small", "--out"])
        .arg(&reports)
        .output()
        .unwrap();
    assert!(
        rep.status.success(),
        "gapbench report: {}",
        text(&rep.stderr)
    );
    let out = reports.join("small");
    let (html_path, md_path, csv_path) = (
        out.join("index.html"),
        out.join("report.md"),
        out.join("summary.csv"),
    );
    for p in [&html_path, &md_path, &csv_path] {
        assert!(p.is_file(), "{} written", p.display());
    }
    let printed = text(&rep.stdout);
    assert!(printed.contains("index.html"), "{printed}");

    // report.md: every chart linked, and the SVG file beside it
    let md = std::fs::read_to_string(&md_path).unwrap();
    let charts: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("!["))
        .map(|l| {
            l.rsplit_once("](")
                .and_then(|(_, f)| f.strip_suffix(')'))
                .expect("a Markdown image link")
        })
        .collect();
    assert!(
        charts.len() >= 2,
        "throughput and compute charts at least: {charts:?}"
    );
    for c in &charts {
        let svg = std::fs::read_to_string(out.join(c)).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{c}");
    }
    for section in ["Environment", "Browser/native gap", "Teachable Machine"] {
        assert!(md.contains(section), "{section} in report.md");
    }
    assert!(
        md.contains("| engine settings |"),
        "the engine settings from the environment"
    );
    assert!(md.contains("chromium "), "the engine and its version");
    assert!(md.contains(" n="), "figures carry n");

    // index.html: self-contained, and Chromium renders every chart without a request
    let html = std::fs::read_to_string(&html_path).unwrap();
    let refs = external_refs(&html);
    assert!(refs.is_empty(), "index.html points off the page: {refs:?}");
    let scratch = dir.join("chromium");
    std::fs::create_dir_all(&scratch).unwrap();
    let (dom, requests) = load_in_chromium(&html_path, &scratch);
    assert_eq!(
        dom.matches("<svg").count(),
        charts.len(),
        "one rendered SVG per chart of report.md"
    );
    assert!(
        dom.contains("<h1>gapbench report</h1>"),
        "the page rendered"
    );
    assert!(
        requests.is_empty(),
        "index.html made requests: {requests:?}"
    );

    // the check can fail: the same page with one off-page image is caught both ways
    let bad = scratch.join("bad.html");
    std::fs::write(
        &bad,
        html.replacen("<h1>", "<img src=\"http://127.0.0.1:9/x.png\"><h1>", 1),
    )
    .unwrap();
    assert_eq!(
        external_refs(&std::fs::read_to_string(&bad).unwrap()).len(),
        1
    );
    let (_, requests) = load_in_chromium(&bad, &scratch);
    assert_eq!(requests, vec!["http://127.0.0.1:9/x.png".to_string()]);

    // summary.csv: a gap ratio for every node and chromium row
    let mut rdr = csv::Reader::from_path(&csv_path).unwrap();
    let header = rdr.headers().unwrap().clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("summary.csv has no `{name}` column: {header:?}"))
    };
    let (target, gap, metric) = (col("target"), col("gap_ratio"), col("metric"));
    let mut seen = std::collections::BTreeMap::new();
    for row in rdr.records() {
        let row = row.unwrap();
        if row[target] != *"node" && row[target] != *"chromium" {
            continue;
        }
        *seen.entry(row[target].to_string()).or_insert(0) += 1;
        let g: f64 = row[gap].parse().unwrap_or_else(|_| {
            panic!(
                "gap_ratio of {} {} is `{}`",
                &row[target], &row[metric], &row[gap]
            )
        });
        assert!(
            g.is_finite() && g > 0.0,
            "gap_ratio {g} for {:?}",
            row.iter().collect::<Vec<_>>()
        );
    }
    assert!(
        seen.get("node").copied().unwrap_or(0) >= 2
            && seen.get("chromium").copied().unwrap_or(0) >= 2,
        "node and chromium rows for both workloads: {seen:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where the findings table of `page` lies on a 1280×800 first screen of headless Chromium:
/// (bottom, right, innerHeight, innerWidth) in CSS pixels; also saves a screenshot as `shot`.
fn findings_box(page: &Path, scratch: &Path, shot: &Path) -> [f64; 4] {
    let html = std::fs::read_to_string(page).unwrap();
    let probe = "<script>window.addEventListener('load', () => { \
        const t = document.querySelector('#findings table'); \
        const r = t ? t.getBoundingClientRect() : {bottom: -1, right: -1}; \
        document.title = 'box ' + [r.bottom, r.right, innerHeight, innerWidth].join(' '); });\
        </script>";
    let copy = scratch.join("measured.html");
    std::fs::write(
        &copy,
        html.replacen("</body>", &format!("{probe}</body>"), 1),
    )
    .unwrap();
    let run = |extra: &[String]| {
        let out = Command::new(CHROMIUM)
            .args(HEADLESS)
            .args(["--hide-scrollbars", "--window-size=1280,800"])
            .arg(format!(
                "--user-data-dir={}",
                scratch.join("profile").display()
            ))
            .args(extra)
            .output()
            .expect("cannot start headless Chromium");
        assert!(out.status.success(), "chromium: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let dom = run(&["--dump-dom".into(), format!("file://{}", copy.display())]);
    run(&[
        format!("--screenshot={}", shot.display()),
        format!("file://{}", page.display()),
    ]);
    let title = dom
        .split_once("<title>box ")
        .and_then(|(_, t)| t.split_once("</title>"))
        .map(|(t, _)| t.to_string())
        .unwrap_or_else(|| panic!("the measuring script did not run: {dom}"));
    let v: Vec<f64> = title.split(' ').map(|x| x.parse().unwrap()).collect();
    [v[0], v[1], v[2], v[3]]
}

/// The committed sample report's first screen (1280×800) holds its whole findings table; a
/// screenshot of it is left in the test's directory.
#[test]
fn sample_report_first_screen_holds_the_findings() {
    let dir = temp_dir("first-screen");
    let page = common::repo().join("reports/sample/index.html");
    let shot = dir.join("first-screen.png");
    let [bottom, right, height, width] = findings_box(&page, &dir, &shot);
    eprintln!(
        "findings table ends at {bottom} px of {height}, {right} px of {width}; screenshot {}",
        shot.display()
    );
    assert!(bottom > 0.0, "no findings table in {}", page.display());
    assert!(
        bottom <= height && right <= width,
        "findings table at ({right}, {bottom}) of {width}×{height}"
    );
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 1000)
            .unwrap_or(false),
        "no screenshot"
    );
    // the check can fail: with a screenful of text above it, the table is off the first screen
    let html = std::fs::read_to_string(&page).unwrap();
    let pushed = dir.join("pushed.html");
    std::fs::write(
        &pushed,
        html.replacen("<h1>", &format!("<p>{}</p><h1>", "filler ".repeat(3000)), 1),
    )
    .unwrap();
    let [bottom, _, height, _] = findings_box(&pushed, &dir, &dir.join("pushed.png"));
    assert!(
        bottom > height,
        "the filler did not push the table down ({bottom} of {height})"
    );
}
