use super::*;
use crate::report::testutil::{TempDir, case, noisy, throughput_case, write_run};

/// A run with two series: chromium (two repetitions) and native, step times around `ms`.
fn run(dir: &Path, id: &str, seed: u64, scale: f64) {
    let cases = vec![
        throughput_case(
            &case(id, "mlp", "small", "chromium", 1),
            &noisy(seed, 30, 20.0 * scale, 0.03),
        ),
        throughput_case(
            &case(id, "mlp", "small", "chromium", 2),
            &noisy(seed + 1, 30, 20.0 * scale, 0.03),
        ),
        throughput_case(
            &case(id, "mlp", "small", "native-ndarray", 1),
            &noisy(seed + 2, 30, 10.0 * scale, 0.03),
        ),
    ];
    write_run(dir, id, "2025-11-26T10:00:00Z", &cases);
}

/// A native series with `reps` repetitions of 30 steps; each repetition's centre is off by
/// its own few percent (the variation between processes), all scaled by `scale`.
fn reps_run(dir: &Path, id: &str, seed: u64, scale: f64, reps: u32) {
    let centres = noisy(seed, reps as usize, 10.0, 0.02);
    let cases: Vec<_> = (1..=reps)
        .map(|r| {
            throughput_case(
                &case(id, "mlp", "small", "native-ndarray", r),
                &noisy(
                    seed + 100 + r as u64,
                    30,
                    centres[r as usize - 1] * scale,
                    0.03,
                ),
            )
        })
        .collect();
    write_run(dir, id, "2025-11-26T10:00:00Z", &cases);
}

#[test]
fn too_few_repetitions_leave_the_verdict_open() {
    let tmp = TempDir::new("cmp-fewreps");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&a, "base", 1, 1.0);
    run(&b, "cand", 1, 1.2);
    let rep = compare_runs(&a, &b, 0.02, Unit::Repetitions).unwrap();
    assert_eq!(rep.regressions, 0, "{rep:?}");
    for r in &rep.rows {
        assert_eq!(r.verdict, "unknown", "{r:?}");
        assert!(
            r.reason.contains("fewer than 5 a side")
                && r.reason.contains("the steps alone would say slower"),
            "{}",
            r.reason
        );
        assert!(
            (r.ratio.unwrap() - 1.2).abs() < 1e-9,
            "the steps' ratio is shown"
        );
    }
    let native = &rep.rows[1];
    assert_eq!(
        (native.n_baseline, native.n_candidate),
        (1, 1),
        "repetitions"
    );
}

#[test]
fn repetitions_carry_the_verdict() {
    let tmp = TempDir::new("cmp-reps");
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    reps_run(&a, "base", 1, 1.0, 8);
    reps_run(&b, "again", 1000, 1.0, 8);
    reps_run(&c, "slow", 1, 1.2, 8);
    let same = compare_runs(&a, &b, 0.02, Unit::Repetitions).unwrap();
    assert_eq!(same.regressions, 0, "{same:?}");
    assert!(
        matches!(same.rows[0].verdict.as_str(), "same" | "unknown"),
        "{:?}",
        same.rows[0]
    );
    assert_eq!(same.rows[0].n_baseline, 8);
    let slow = compare_runs(&a, &c, 0.02, Unit::Repetitions).unwrap();
    assert_eq!(slow.regressions, 1, "{slow:?}");
    let r = &slow.rows[0];
    assert_eq!(r.verdict, "slower", "{r:?}");
    assert!(
        r.reason.contains("over the medians of 8 and 8 repetitions"),
        "{}",
        r.reason
    );
    assert!(
        r.ci_low.unwrap() > 1.02 && r.p_value.unwrap() <= 0.01,
        "{r:?}"
    );
}

#[test]
fn series_strips_the_repetition() {
    assert_eq!(
        series_id("mlp/small/chromium/ndarray-simd/main/r12"),
        "mlp/small/chromium/ndarray-simd/main"
    );
    assert_eq!(
        series_id("mlp/small/chromium/ndarray-simd/main"),
        "mlp/small/chromium/ndarray-simd/main"
    );
    assert_eq!(series_id("a/run"), "a/run");
}

#[test]
fn same_distribution_has_no_regressions() {
    let tmp = TempDir::new("cmp-same");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&a, "base", 1, 1.0);
    run(&b, "cand", 101, 1.0);
    let rep = compare_runs(&a, &b, 0.02, Unit::Steps).unwrap();
    assert_eq!(rep.rows.len(), 2, "{rep:?}");
    assert_eq!(rep.regressions, 0);
    for r in &rep.rows {
        assert_eq!(r.metric, "step_time");
        assert!(r.verdict == "same" || r.verdict == "unknown", "{r:?}");
        assert!(r.lower_is_better);
        assert_eq!(r.unit, "ms");
    }
    let chromium = &rep.rows[0];
    assert_eq!(chromium.series, "mlp/small/chromium/ndarray-simd/main");
    assert_eq!(
        (chromium.n_baseline, chromium.n_candidate),
        (60, 60),
        "pooled over repetitions"
    );
    assert_eq!(
        (rep.baseline.as_str(), rep.candidate.as_str()),
        ("base", "cand")
    );
}

