//! Adam fused into one pass over host memory, on the CPU backends (ndarray, flex).
//!
//! burn's `Adam` updates each parameter with about a dozen whole-tensor operations (scale the two
//! moments, square the gradient, add, square root, divide, scale, subtract), several of which
//! allocate a tensor of the parameter's size. At MLP 30m that was half of a native training step
//! (profiled with `perf`, see docs/findings.md, "Native burn vs TF-Keras"); TF-Keras runs a fused
//! `ResourceApplyAdam` kernel in place. This optimizer computes exactly burn's formula, in the
//! same order, element by element in one loop over the parameter, its gradient and the two
//! moments, moving the tensors' buffers in and out without copies where they are not shared. On
//! a GPU backend (wgpu, WebGPU) reading buffers back would cost more than it saves, so it defers
//! to burn's `Adam` there. With a pool (`threads = N`, src/threads.rs) the loop runs in N chunks,
//! one per thread.

use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::prelude::*;

/// Adam with burn's update rule (TF.js' epsilon), fused on host memory.
#[derive(Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    /// burn's own, for devices whose memory is not the host's.
    unfused: Adam,
}

impl FusedAdam {
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        FusedAdam {
            beta_1,
            beta_2,
            epsilon,
            unfused: AdamConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_epsilon(epsilon)
                .build(),
        }
    }
}

/// Whether the device's tensors live in host memory, so reading them as slices is free.
#[allow(deprecated, unused_variables)]
fn on_host(device: &Device) -> bool {
    let device = device.clone().inner();
    #[cfg(feature = "ndarray")]
    if device == Device::ndarray() {
        return true;
    }
    #[cfg(feature = "flex")]
    if device == Device::flex() {
        return true;
    }
    false
}

/// A float tensor's values as an owned `Vec` (moved out when the buffer is not shared).
fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("a float tensor reads back as f32")
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = tensor.device();
        if !on_host(&device) {
            return self.unfused.step(lr, tensor, grad, state);
        }
        let shape = tensor.shape();
        let mut p = values(tensor);
        let g = values(grad);
        // No state yet is zero moments: b·0 + x is exactly x, so this matches burn's first step.
        let (time, mut m, mut v) = match state {
            Some(s) => {
                let s = s.momentum;
                (s.time + 1, values(s.moment_1), values(s.moment_2))
            }
            None => (1, vec![0.0; p.len()], vec![0.0; p.len()]),
        };
        // burn's AdaptiveMomentum::transform and Adam::step, scalars computed the same way.
        let (b1, b2) = (self.beta_1, self.beta_2);
        let (f1, f2) = (1.0 - b1, 1.0 - b2);
        let bias_correction2_sqrt = (1.0 - b2.powi(time as i32)).sqrt();
        let combined = bias_correction2_sqrt / (1.0 - b1.powi(time as i32));
        let eps = self.epsilon * bias_correction2_sqrt;
        let lr = lr as f32;
        // Element by element, so the pool (threads = N) may take it in chunks: same numbers.
        crate::threads::zip4(&mut p, &g, &mut m, &mut v, |p, g, m, v| {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
                *m = *m * b1 + g * f1;
                *v = *v * b2 + g * g * f2;
                let update = *m * combined / (v.sqrt() + eps);
                *p -= update * lr;
            }
        });
        let tensor =
            |x: Vec<f32>| Tensor::<D>::from_data(TensorData::new(x, shape.clone()), &device);
        let momentum = AdaptiveMomentumState::new(time, tensor(m), tensor(v));
        (tensor(p), Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Adam as Optimizer>::to_device(state, device)
    }
}

#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    #[allow(deprecated)]
    fn matches_burns_adam_bit_for_bit() {
        let device = Device::ndarray();
        let fused = FusedAdam::new(0.9, 0.999, 1e-7);
        let burn = AdamConfig::new().with_epsilon(1e-7).build();
        let mut rng = Rng::new(3);
        let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.symmetric(1.0)).collect() };
        let t = |x: Vec<f32>| Tensor::<2>::from_data(TensorData::new(x, [5, 7]), &device);
        let start = draw(35);
        let (mut a, mut b) = (t(start.clone()), t(start));
        let (mut sa, mut sb) = (None, None);
        for _ in 0..6 {
            let g = draw(35);
            (a, sa) = fused.step(1e-3, a, t(g.clone()), sa);
            (b, sb) = burn.step(1e-3, b, t(g), sb);
        }
        let (a, b) = (values(a), values(b));
        assert_ne!(a, draw(35), "the parameters moved");
        let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "{a:?}\n{b:?}");
        let (ma, mb) = (sa.unwrap().momentum, sb.unwrap().momentum);
        assert_eq!(ma.time, mb.time);
        assert_eq!(bits(&values(ma.moment_2)), bits(&values(mb.moment_2)));
    }
}
