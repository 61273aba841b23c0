//! The reference training workloads, written once and run on every target.
//! A workload is resolved from a name and a size preset; `build` makes a trainer on any `Device`.

mod cnn;
mod dense;
pub(crate) mod gemm;
mod presets;
mod train;

use crate::data::{DataSpec, Dataset};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

pub use cnn::CnnShape;
pub use dense::DenseLayer;
pub use gemm::{GemmShape, PEAK_ITERS};
pub use presets::*;
pub use train::*;

/// One named size of a workload.
#[derive(Debug, Clone, Serialize)]
pub struct Preset {
    pub name: &'static str,
    pub about: &'static str,
}

/// What `gapbench list` shows about a workload.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadInfo {
    pub name: &'static str,
    pub about: &'static str,
    pub presets: Vec<Preset>,
    pub default_size: &'static str,
}

/// A request for one workload instance; travels as JSON to the wasm probe and the peers. Its
/// JSON carries the workload as [`Workload::resolve`] resolves it (`resolved`, [`Resolved`]),
/// which the JS and Python peers build from; it is read back as the request alone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(into = "WorkloadWire")]
pub struct WorkloadSpec {
    pub workload: String,
    pub size: String,
    #[serde(default)]
    pub classes: Option<usize>,
    #[serde(default)]
    pub samples_per_class: Option<usize>,
}

/// [`WorkloadSpec`] as it is written: the request and its resolution (absent for what is not a
/// workload of the probe, e.g. a page task, or a request that does not resolve).
#[derive(Serialize)]
struct WorkloadWire {
    workload: String,
    size: String,
    classes: Option<usize>,
    samples_per_class: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved: Option<Resolved>,
}

impl From<WorkloadSpec> for WorkloadWire {
    fn from(spec: WorkloadSpec) -> Self {
        let resolved = Workload::resolve(&spec).ok().map(|w| w.describe());
        WorkloadWire {
            workload: spec.workload,
            size: spec.size,
            classes: spec.classes,
            samples_per_class: spec.samples_per_class,
            resolved,
        }
    }
}

/// The network architecture of a resolved workload.
#[derive(Debug, Clone)]
pub enum Arch {
    Dense(Vec<DenseLayer>),
    Cnn(CnnShape),
    /// Not a network: one matrix product (or the multiply-add limit) per step.
    Gemm(GemmShape),
}

/// The optimizer of a workload, with TF.js' defaults (epsilon 1e-7, RMSProp decay 0.9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    Adam,
    RmsProp,
    Sgd,
}

impl Optimizer {
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Adam => "adam",
            Optimizer::RmsProp => "rmsprop",
            Optimizer::Sgd => "sgd",
        }
    }

    /// The implementation that runs under [`Optimizer::name`] (for the run manifest).
    pub fn implementation(&self) -> &'static str {
        match self {
            Optimizer::Adam => {
                "FusedAdam (wasm-probe/src/optim.rs: burn's Adam update fused into one pass over host memory on ndarray and flex; burn::optim::Adam on wgpu and WebGPU), beta1 0.9, beta2 0.999, epsilon 1e-7"
            }
            Optimizer::RmsProp => "burn::optim::RmsProp, alpha 0.9, momentum 0, epsilon 1e-7",
            Optimizer::Sgd => "burn::optim::Sgd",
        }
    }

    /// Its settings with `learning_rate`, as the probe trains and a peer must set them.
    pub fn settings(&self, learning_rate: f64) -> OptimizerSettings {
        let none = OptimizerSettings {
            name: self.name().into(),
            learning_rate,
            beta1: None,
            beta2: None,
            rho: None,
            momentum: None,
            epsilon: None,
        };
        match self {
            Optimizer::Adam => OptimizerSettings {
                beta1: Some(0.9),
                beta2: Some(0.999),
                epsilon: Some(1e-7),
                ..none
            },
            Optimizer::RmsProp => OptimizerSettings {
                rho: Some(0.9),
                momentum: Some(0.0),
                epsilon: Some(1e-7),
                ..none
            },
            Optimizer::Sgd => none,
        }
    }

    fn init(&self) -> burn::optim::ModuleOptimizer {
        let s = self.settings(0.0);
        let (b1, b2, eps) = (
            s.beta1.unwrap_or_default(),
            s.beta2.unwrap_or_default(),
            s.epsilon.unwrap_or_default(),
        );
        match self {
            // burn's Adam, fused into one pass on the CPU backends (crate::optim).
            Optimizer::Adam => burn::optim::ModuleOptimizer::from(crate::optim::FusedAdam::new(
                b1 as f32, b2 as f32, eps as f32,
            )),
            Optimizer::RmsProp => burn::optim::RmsPropConfig::new()
                .with_alpha(s.rho.unwrap_or_default() as f32)
                .with_momentum(s.momentum.unwrap_or_default() as f32)
                .with_epsilon(eps as f32)
                .init(),
            Optimizer::Sgd => burn::optim::SgdConfig::new().init(),
        }
    }
}

