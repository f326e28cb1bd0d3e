#!/usr/bin/env python3
"""The peers `cargo bench --bench inception` compares ncs with: TensorFlow and ONNX Runtime
running the Inception V3 that ncs runs (tests/data/gen_tf_reference.py, seed 1011).

TensorFlow runs it as a tf.function with the weights captured as constants. ONNX Runtime runs the
same function converted by tf2onnx (cached at the path given as the first argument, since the
conversion takes about a minute), with 2 intra-op threads. The process stays up so the Rust side
can interleave rounds with its own: it prints one `ready ...` line, then answers every line `N`
read from stdin with `tf_median_ms <ms> tf_cpu_ms <ms> ort_median_ms <ms> ort_cpu_ms <ms>`
(medians of N runs each after warm-up, wall and process CPU time), and exits at end of input. Without TensorFlow it prints one `skip <reason>` line and
exits 0; without ONNX Runtime or tf2onnx it measures TensorFlow alone (no `ort_median_ms`).

    sh benches/peers_setup.sh     # or: pip install tensorflow-cpu onnxruntime tf2onnx numpy
"""
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "data"))

try:
    import numpy as np
    import tensorflow as tf
except ImportError as e:
    print(f"skip TensorFlow not installed ({e.name}); run sh benches/peers_setup.sh", flush=True)
    sys.exit(0)
try:
    import onnxruntime as ort
    import tf2onnx
except ImportError as e:
    ort, tf2onnx, ORT_MISSING = None, None, e.name
else:
    ORT_MISSING = None

import gen_tf_reference as ref  # noqa: E402

ONNX_PATH = sys.argv[1]
THREADS = 2

weights = ref.Weights(1011)
x = ref.batch((299, 299, 3), weights)
# Trace once with the stream positioned after the input, capturing weights as constants.
state = weights.state
SIGNATURE = [tf.TensorSpec([1, 299, 299, 3], tf.float32, name="input")]


@tf.function(input_signature=SIGNATURE, jit_compile=False)
def forward(inp):
    w = ref.Weights(0)
    w.state = state
    return tf.nn.softmax(ref.inception_v3_body(inp, w))


x_tf = tf.constant(x)
tf_probs = forward(x_tf).numpy()
session = None
if ort is not None:
    if not os.path.exists(ONNX_PATH):
        model, _ = tf2onnx.convert.from_function(forward, input_signature=SIGNATURE, opset=17)
        os.makedirs(os.path.dirname(ONNX_PATH), exist_ok=True)
        with open(ONNX_PATH + ".tmp", "wb") as f:
            f.write(model.SerializeToString())
        os.replace(ONNX_PATH + ".tmp", ONNX_PATH)
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(ONNX_PATH, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    ort_probs = session.run(None, feed)[0]
    # A wrong conversion must not pass as a fast one.
    assert np.abs(tf_probs - ort_probs).max() < 1e-4, "ONNX Runtime disagrees with TensorFlow"


def median_ms(fn, runs):
    """Median wall and CPU (the process's, all threads) ms of `runs` calls after 3 warm-up ones."""
    for _ in range(3):
        fn()
    times, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    return float(np.median(times)), float(np.median(cpu))


about = f"ready tf_version {tf.__version__}"
if session is not None:
    about += f" ort_version {ort.__version__} ort_threads {THREADS}"
    about += f" max_abs_tf_vs_ort {float(np.abs(tf_probs - ort_probs).max()):.3g}"
else:
    about += f" (ONNX Runtime skipped: {ORT_MISSING} not installed)"
print(about, flush=True)
for line in sys.stdin:
    runs = int(line)
    tf_ms, tf_cpu = median_ms(lambda: forward(x_tf).numpy(), runs)
    answer = f"tf_median_ms {tf_ms:.3f} tf_cpu_ms {tf_cpu:.3f}"
    if session is not None:
        ort_ms, ort_cpu = median_ms(lambda: session.run(None, feed), runs)
        answer += f" ort_median_ms {ort_ms:.3f} ort_cpu_ms {ort_cpu:.3f}"
    print(answer, flush=True)
