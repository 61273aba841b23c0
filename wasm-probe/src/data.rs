//! Deterministic, learnable synthetic data sets: class-conditional Gaussians around seeded means.
//! Samples are held in one flat `Vec<f32>`, the way in-browser training apps hold them.

use crate::rng::Rng;

/// A labelled data set split into training and validation parts.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub features: usize,
    pub classes: usize,
    pub train_x: Vec<f32>,
    pub train_y: Vec<i64>,
    pub valid_x: Vec<f32>,
    pub valid_y: Vec<i64>,
}

/// How to make a data set (peers receive it in the case spec, [`crate::workload::Resolved`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataSpec {
    pub features: usize,
    pub classes: usize,
    pub samples_per_class: usize,
    /// Fraction of each class held out for validation.
    pub holdout: f64,
    /// Spread of the class means (per feature); noise has unit variance.
    pub separation: f32,
    /// Make the features non-negative (like ReLU-pooled embeddings).
    pub non_negative: bool,
}

impl Dataset {
    pub fn train_len(&self) -> usize {
        self.train_y.len()
    }

    pub fn valid_len(&self) -> usize {
        self.valid_y.len()
    }

    pub fn bytes(&self) -> usize {
        (self.train_x.len() + self.valid_x.len()) * 4
    }

    /// Build the data set; the same spec and seed give the same bytes on every target.
    pub fn synthesize(spec: &DataSpec, seed: u64) -> Self {
        let mut rng = Rng::derive(seed, "data");
        let f = spec.features;
        let means: Vec<f32> = (0..spec.classes * f)
            .map(|_| rng.normal() * spec.separation)
            .collect();
        let held = ((spec.samples_per_class as f64) * spec.holdout).round() as usize;
        let held = held.min(spec.samples_per_class.saturating_sub(1));
        let mut ds = Dataset {
            features: f,
            classes: spec.classes,
            train_x: Vec::with_capacity(spec.classes * (spec.samples_per_class - held) * f),
            train_y: Vec::new(),
            valid_x: Vec::with_capacity(spec.classes * held * f),
            valid_y: Vec::new(),
        };
        for c in 0..spec.classes {
            let mean = &means[c * f..(c + 1) * f];
            for s in 0..spec.samples_per_class {
                let (xs, ys) = if s < held {
                    (&mut ds.valid_x, &mut ds.valid_y)
                } else {
                    (&mut ds.train_x, &mut ds.train_y)
                };
                xs.extend(mean.iter().map(|m| {
                    let v = m + rng.normal();
                    if spec.non_negative { v.max(0.0) } else { v }
                }));
                ys.push(c as i64);
            }
        }
        ds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sizes_and_determinism() {
        let spec = DataSpec {
            features: 8,
            classes: 3,
            samples_per_class: 20,
            holdout: 0.15,
            separation: 1.0,
            non_negative: false,
        };
        let a = Dataset::synthesize(&spec, 1);
        assert_eq!(a.valid_len(), 9); // 3 per class
        assert_eq!(a.train_len(), 51);
        assert_eq!(a.train_x.len(), 51 * 8);
        assert_eq!(a.train_x, Dataset::synthesize(&spec, 1).train_x);
        assert_ne!(a.train_x, Dataset::synthesize(&spec, 2).train_x);
    }
}
