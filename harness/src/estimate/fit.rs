//! The cost model's fit: time per training step as `a + b·FLOPs + c·bytes`, with `a, b, c ≥ 0`,
//! fitted to a platform's measured cases by least squares on *relative* errors (a 10% miss on a
//! 0.1 ms step counts as much as on a 100 ms one).
//!
//! `a` is the per-step overhead (dispatch, the JS boundary, allocation), `b` the inverse of the
//! platform's sustained FLOP rate on these shapes, `c` the cost of each byte of parameter state
//! the optimizer streams (weights, gradients and Adam's two moments: 16 bytes a parameter).
//! Non-negativity is kept by trying every subset of the three terms and keeping the best fit
//! whose coefficients are all ≥ 0 (seven small solves: exact for three unknowns).

/// One measured case: its features and its median time.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The first feature: training FLOPs per step (forward + backward), from the workload. (The
    /// setup model puts the data set's bytes here.)
    pub flops: f64,
    /// The second: bytes of optimizer state streamed per step (weights, gradients, moments).
    pub bytes: f64,
    /// Median measured time, ms.
    pub ms: f64,
    /// What the point is (workload and size), for held-out validation and messages.
    pub label: String,
    /// Its workload: a size is predicted from its own workload's other sizes when there are two.
    pub family: String,
}

/// A fitted model: `ms = overhead_ms + ms_per_gflop·GFLOPs + ms_per_mib·MiB`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    pub overhead_ms: f64,
    pub ms_per_gflop: f64,
    pub ms_per_mib: f64,
}

const GFLOP: f64 = 1e9;
const MIB: f64 = 1048576.0;

impl Model {
    pub fn predict(&self, flops: f64, bytes: f64) -> f64 {
        self.overhead_ms + self.ms_per_gflop * flops / GFLOP + self.ms_per_mib * bytes / MIB
    }

    /// The sustained GFLOP/s the fit implies (infinite when FLOPs cost nothing in it).
    pub fn gflops(&self) -> f64 {
        if self.ms_per_gflop > 0.0 {
            1000.0 / self.ms_per_gflop
        } else {
            f64::INFINITY
        }
    }

    /// GFLOP/s past the overhead at one size, the FLOP and state terms together: within one
    /// workload the two grow together (an MLP's FLOPs and parameters are proportional), so the
    /// fit's split between them is arbitrary and only their sum means something.
    pub fn effective_gflops(&self, flops: f64, bytes: f64) -> f64 {
        let ms = self.predict(flops, bytes) - self.overhead_ms;
        if ms > 0.0 {
            flops / GFLOP / (ms / 1000.0)
        } else {
            f64::INFINITY
        }
    }
}

fn features(p: &Point) -> [f64; 3] {
    [1.0, p.flops / GFLOP, p.bytes / MIB]
}