#[test]
fn slower_candidate_is_a_regression_in_every_format() {
    let tmp = TempDir::new("cmp-slow");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&a, "base", 1, 1.0);
    run(&b, "cand", 1, 1.2); // the same draws, every step 1.2x as long
    let rep = compare_runs(&a, &b, 0.02, Unit::Steps).unwrap();
    assert_eq!(rep.regressions, 2, "{rep:?}");
    for r in &rep.rows {
        assert_eq!(r.verdict, "slower", "{r:?}");
        assert!((r.ratio.unwrap() - 1.2).abs() < 1e-9);
        assert!(r.ci_low.unwrap() > 1.02 && r.p_value.unwrap() < 0.01);
        assert!(r.reason.contains("beyond ±2.0%"), "{}", r.reason);
    }

    let md = markdown(&rep);
    assert!(md.contains("| series | metric | baseline | candidate |"));
    assert!(
        md.contains("| mlp/small/native-ndarray/ndarray/main | step_time |"),
        "{md}"
    );
    assert!(
        md.trim_end().ends_with("2 regression(s) beyond ±2.0%.**"),
        "{md}"
    );

    let j: serde_json::Value = serde_json::from_str(&json(&rep)).unwrap();
    assert_eq!(j["regressions"], 2);
    assert_eq!(j["rows"][0]["verdict"], "slower");

    let p = perfherder(&rep, "gapbench");
    let body = p.strip_prefix("PERFHERDER_DATA: ").expect("prefix");
    assert!(!body.contains('\n'));
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["framework"]["name"], "gapbench");
    let suite = &v["suites"][0];
    assert_eq!(suite["name"], "mlp/small");
    assert_eq!(suite["lowerIsBetter"], true);
    let subs = suite["subtests"].as_array().unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0]["name"], "chromium/ndarray-simd/main step_time");
    assert_eq!(subs[0]["unit"], "ms");
    let geo = (subs[0]["value"].as_f64().unwrap() * subs[1]["value"].as_f64().unwrap()).sqrt();
    assert!((suite["value"].as_f64().unwrap() - geo).abs() < 1e-9);

    let x = junit(&rep);
    assert!(
        x.starts_with("<?xml")
            && x.contains("<testsuite ")
            && x.trim_end().ends_with("</testsuite>")
    );
    assert_eq!(x.matches("<testcase ").count(), 2);
    assert_eq!(x.matches("<failure ").count(), 2);
    assert!(x.contains("tests=\"2\" failures=\"2\""));

    // and the other way round it is faster, not a regression
    let rep = compare_runs(&b, &a, 0.02, Unit::Steps).unwrap();
    assert_eq!(rep.regressions, 0);
    assert!(rep.rows.iter().all(|r| r.verdict == "faster"));
    assert_eq!(junit(&rep).matches("<failure").count(), 0);
}

#[test]
fn one_sided_series_are_unknown() {
    let tmp = TempDir::new("cmp-onesided");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&a, "base", 1, 1.0);
    let failed = case("cand", "mlp", "small", "chromium", 1);
    let cases = vec![
        (
            vec![record::Record::outcome(
                &failed,
                Status::Timeout,
                "no reply in 600 s",
            )],
            vec![],
        ),
        throughput_case(
            &case("cand", "mlp", "small", "native-ndarray", 1),
            &noisy(3, 30, 10.0, 0.03),
        ),
        throughput_case(
            &case("cand", "cnn", "small", "native-ndarray", 1),
            &noisy(4, 30, 10.0, 0.03),
        ),
    ];
    write_run(&b, "cand", "2025-11-26T11:00:00Z", &cases);
    let rep = compare_runs(&a, &b, 0.02, Unit::Steps).unwrap();
    let find = |s: &str| rep.rows.iter().find(|r| r.series.starts_with(s)).unwrap();
    let gone = find("mlp/small/chromium");
    assert_eq!(gone.verdict, "unknown");
    assert_eq!(
        gone.reason,
        "only in baseline (candidate case timeout: no reply in 600 s)"
    );
    assert_eq!((gone.n_candidate, gone.candidate_median), (0, None));
    let new = find("cnn/small/native-ndarray");
    assert_eq!(
        (new.verdict.as_str(), new.reason.as_str()),
        ("unknown", "only in candidate")
    );
    assert_eq!(rep.regressions, 0);
    // a row without a candidate median has no Perfherder subtest
    assert!(!perfherder(&rep, "f").contains("chromium"));
}

