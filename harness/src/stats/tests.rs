use super::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// `n` samples of uniform noise around `center` within ±`spread` (relative).
fn noisy(rng: &mut Rng, n: usize, center: f64, spread: f64) -> Vec<f64> {
    (0..n)
        .map(|_| center * (1.0 + spread * (2.0 * rng.next_f64() - 1.0)))
        .collect()
}

#[test]
fn splitmix64_matches_reference_vector() {
    // Reference outputs of Vigna's splitmix64.c for seed 1234567.
    let mut rng = Rng::new(1_234_567);
    let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
    assert_eq!(
        got,
        [
            6457827717110365317,
            3203168211198807973,
            9817491932198370423,
            4593380528125082431,
            16408922859458223821
        ]
    );
}

#[test]
fn rng_is_seeded_and_below_is_in_range_and_roughly_uniform() {
    let a: Vec<u64> = {
        let mut r = Rng::new(7);
        (0..4).map(|_| r.next_u64()).collect()
    };
    let b: Vec<u64> = {
        let mut r = Rng::new(7);
        (0..4).map(|_| r.next_u64()).collect()
    };
    let c: Vec<u64> = {
        let mut r = Rng::new(8);
        (0..4).map(|_| r.next_u64()).collect()
    };
    assert_eq!(a, b);
    assert_ne!(a, c);

    let mut rng = Rng::new(42);
    let mut counts = [0usize; 7];
    for _ in 0..70_000 {
        counts[rng.below(7)] += 1;
    }
    // expected 10_000 each; sd ~ 93, so ±500 is > 5 sd
    for &c in &counts {
        assert!((9_500..=10_500).contains(&c), "counts {counts:?}");
    }
    assert_eq!(rng.below(1), 0);
    for _ in 0..1000 {
        let f = rng.next_f64();
        assert!((0.0..1.0).contains(&f));
    }
}

#[test]
#[should_panic(expected = "empty range")]
fn below_zero_panics() {
    Rng::new(1).below(0);
}

#[test]
fn medians_and_quantiles() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    assert_eq!(median(&[5.0]), 5.0);
    assert_eq!(median(&[10.0, -10.0]), 0.0);
    assert!(median(&[]).is_nan());

    let s = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(quantile(&s, 0.0), 1.0);
    assert_eq!(quantile(&s, 1.0), 4.0);
    assert_eq!(quantile(&s, 0.5), 2.5);
    assert!(close(quantile(&s, 0.25), 1.75, 1e-12)); // numpy.quantile default
    assert!(close(quantile(&s, 0.9), 3.7, 1e-12));
    assert_eq!(quantile(&s, 2.0), 4.0); // clamped
    assert!(quantile(&[], 0.5).is_nan());
    let ten: Vec<f64> = (1..=10).map(f64::from).collect();
    assert!(close(quantile(&ten, 0.1), 1.9, 1e-12));
}

#[test]
fn mean_and_sample_stddev() {
    let s = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
    assert_eq!(mean(&s), 5.0);
    // sum of squared deviations 32, sample variance 32/7 (population sd would be 2)
    assert!(close(stddev(&s), (32.0_f64 / 7.0).sqrt(), 1e-12));
    assert_eq!(stddev(&[3.0]), 0.0);
    assert_eq!(stddev(&[]), 0.0);
    assert!(mean(&[]).is_nan());
}

