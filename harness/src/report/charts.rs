//! SVG charts drawn with plotters' SVG backend (text as SVG <text>, no font files): the log-log
//! throughput/compute chart of the report and the per-series line chart of the history page.

use super::doc::Chart;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeSet;

/// One point with its 95% CI (`lo..hi`, equal to `y` when unknown).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub x: f64,
    pub y: f64,
    pub lo: f64,
    pub hi: f64,
}

/// A named line of points. `groups[i]` is the marker group of `points[i]` (e.g. the workload;
/// missing entries are group 0): a line joins only points of the same group, and each group has
/// its own marker shape.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub label: String,
    pub points: Vec<Point>,
    pub groups: Vec<usize>,
}

const SIZE: (u32, u32) = (960, 560);
/// The log-log chart: plot area on the left, legend panel on the right.
const WIDE: (u32, u32) = (1200, 600);
const LEGEND_W: u32 = 330;

/// Distinguishable line colours (Tableau 20: ten hues, then their light variants), cycled.
const PALETTE: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(174, 199, 232),
    RGBColor(255, 187, 120),
    RGBColor(152, 223, 138),
    RGBColor(255, 152, 150),
    RGBColor(197, 176, 213),
    RGBColor(196, 156, 148),
    RGBColor(247, 182, 210),
    RGBColor(199, 199, 199),
    RGBColor(219, 219, 141),
    RGBColor(158, 218, 229),
];

/// Draw marker `shape` (0 circle, 1 triangle, 2 square, 3 cross, cycled) at backend pixel `at`.
fn marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    at: (i32, i32),
    shape: usize,
    color: RGBAColor,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("cannot draw a marker: {e}");
    match shape % 4 {
        0 => area.draw(&Circle::new(at, 4, color.filled())).map_err(e),
        1 => area
            .draw(&TriangleMarker::new(at, 6, color.filled()))
            .map_err(e),
        2 => area
            .draw(&Rectangle::new(
                [(at.0 - 4, at.1 - 4), (at.0 + 4, at.1 + 4)],
                color.filled(),
            ))
            .map_err(e),
        _ => area
            .draw(&Cross::new(at, 5, color.stroke_width(2)))
            .map_err(e),
    }
}

fn color(i: usize) -> RGBAColor {
    PALETTE[i % PALETTE.len()].to_rgba()
}
const FONT: &str = "sans-serif";

fn drawing<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("cannot draw the {what} chart: {e}")
}

/// Short axis label: 1.5M, 20k, 0.25.
pub(crate) fn human(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = if x == x.trunc() || x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else if x.abs() >= 0.01 {
        format!("{x:.2}")
    } else {
        format!("{x:.1e}")
    };
    format!("{s}{suffix}")
}

