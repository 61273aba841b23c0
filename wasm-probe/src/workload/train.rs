//! Training a resolved workload: the `Trainer` a target drives and the `Net` a dense or
//! convolutional model is, trained by one loop (`Fit`).

use super::*;

/// One training run in progress. Tensors come back unread so the caller decides when to sync.
pub trait Trainer {
    /// One optimizer step on the next batch; returns the batch loss (shape [1]).
    fn step(&mut self) -> Tensor<1>;
    /// Fraction of the validation set classified correctly (shape [1]).
    fn accuracy(&self) -> Tensor<1>;
    fn steps_per_epoch(&self) -> usize;
    fn dataset_bytes(&self) -> usize;
    /// Runs the engine's multiply-add limit loop once, for a workload whose rate is read
    /// against it, and returns the FLOPs it did. The measurement loop times it right after each
    /// measured step, so both see the same moment's share of the machine.
    fn peak_slice(&mut self) -> Option<u64> {
        None
    }
}

/// A network a `Fit` can train: batch of flat samples in, logits out.
pub trait Net: Module {
    /// Inference forward pass.
    fn forward(&self, x: Tensor<2>) -> Tensor<2>;
    /// Training forward pass; stochastic layers draw from `rng` so every target agrees.
    fn forward_train(&self, x: Tensor<2>, _rng: &mut crate::rng::Rng) -> Tensor<2> {
        self.forward(x)
    }
}

/// The generic training loop state: model, Adam, data, and a seeded batch order.
pub(super) struct Fit<M: Net> {
    /// Taken out for the optimizer step, so the parameters it updates are not shared with a
    /// clone (the fused Adam then moves their buffers instead of copying them).
    model: Option<M>,
    optim: burn::optim::ModuleOptimizer,
    loss: burn::nn::loss::CrossEntropyLoss,
    data: Dataset,
    device: Device,
    lr: f64,
    batch: usize,
    order: Vec<usize>,
    cursor: usize,
    rng: crate::rng::Rng,
}

impl<M: Net> Fit<M> {
    pub(super) fn new(model: M, data: Dataset, w: &Workload, device: &Device, seed: u64) -> Self {
        let order: Vec<usize> = (0..data.train_len()).collect();
        let mut fit = Fit {
            model: Some(model),
            optim: w.optimizer.init(),
            loss: burn::nn::loss::CrossEntropyLossConfig::new().init(device),
            data,
            device: device.clone(),
            lr: w.learning_rate,
            batch: w.batch,
            order,
            cursor: 0,
            rng: crate::rng::Rng::derive(seed, "batches"),
        };
        fit.rng.shuffle(&mut fit.order);
        fit
    }

    fn batch_tensors(&mut self) -> (Tensor<2>, Tensor<1, Int>) {
        let n = self.order.len();
        if self.cursor >= n {
            self.cursor = 0;
            self.rng.shuffle(&mut self.order);
        }
        let end = (self.cursor + self.batch).min(n);
        let f = self.data.features;
        let idx = &self.order[self.cursor..end];
        self.cursor = end;
        let mut x = Vec::with_capacity(idx.len() * f);
        let mut y = Vec::with_capacity(idx.len());
        for &i in idx {
            x.extend_from_slice(&self.data.train_x[i * f..(i + 1) * f]);
            y.push(self.data.train_y[i]);
        }
        let rows = idx.len();
        (
            Tensor::from_data(TensorData::new(x, [rows, f]), &self.device),
            Tensor::from_data(TensorData::new(y, [rows]), &self.device),
        )
    }
}

impl<M: Net> Trainer for Fit<M> {
    fn step(&mut self) -> Tensor<1> {
        let (x, y) = self.batch_tensors();
        let model = self
            .model
            .take()
            .expect("the model is back after every step");
        let logits = model.forward_train(x, &mut self.rng);
        let loss = self.loss.forward(logits, y);
        let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optim.step(self.lr, model, grads));
        loss.detach()
    }

    fn accuracy(&self) -> Tensor<1> {
        let model = self
            .model
            .as_ref()
            .expect("the model is back after every step")
            .valid();
        let f = self.data.features;
        let n = self.data.valid_len();
        if n == 0 {
            return Tensor::zeros([1], &self.device);
        }
        let mut correct: Option<Tensor<1>> = None;
        // Evaluate in chunks so a large validation set never needs one huge activation.
        for start in (0..n).step_by(256) {
            let end = (start + 256).min(n);
            let x = Tensor::<2>::from_data(
                TensorData::new(
                    self.data.valid_x[start * f..end * f].to_vec(),
                    [end - start, f],
                ),
                &self.device,
            );
            let y = Tensor::<1, Int>::from_data(
                TensorData::new(self.data.valid_y[start..end].to_vec(), [end - start]),
                &self.device,
            );
            let pred = model.forward(x).argmax(1).reshape([end - start]);
            let hits = pred.equal(y).float().sum();
            correct = Some(match correct {
                Some(c) => c + hits,
                None => hits,
            });
        }
        correct.unwrap() / n as f32
    }

    fn steps_per_epoch(&self) -> usize {
        self.data.train_len().div_ceil(self.batch)
    }

    fn dataset_bytes(&self) -> usize {
        self.data.bytes()
    }
}