#[test]
fn tukey_counts_on_constructed_set() {
    // sorted: -8, 1..=11, 22, 40 (n=14): Q1 = 3.25, Q3 = 9.75, IQR = 6.5
    // mild fences [-6.5, 19.5], severe fences [-16.25, 29.25]
    // => -8 and 22 are mild, 40 is severe
    let mut s: Vec<f64> = (1..=11).map(f64::from).collect();
    s.extend([40.0, -8.0, 22.0]);
    assert_eq!(tukey_outliers(&s), (2, 1));
    // [1, 2, 3, 4, 5, x] with x >= 5: Q1 = 2.25, Q3 = 4.75, IQR = 2.5,
    // upper mild fence 8.5, upper severe fence 12.25; values exactly on a fence don't count
    let with_max = |x: f64| tukey_outliers(&[1.0, 2.0, 3.0, 4.0, 5.0, x]);
    assert_eq!(with_max(8.5), (0, 0));
    assert_eq!(with_max(8.6), (1, 0));
    assert_eq!(with_max(12.25), (1, 0));
    assert_eq!(with_max(12.3), (0, 1));
    assert_eq!(tukey_outliers(&[1.0, 2.0, 3.0, 4.0, 5.0]), (0, 0));
    assert_eq!(tukey_outliers(&[]), (0, 0));
}

#[test]
fn summarize_basic_fields_and_rejects_bad_input() {
    assert_eq!(summarize(&[]), None);
    assert_eq!(summarize(&[1.0, f64::NAN]), None);
    assert_eq!(summarize(&[1.0, f64::INFINITY]), None);

    let one = summarize(&[4.5]).unwrap();
    assert_eq!(
        one,
        Summary {
            n: 1,
            median: 4.5,
            ci_low: 4.5,
            ci_high: 4.5,
            mean: 4.5,
            stddev: 0.0,
            min: 4.5,
            max: 4.5,
            outliers_mild: 0,
            outliers_severe: 0
        }
    );

    let mut s: Vec<f64> = (1..=11).map(f64::from).collect();
    s.extend([40.0, -8.0, 22.0]);
    let sum = summarize(&s).unwrap();
    assert_eq!(sum.n, 14);
    assert_eq!(sum.median, 6.5);
    assert_eq!(sum.min, -8.0);
    assert_eq!(sum.max, 40.0);
    assert!(close(sum.mean, 120.0 / 14.0, 1e-12));
    assert!(close(sum.stddev, stddev(&s), 0.0));
    assert_eq!((sum.outliers_mild, sum.outliers_severe), (2, 1));
    assert!(sum.ci_low <= sum.median && sum.median <= sum.ci_high);
    assert!(sum.ci_low < sum.ci_high);
}

#[test]
fn bootstrap_ci_contains_median_is_deterministic_and_narrows_with_n() {
    let mut rng = Rng::new(99);
    let small = noisy(&mut rng, 20, 10.0, 0.05);
    let big = noisy(&mut rng, 500, 10.0, 0.05);

    let m = median(&small);
    let ci = bootstrap_median_ci(&small, 2000, 0.95, 5);
    assert!(ci.0 < m && m < ci.1, "{ci:?} vs {m}");
    assert!(ci.0 >= 9.5 && ci.1 <= 10.5);
    assert_eq!(ci, bootstrap_median_ci(&small, 2000, 0.95, 5));
    assert_ne!(ci, bootstrap_median_ci(&small, 2000, 0.95, 6));

    // a wider level gives a wider (or equal) interval
    let ci80 = bootstrap_median_ci(&small, 2000, 0.80, 5);
    assert!(ci80.0 >= ci.0 && ci80.1 <= ci.1 && ci80.1 - ci80.0 < ci.1 - ci.0);

    let big_ci = bootstrap_median_ci(&big, 2000, 0.95, 5);
    let mb = median(&big);
    assert!(big_ci.0 < mb && mb < big_ci.1);
    assert!(big_ci.1 - big_ci.0 < (ci.1 - ci.0) / 2.0);

    let s = summarize(&small).unwrap();
    assert_eq!(
        (s.ci_low, s.ci_high),
        bootstrap_median_ci(&small, 2000, 0.95, DEFAULT_SEED)
    );
    assert_eq!(s, summarize(&small).unwrap());

    assert_eq!(bootstrap_median_ci(&[3.0], 2000, 0.95, 1), (3.0, 3.0));
    assert_eq!(bootstrap_median_ci(&[1.0, 3.0], 0, 0.95, 1), (2.0, 2.0));
    let e = bootstrap_median_ci(&[], 10, 0.95, 1);
    assert!(e.0.is_nan() && e.1.is_nan());
}