/// Multiples `m * 10^k` within `lo..=hi`, for every decade the range touches.
fn decade_multiples(lo: f64, hi: f64, multiples: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    if !(lo > 0.0 && hi >= lo && hi.is_finite()) {
        return out;
    }
    for k in (lo.log10().floor() as i32)..=(hi.log10().ceil() as i32) {
        for m in multiples {
            let v = m * 10f64.powi(k);
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
    }
    out
}

/// Labelled ticks of a log axis: 1-2-5 steps, or every 1..9 step on a range too short for them.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let ticks = decade_multiples(lo, hi, &[1.0, 2.0, 5.0]);
    if ticks.len() >= 3 {
        ticks
    } else {
        decade_multiples(lo, hi, &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    }
}

/// Light grid lines of a log axis: every 1..9 step.
fn log_grid(lo: f64, hi: f64) -> Vec<f64> {
    decade_multiples(lo, hi, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
}

/// A log-log chart with one colour per series and a vertical CI bar at each point; lines join
/// the points of a series within one group, `group_names[g]` names the marker of group `g`. The
/// legend stands beside the plot, so it never hides a point.
/// Points with a non-positive x or y are left out (they have no place on a log axis).
pub(crate) fn log_log(
    file: &str,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    group_names: &[String],
) -> Result<Chart, String> {
    let ok = |p: &&Point| p.x > 0.0 && p.y > 0.0 && p.x.is_finite() && p.y.is_finite();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, 0.0_f64, f64::INFINITY, 0.0_f64);
    for p in series.iter().flat_map(|s| s.points.iter()).filter(ok) {
        x0 = x0.min(p.x);
        x1 = x1.max(p.x);
        let lo = if p.lo > 0.0 && p.lo.is_finite() {
            p.lo.min(p.y)
        } else {
            p.y
        };
        let hi = if p.hi.is_finite() { p.hi.max(p.y) } else { p.y };
        y0 = y0.min(lo);
        y1 = y1.max(hi);
    }
    if x1 <= 0.0 || y1 <= 0.0 {
        return Err(format!("cannot draw the {title} chart: no positive points"));
    }
    // at least a factor 4 on each axis, so a narrow range still shows a few labelled ticks
    let widen = |lo: f64, hi: f64| {
        let f = (4.0 / (hi / lo)).max(1.0).sqrt() * 1.3;
        (lo / f, hi * f)
    };
    let ((x0, x1), (y0, y1)) = (widen(x0, x1), widen(y0, y1));
    let e = drawing(title);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, WIDE).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let (plot, legend) = root.split_horizontally(WIDE.0 - LEGEND_W);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, 20))
            .margin(14)
            .x_label_area_size(52)
            .y_label_area_size(76)
            .build_cartesian_2d(
                (x0..x1)
                    .log_scale()
                    .with_key_points(log_ticks(x0, x1))
                    .with_light_points(log_grid(x0, x1)),
                (y0..y1)
                    .log_scale()
                    .with_key_points(log_ticks(y0, y1))
                    .with_light_points(log_grid(y0, y1)),
            )
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|v| human(*v))
            .y_label_formatter(&|v| human(*v))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(&e)?;
        let mut shown = Vec::new();
        for (i, s) in series.iter().enumerate() {
            let color = color(i);
            let mut pts: Vec<(usize, &Point)> = s
                .points
                .iter()
                .enumerate()
                .filter(|(_, p)| ok(p))
                .map(|(k, p)| (s.groups.get(k).copied().unwrap_or(0), p))
                .collect();
            if pts.is_empty() {
                continue;
            }
            shown.push((s.label.as_str(), color));
            pts.sort_by(|a, b| (a.0, a.1.x).partial_cmp(&(b.0, b.1.x)).unwrap());
            for g in pts.chunk_by(|a, b| a.0 == b.0) {
                if g.len() > 1 {
                    let line: Vec<(f64, f64)> = g.iter().map(|(_, p)| (p.x, p.y)).collect();
                    chart
                        .draw_series(LineSeries::new(line, color.stroke_width(2)))
                        .map_err(&e)?;
                }
            }
            for (g, p) in &pts {
                let at = chart.backend_coord(&(p.x, p.y));
                marker(&plot, at, *g, color)?;
            }
            for (_, p) in pts
                .iter()
                .filter(|(_, p)| p.lo > 0.0 && p.hi > p.lo && p.hi.is_finite())
            {
                let (l, r) = (p.x / 1.04, p.x * 1.04);
                let bars = [
                    vec![(p.x, p.lo), (p.x, p.hi)],
                    vec![(l, p.lo), (r, p.lo)],
                    vec![(l, p.hi), (r, p.hi)],
                ];
                chart
                    .draw_series(
                        bars.into_iter()
                            .map(|b| PathElement::new(b, color.stroke_width(1))),
                    )
                    .map_err(&e)?;
            }
        }
        // the legend panel: series (colour), then marker shapes (groups)
        let used: Vec<usize> = {
            let mut g: Vec<usize> = series
                .iter()
                .flat_map(|s| (0..s.points.len()).map(|k| s.groups.get(k).copied().unwrap_or(0)))
                .collect();
            g.sort_unstable();
            g.dedup();
            g
        };
        let marks: Vec<(&str, usize)> = used
            .iter()
            .filter_map(|&g| group_names.get(g).map(|n| (n.as_str(), g)))
            .collect();
        let entries = shown.len() + marks.len() + usize::from(!marks.is_empty());
        let row = ((WIDE.1 as i32 - 60) / entries.max(1) as i32).clamp(9, 20);
        let font = (row - 5).clamp(8, 13);
        let text = |s: &str, at: (i32, i32)| {
            Text::new(
                s.to_string(),
                at,
                TextStyle::from((FONT, font).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
            )
        };
        let mut y = 48;
        for (label, color) in &shown {
            legend
                .draw(&PathElement::new(
                    vec![(10, y), (34, y)],
                    color.stroke_width(3),
                ))
                .map_err(&e)?;
            legend.draw(&text(label, (42, y))).map_err(&e)?;
            y += row;
        }
        if !marks.is_empty() {
            y += row / 2;
            for (name, g) in marks {
                marker(&legend, (22, y), g, BLACK.to_rgba())?;
                legend.draw(&text(name, (42, y))).map_err(&e)?;
                y += row;
            }
        }
        root.present().map_err(&e)?;
    }
    Ok(Chart {
        file: file.into(),
        title: title.into(),
        svg,
    })
}

