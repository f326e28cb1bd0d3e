#!/usr/bin/env python3
"""TensorFlow's decode + slim-eval preprocessing time for one JPEG (benches/preprocess.rs).

Prints `tf_decode_ms <median> tf_total_ms <median>` over the given number of runs, with the
work compiled as tf.functions (TF's fastest path)."""
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

path, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20
data = tf.constant(open(path, "rb").read())


@tf.function
def decode(d):
    return tf.io.decode_jpeg(d, channels=3)


@tf.function
def full(d):
    image = tf.image.convert_image_dtype(tf.io.decode_jpeg(d, channels=3), tf.float32)
    image = tf.image.central_crop(image, central_fraction=0.875)
    image = tf.compat.v1.image.resize_bilinear(image[None], [299, 299], align_corners=False)[0]
    return (image - 0.5) * 2.0


def median_ms(f):
    for _ in range(3):
        f(data).numpy()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f(data).numpy()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


print(f"tf_decode_ms {median_ms(decode):.3f} tf_total_ms {median_ms(full):.3f}")