#[test]
fn erfc_matches_reference_values() {
    // reference: Python math.erfc
    assert!(close(erfc(0.0), 1.0, 1e-7));
    assert!(close(erfc(0.5), 0.4795001221869535, 1e-7));
    assert!(close(erfc(1.0), 0.15729920705028513, 1e-7));
    assert!(close(erfc(2.0), 0.004677734981047265, 1e-9));
    assert!(close(erfc(-1.0), 1.842700792949715, 1e-7));
    assert!(close(critical_z(0.05), 1.959964, 1e-5));
    assert!(close(critical_z(0.01), 2.575829, 1e-5));
}

#[test]
fn mann_whitney_separated_sets_small_is_exact_large_is_normal() {
    let a: Vec<f64> = (1..=10).map(f64::from).collect();
    let b: Vec<f64> = (11..=20).map(f64::from).collect();
    let r = mann_whitney(&a, &b);
    // U = 0, mu = 50, sigma^2 = 10*10*21/12 = 175, z = (0 - 50 + 0.5)/sqrt(175)
    assert_eq!(r.u, 0.0);
    assert!(close(r.z, -3.7418482827913495, 1e-12));
    // exact: 2 of the C(20, 10) = 184756 splits are as extreme (SciPy method="exact")
    assert!(r.exact);
    assert!(close(r.p_two_sided, 2.0 / 184_756.0, 1e-15), "{r:?}");
    // symmetric: swapping sides flips U to n1*n2 - U and z's sign, same p
    let s = mann_whitney(&b, &a);
    assert_eq!(s.u, 100.0);
    assert!(close(s.z, -r.z, 1e-12));
    assert!(close(s.p_two_sided, r.p_two_sided, 1e-15));
    // n1 + n2 > EXACT_MAX_N: normal approximation with continuity correction
    let a: Vec<f64> = (1..=50).map(f64::from).collect();
    let b: Vec<f64> = (51..=100).map(f64::from).collect();
    let r = mann_whitney(&a, &b);
    assert!(!r.exact);
    assert!(close(r.z, -8.613827934383663, 1e-9), "{r:?}");
    // Python: math.erfc(8.613827934383663 / sqrt(2)) = 7.066071930389029e-18
    assert!(
        close(r.p_two_sided / 7.066071930389029e-18, 1.0, 1e-6),
        "{r:?}"
    );
}

#[test]
fn five_a_side_fully_separated_reaches_p_below_one_percent() {
    // The normal approximation's smallest p at 5 a side is 0.0122 > 0.01: a nightly of 5
    // repetitions could never fail. The exact test gives 2/252.
    let a = [10.0, 10.2, 9.9, 10.1, 10.3];
    let b: Vec<f64> = a.iter().map(|x| x * 1.5).collect();
    let r = mann_whitney(&a, &b);
    assert!(r.exact);
    assert!(close(r.p_two_sided, 2.0 / 252.0, 1e-15), "{r:?}");
    let c = compare(&a, &b, true, &CompareConfig::default());
    assert_eq!(c.verdict, Verdict::Slower, "{c:?}");
    // 4 a side cannot reach 1%: p = 2/70, and the interval's coverage says so
    let c = compare(
        &a[..4],
        &b[..4],
        true,
        &CompareConfig {
            min_samples: 4,
            ..CompareConfig::default()
        },
    );
    assert!(close(c.p_value, 2.0 / 70.0, 1e-15), "{c:?}");
    assert!(close(c.ratio.level, 1.0 - 2.0 / 70.0, 1e-12), "{c:?}");
    assert!(matches!(c.verdict, Verdict::Unknown { .. }), "{c:?}");
}

