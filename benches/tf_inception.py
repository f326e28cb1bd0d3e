#!/usr/bin/env python3
"""TensorFlow's CPU latency for the Inception V3 that `cargo bench --bench inception` runs.

Builds the same network (tests/data/gen_tf_reference.py, seed 1011) as a compiled tf.function
with constant weights, warms up, and prints one line: `tf_median_ms <value> tf_version <v>`.
Used by benches/inception.rs; needs `pip install tensorflow-cpu`.
"""
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import gen_tf_reference as ref  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30

weights = ref.Weights(1011)
x = ref.batch((299, 299, 3), weights)
# Trace once with the stream positioned after the input, capturing weights as constants.
state = weights.state


@tf.function(jit_compile=False)
def forward(inp):
    w = ref.Weights(0)
    w.state = state
    return tf.nn.softmax(ref.inception_v3_body(inp, w))


x = tf.constant(x)
for _ in range(5):
    forward(x).numpy()
times = []
for _ in range(RUNS):
    t = time.perf_counter()
    forward(x).numpy()
    times.append((time.perf_counter() - t) * 1e3)
print(f"tf_median_ms {np.median(times):.3f} tf_version {tf.__version__}")

if os.environ.get("NCS_CHECK_TF_BENCH"):
    expected = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "tf", "inception_v3.npy"))
    probs = forward(x).numpy()[0]
    want = np.exp(expected - expected.max()); want /= want.sum()
    print("max |softmax - fixture softmax|", float(np.abs(probs - want).max()))
