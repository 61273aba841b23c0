"""gapbench's TF-Keras peer: trains the same workloads as the probe natively with TensorFlow's
Keras on the CPU, so a report can hold native-ndarray against what Python users train with.

The workload comes resolved in the case spec (`resolved`: wasm-probe/src/workload's `Resolved`,
made by `Workload::resolve`): layers, recipe, batch, data and parameter/FLOP counts, so this file
keeps no copy of the presets. The data are the same kind of class-conditional Gaussians (numpy's
generator, so not the same numbers). Reads a case spec (JSON) on stdin and prints one JSON reply
line: {"status": "ok", "result": CaseResult} or {"status": "skipped" | "failed" | "oom",
"message": ...}. TensorFlow runs on 1 thread (intra- and inter-op), as the probe does.

Two paths, by the case's backend: `keras` calls `model.train_on_batch` once per step (the batch
gathered inside the step, as the probe's step does); `keras-fit` trains the way Keras's guides do,
`model.fit(x, y, batch_size, epochs, shuffle=True)` over the training arrays, a step timed from
`on_train_batch_begin` to `on_train_batch_end` (which reads the loss, so the step has finished;
fit's per-epoch work and its data pipeline's prefetch between batches fall outside the steps, in
`train_ms`). fit's logs carry the epoch's running mean of the loss, so each step's own loss is
recovered from consecutive means.
"""

import json
import math
import os
import resource
import sys
import time

def reply(obj):
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10  # KiB to bytes
    obj.setdefault("peak_rss_bytes", usage)
    print(json.dumps(obj), flush=True)


def resolved(spec):
    """The workload gapbench resolved for this case, or why a Keras peer cannot train it."""
    w = spec.get("resolved")
    if w is None:
        return None, (f"the case spec carries no resolved workload (gapbench sends one for every "
                      f"workload of the probe): `{spec['workload']}` {spec['size']} is not one")
    if w["arch"] != "dense":
        return None, (f"workload `{w['name']}` ({w['arch']}) is not written for Keras "
                      f"(keras_runner.py builds dense networks: tm-image, tm-audio, tm-pose, mlp)")
    return w, None


def optimizer(keras, o):
    """The recipe's optimizer with its settings."""
    if o["name"] == "adam":
        return keras.optimizers.Adam(o["learning_rate"], beta_1=o["beta1"], beta_2=o["beta2"],
                                     epsilon=o["epsilon"])
    if o["name"] == "rmsprop":
        return keras.optimizers.RMSprop(o["learning_rate"], rho=o["rho"], momentum=o["momentum"],
                                        epsilon=o["epsilon"])
    if o["name"] == "sgd":
        return keras.optimizers.SGD(o["learning_rate"])
    raise ValueError(f"optimizer {o['name']} is not written for Keras (adam, rmsprop, sgd)")


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
    w, skip = resolved(spec)
    if skip:
        return {"status": "skipped", "message": skip}
    if spec.get("fault"):
        return {"status": "skipped", "message": "fault injection is a wasm-probe feature"}
    fit = spec["backend"] == "keras-fit"
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
    opt = optimizer(keras, w["optimizer"])
    loss = keras.losses.CategoricalCrossentropy(from_logits=w["loss"]["from_logits"])
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
    losses, warmup_ms, step_ms = [], [], []
    first_step_ms = float("nan")

    def record(i, elapsed, value):
        nonlocal first_step_ms
        if not math.isfinite(value):
            return {"status": "failed", "message": f"loss is {value} at step {i}"}
        losses.append(value)
        if i == 0:
            first_step_ms = elapsed
        (warmup_ms if i < warmup else step_ms).append(elapsed)
        return None

    train_start = time.perf_counter()
    if fit:
        failed = fit_path(keras, model, train_x, np.eye(c, dtype=np.float32)[train_y], batch,
                          warmup + measured, steps_per_epoch, record)
    else:
        failed = None
        r = np.random.default_rng(seed + 1)
        order = r.permutation(n_train)
        cursor = 0
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
            failed = record(i, (time.perf_counter() - start) * 1e3, value)
            if failed:
                break
    if failed:
        return failed
    train_ms = (time.perf_counter() - train_start) * 1e3
    e0 = time.perf_counter()
    accuracy = 0.0
    if len(valid_y):
        pred = model.predict(valid_x, batch_size=256, verbose=0).argmax(axis=1)
        accuracy = float((pred == valid_y).mean())
    eval_ms = (time.perf_counter() - e0) * 1e3
    path = "model.fit (numpy arrays, shuffle)" if fit else "train_on_batch"
    device = f"tf-keras (TensorFlow {tf.__version__}, Keras {keras.__version__}) cpu, 1 thread; {path}"
    return {"status": "ok", "result": {
        "workload": w["name"], "size": w["size"], "params": w["params"],
        "flops_per_step": w["flops_per_step"], "batch": batch, "optimizer": w["optimizer"]["name"],
        "backend": spec["backend"], "device": device, "setup_ms": setup_ms,
        "first_step_ms": first_step_ms, "warmup_ms": warmup_ms, "step_ms": step_ms,
        "losses": losses, "val_accuracy": accuracy, "eval_ms": eval_ms, "train_ms": train_ms,
        "epochs": spec.get("epochs"), "dataset_bytes": data_bytes}}


def fit_path(keras, model, x, y, batch, total, steps_per_epoch, record):
    """`model.fit` for `total` steps (whole epochs, stopped after the last step); `record(i, ms,
    loss)` gets each step. Returns a failure reply or None."""
    state = {"i": 0, "begin": 0.0, "mean": 0.0, "failed": None}
    n = len(x)

    class Steps(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch_index, logs=None):
            state["begin"] = time.perf_counter()

        def on_train_batch_end(self, batch_index, logs=None):
            # Reading the loss waits for the step; fit's loss is the epoch's running mean.
            mean = float(logs["loss"])
            elapsed = (time.perf_counter() - state["begin"]) * 1e3
            # Keras weighs the running mean by each batch's rows (the last batch of an epoch
            # may be shorter): this step's loss is the change of the running sum over its rows.
            done = min((batch_index + 1) * batch, n)
            rows = done - batch_index * batch
            before = state["mean"] * (done - rows) if batch_index > 0 else 0.0
            value = (mean * done - before) / rows
            state["mean"] = mean
            failed = record(state["i"], elapsed, value)
            state["i"] += 1
            if failed or state["i"] >= total:
                state["failed"] = failed
                self.model.stop_training = True

    model.fit(x, y, batch_size=batch, epochs=math.ceil(total / steps_per_epoch), shuffle=True,
              callbacks=[Steps()], verbose=0)
    return state["failed"]


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
        reply({"status": "oom" if oom else "failed", "message": f"{name}: {e}"[:4000]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