#[test]
fn mann_whitney_with_ties_is_an_exact_permutation_test() {
    // combined: 1a 2a 2a 2b 3a 3b 4a 5b 6b 7b; ranks: 1, 3,3,3, 5.5,5.5, 7, 8, 9, 10
    // R_a = 1+3+3+5.5+7 = 19.5, U_a = 19.5 - 15 = 4.5, mu = 12.5
    // ties: t=3 -> 24, t=2 -> 6; sigma^2 = 25/12 * (11 - 30/90) = 22.222...
    // z = (4.5 - 12.5 + 0.5)/sqrt(22.222) = -1.5909902576697
    // Exact, by enumerating the 252 splits of those ranks (Python): 14 have R <= 19.5,
    // so p = 2 * 14/252 = 0.1111.
    let a = [1.0, 2.0, 2.0, 3.0, 4.0];
    let b = [2.0, 3.0, 5.0, 6.0, 7.0];
    let r = mann_whitney(&a, &b);
    assert_eq!(r.u, 4.5);
    assert!(close(r.z, -1.590990257669732, 1e-12));
    assert!(r.exact);
    assert!(close(r.p_two_sided, 28.0 / 252.0, 1e-12), "{r:?}");
}

#[test]
fn null_distribution_of_u_matches_the_tables() {
    // n1 = n2 = 5: U = 0, 1, 2, 3, 4 in 1, 1, 2, 3, 5 of the 252 splits
    let cdf = u_null_cdf(5, 5);
    assert_eq!(cdf.len(), 26);
    for (u, count) in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 7.0), (4, 12.0)] {
        assert!(close(cdf[u], count / 252.0, 1e-15), "U <= {u}: {}", cdf[u]);
    }
    assert!(close(cdf[25], 1.0, 1e-12));
    // unequal sizes: 3 and 7, C(10, 3) = 120 splits, U = 0 in one
    let cdf = u_null_cdf(3, 7);
    assert_eq!(cdf.len(), 22);
    assert!(close(cdf[0], 1.0 / 120.0, 1e-15));
    assert!(close(cdf[21], 1.0, 1e-12));
}

#[test]
fn benjamini_hochberg_matches_r_p_adjust() {
    // R: p.adjust(c(0.01, 0.04, 0.03, 0.005, NA), "BH") = 0.02 0.04 0.04 0.02 NA
    let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, f64::NAN]);
    for (got, want) in q.iter().zip([0.02, 0.04, 0.04, 0.02]) {
        assert!(close(*got, want, 1e-15), "{q:?}");
    }
    assert!(q[4].is_nan());
    assert_eq!(benjamini_hochberg(&[0.5]), vec![0.5]);
    assert!(benjamini_hochberg(&[]).is_empty());
}

#[test]
fn ratio_interval_coverage_is_what_it_says_at_small_n() {
    // 5 a side, continuous data, no change: the exact interval's level is 1 - 2/252 = 99.2%,
    // so about 0.8% of 4000 intervals miss the true ratio 1 (a binomial sd of 0.14%).
    let mut rng = Rng::new(99);
    let mut miss = 0;
    let trials = 4000;
    for _ in 0..trials {
        let a = noisy(&mut rng, 5, 10.0, 0.15);
        let b = noisy(&mut rng, 5, 10.0, 0.15);
        let r = ratio_ci(&a, &b, 0.99, 0, 0);
        assert!(close(r.level, 1.0 - 2.0 / 252.0, 1e-12));
        if r.low > 1.0 || r.high < 1.0 {
            miss += 1;
        }
    }
    let rate = miss as f64 / trials as f64;
    assert!(rate > 0.002 && rate < 0.015, "miss rate {rate}");
    // the bootstrap percentile interval of the same data misses far more often
    let mut rng = Rng::new(99);
    let mut boot_miss = 0;
    for i in 0..400 {
        let a = noisy(&mut rng, 5, 10.0, 0.15);
        let b = noisy(&mut rng, 5, 10.0, 0.15);
        let r = ratio_of_medians(&a, &b, 500, 0.99, i);
        if r.low > 1.0 || r.high < 1.0 {
            boot_miss += 1;
        }
    }
    assert!(boot_miss as f64 / 400.0 > rate, "{boot_miss}/400 vs {rate}");
}

