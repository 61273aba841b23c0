//! How numbers, figures and case labels are written in the report.

use super::*;

/// A number with about three significant digits, without exponent for ordinary magnitudes.
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a >= 1e-4 {
        let decimals = (2.0 - a.log10().floor()) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.2e}")
    }
}

/// `12.3 ms [12.1, 12.6] n=20` for one repetition's steps, `12.3 ms [11.0, 14.2] 7 reps` over
/// repetitions, and `[…, … 87.5% only]` when the interval cannot reach 95%.
pub(crate) fn fig(a: &Agg, unit: &str) -> String {
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    let n = if a.reps > 1 {
        format!("{} reps", a.reps)
    } else {
        format!("n={}", a.n)
    };
    if a.n < 2 {
        return format!("{}{unit} {n} (no CI)", num(a.median));
    }
    let level = if a.full_level() {
        String::new()
    } else {
        format!(" {:.1}% only", a.level * 100.0)
    };
    format!(
        "{}{unit} [{}, {}{level}] {n}",
        num(a.median),
        num(a.ci_low),
        num(a.ci_high),
    )
}

/// `2.00× [1.90, 2.10]`.
pub(crate) fn ratio_fig(r: f64, ci: Option<(f64, f64)>) -> String {
    match ci {
        Some((l, h)) => format!("{r:.2}× [{l:.2}, {h:.2}]"),
        None => format!("{r:.2}×"),
    }
}

/// `ndarray-simd` / `ndarray-nosimd` / `ndarray-relaxed` / `ndarray-memory64` / `ndarray`, as in
/// case ids.
pub(crate) fn variant(c: &CaseInfo) -> String {
    match c.simd.as_str() {
        "simd" => format!("{}-simd", c.backend),
        "no-simd" => format!("{}-nosimd", c.backend),
        "relaxed" => format!("{}-relaxed", c.backend),
        "memory64" => format!("{}-memory64", c.backend),
        _ => c.backend.clone(),
    }
}

/// Engine and version as tables show it; a parenthesised aside in the version (e.g. rustc's
/// commit and date) is left to the environment table.
pub(crate) fn engine_label(c: &CaseInfo) -> String {
    let mut v = c.engine_version.clone();
    while let (Some(a), Some(b)) = (v.find(" ("), v.find(')')) {
        if b < a {
            break;
        }
        v.replace_range(a..=b, "");
    }
    match (c.engine.as_str(), v.as_str()) {
        ("", _) => c.target.clone(),
        (e, "") => e.to_string(),
        (e, v) => format!("{e} {v}"),
    }
}

pub(crate) fn is_native(target: &str) -> bool {
    target.starts_with("native-")
}

pub(crate) const NOT_MEASURED: &str = "Not measured in these runs.";

pub(super) fn case_label(r: &Record, multi: bool) -> String {
    if multi {
        format!("{}: {}", r.case.run_id, r.case.case_id)
    } else {
        r.case.case_id.clone()
    }
}