/// An optimizer's settings as a peer receives them (unset: not a setting of this optimizer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerSettings {
    /// `adam`, `rmsprop` or `sgd`.
    pub name: String,
    pub learning_rate: f64,
    pub beta1: Option<f64>,
    pub beta2: Option<f64>,
    /// RMSProp's decay of the squared-gradient average (burn's `alpha`, Keras's `rho`).
    pub rho: Option<f64>,
    pub momentum: Option<f64>,
    pub epsilon: Option<f64>,
}

/// One dense layer as a peer builds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSettings {
    pub d_in: usize,
    pub d_out: usize,
    pub bias: bool,
    /// `relu` between layers; the last layer's is the head's: `softmax` or `linear` (logits).
    pub activation: String,
    /// Dropout rate on this layer's activations while training (0: none).
    pub dropout: f32,
}

/// A resolved workload as the peers receive it: every JS and Python peer reads the model, the
/// recipe, the data and the counts from here (the case spec's `resolved`), so the presets and
/// recipes exist once, in [`Workload::resolve`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    pub name: String,
    /// The preset, `default` resolved to the workload's default size.
    pub size: String,
    /// `dense` (with `layers`), `cnn` or `gemm` (no layers: not written for the peers).
    pub arch: String,
    pub layers: Vec<LayerSettings>,
    pub batch: usize,
    /// Epochs of the reference recipe.
    pub epochs: u32,
    pub optimizer: OptimizerSettings,
    /// Always categorical cross-entropy, mean over the batch; on the logits when `from_logits`
    /// (the head is `linear`), on the softmax's probabilities otherwise.
    pub loss: LossSettings,
    pub data: DataSpec,
    /// [`Workload::params`] and [`Workload::flops_per_step`]: a peer reports these, so that
    /// every record counts the same way.
    pub params: u64,
    pub flops_per_step: u64,
}

/// The loss of a resolved workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossSettings {
    /// `categorical_crossentropy`.
    pub name: String,
    pub from_logits: bool,
}

/// A fully resolved workload: architecture, optimizer settings and data.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub size: String,
    pub arch: Arch,
    pub batch: usize,
    pub optimizer: Optimizer,
    pub learning_rate: f64,
    /// Epochs of the reference training recipe (Teachable Machine trains 50).
    pub epochs: u32,
    pub data: DataSpec,
    /// The output layer as the reference model defines it (what peers build).
    pub head: Head,
}

/// How the reference model ends. Teachable Machine's heads end in a softmax layer and train on
/// its probabilities (Keras's `categoricalCrossentropy`); the MLP and the CNN end in logits
/// (softmax cross-entropy on logits). burn trains both as softmax cross-entropy on the logits,
/// the same function; a peer builds the model the way its reference defines it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Head {
    Softmax,
    Logits,
}

fn tm_data(features: usize, spec: &WorkloadSpec, non_negative: bool) -> DataSpec {
    DataSpec {
        features,
        classes: spec.classes.unwrap_or(3),
        samples_per_class: spec.samples_per_class.unwrap_or(300),
        holdout: 0.15,
        separation: 0.15,
        non_negative,
    }
}