#[test]
fn an_underpowered_comparison_is_never_same_and_says_what_it_could_hide() {
    // a real +10% change, 10 a side, 15% noise: never `same`
    let cfg = CompareConfig::default();
    for seed in 0..200 {
        let mut rng = Rng::new(5000 + seed);
        let base = noisy(&mut rng, 10, 10.0, 0.15);
        let cand = noisy(&mut rng, 10, 11.0, 0.15);
        let c = compare(&base, &cand, true, &cfg);
        match &c.verdict {
            Verdict::Same => panic!("seed {seed}: same: {c:?}"),
            Verdict::Unknown { reason, .. } => {
                assert!(reason.contains("could hide a change of up to"), "{reason}")
            }
            _ => {}
        }
    }
}

#[test]
fn mann_whitney_identical_and_degenerate_inputs_give_p_one() {
    let a = [1.0, 2.0, 3.0, 4.0];
    let r = mann_whitney(&a, &a);
    assert_eq!(r.u, 8.0);
    assert_eq!(r.z, 0.0);
    assert_eq!(r.p_two_sided, 1.0);
    let t = mann_whitney(&[5.0, 5.0, 5.0], &[5.0, 5.0]);
    assert_eq!((t.z, t.p_two_sided), (0.0, 1.0));
    assert_eq!(mann_whitney(&[], &[1.0]).p_two_sided, 1.0);
}

#[test]
fn ratio_of_medians_point_and_ci() {
    let mut rng = Rng::new(3);
    let base = noisy(&mut rng, 40, 10.0, 0.03);
    let cand: Vec<f64> = base.iter().map(|x| x * 1.5).collect();
    let r = ratio_of_medians(&base, &cand, 2000, 0.95, 11);
    assert!(close(r.ratio, 1.5, 1e-12));
    assert!(r.low < 1.5 && 1.5 < r.high, "{r:?}");
    assert!(r.low > 1.4 && r.high < 1.6, "{r:?}");
    assert_eq!(r, ratio_of_medians(&base, &cand, 2000, 0.95, 11));
    let d = ratio_of_medians(&[2.0], &[3.0], 100, 0.95, 1);
    assert_eq!((d.ratio, d.low, d.high), (1.5, 1.5, 1.5));
    assert!(ratio_of_medians(&[], &[1.0], 10, 0.95, 1).ratio.is_nan());
}

#[test]
fn compare_same_distribution_is_same() {
    let cfg = CompareConfig::default();
    let mut rng = Rng::new(2024);
    let base = noisy(&mut rng, 60, 10.0, 0.03);
    let cand = noisy(&mut rng, 60, 10.0, 0.03);
    let c = compare(&base, &cand, true, &cfg);
    assert_eq!(c.verdict, Verdict::Same, "{c:?}");
    assert_eq!((c.n_baseline, c.n_candidate), (60, 60));
    assert!(c.p_value > cfg.alpha);

    // over many independent pairs, no false Faster/Slower and, with enough samples for
    // the equivalence test (the 99% interval inside ±2%), nearly always Same
    let mut same = 0;
    for seed in 0..40 {
        let mut rng = Rng::new(1000 + seed);
        let base = noisy(&mut rng, 60, 10.0, 0.03);
        let cand = noisy(&mut rng, 60, 10.0, 0.03);
        for lower_is_better in [true, false] {
            match compare(&base, &cand, lower_is_better, &cfg).verdict {
                Verdict::Same => same += 1,
                Verdict::Unknown { .. } => {}
                v => panic!("seed {seed}: false {v:?}"),
            }
        }
    }
    assert!(same >= 76, "only {same}/80 Same");
}

