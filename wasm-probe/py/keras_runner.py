"""gapbench's TF-Keras peer: trains the same workloads as the probe natively with TensorFlow's
Keras on the CPU, so a report can hold native-ndarray against what Python users train with.

Same architectures, recipes, batch sizes and parameter/FLOP counts as wasm-probe/src/workload and
wasm-probe/js/tfjs.js; the data are the same kind of class-conditional Gaussians (numpy's
generator, so not the same numbers). Reads a case spec (JSON) on stdin and prints one JSON reply
line: {"status": "ok", "result": CaseResult} or {"status": "skipped" | "failed" | "oom",
"message": ...}. TensorFlow runs on 1 thread (intra- and inter-op), as the probe does.
"""

import json
import math
import os
import resource
import sys
import time

MLP_INPUT = 1024
MLP_CLASSES = 10
MLP_DEPTH = 4
# Must match wasm-probe/src/workload/mod.rs MLP_PRESETS.
MLP_PRESETS = {"0.1m": 80, "0.3m": 200, "1m": 430, "3m": 850, "10m": 1660, "30m": 3000,
               "100m": 5620, "300m": 9830}


def reply(obj):
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    obj.setdefault("peak_rss_bytes", usage)
    print(json.dumps(obj), flush=True)


def tm_data(features, spec, non_negative):
    return {"features": features, "classes": spec.get("classes") or 3,
            "samples_per_class": spec.get("samples_per_class") or 300,
            "holdout": 0.15, "separation": 0.15, "non_negative": non_negative}


def resolve(spec):
    """The workload as tfjs.js resolve() has it; None when it is not written for Keras."""
    workload, size = spec["workload"], spec["size"]
    if size == "default" and workload == "mlp":
        size = "1m"
    classes = spec.get("classes")
    if classes is not None and classes < 2:
        raise ValueError(f"classes must be >= 2, found {classes}")

    def layer(d_in, d_out, bias, activation, dropout=0.0):
        return {"d_in": d_in, "d_out": d_out, "bias": bias, "activation": activation,
                "dropout": dropout}

    if workload in ("tm-image", "tm-pose"):
        if size != "default":
            raise ValueError(f"unknown size `{size}` for workload `{workload}` (expected one of: default)")
        pose = workload == "tm-pose"
        features = 14739 if pose else 1280
        data = tm_data(features, spec, not pose)
        return {"name": workload, "size": size, "data": data, "batch": 16, "lr": 0.001,
                "optimizer": "rmsprop" if pose else "adam", "logits": False,
                "layers": [layer(features, 100, True, "relu", 0.5 if pose else 0.0),
                           layer(100, data["classes"], False, "softmax")]}
    if workload == "tm-audio":
        if size != "default":
            raise ValueError(f"unknown size `{size}` for workload `tm-audio` (expected one of: default)")
        data = tm_data(2000, spec, True)
        return {"name": workload, "size": size, "data": data, "batch": 32, "lr": 0.01,
                "optimizer": "sgd", "logits": False,
                "layers": [layer(2000, data["classes"], True, "softmax")]}
    if workload == "mlp":
        width = MLP_PRESETS.get(size)
        if width is None:
            raise ValueError(f"unknown size `{size}` for workload `mlp` (expected one of: {', '.join(MLP_PRESETS)})")
        classes = classes or MLP_CLASSES
        layers = [layer(MLP_INPUT, width, True, "relu")]
        layers += [layer(width, width, True, "relu") for _ in range(1, MLP_DEPTH)]
        layers.append(layer(width, classes, True, "linear"))
        return {"name": "mlp", "size": size, "batch": 64, "lr": 0.001, "optimizer": "adam",
                "logits": True, "layers": layers,
                "data": {"features": MLP_INPUT, "classes": classes,
                         "samples_per_class": spec.get("samples_per_class") or 64,
                         "holdout": 0.15, "separation": 0.1, "non_negative": False}}
    return None


def params(w):
    return sum(l["d_in"] * l["d_out"] + (l["d_out"] if l["bias"] else 0) for l in w["layers"])


def flops_per_step(w):
    total = 0
    for i, l in enumerate(w["layers"]):
        fwd = 2 * w["batch"] * l["d_in"] * l["d_out"]
        total += 2 * fwd if i == 0 else 3 * fwd
    return total


def synthesize(np, d, seed):
    r = np.random.default_rng(seed)
    f, c = d["features"], d["classes"]
    means = (r.standard_normal((c, f)) * d["separation"]).astype(np.float32)
    held = min(round(d["samples_per_class"] * d["holdout"]), max(d["samples_per_class"] - 1, 0))
    xs, ys, vxs, vys = [], [], [], []
    for k in range(c):
        x = means[k] + r.standard_normal((d["samples_per_class"], f)).astype(np.float32)
        if d["non_negative"]:
            x = np.maximum(x, 0)
        vxs.append(x[:held]); vys += [k] * held
        xs.append(x[held:]); ys += [k] * (d["samples_per_class"] - held)
    train_x, valid_x = np.concatenate(xs), np.concatenate(vxs)
    return (train_x, np.array(ys, np.int32), valid_x, np.array(vys, np.int32),
            train_x.nbytes + valid_x.nbytes)