/// Solve the small symmetric system `m·x = v` by Gaussian elimination with partial pivoting;
/// None when it is singular.
fn solve(mut m: Vec<Vec<f64>>, mut v: Vec<f64>) -> Option<Vec<f64>> {
    let n = v.len();
    // Singular relative to each column's own scale (the features' units differ by many orders).
    let scale: Vec<f64> = (0..n)
        .map(|c| m.iter().map(|r| r[c].abs()).fold(0.0, f64::max))
        .collect();
    for col in 0..n {
        let piv = (col..n).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[piv][col].abs() <= 1e-12 * scale[col] || scale[col] == 0.0 {
            return None;
        }
        m.swap(col, piv);
        v.swap(col, piv);
        let pivot_row = m[col].clone();
        for row in col + 1..n {
            let f = m[row][col] / pivot_row[col];
            for (a, b) in m[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *a -= f * b;
            }
            v[row] -= f * v[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| m[row][k] * x[k]).sum();
        x[row] = (v[row] - s) / m[row][row];
    }
    Some(x)
}

/// The sum of squared relative errors of `model` over `points`.
pub fn relative_sse(model: &Model, points: &[Point]) -> f64 {
    points
        .iter()
        .map(|p| ((model.predict(p.flops, p.bytes) - p.ms) / p.ms).powi(2))
        .sum()
}

/// Fit the model to `points` (each with a positive step time). None with no usable point.
pub fn fit(points: &[Point]) -> Option<Model> {
    let points: Vec<&Point> = points
        .iter()
        .filter(|p| p.ms.is_finite() && p.ms > 0.0)
        .collect();
    if points.is_empty() {
        return None;
    }
    let mut best: Option<(f64, Model)> = None;
    for mask in 1u8..8 {
        let terms: Vec<usize> = (0..3).filter(|i| mask & (1 << i) != 0).collect();
        if terms.len() > points.len() {
            continue;
        }
        // Normal equations of the weighted problem: row x_i / t_i, target 1.
        let k = terms.len();
        let mut m = vec![vec![0.0; k]; k];
        let mut v = vec![0.0; k];
        for p in &points {
            let f = features(p);
            for (a, &ta) in terms.iter().enumerate() {
                let xa = f[ta] / p.ms;
                v[a] += xa;
                for (b, &tb) in terms.iter().enumerate() {
                    m[a][b] += xa * f[tb] / p.ms;
                }
            }
        }
        let Some(x) = solve(m, v) else { continue };
        if x.iter().any(|c| !c.is_finite() || *c < 0.0) {
            continue;
        }
        let mut c = [0.0; 3];
        for (a, &t) in terms.iter().enumerate() {
            c[t] = x[a];
        }
        let model = Model {
            overhead_ms: c[0],
            ms_per_gflop: c[1],
            ms_per_mib: c[2],
        };
        let owned: Vec<Point> = points.iter().map(|p| (*p).clone()).collect();
        let sse = relative_sse(&model, &owned);
        if best.as_ref().is_none_or(|(b, _)| sse < *b) {
            best = Some((sse, model));
        }
    }
    best.map(|(_, m)| m)
}

/// The points a prediction for `family` fits on: that workload's own when it has at least two,
/// all of them otherwise (a Teachable-Machine head and a wide MLP use the GEMM at very different
/// shapes, so one straight line over both misses the small one).
pub fn fit_for(points: &[Point], family: &str) -> Option<Model> {
    let own: Vec<Point> = points
        .iter()
        .filter(|p| p.family == family)
        .cloned()
        .collect();
    if own.len() >= 2 {
        fit(&own)
    } else {
        fit(points)
    }
}

/// Held out by size: for every distinct label, fit on the other labels' points ([`fit_for`]) and
/// predict the held-out ones. Returns (label, measured ms, predicted ms) per held-out point; a
/// label whose complement has fewer than two points is not predicted.
pub fn leave_one_size_out(points: &[Point]) -> Vec<(String, f64, f64)> {
    let mut labels: Vec<&str> = points.iter().map(|p| p.label.as_str()).collect();
    labels.sort();
    labels.dedup();
    let mut out = Vec::new();
    for label in labels {
        let rest: Vec<Point> = points
            .iter()
            .filter(|p| p.label != label)
            .cloned()
            .collect();
        if rest.len() < 2 {
            continue;
        }
        for p in points.iter().filter(|p| p.label == label) {
            let Some(model) = fit_for(&rest, &p.family) else {
                continue;
            };
            out.push((label.to_string(), p.ms, model.predict(p.flops, p.bytes)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(flops: f64, bytes: f64, ms: f64, label: &str) -> Point {
        Point {
            flops,
            bytes,
            ms,
            label: label.into(),
            family: "mlp".into(),
        }
    }

    #[test]
    fn recovers_a_known_model() {
        let truth = Model {
            overhead_ms: 0.2,
            ms_per_gflop: 50.0,
            ms_per_mib: 0.01,
        };
        let pts: Vec<Point> = [(1e7, 1e6), (1e8, 4e6), (1e9, 3e7), (1e10, 1e8), (3e7, 5e7)]
            .iter()
            .enumerate()
            .map(|(i, &(f, b))| pt(f, b, truth.predict(f, b), &format!("s{i}")))
            .collect();
        let m = fit(&pts).unwrap();
        assert!((m.overhead_ms - 0.2).abs() < 1e-6, "{m:?}");
        assert!((m.ms_per_gflop - 50.0).abs() < 1e-6, "{m:?}");
        assert!((m.ms_per_mib - 0.01).abs() < 1e-6, "{m:?}");
        assert!((m.gflops() - 20.0).abs() < 1e-6);
        // Held out by size, an exact model predicts every size exactly.
        for (label, measured, predicted) in leave_one_size_out(&pts) {
            assert!(
                (measured - predicted).abs() / measured < 1e-6,
                "{label}: {measured} vs {predicted}"
            );
        }
    }

    #[test]
    fn coefficients_stay_non_negative() {
        // Step times that fall with FLOPs would need a negative rate: the fit drops that term.
        let pts = vec![
            pt(1e6, 0.0, 2.0, "a"),
            pt(1e9, 0.0, 1.0, "b"),
            pt(1e8, 0.0, 1.5, "c"),
        ];
        let m = fit(&pts).unwrap();
        assert!(m.overhead_ms >= 0.0 && m.ms_per_gflop >= 0.0 && m.ms_per_mib >= 0.0);
        assert!(m.overhead_ms > 1.0 && m.overhead_ms < 2.0, "{m:?}");
    }

    #[test]
    fn a_size_is_predicted_from_its_own_workload_when_it_can_be() {
        // Two workloads on different lines: mlp at 10 GFLOP/s, tm at 1 ms + 1 GFLOP/s.
        let mut pts: Vec<Point> = [1e8, 1e9, 1e10]
            .iter()
            .map(|&f| pt(f, 0.0, f / 1e7, &format!("mlp {f}")))
            .collect();
        for (i, f) in [1e6, 2e6, 4e6].iter().enumerate() {
            let mut p = pt(*f, 0.0, 1.0 + f / 1e6, &format!("tm {i}"));
            p.family = "tm".into();
            pts.push(p);
        }
        for (label, measured, predicted) in leave_one_size_out(&pts) {
            assert!(
                (predicted / measured - 1.0).abs() < 1e-6,
                "{label}: {measured} vs {predicted}"
            );
        }
    }

    #[test]
    fn nothing_to_fit_is_none() {
        assert!(fit(&[]).is_none());
        assert!(fit(&[pt(1e6, 1e3, 0.0, "zero")]).is_none());
        // Two sizes: held out, each leaves one point, too few to predict from.
        let two = vec![pt(1e6, 1e3, 1.0, "a"), pt(1e7, 1e4, 2.0, "b")];
        assert!(leave_one_size_out(&two).is_empty());
    }
}