#[test]
fn compare_detects_regressions_and_improvements() {
    let cfg = CompareConfig::default();
    let mut rng = Rng::new(77);
    let base = noisy(&mut rng, 30, 10.0, 0.03);
    let slower: Vec<f64> = base.iter().map(|x| x * 1.2).collect();
    let faster: Vec<f64> = base.iter().map(|x| x * 0.8).collect();

    let c = compare(&base, &slower, true, &cfg);
    assert_eq!(c.verdict, Verdict::Slower, "{c:?}");
    assert!(close(c.ratio.ratio, 1.2, 1e-12));
    assert!(c.ratio.low > 1.02 && c.p_value <= cfg.alpha);

    let c = compare(&base, &faster, true, &cfg);
    assert_eq!(c.verdict, Verdict::Faster, "{c:?}");
    assert!(c.ratio.high < 0.98);

    // throughput: higher is better, so dropping to 0.8x is a regression and 1.2x a win
    let c = compare(&base, &faster, false, &cfg);
    assert_eq!(c.verdict, Verdict::Slower, "{c:?}");
    let c = compare(&base, &slower, false, &cfg);
    assert_eq!(c.verdict, Verdict::Faster, "{c:?}");
}

#[test]
fn compare_too_few_samples_is_unknown_with_more_samples() {
    let cfg = CompareConfig::default();
    let c = compare(
        &[10.0, 10.1, 9.9],
        &[12.0, 12.1, 11.9, 12.2, 12.3, 12.0],
        true,
        &cfg,
    );
    assert_eq!(
        c.verdict,
        Verdict::Unknown {
            reason: "n=3 < 5".to_string(),
            more_samples: Some(2)
        }
    );
    assert_eq!((c.n_baseline, c.n_candidate), (3, 6));
    let c = compare(&[], &[1.0; 10], true, &cfg);
    assert_eq!(
        c.verdict,
        Verdict::Unknown {
            reason: "n=0 < 5".to_string(),
            more_samples: Some(5)
        }
    );
}

#[test]
fn compare_rejects_non_finite_and_non_positive_baseline() {
    let cfg = CompareConfig::default();
    let good = [1.0, 1.1, 0.9, 1.0, 1.05];
    let c = compare(&good, &[1.0, f64::NAN, 1.0, 1.0, 1.0], true, &cfg);
    assert!(
        matches!(
            c.verdict,
            Verdict::Unknown {
                more_samples: None,
                ..
            }
        ),
        "{c:?}"
    );
    let c = compare(&[0.0; 5], &good, true, &cfg);
    assert!(
        matches!(
            c.verdict,
            Verdict::Unknown {
                more_samples: None,
                ..
            }
        ),
        "{c:?}"
    );
}

#[test]
fn compare_small_but_significant_change_inside_threshold_is_same() {
    // 0.5% shift with 2000 samples: clearly significant, but well inside the 2% band
    let cfg = CompareConfig::default();
    let mut rng = Rng::new(5);
    let base = noisy(&mut rng, 2000, 10.0, 0.03);
    let cand = noisy(&mut rng, 2000, 10.05, 0.03);
    let c = compare(&base, &cand, true, &cfg);
    assert!(c.p_value <= cfg.alpha, "{c:?}");
    assert!(c.ratio.low >= 0.98 && c.ratio.high <= 1.02, "{c:?}");
    assert_eq!(c.verdict, Verdict::Same);
}

