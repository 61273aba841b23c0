//! The probe's peers: other libraries that train the same workloads, so that a report can hold
//! the probe against what the platform already delivers. In-page peers (`PEERS`) are one JS
//! module each; the native peer, TF-Keras, is a target of its own (`native-keras`, `keras.rs`).

/// A peer of the probe: another library that trains the same workloads in the page and in
/// Node.js, from one JS module of its own in `wasm-probe/js/`. The module reads everything about
/// the workload from the case spec (`resolved`, made by `wasm_probe::Workload::resolve`), and the
/// page and the Node runner import it by the name the case spec carries (`peer`). Adding a peer
/// is its module plus one line here.
pub struct Peer {
    /// Its module in `wasm-probe/js/` (see `peer.js` for what it exports).
    pub module: &'static str,
    /// What trains, in words (for `gapbench list`).
    pub about: &'static str,
    /// Its backends, each with the name reports give that setting.
    pub backends: &'static [(&'static str, &'static str)],
}

/// Every in-page peer.
pub const PEERS: [Peer; 3] = [
    Peer {
        module: "tfjs.js",
        about: "TensorFlow.js 4.22 (trainOnBatch; -fit: fitDataset as Teachable Machine drives it; -tm: also the samples held as TM holds them, one Float32Array each)",
        backends: &[
            ("tfjs-wasm", "TF.js trainOnBatch 1 thread"),
            ("tfjs-wasm-threads", "TF.js trainOnBatch threads"),
            ("tfjs-wasm-fit", "TF.js fitDataset (as TM)"),
            ("tfjs-wasm-threads-fit", "TF.js fitDataset threads (as TM)"),
            ("tfjs-wasm-tm", "TF.js, TM-style samples (wasm)"),
            ("tfjs-cpu-tm", "TF.js, TM-style samples (cpu)"),
            ("tfjs-cpu", "TF.js cpu (plain JS)"),
            ("tfjs-webgl", "TF.js WebGL"),
            ("tfjs-webgpu", "TF.js WebGPU"),
        ],
    },
    Peer {
        module: "jaxjs.js",
        about: "jax-js 0.1.25 (valueAndGrad + Adam, the whole step under jit)",
        backends: &[("jaxjs-wasm", "jax-js"), ("jaxjs-webgpu", "jax-js WebGPU")],
    },
    Peer {
        module: "ortweb.js",
        about: "ONNX Runtime Web 1.19.2 training (artifacts from wasm-probe/py/ort_artifacts.py; browsers only)",
        backends: &[
            ("ortweb-wasm", "ORT-Web 1 thread"),
            ("ortweb-wasm-threads", "ORT-Web threads"),
        ],
    },
];

/// The in-page peer that trains on `backend`, if one does.
pub fn peer_of(backend: &str) -> Option<&'static Peer> {
    PEERS
        .iter()
        .find(|p| p.backends.iter().any(|(b, _)| *b == backend))
}

/// The name reports give a peer setting: an in-page peer's backend, or a native peer's
/// (`keras`, `keras-fit`); None for the probe's own backends.
pub fn peer_label(backend: &str) -> Option<&'static str> {
    PEERS
        .iter()
        .flat_map(|p| p.backends.iter())
        .chain(NATIVE_PEERS.iter())
        .find(|(b, _)| *b == backend)
        .map(|(_, label)| *label)
}

/// The native peer's settings (`native-keras` and `native-keras-fit`, wasm-probe/py/
/// keras_runner.py), each with the name reports give it.
pub const NATIVE_PEERS: [(&str, &str); 2] = [
    ("keras", "TF-Keras train_on_batch"),
    ("keras-fit", "TF-Keras fit"),
];