/// One row of a dot chart: a label, a marker group and a value with its interval.
pub(crate) struct Dot {
    pub label: String,
    pub group: usize,
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// A horizontal dot chart on a log x axis: one row per dot (top to bottom in order) with its
/// interval as a bar, and a dashed-looking reference line at `reference` (e.g. 1 = native).
pub(crate) fn dots(
    file: &str,
    title: &str,
    x_desc: &str,
    rows: &[Dot],
    group_names: &[String],
    reference: f64,
) -> Result<Chart, String> {
    let fine = |x: f64| x > 0.0 && x.is_finite();
    let rows: Vec<&Dot> = rows.iter().filter(|d| fine(d.value)).collect();
    if rows.is_empty() {
        return Err(format!("cannot draw the {title} chart: no positive values"));
    }
    let (mut x0, mut x1) = (reference, reference);
    for d in &rows {
        for v in [d.value, d.lo, d.hi] {
            if fine(v) {
                x0 = x0.min(v);
                x1 = x1.max(v);
            }
        }
    }
    let (x0, x1) = (x0 / 1.3, x1 * 1.3);
    let n = rows.len();
    let height = (90 + 22 * n as u32).max(200);
    let e = drawing(title);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(330)
            .build_cartesian_2d(
                (x0..x1)
                    .log_scale()
                    .with_key_points(log_ticks(x0, x1))
                    .with_light_points(log_grid(x0, x1)),
                -0.5..(n as f64 - 0.5),
            )
            .map_err(&e)?;
        let label_at = |v: &f64| -> String {
            let i = v.round();
            if (v - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            // row 0 at the top
            rows.get(n - 1 - (i as usize).min(n - 1))
                .map(|d| d.label.clone())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .y_labels(n + 1)
            .y_label_formatter(&label_at)
            .x_label_formatter(&|v| format!("{}×", human(*v)))
            .x_desc(x_desc)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 14))
            .disable_y_mesh()
            .draw()
            .map_err(&e)?;
        let grey = RGBColor(120, 120, 120);
        for k in 0..12 {
            let (a, b) = (
                -0.5 + k as f64 * n as f64 / 12.0,
                -0.5 + (k as f64 + 0.5) * n as f64 / 12.0,
            );
            chart
                .draw_series([PathElement::new(
                    vec![(reference, a), (reference, b)],
                    grey.stroke_width(1),
                )])
                .map_err(&e)?;
        }
        for (i, d) in rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let color = color(d.group);
            if fine(d.lo) && fine(d.hi) && d.hi > d.lo {
                chart
                    .draw_series([PathElement::new(
                        vec![(d.lo, y), (d.hi, y)],
                        color.stroke_width(2),
                    )])
                    .map_err(&e)?;
            }
            let at = chart.backend_coord(&(d.value, y));
            marker(&root, at, d.group, color)?;
        }
        let used: BTreeSet<usize> = rows.iter().map(|d| d.group).collect();
        let mut x = SIZE.0 as i32 - 20;
        for g in used.into_iter().rev() {
            let Some(name) = group_names.get(g) else {
                continue;
            };
            let w = 8 * name.len() as i32 + 30;
            x -= w;
            marker(&root, (x, 40), g, color(g))?;
            root.draw(&Text::new(
                name.clone(),
                (x + 10, 40),
                TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(&e)?;
        }
        root.present().map_err(&e)?;
    }
    Ok(Chart {
        file: file.into(),
        title: title.into(),
        svg,
    })
}

/// A line chart over runs (x = run index, labelled `labels[i]`), CI bars, and a red marker at
/// every index in `changes`. `points[i]` is None where run i did not measure the series.
pub(crate) fn over_runs(
    file: &str,
    title: &str,
    y_desc: &str,
    labels: &[String],
    points: &[Option<Point>],
    changes: &[usize],
) -> Result<Chart, String> {
    let k = labels.len().max(1);
    let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in points.iter().flatten() {
        for v in [p.y, p.lo, p.hi] {
            if v.is_finite() {
                y0 = y0.min(v);
                y1 = y1.max(v);
            }
        }
    }
    if !y0.is_finite() || !y1.is_finite() {
        return Err(format!("cannot draw the {title} chart: no points"));
    }
    let pad = ((y1 - y0) * 0.15).max(y1.abs() * 0.05).max(1e-9);
    let y0 = if y0 >= 0.0 {
        (y0 - pad).max(0.0)
    } else {
        y0 - pad
    };
    let y1 = y1 + pad;
    let e = drawing(title);
    let rotate = k > 6;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(14)
            .x_label_area_size(if rotate { 150 } else { 52 })
            .y_label_area_size(76)
            .build_cartesian_2d(-0.5..(k as f64 - 0.5), y0..y1)
            .map_err(&e)?;
        // many runs: the mesh draws no x labels; they are drawn below, turned to read downwards
        let label_at = |v: &f64| -> String {
            let i = v.round();
            if rotate || (v - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            labels.get(i as usize).cloned().unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_labels(k + 1)
            .x_label_formatter(&label_at)
            .label_style((FONT, 12))
            .y_desc(y_desc)
            .y_label_formatter(&|v| human(*v))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(&e)?;
        let blue = color(0);
        // one line per stretch of consecutive runs that measured the series
        let mut stretch: Vec<(f64, f64)> = Vec::new();
        let mut stretches = Vec::new();
        for (i, p) in points.iter().enumerate() {
            match p {
                Some(p) => stretch.push((i as f64, p.y)),
                None => stretches.push(std::mem::take(&mut stretch)),
            }
        }
        stretches.push(stretch);
        for s in stretches.into_iter().filter(|s| !s.is_empty()) {
            chart
                .draw_series(LineSeries::new(s.clone(), blue.stroke_width(2)))
                .map_err(&e)?;
            chart
                .draw_series(s.into_iter().map(|p| Circle::new(p, 4, blue.filled())))
                .map_err(&e)?;
        }
        for (i, p) in points.iter().enumerate() {
            let Some(p) = p else { continue };
            if p.hi > p.lo && p.lo.is_finite() && p.hi.is_finite() {
                let x = i as f64;
                let bars = [
                    vec![(x, p.lo), (x, p.hi)],
                    vec![(x - 0.06, p.lo), (x + 0.06, p.lo)],
                    vec![(x - 0.06, p.hi), (x + 0.06, p.hi)],
                ];
                chart
                    .draw_series(
                        bars.into_iter()
                            .map(|b| PathElement::new(b, blue.stroke_width(1))),
                    )
                    .map_err(&e)?;
            }
        }
        if rotate {
            let style = TextStyle::from((FONT, 12).into_font())
                .transform(FontTransform::Rotate90)
                .pos(Pos::new(HPos::Left, VPos::Center));
            for (i, label) in labels.iter().enumerate() {
                let (px, py) = chart.backend_coord(&(i as f64, y0));
                root.draw(&Text::new(label.as_str(), (px, py + 8), style.clone()))
                    .map_err(&e)?;
            }
        }
        let red = RGBColor(204, 0, 0);
        for &c in changes {
            let Some(Some(p)) = points.get(c) else {
                continue;
            };
            let x = c as f64;
            chart
                .draw_series([PathElement::new(
                    vec![(x - 0.5, y0), (x - 0.5, y1)],
                    red.mix(0.5).stroke_width(1),
                )])
                .map_err(&e)?;
            let marker = EmptyElement::at((x, p.y))
                + Circle::new((0, 0), 8, red.stroke_width(2))
                + Text::new("change", (10, -20), (FONT, 12).into_font().color(&red));
            chart.draw_series([marker]).map_err(&e)?;
        }
        root.present().map_err(&e)?;
    }
    Ok(Chart {
        file: file.into(),
        title: title.into(),
        svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(x: f64, y: f64) -> Point {
        Point {
            x,
            y,
            lo: y * 0.9,
            hi: y * 1.1,
        }
    }

    #[test]
    fn log_ticks_have_labels_on_short_ranges() {
        let close = |a: Vec<f64>, b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x / y - 1.0).abs() < 1e-12)
        };
        let wide = log_ticks(5e3, 3e6);
        assert!(
            close(wide.clone(), &[5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6]),
            "{wide:?}"
        );
        let short = log_ticks(0.25, 1.5);
        assert!(
            close(
                short.clone(),
                &[0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.5]
            ),
            "{short:?}"
        );
        assert!(log_ticks(0.0, 1.0).is_empty());
    }

    #[test]
    fn human_labels() {
        assert_eq!(human(1_500_000.0), "1.50M");
        assert_eq!(human(20_000.0), "20k");
        assert_eq!(human(0.25), "0.25");
        assert_eq!(human(12.5), "12.5");
        assert_eq!(human(3.0e9), "3G");
    }

    #[test]
    fn log_log_writes_text_labels_without_fonts() {
        let s = [
            Series {
                label: "native-ndarray ndarray main".into(),
                points: vec![pt(1e4, 900.0), pt(1e6, 40.0)],
                groups: vec![],
            },
            Series {
                label: "chromium ndarray-simd <main>".into(),
                points: vec![pt(1e4, 400.0), pt(1e6, 15.0), pt(0.0, 3.0)],
                groups: vec![0, 1, 1],
            },
        ];
        let names = vec!["mlp".to_string(), "tm-image".to_string()];
        let c = log_log("t.svg", "Throughput", "parameters", "samples/s", &s, &names).unwrap();
        assert!(c.svg.starts_with("<svg"), "{}", &c.svg[..80]);
        assert_eq!(c.svg.matches("<svg").count(), 1);
        assert!(c.svg.contains("<text"));
        assert!(
            c.svg.contains(">\nThroughput\n</text>"),
            "the caption is SVG text"
        );
        assert!(c.svg.contains("native-ndarray ndarray main"));
        assert!(c.svg.contains("&lt;main&gt;"), "legend text is escaped");
        assert!(c.svg.contains(">\ntm-image\n</text>"), "marker legend");
        assert!(log_log("x.svg", "Empty", "x", "y", &[], &[]).is_err());
    }

    #[test]
    fn over_runs_marks_changes_and_skips_gaps() {
        let labels: Vec<String> = (0..4).map(|i| format!("v{i} 01-0{i}")).collect();
        let pts = vec![
            Some(pt(0.0, 10.0)),
            None,
            Some(pt(2.0, 13.0)),
            Some(pt(3.0, 13.0)),
        ];
        let c = over_runs("h.svg", "step_time", "ms", &labels, &pts, &[2]).unwrap();
        assert!(c.svg.contains(">\nchange\n</text>"));
        assert!(c.svg.contains("v2 01-02"));
        let c = over_runs("h.svg", "step_time", "ms", &labels, &pts, &[]).unwrap();
        assert!(!c.svg.contains(">\nchange\n</text>"));
    }
}
