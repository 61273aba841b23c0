//! A small convolutional net on 32x32x3 images with a width multiplier for its sizes.
//! conv3x3(16w)+relu+maxpool -> conv3x3(32w)+relu+maxpool -> conv3x3(64w)+relu -> global avg pool -> Dense(C).

use super::Net;
use super::dense::glorot;
use crate::rng::Rng;
use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

pub const SIDE: usize = 32;
pub const CHANNELS: usize = 3;
pub const INPUT_FEATURES: usize = SIDE * SIDE * CHANNELS;

/// Channel widths and class count of one CNN size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CnnShape {
    pub widths: [usize; 3],
    pub classes: usize,
}

impl CnnShape {
    pub fn new(mult: usize, classes: usize) -> Self {
        Self {
            widths: [16 * mult, 32 * mult, 64 * mult],
            classes,
        }
    }

    /// (c_in, c_out, output side) of each conv layer.
    fn convs(&self) -> [(usize, usize, usize); 3] {
        let [a, b, c] = self.widths;
        [(CHANNELS, a, SIDE), (a, b, SIDE / 2), (b, c, SIDE / 4)]
    }

    pub fn params(&self) -> u64 {
        let convs: usize = self.convs().iter().map(|&(i, o, _)| i * o * 9 + o).sum();
        (convs + self.widths[2] * self.classes + self.classes) as u64
    }

    pub fn flops_per_step(&self, batch: u64) -> u64 {
        let convs: u64 = self
            .convs()
            .iter()
            .enumerate()
            .map(|(k, &(i, o, side))| {
                let fwd = 2 * batch * (side * side * i * o * 9) as u64;
                if k == 0 { 2 * fwd } else { 3 * fwd }
            })
            .sum();
        convs + 3 * 2 * batch * (self.widths[2] * self.classes) as u64
    }
}

#[derive(Module, Debug)]
pub struct Cnn {
    convs: Vec<Conv2d>,
    pool: MaxPool2d,
    gap: AdaptiveAvgPool2d,
    head: Linear,
}

impl Cnn {
    pub fn new(shape: &CnnShape, device: &Device, seed: u64) -> Self {
        let mut rng = Rng::derive(seed, "cnn-weights");
        let convs = shape
            .convs()
            .iter()
            .map(|&(i, o, _)| {
                let mut conv = Conv2dConfig::new([i, o], [3, 3])
                    .with_padding(PaddingConfig2d::Same)
                    .with_initializer(burn::nn::Initializer::Zeros)
                    .init(device);
                let w = glorot(&mut rng, i * 9, o * 9, o * i * 9);
                conv.weight =
                    Param::from_tensor(Tensor::from_data(TensorData::new(w, [o, i, 3, 3]), device));
                conv.bias = Some(Param::from_tensor(Tensor::zeros([o], device)));
                conv
            })
            .collect();
        let c = shape.widths[2];
        let mut head = LinearConfig::new(c, shape.classes)
            .with_initializer(burn::nn::Initializer::Zeros)
            .init(device);
        head.weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(
                glorot(&mut rng, c, shape.classes, c * shape.classes),
                [c, shape.classes],
            ),
            device,
        ));
        Self {
            convs,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            gap: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            head,
        }
    }
}

impl Net for Cnn {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [b, _] = x.dims();
        let mut x: Tensor<4> = x.reshape([b, CHANNELS, SIDE, SIDE]);
        for (i, conv) in self.convs.iter().enumerate() {
            x = burn::tensor::activation::relu(conv.forward(x));
            if i < 2 {
                x = self.pool.forward(x);
            }
        }
        let c = x.dims()[1];
        self.head.forward(self.gap.forward(x).reshape([b, c]))
    }
}