def run(spec):
    w = resolve(spec)
    if w is None:
        return {"status": "skipped", "message": f"workload `{spec['workload']}` is not written for Keras (keras_runner.py has tm-image, tm-audio, tm-pose and mlp)"}
    if spec.get("fault"):
        return {"status": "skipped", "message": "fault injection is a wasm-probe feature"}
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import numpy as np
        import tensorflow as tf
    except ImportError as e:
        return {"status": "skipped", "message": f"TensorFlow is not installed for {sys.executable} ({e}): pip install tensorflow-cpu, or point GAPBENCH_PYTHON at a Python that has it"}
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras = tf.keras
    seed = spec["seed"]

    t0 = time.perf_counter()
    train_x, train_y, valid_x, valid_y, data_bytes = synthesize(np, w["data"], seed)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(w["layers"][0]["d_in"],))])
    for l in w["layers"]:
        model.add(keras.layers.Dense(l["d_out"], activation=l["activation"], use_bias=l["bias"],
                                     kernel_initializer="glorot_uniform"))
        if l["dropout"] > 0:
            model.add(keras.layers.Dropout(l["dropout"]))
    opt = {"adam": lambda: keras.optimizers.Adam(w["lr"]),
           "rmsprop": lambda: keras.optimizers.RMSprop(w["lr"], rho=0.9, epsilon=1e-7),
           "sgd": lambda: keras.optimizers.SGD(w["lr"])}[w["optimizer"]]()
    loss = keras.losses.CategoricalCrossentropy(from_logits=w["logits"])
    model.compile(optimizer=opt, loss=loss)
    setup_ms = (time.perf_counter() - t0) * 1e3

    n_train, c = len(train_y), w["data"]["classes"]
    batch = w["batch"]
    steps_per_epoch = math.ceil(n_train / batch)
    if spec.get("epochs") is not None:
        total = max(spec["epochs"] * steps_per_epoch, 1)
        warmup = min(spec["warmup"], total - 1)
        measured = total - warmup
    else:
        warmup, measured = spec["warmup"], max(spec["steps"], 1)
    r = np.random.default_rng(seed + 1)
    order = r.permutation(n_train)
    cursor = 0
    losses, warmup_ms, step_ms = [], [], []
    first_step_ms = float("nan")
    train_start = time.perf_counter()
    for i in range(warmup + measured):
        start = time.perf_counter()
        # The batch is gathered inside the step, as the probe's and tfjs.js's steps do.
        if cursor >= n_train:
            cursor, order = 0, r.permutation(n_train)
        idx = order[cursor:cursor + batch]
        cursor += len(idx)
        x = train_x[idx]
        y = np.eye(c, dtype=np.float32)[train_y[idx]]
        # train_on_batch returns the loss as a Python float: the step has finished.
        value = float(model.train_on_batch(x, y))
        elapsed = (time.perf_counter() - start) * 1e3
        if not math.isfinite(value):
            return {"status": "failed", "message": f"loss is {value} at step {i}"}
        losses.append(value)
        if i == 0:
            first_step_ms = elapsed
        (warmup_ms if i < warmup else step_ms).append(elapsed)
    train_ms = (time.perf_counter() - train_start) * 1e3
    e0 = time.perf_counter()
    accuracy = 0.0
    if len(valid_y):
        pred = model.predict(valid_x, batch_size=256, verbose=0).argmax(axis=1)
        accuracy = float((pred == valid_y).mean())
    eval_ms = (time.perf_counter() - e0) * 1e3
    device = f"tf-keras (TensorFlow {tf.__version__}, Keras {keras.__version__}) cpu, 1 thread"
    return {"status": "ok", "result": {
        "workload": w["name"], "size": w["size"], "params": params(w),
        "flops_per_step": flops_per_step(w), "batch": batch, "optimizer": w["optimizer"],
        "backend": spec["backend"], "device": device, "setup_ms": setup_ms,
        "first_step_ms": first_step_ms, "warmup_ms": warmup_ms, "step_ms": step_ms,
        "losses": losses, "val_accuracy": accuracy, "eval_ms": eval_ms, "train_ms": train_ms,
        "epochs": spec.get("epochs"), "dataset_bytes": data_bytes}}


def main():
    try:
        spec = json.loads(sys.stdin.read())
    except ValueError as e:
        print(f"keras_runner.py: expected a case spec as JSON on stdin: {e}", file=sys.stderr)
        return 2
    try:
        reply(run(spec))
    except MemoryError as e:
        reply({"status": "oom", "message": f"MemoryError: {e}"})
    except Exception as e:  # a failure is a measurement: say what it was
        name = type(e).__name__
        oom = "ResourceExhausted" in name or "OOM" in str(e)
        reply({"status": "oom" if oom else "failed", "message": f"{name}: {e}"[:2000]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