impl Workload {
    /// Resolve a spec into a concrete workload, or say what was wrong.
    pub fn resolve(spec: &WorkloadSpec) -> Result<Workload, String> {
        let info = catalog()
            .into_iter()
            .find(|w| w.name == spec.workload)
            .ok_or_else(|| format!("unknown workload `{}`", spec.workload))?;
        let size = if spec.size == "default" {
            info.default_size
        } else {
            spec.size.as_str()
        };
        if !info.presets.iter().any(|p| p.name == size) {
            let names: Vec<_> = info.presets.iter().map(|p| p.name).collect();
            return Err(format!(
                "unknown size `{size}` for workload `{}` (expected one of: {})",
                spec.workload,
                names.join(", ")
            ));
        }
        if let Some(c) = spec.classes.filter(|&c| c < 2) {
            return Err(format!("classes must be >= 2, found {c}"));
        }
        if spec.samples_per_class == Some(0) {
            return Err("samples_per_class must be >= 1".into());
        }
        let dense = |layers: &[(usize, usize, bool)]| {
            Arch::Dense(
                layers
                    .iter()
                    .map(|&(d_in, d_out, bias)| DenseLayer {
                        d_in,
                        d_out,
                        bias,
                        dropout: 0.0,
                    })
                    .collect(),
            )
        };
        let w = match info.name {
            "tm-image" | "tm-pose" => {
                let pose = info.name == "tm-pose";
                let features = if pose { 14739 } else { 1280 };
                let data = tm_data(features, spec, !pose);
                let mut arch = dense(&[(features, 100, true), (100, data.classes, false)]);
                if let (true, Arch::Dense(layers)) = (pose, &mut arch) {
                    layers[0].dropout = 0.5;
                }
                Workload {
                    arch,
                    batch: 16,
                    optimizer: if pose {
                        Optimizer::RmsProp
                    } else {
                        Optimizer::Adam
                    },
                    learning_rate: 0.001,
                    epochs: 50,
                    data,
                    head: Head::Softmax,
                    name: info.name.into(),
                    size: size.into(),
                }
            }
            "tm-audio" => {
                let data = tm_data(2000, spec, true);
                Workload {
                    arch: dense(&[(2000, data.classes, true)]),
                    batch: 32,
                    optimizer: Optimizer::Sgd,
                    learning_rate: 0.01,
                    epochs: 20,
                    data,
                    head: Head::Softmax,
                    name: info.name.into(),
                    size: size.into(),
                }
            }
            "mlp" => {
                let width = MLP_PRESETS.iter().find(|(n, _)| *n == size).unwrap().1;
                let classes = spec.classes.unwrap_or(MLP_CLASSES);
                let mut layers = vec![(MLP_INPUT, width, true)];
                layers.extend((1..MLP_DEPTH).map(|_| (width, width, true)));
                layers.push((width, classes, true));
                Workload {
                    arch: dense(&layers),
                    batch: 64,
                    optimizer: Optimizer::Adam,
                    learning_rate: 0.001,
                    epochs: 5,
                    data: DataSpec {
                        features: MLP_INPUT,
                        classes,
                        samples_per_class: spec.samples_per_class.unwrap_or(64),
                        holdout: 0.15,
                        separation: 0.1,
                        non_negative: false,
                    },
                    head: Head::Logits,
                    name: info.name.into(),
                    size: size.into(),
                }
            }
            "cnn" => {
                let mult = CNN_PRESETS.iter().find(|(n, _)| *n == size).unwrap().1;
                let classes = spec.classes.unwrap_or(MLP_CLASSES);
                Workload {
                    arch: Arch::Cnn(CnnShape::new(mult, classes)),
                    batch: 32,
                    optimizer: Optimizer::Adam,
                    learning_rate: 0.001,
                    epochs: 5,
                    data: DataSpec {
                        features: cnn::INPUT_FEATURES,
                        classes,
                        samples_per_class: spec.samples_per_class.unwrap_or(32),
                        holdout: 0.15,
                        separation: 0.3,
                        non_negative: false,
                    },
                    head: Head::Logits,
                    name: info.name.into(),
                    size: size.into(),
                }
            }
            "gemm" => {
                let shape = GemmShape::named(size).expect("a gemm preset");
                Workload {
                    arch: Arch::Gemm(shape),
                    batch: shape.rows(),
                    optimizer: Optimizer::Sgd,
                    learning_rate: 0.0,
                    epochs: 1,
                    data: DataSpec {
                        features: 0,
                        classes: 2,
                        samples_per_class: 1,
                        holdout: 0.0,
                        separation: 0.0,
                        non_negative: false,
                    },
                    head: Head::Logits,
                    name: info.name.into(),
                    size: size.into(),
                }
            }
            other => return Err(format!("workload `{other}` has no builder")),
        };
        Ok(w)
    }

