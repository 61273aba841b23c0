//! The workloads and their size presets, as the catalog lists them.

use super::*;

pub(super) const MLP_INPUT: usize = 1024;
pub(super) const MLP_CLASSES: usize = 10;
pub(super) const MLP_DEPTH: usize = 4;
/// (preset, hidden width): log-spaced from ~0.1M to ~1B parameters. 300m (1.2 GB of weights;
/// with gradients and Adam's two moments ~4.8 GB) is at the edge of what wasm32's 4 GiB memory
/// can train, so the model-ceiling search finds the wall; 1b (4 GB of weights, ~16 GB to train)
/// is past it, for the memory64 build's search.
pub(super) const MLP_PRESETS: [(&str, usize); 9] = [
    ("0.1m", 80),
    ("0.3m", 200),
    ("1m", 430),
    ("3m", 850),
    ("10m", 1660),
    ("30m", 3000),
    ("100m", 5620),
    ("300m", 9830),
    ("1b", 18100),
];
pub(super) const CNN_PRESETS: [(&str, usize); 4] = [("w1", 1), ("w2", 2), ("w4", 4), ("w8", 8)];

/// Every workload with its presets, smallest first.
pub fn catalog() -> Vec<WorkloadInfo> {
    let one = |name, about| Preset { name, about };
    vec![
        WorkloadInfo {
            name: "tm-image",
            about: "Teachable Machine image head: 1280-d MobileNetV2 embedding -> Dense(100, relu) -> Dense(C, softmax, no bias); Adam 0.001, batch 16",
            presets: vec![one("default", "C=3 classes x 300 samples")],
            default_size: "default",
        },
        WorkloadInfo {
            name: "tm-audio",
            about: "Teachable Machine audio head (speech-commands transfer): 2000-d embedding -> Dense(C, softmax); SGD 0.01, batch 32, 20 epochs",
            presets: vec![one("default", "C=3 classes x 300 samples")],
            default_size: "default",
        },
        WorkloadInfo {
            name: "tm-pose",
            about: "Teachable Machine pose head: 14739-d PoseNet output -> Dense(100, relu) -> Dropout(0.5) -> Dense(C, softmax, no bias); RMSProp 0.001, batch 16",
            presets: vec![one("default", "C=3 classes x 300 samples")],
            default_size: "default",
        },
        WorkloadInfo {
            name: "mlp",
            about: "MLP 1024 -> 4 x Dense(width, relu) -> Dense(10); Adam 0.001, batch 64",
            presets: MLP_PRESETS
                .iter()
                .map(|(n, _)| one(n, "parameters ~ the preset name"))
                .collect(),
            default_size: "1m",
        },
        WorkloadInfo {
            name: "gemm",
            about: "not training: one C = A·B per step on the backend's matmul (MxKxN; -tn: A transposed, a dense layer's weight gradient), or `peak`, 12 independent 4-lane multiply-add chains (wasm SIMD128 when built with it): the limit a SIMD128 GEMM can reach here",
            presets: gemm::PRESETS
                .iter()
                .map(|(n, _)| {
                    one(
                        n,
                        if *n == "peak" {
                            "multiply-add limit, 4 lanes, no FMA"
                        } else {
                            "M x K x N"
                        },
                    )
                })
                .collect(),
            default_size: "256x1280x128",
        },
        WorkloadInfo {
            name: "cnn",
            about: "CNN on 32x32x3: 3 x (conv3x3 + relu [+ maxpool]) with 16w/32w/64w channels -> global avg pool -> Dense(10); Adam 0.001, batch 32",
            presets: CNN_PRESETS
                .iter()
                .map(|(n, _)| one(n, "width multiplier"))
                .collect(),
            default_size: "w1",
        },
    ]
}
