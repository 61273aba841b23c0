//! Whether a training fits in wasm32, and what stops it when not.
//!
//! Analytic, from how the probe holds its state (wasm-probe/src/data.rs, optim.rs), checked
//! against the ceilings gapbench measured (docs/findings.md, run ceilings-20261130-013747):
//! - the training samples live in one `Vec<f32>`: one allocation, which wasm32 caps at 2 GiB
//!   (`isize::MAX` bytes); tm-image stopped there at 491,520 samples (417,792 training samples
//!   × 1280 features × 4 bytes = 1.99 GiB, the next trial would pass it);
//! - the whole wasm memory is at most 4 GiB: the samples (training and held out), and 13.5 bytes
//!   a parameter with Adam (300.1M parameters used 3.78 GiB of wasm memory), plus a base.
//!
//! The browser's own memory beside the wasm heap (its PSS less the wasm memory: per engine in
//! the ceilings table) and the run's memory cap are not in this model: a fit that passes here can
//! still stop at the cap; the ceilings search finds that.

use wasm_probe::workload::Workload;

const GIB: f64 = 1073741824.0;
const MIB: f64 = 1048576.0;
/// wasm32's largest single allocation: `isize::MAX` bytes.
pub const SINGLE_BUFFER: f64 = 2147483647.0;
/// wasm32's whole memory: 65,536 pages of 64 KiB.
pub const WASM_MEMORY: f64 = 4.0 * GIB;
/// Wasm memory a parameter costs while training with Adam (3.78 GiB at 300.1M parameters).
pub const BYTES_PER_PARAM_ADAM: f64 = 3.78 * GIB / 300.1e6;
/// The probe's wasm memory before any workload (module, stacks, allocator).
pub const BASE: f64 = 16.0 * MIB;

/// The memory a training needs, and the wall it passes (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    pub train_buffer: f64,
    pub wasm_memory: f64,
    /// Why it cannot train in wasm32; None when it fits.
    pub wall: Option<String>,
}

impl Footprint {
    pub fn describe(&self) -> String {
        let base = format!(
            "training buffer {:.0} MiB, wasm memory about {:.0} MiB",
            self.train_buffer / MIB,
            self.wasm_memory / MIB
        );
        match &self.wall {
            None => format!("{base}: fits in wasm32"),
            Some(w) => format!("{base}: does not fit: {w}"),
        }
    }
}

/// The optimizer's wasm memory a parameter (Adam measured; the others scaled by their state).
fn bytes_per_param(w: &Workload) -> f64 {
    let state = super::state_bytes(w) / w.params().max(1) as f64;
    BYTES_PER_PARAM_ADAM * state / 16.0
}

/// The footprint of training `w` (its data spec and parameters) in the probe.
pub fn footprint(w: &Workload) -> Footprint {
    let d = &w.data;
    let held = ((d.samples_per_class as f64 * d.holdout).round() as usize)
        .min(d.samples_per_class.saturating_sub(1));
    let train = d.classes * (d.samples_per_class - held);
    let sample_bytes = d.features as f64 * 4.0;
    let train_buffer = train as f64 * sample_bytes;
    let data = (d.classes * d.samples_per_class) as f64 * sample_bytes;
    let wasm_memory = BASE + data + bytes_per_param(w) * w.params() as f64;
    let wall = if train_buffer > SINGLE_BUFFER {
        let most = (SINGLE_BUFFER / sample_bytes).floor() as u64;
        Some(format!(
            "the training buffer ({train} samples × {} features × 4 bytes = {:.2} GiB) would pass wasm32's 2 GiB single allocation, which holds at most {most} training samples",
            d.features,
            train_buffer / GIB
        ))
    } else if wasm_memory > WASM_MEMORY {
        Some(format!(
            "about {:.2} GiB of wasm memory ({:.2} GiB of samples, {:.2} GiB for {} parameters and the optimizer) would pass wasm32's 4 GiB",
            wasm_memory / GIB,
            data / GIB,
            bytes_per_param(w) * w.params() as f64 / GIB,
            w.params()
        ))
    } else {
        None
    };
    Footprint {
        train_buffer,
        wasm_memory,
        wall,
    }
}

/// The most samples (all classes, before the held-out split) of `w`'s kind that fit in wasm32,
/// and which wall stops the next: the 2 GiB training buffer or the 4 GiB memory.
pub fn max_samples(w: &Workload) -> (u64, &'static str) {
    let d = &w.data;
    let sample_bytes = d.features as f64 * 4.0;
    // The training split is what lives in one buffer: the held-out share is rounded per class.
    let by_buffer = ((SINGLE_BUFFER / sample_bytes).floor() / (1.0 - d.holdout)).floor();
    let by_memory =
        ((WASM_MEMORY - BASE - bytes_per_param(w) * w.params() as f64) / sample_bytes).floor();
    if by_buffer <= by_memory {
        (by_buffer.max(0.0) as u64, "wasm32's 2 GiB training buffer")
    } else {
        (by_memory.max(0.0) as u64, "wasm32's 4 GiB memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_probe::workload::WorkloadSpec;

    fn resolve(workload: &str, size: &str, data: Option<(usize, usize)>) -> Workload {
        Workload::resolve(&WorkloadSpec {
            workload: workload.into(),
            size: size.into(),
            classes: data.map(|d| d.0),
            samples_per_class: data.map(|d| d.1),
        })
        .unwrap()
    }

    #[test]
    fn the_measured_ceilings_are_where_the_walls_fall() {
        // tm-image trained at 3 × 163,840 = 491,520 samples and stopped above.
        let ok = footprint(&resolve("tm-image", "default", Some((3, 163_840))));
        assert!(ok.wall.is_none(), "{}", ok.describe());
        let over = footprint(&resolve("tm-image", "default", Some((3, 200_000))));
        let wall = over.wall.unwrap();
        assert!(wall.contains("2 GiB single allocation"), "{wall}");
        // 300m trains (3.78 GiB); nothing in the catalog passes 4 GiB by parameters alone.
        let (most, wall) = max_samples(&resolve("tm-image", "default", Some((3, 300))));
        assert_eq!((most, wall), (493_447, "wasm32's 2 GiB training buffer"));
        let big = footprint(&resolve("mlp", "300m", None));
        assert!(big.wall.is_none(), "{}", big.describe());
        assert!(big.wasm_memory > 3.5 * GIB && big.wasm_memory < 4.0 * GIB);
    }
}