    /// What a peer needs to train this workload the same way (the case spec's `resolved`).
    pub fn describe(&self) -> Resolved {
        let (arch, layers) = match &self.arch {
            Arch::Dense(layers) => {
                let last = layers.len().saturating_sub(1);
                let head = match self.head {
                    Head::Softmax => "softmax",
                    Head::Logits => "linear",
                };
                let layers = layers
                    .iter()
                    .enumerate()
                    .map(|(i, l)| LayerSettings {
                        d_in: l.d_in,
                        d_out: l.d_out,
                        bias: l.bias,
                        activation: if i < last { "relu" } else { head }.into(),
                        dropout: l.dropout,
                    })
                    .collect();
                ("dense", layers)
            }
            Arch::Cnn(_) => ("cnn", Vec::new()),
            Arch::Gemm(_) => ("gemm", Vec::new()),
        };
        Resolved {
            name: self.name.clone(),
            size: self.size.clone(),
            arch: arch.into(),
            layers,
            batch: self.batch,
            epochs: self.epochs,
            optimizer: self.optimizer.settings(self.learning_rate),
            loss: LossSettings {
                name: "categorical_crossentropy".into(),
                from_logits: self.head == Head::Logits,
            },
            data: self.data.clone(),
            params: self.params(),
            flops_per_step: self.flops_per_step(),
        }
    }

    /// Exact number of trainable parameters.
    pub fn params(&self) -> u64 {
        match &self.arch {
            Arch::Dense(layers) => layers.iter().map(DenseLayer::params).sum(),
            Arch::Cnn(shape) => shape.params(),
            Arch::Gemm(shape) => shape.params(),
        }
    }

    /// Analytic multiply-add FLOPs of one training step (forward + backward matmuls/convolutions,
    /// 2 FLOPs per multiply-add; the input gradient of the first layer is not needed and not counted).
    pub fn flops_per_step(&self) -> u64 {
        let b = self.batch as u64;
        match &self.arch {
            Arch::Dense(layers) => layers
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let fwd = 2 * b * l.d_in as u64 * l.d_out as u64;
                    if i == 0 { 2 * fwd } else { 3 * fwd }
                })
                .sum(),
            Arch::Cnn(shape) => shape.flops_per_step(b),
            Arch::Gemm(shape) => shape.flops_per_step(),
        }
    }

    /// Steps in one pass over the training set (the last partial batch included).
    pub fn steps_per_epoch(&self) -> usize {
        let n = self.data.classes * self.data.samples_per_class
            - self.data.classes
                * ((self.data.samples_per_class as f64 * self.data.holdout).round() as usize)
                    .min(self.data.samples_per_class - 1);
        n.div_ceil(self.batch)
    }

    /// Make the data set and the model on `device` (an autodiff device), ready to train.
    pub fn build(&self, device: &Device, seed: u64) -> Box<dyn Trainer> {
        if let Arch::Gemm(shape) = &self.arch {
            return Box::new(gemm::Gemm::new(*shape, device, seed));
        }
        let data = Dataset::synthesize(&self.data, seed);
        match &self.arch {
            Arch::Dense(layers) => Box::new(Fit::new(
                dense::DenseNet::new(layers, device, seed),
                data,
                self,
                device,
                seed,
            )),
            Arch::Cnn(shape) => Box::new(Fit::new(
                cnn::Cnn::new(shape, device, seed),
                data,
                self,
                device,
                seed,
            )),
            Arch::Gemm(_) => unreachable!("built above"),
        }
    }
}

/// Parameters of the built model as burn counts them (tests hold `Workload::params` to it).
pub fn built_params(w: &Workload, device: &Device) -> u64 {
    match &w.arch {
        Arch::Dense(layers) => dense::DenseNet::new(layers, device, 0).num_params() as u64,
        Arch::Cnn(shape) => cnn::Cnn::new(shape, device, 0).num_params() as u64,
        // No module: B's elements, as held.
        Arch::Gemm(shape) => {
            gemm::Gemm::new(*shape, device, 0).dataset_bytes() as u64 / 4
                - match *shape {
                    GemmShape::Product { m, k, .. } => (m * k) as u64,
                    GemmShape::Peak => 0,
                }
        }
    }
}