#[test]
fn compare_effect_straddling_threshold_is_unknown_with_estimate() {
    // a ~2% shift: significant, but the CI straddles the 1.02 band edge
    let cfg = CompareConfig::default();
    let mut rng = Rng::new(11);
    let base = noisy(&mut rng, 200, 10.0, 0.03);
    let cand = noisy(&mut rng, 200, 10.2, 0.03);
    let c = compare(&base, &cand, true, &cfg);
    assert!(c.p_value <= cfg.alpha, "{c:?}");
    assert!(c.ratio.low < 1.02 && 1.02 < c.ratio.high, "{c:?}");
    match &c.verdict {
        Verdict::Unknown {
            reason,
            more_samples,
        } => {
            assert!(reason.contains("threshold"), "{reason}");
            assert!(reason.contains("near"), "{reason}");
            let more = more_samples.expect("an estimate");
            assert!(more >= 1);
            // check the estimate against the sqrt(n) model by hand
            let r = c.ratio;
            let g = if r.ratio > 1.02 {
                ((r.ratio - r.low) / (r.ratio - 1.02)).powi(2)
            } else {
                ((r.high - r.ratio) / (1.02 - r.ratio))
                    .powi(2)
                    .max(((r.ratio - r.low) / (r.ratio - 0.98)).powi(2))
            };
            assert_eq!(more, ((200.0 * g).ceil() as usize - 200).max(1));
        }
        v => panic!("expected Unknown, got {v:?}"),
    }
}

#[test]
fn growth_needed_follows_sqrt_n_model() {
    // r = 1.05 with CI 1.01..1.09 and band edge 1.02: half-width 0.04, distance 0.03
    let r = RatioCi {
        ratio: 1.05,
        low: 1.01,
        high: 1.09,
        level: 0.99,
    };
    let g = growth_needed(&r, 0.98, 1.02, -5.0, true, 0.01).unwrap();
    assert!(close(g, (0.04_f64 / 0.03).powi(2), 1e-12));
    // not yet significant with |z| = 1.2875: the test needs (2.5758/1.2875)^2 ~ 4x
    let g = growth_needed(&r, 0.98, 1.02, 1.2879, false, 0.01).unwrap();
    assert!(close(g, (critical_z(0.01) / 1.2879).powi(2), 1e-9));
    assert!(g > 3.9 && g < 4.1);
    // inside the band: both edges must fit
    let r = RatioCi {
        ratio: 1.0,
        low: 0.97,
        high: 1.01,
        level: 0.99,
    };
    let g = growth_needed(&r, 0.98, 1.02, 0.0, false, 0.01).unwrap();
    assert!(close(g, (0.03_f64 / 0.02).powi(2), 1e-12));
    // exactly on the edge: no finite estimate
    let r = RatioCi {
        ratio: 1.02,
        low: 1.0,
        high: 1.04,
        level: 0.99,
    };
    assert_eq!(growth_needed(&r, 0.98, 1.02, 3.0, true, 0.01), None);
}

#[test]
fn order_statistic_median_interval_states_its_real_coverage() {
    let (lo, hi, level) = median_ci_order(&[3.0, 1.0, 2.0, 4.0], 0.95);
    assert_eq!((lo, hi), (1.0, 4.0));
    assert!(
        close(level, 0.875, 1e-15),
        "4 values: [min, max] covers 87.5%"
    );
    let (_, _, level) = median_ci_order(&[1.0, 2.0], 0.95);
    assert!(close(level, 0.5, 1e-15));
    // 6 values reach 95%: [min, max] covers 1 - 2/64
    let (lo, hi, level) = median_ci_order(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0], 0.95);
    assert_eq!((lo, hi), (1.0, 6.0));
    assert!(close(level, 1.0 - 2.0 / 64.0, 1e-15));
    // 20 values: k = 6 (2·P(Bin(20, ½) <= 5) = 0.0414), the 6th and 15th values
    let v: Vec<f64> = (1..=20).map(f64::from).collect();
    let (lo, hi, level) = median_ci_order(&v, 0.95);
    assert_eq!((lo, hi), (6.0, 15.0));
    assert!(
        close(level, 1.0 - 0.041_389_465_332_031_25, 1e-12),
        "{level}"
    );
    assert!(median_ci_order(&[], 0.95).0.is_nan());
}
