"""Independent cross-check of gapbench's TF-Keras peer (outside gapbench's code path: nothing here
comes from wasm-probe/ or harness/). Trains the Teachable-Machine head (1280 -> Dense(100, relu)
-> Dense(3, softmax, no bias), batch 16, Adam 0.001, categorical cross-entropy, 300 samples per
class, 15% held out) the way Keras's own guides train ("Training & evaluation with the built-in
methods"): numpy arrays into `model.fit(x, y, batch_size, epochs)`, TensorFlow on 1 thread as
gapbench's peer runs it; a step is timed by a callback from `on_train_batch_begin` to
`on_train_batch_end` (Keras's "Writing your own callbacks" guide times batches this way).

    python3 tests/peers/keras_check.py [warmup] [steps]     (needs tensorflow: pip install tensorflow-cpu)

Prints one JSON line: {"library":"tf-keras","version":...,"median_ms":...,"step_ms":[...]}.
"""

import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

warmup = int(sys.argv[1]) if len(sys.argv) > 1 else 5
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 40
features, hidden, classes, per_class, batch = 1280, 100, 3, 300, 16

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
tf.keras.utils.set_random_seed(1)

# One Gaussian blob per class, non-negative like pooled ReLU embeddings; 15% of each class held out.
rng = np.random.default_rng(1)
means = rng.standard_normal((classes, features)).astype(np.float32) * 0.15
held = round(per_class * 0.15)
xs, ys = [], []
for c in range(classes):
    x = np.maximum(means[c] + rng.standard_normal((per_class, features)).astype(np.float32), 0)
    xs.append(x[held:])
    ys += [c] * (per_class - held)
x = np.concatenate(xs)
# One-hot labels in float32, the dtype Keras trains in (as gapbench's peer holds them):
# `to_categorical` gives float64, and fit's step was 5-22% slower with those here.
y = np.eye(classes, dtype=np.float32)[np.array(ys)]

model = tf.keras.Sequential([
    tf.keras.Input(shape=(features,)),
    tf.keras.layers.Dense(hidden, activation="relu"),
    tf.keras.layers.Dense(classes, activation="softmax", use_bias=False),
])
model.compile(optimizer=tf.keras.optimizers.Adam(0.001), loss="categorical_crossentropy")

total = warmup + steps
times = []


class Timer(tf.keras.callbacks.Callback):
    def on_train_batch_begin(self, batch_index, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch_index, logs=None):
        float(logs["loss"])
        times.append((time.perf_counter() - self.start) * 1e3)
        if len(times) >= total:
            self.model.stop_training = True


per_epoch = -(-len(x) // batch)
model.fit(x, y, batch_size=batch, epochs=-(-total // per_epoch), callbacks=[Timer()], verbose=0)
measured = times[warmup:total]
print(json.dumps({"library": "tf-keras", "version": f"TensorFlow {tf.__version__}, Keras {tf.keras.__version__}",
                  "median_ms": statistics.median(measured), "step_ms": measured}))
