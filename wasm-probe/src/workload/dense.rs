//! Fully connected networks: the Teachable Machine heads and the MLP size sweep.
//! ReLU between layers; the last layer's logits go to softmax cross-entropy.

use super::Net;
use crate::rng::Rng;
use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// One dense layer's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DenseLayer {
    pub d_in: usize,
    pub d_out: usize,
    pub bias: bool,
    /// Dropout rate applied to this layer's activations during training (0 = none).
    pub dropout: f32,
}

impl DenseLayer {
    pub fn params(&self) -> u64 {
        (self.d_in * self.d_out + if self.bias { self.d_out } else { 0 }) as u64
    }
}

#[derive(Module, Debug)]
pub struct DenseNet {
    layers: Vec<Linear>,
    #[module(skip)]
    dropout: Vec<f32>,
}

/// Glorot-uniform weights and zero biases (Keras' defaults, as TF.js uses), from our own RNG.
pub(crate) fn glorot(rng: &mut Rng, fan_in: usize, fan_out: usize, count: usize) -> Vec<f32> {
    let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
    (0..count).map(|_| rng.symmetric(limit)).collect()
}

impl DenseNet {
    pub fn new(shape: &[DenseLayer], device: &Device, seed: u64) -> Self {
        let mut rng = Rng::derive(seed, "dense-weights");
        let layers = shape
            .iter()
            .map(|l| {
                let mut linear = LinearConfig::new(l.d_in, l.d_out)
                    .with_bias(l.bias)
                    .with_initializer(burn::nn::Initializer::Zeros)
                    .init(device);
                let w = glorot(&mut rng, l.d_in, l.d_out, l.d_in * l.d_out);
                linear.weight = Param::from_tensor(Tensor::from_data(
                    TensorData::new(w, [l.d_in, l.d_out]),
                    device,
                ));
                if l.bias {
                    linear.bias = Some(Param::from_tensor(Tensor::zeros([l.d_out], device)));
                }
                linear
            })
            .collect();
        Self {
            layers,
            dropout: shape.iter().map(|l| l.dropout).collect(),
        }
    }
}

impl DenseNet {
    fn run(&self, x: Tensor<2>, mut rng: Option<&mut Rng>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        let mut x = x;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = burn::tensor::activation::relu(x);
            }
            let rate = self.dropout[i];
            if let (true, Some(rng)) = (rate > 0.0, rng.as_deref_mut()) {
                // Inverted dropout with a mask from our RNG, identical on every target.
                let [b, n] = x.dims();
                let keep = 1.0 / (1.0 - rate);
                let mask: Vec<f32> = (0..b * n)
                    .map(|_| if rng.uniform() < rate { 0.0 } else { keep })
                    .collect();
                x = x * Tensor::from_data(TensorData::new(mask, [b, n]), &layer.weight.device());
            }
        }
        x
    }
}

impl Net for DenseNet {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.run(x, None)
    }

    fn forward_train(&self, x: Tensor<2>, rng: &mut Rng) -> Tensor<2> {
        self.run(x, Some(rng))
    }
}