#[test]
fn malformed_input_is_an_error_naming_file_and_line() {
    let tmp = TempDir::new("cmp-bad");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&a, "base", 1, 1.0);
    run(&b, "cand", 2, 1.0);
    let path = b.join("records.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let cut = &lines[3][..lines[3].len() / 3];
    lines[3] = cut;
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let e = compare_runs(&a, &b, 0.02, Unit::Steps).unwrap_err();
    assert!(e.contains("b/records.csv:4:"), "{e}");

    run(&b, "cand", 2, 1.0);
    let path = b.join("samples.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen(",measured,0,", ",measured,0,slow", 1)).unwrap();
    let e = compare_runs(&a, &b, 0.02, Unit::Steps).unwrap_err();
    assert!(
        e.contains("b/samples.csv:") && e.contains("value (number)"),
        "{e}"
    );

    assert!(
        compare_runs(&a, &tmp.path().join("missing"), 0.02, Unit::Steps)
            .unwrap_err()
            .contains("not a run directory")
    );
    assert!(compare_runs(&a, &a, f64::NAN, Unit::Steps).is_err());
}

#[test]
fn axis_labels_shorten_versions() {
    assert_eq!(
        short_version("rustc 1.95.0 (59807616e 2026-04-14); burn 0.22.1"),
        "rustc 1.95.0; burn 0.22.1"
    );
    assert_eq!(short_version("131.0.6778.85"), "131.0.6778.85");
    assert_eq!(short_version(&"x".repeat(40)).chars().count(), 28);
}

#[test]
fn change_points_are_steps_not_spikes() {
    assert_eq!(
        change_points(&[10.0, 10.1, 9.9, 13.0, 13.2, 12.9], 0.05),
        vec![3]
    );
    assert_eq!(
        change_points(&[10.0, 10.0, 14.0, 10.0, 10.0], 0.05),
        Vec::<usize>::new()
    );
    assert_eq!(
        change_points(&[10.0, 10.0, 7.0], 0.05),
        vec![2],
        "a last run may be a change"
    );
    assert_eq!(
        change_points(&[10.0, 13.0, 10.4], 0.05),
        Vec::<usize>::new(),
        "came back inside the band"
    );
    assert_eq!(
        change_points(&[10.0, 10.4, 10.0], 0.05),
        Vec::<usize>::new()
    );
    assert_eq!(
        change_points(&[10.0, 13.0, 16.0, 16.0], 0.05),
        vec![1, 2],
        "two steps in a row"
    );
    assert_eq!(
        change_points(&[10.0, 10.0, 14.0, 9.0, 9.0], 0.05),
        vec![3],
        "spike, then a real drop"
    );
    assert!(change_points(&[], 0.05).is_empty() && change_points(&[1.0], 0.05).is_empty());
}

#[test]
fn history_marks_a_step_in_a_series() {
    let tmp = TempDir::new("history");
    let root = tmp.path().join("results");
    // step times 10, 10, 10, 13, 13 ms over five runs (written out of order)
    for (k, ms) in [(3, 13.0), (0, 10.0), (4, 13.0), (1, 10.0), (2, 10.0)] {
        let id = format!("run-{k}");
        let mut c = case(&id, "mlp", "small", "chromium", 1);
        c.engine_version = format!("13{k}.0");
        let cases = vec![throughput_case(&c, &noisy(k, 20, ms, 0.01))];
        write_run(
            &root.join(format!("z{}", 9 - k)),
            &id,
            &format!("2025-11-2{k}T10:00:00Z"),
            &cases,
        );
    }
    std::fs::create_dir_all(root.join("not-a-run")).unwrap();
    let out = tmp.path().join("hist");
    let path = history(&root, &out, 0.05).unwrap();
    assert_eq!(path, out.join("history.html"));
    let html = std::fs::read_to_string(&path).unwrap();
    // two charts: throughput and step_time of the one series
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(
        html.contains("133.0 11-23"),
        "x labels are engine version and date"
    );
    // run-3 is the change point for both metrics, in the summary table and on the charts
    let changes = html.split("<section id=\"s0\"").next().unwrap();
    assert_eq!(changes.matches("<td>run-3</td>").count(), 2, "{changes}");
    assert_eq!(html.matches("<td>change point</td>").count(), 2);
    assert_eq!(
        html.matches(">\nchange\n</text>").count(),
        2,
        "marked on both charts"
    );
    let stripped = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !stripped.contains("http://")
            && !stripped.contains("https://")
            && !html.contains("<script")
    );
    // runs ordered by start time: run-0 first
    let order: Vec<usize> = (0..5)
        .map(|k| html.find(&format!("<td>run-{k}</td><td>2025")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");

    assert!(history(&tmp.path().join("none"), &out, 0.05).is_err());
}
