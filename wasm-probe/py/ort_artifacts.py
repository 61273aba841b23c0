"""Training artifacts for the ONNX Runtime Web peer (`ortweb-wasm`, wasm-probe/js/ortweb.js).

ONNX Runtime Web trains from artifacts made offline by PyPI `onnxruntime-training` (its
`onnxruntime.training.artifacts.generate_artifacts`): a training model (forward, loss, gradients),
an eval model, an optimizer model and a checkpoint holding the parameters. This script makes them
from the workloads as gapbench resolves them (`gapbench list --json`: wasm-probe/src/workload's
`Resolved`, the same description every peer receives in its case spec), so it keeps no copy of
the presets: Dense layers (Glorot-uniform weights, zero biases), ReLU, softmax cross-entropy on
the logits (int64 labels, mean over the batch; a softmax head is folded into it, the same
function), the recipe's Adam (ORT's AdamW with weight decay 0, the recipe's betas and epsilon; the
learning rate is ORT's default, 0.001, which onnxruntime-web cannot change: a recipe with another
is refused). The batch dimension is symbolic, so the last, shorter batch of an epoch trains too.
Each artifact directory also gets `workload.json`, the resolved workload it was made from;
ortweb.js skips a case whose resolved workload differs (stale artifacts: rerun .ci/setup).

    gapbench list --json > workloads.json
    python3.11 wasm-probe/py/ort_artifacts.py OUT_DIR workloads.json [NAME ...]

NAME: tm-image, mlp-0.1m, ... (default: every dense workload trained with Adam, without dropout,
of at most 12M parameters: tm-image and mlp 0.1m..10m; 30m's artifacts would hold ~360 MB).
Writes OUT_DIR/<name>/{training_model,eval_model,optimizer_model}.onnx, checkpoint, workload.json
and OUT_DIR/VERSION.

onnxruntime-training 1.19.2 has wheels for CPython 3.8-3.11 only, and its package `__init__`
imports torch, which the artifacts module does not need: the package is entered without running
its `__init__` (GAPBENCH_ORT_SITE: where pip put it, if not on sys.path).
"""

import json
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_VERSION = "1.19.2"

# The learning rate a TrainingSession's optimizer starts with (onnxruntime-web has no setter).
ORT_LEARNING_RATE = 0.001
# The largest model made by default.
MAX_PARAMS = 12_000_000


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


def artifact_name(w):
    """The artifact directory of a resolved workload: its name, `mlp-<size>` for a sized one."""
    return w["name"] if w["size"] == "default" else f"{w['name']}-{w['size']}"


def trainable(w):
    """Why ORT's artifacts cannot train this workload, or None."""
    if w["arch"] != "dense":
        return f"a {w['arch']} network (only dense layers are written here)"
    if any(l["dropout"] > 0 for l in w["layers"]):
        return "dropout (not written here)"
    if w["optimizer"]["name"] != "adam":
        return f"optimizer {w['optimizer']['name']} (ORT's AdamW here)"
    if w["optimizer"]["learning_rate"] != ORT_LEARNING_RATE:
        return f"learning rate {w['optimizer']['learning_rate']} (onnxruntime-web trains at {ORT_LEARNING_RATE})"
    return None


def load_workloads(path):
    """Resolved workloads by artifact name, from `gapbench list --json`."""
    with open(path) as f:
        specs = json.load(f)
    return {artifact_name(s["resolved"]): s["resolved"] for s in specs if s.get("resolved")}


def build(w, seed=42):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    layers = [(l["d_in"], l["d_out"], l["bias"], l["activation"] == "relu") for l in w["layers"]]
    classes = w["data"]["classes"]
    name = artifact_name(w)
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
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, workloads = sys.argv[1], load_workloads(sys.argv[2])
    names = sys.argv[3:] or [n for n, w in workloads.items()
                             if trainable(w) is None and w["params"] <= MAX_PARAMS]
    for name in names:
        if name not in workloads:
            sys.exit(f"unknown workload `{name}` (expected one of: {', '.join(workloads)})")
        why = trainable(workloads[name])
        if why:
            sys.exit(f"{name}: cannot make ONNX Runtime training artifacts for {why}")
    artifacts, onnxblock = load_artifacts_module()
    os.makedirs(out, exist_ok=True)
    for name in names:
        w = workloads[name]
        o = w["optimizer"]
        model, params = build(w)
        dest = os.path.join(out, name)
        os.makedirs(dest, exist_ok=True)
        artifacts.generate_artifacts(
            model,
            requires_grad=params,
            frozen_params=[],
            loss=artifacts.LossType.CrossEntropyLoss,
            optimizer=onnxblock.optim.AdamW(betas=(o["beta1"], o["beta2"]), eps=o["epsilon"],
                                            weight_decay=0.0),
            artifact_directory=dest,
            additional_output_names=["logits"],
        )
        with open(os.path.join(dest, "workload.json"), "w") as f:
            json.dump(w, f, indent=1)
        print(f"{name}: {sorted(os.listdir(dest))}")
    with open(os.path.join(out, "VERSION"), "w") as f:
        f.write(f"onnxruntime-training {ORT_VERSION}\n")


if __name__ == "__main__":
    main()
