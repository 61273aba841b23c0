"""Training artifacts for the ONNX Runtime Web peer (`ortweb-wasm`, wasm-probe/js/ortweb.js).

ONNX Runtime Web trains from artifacts made offline by PyPI `onnxruntime-training` (its
`onnxruntime.training.artifacts.generate_artifacts`): a training model (forward, loss, gradients),
an eval model, an optimizer model and a checkpoint holding the parameters. This script makes them
for tm-image and the mlp presets gapbench's peers train, with the recipes of
wasm-probe/src/workload/mod.rs: Dense layers (Glorot-uniform weights, zero biases), ReLU,
softmax cross-entropy on the logits (int64 labels, mean over the batch), Adam lr 0.001 with
TF.js's epsilon 1e-7 (ORT's AdamW with weight decay 0). The batch dimension is symbolic, so the
last, shorter batch of an epoch trains too.

    python3.11 wasm-probe/py/ort_artifacts.py OUT_DIR [WORKLOAD_SIZE ...]

WORKLOAD_SIZE: tm-image, mlp-0.1m, ... (default: tm-image and mlp 0.1m..10m). Writes
OUT_DIR/<name>/{training_model,eval_model,optimizer_model}.onnx, checkpoint and OUT_DIR/VERSION.

onnxruntime-training 1.19.2 has wheels for CPython 3.8-3.11 only, and its package `__init__`
imports torch, which the artifacts module does not need: the package is entered without running
its `__init__` (GAPBENCH_ORT_SITE: where pip put it, if not on sys.path).
"""

import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_VERSION = "1.19.2"

# Must match wasm-probe/src/workload/mod.rs (and tfjs.js's resolve).
MLP_PRESETS = {"0.1m": 80, "0.3m": 200, "1m": 430, "3m": 850, "10m": 1660, "30m": 3000}
DEFAULT = ["tm-image", "mlp-0.1m", "mlp-0.3m", "mlp-1m", "mlp-3m", "mlp-10m"]


def load_artifacts_module():
    site = os.environ.get("GAPBENCH_ORT_SITE")
    if site:
        sys.path.insert(0, site)
    import onnxruntime

    have = getattr(onnxruntime, "__version__", "?")
    if not have.startswith(ORT_VERSION):
        sys.exit(f"onnxruntime-training {ORT_VERSION} is needed, found onnxruntime {have}")
    onnxruntime.set_default_logger_severity(3)  # warnings and errors only
    training = types.ModuleType("onnxruntime.training")
    training.__path__ = [os.path.join(os.path.dirname(onnxruntime.__file__), "training")]
    sys.modules["onnxruntime.training"] = training
    from onnxruntime.training import artifacts, onnxblock

    return artifacts, onnxblock


def layers_of(name):
    """(d_in, d_out, bias, relu) per layer, and the class count."""
    if name == "tm-image":
        return [(1280, 100, True, True), (100, 3, False, False)], 3
    if name.startswith("mlp-"):
        w = MLP_PRESETS[name[4:]]
        layers = [(1024, w, True, True)] + [(w, w, True, True)] * 3 + [(w, 10, True, False)]
        return layers, 10
    sys.exit(f"unknown workload `{name}` (expected tm-image or mlp-<size>)")


def build(name, seed=42):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    layers, classes = layers_of(name)
    rng = np.random.default_rng(seed)
    inits, nodes, params = [], [], []
    h = "input"
    for i, (d_in, d_out, bias, relu) in enumerate(layers):
        limit = np.sqrt(6.0 / (d_in + d_out))
        w = rng.uniform(-limit, limit, size=(d_in, d_out)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        params.append(f"w{i}")
        out = f"mm{i}"
        nodes.append(helper.make_node("MatMul", [h, f"w{i}"], [out]))
        if bias:
            inits.append(numpy_helper.from_array(np.zeros(d_out, np.float32), f"b{i}"))
            params.append(f"b{i}")
            nodes.append(helper.make_node("Add", [out, f"b{i}"], [f"z{i}"]))
            out = f"z{i}"
        if relu:
            nodes.append(helper.make_node("Relu", [out], [f"h{i}"]))
            out = f"h{i}"
        h = out
    nodes.append(helper.make_node("Identity", [h], ["logits"]))
    graph = helper.make_graph(
        nodes,
        name.replace("-", "_").replace(".", "_"),
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", layers[0][0]])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, params


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    names = sys.argv[2:] or DEFAULT
    artifacts, onnxblock = load_artifacts_module()
    os.makedirs(out, exist_ok=True)
    for name in names:
        model, params = build(name)
        dest = os.path.join(out, name)
        os.makedirs(dest, exist_ok=True)
        artifacts.generate_artifacts(
            model,
            requires_grad=params,
            frozen_params=[],
            loss=artifacts.LossType.CrossEntropyLoss,
            optimizer=onnxblock.optim.AdamW(eps=1e-7, weight_decay=0.0),
            artifact_directory=dest,
            additional_output_names=["logits"],
        )
        print(f"{name}: {sorted(os.listdir(dest))}")
    with open(os.path.join(out, "VERSION"), "w") as f:
        f.write(f"onnxruntime-training {ORT_VERSION}\n")


if __name__ == "__main__":
    main()
