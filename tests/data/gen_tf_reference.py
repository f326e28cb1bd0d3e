#!/usr/bin/env python3
"""Expected outputs for tests/tf_reference.rs, computed by TensorFlow's own ops.

Weights and inputs come from the same SplitMix64 stream as `ncs::graph::samples::Weights`, so
the Rust tests rebuild every network bit-for-bit with ncs's writer and only the small expected
outputs are committed (tests/data/tf/*.npy). Weights are rounded to fp16 here exactly as the blob
stores them, so ncs in fp32 mode must match TensorFlow to float rounding.

    pip install tensorflow-cpu numpy
    python3 tests/data/gen_tf_reference.py          # rewrites tests/data/tf/

Tests and CI never need TensorFlow.
"""
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tf")
MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


class Weights:
    """SplitMix64, mapped to uniform [-scale, scale) in float32 exactly as the Rust side."""

    GAMMA = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, seed):
        self.state = np.uint64(seed)

    def uniform(self, count, scale):
        with np.errstate(over="ignore"):
            steps = np.arange(1, count + 1, dtype=np.uint64)
            z = self.state + steps * self.GAMMA
            self.state = z[-1] if count else self.state
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        unit = (z >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
        return (unit * np.float32(2.0) - np.float32(1.0)) * np.float32(scale)


def fp16(a):
    return a.astype(np.float16).astype(np.float32)


def conv_params(w, kh, kw, cin, cout, scale=0.5):
    weights = fp16(w.uniform(kh * kw * cin * cout, scale)).reshape(kh, kw, cin, cout)
    bias = fp16(w.uniform(cout, 0.1))
    return weights, bias


def conv(x, weights, bias, stride, padding, relu=True):
    y = tf.nn.conv2d(x, weights, strides=[1, stride[0], stride[1], 1], padding=padding) + bias
    return tf.nn.relu(y) if relu else y


def batch(shape, w):
    return w.uniform(int(np.prod(shape)), 1.0).reshape(shape)[None]


# Each case mirrors a function of the same name in tests/tf_reference.rs, draw for draw.

def conv_same_s1(w):
    x = batch((7, 9, 3), w)
    k, b = conv_params(w, 3, 3, 3, 4)
    return conv(x, k, b, (1, 1), "SAME")


def conv_same_s2_even(w):
    x = batch((8, 8, 3), w)
    k, b = conv_params(w, 3, 3, 3, 5)
    return conv(x, k, b, (2, 2), "SAME")


def conv_same_even_kernel(w):
    x = batch((9, 7, 2), w)
    k, b = conv_params(w, 2, 4, 2, 3)
    return conv(x, k, b, (2, 1), "SAME")


def conv_valid_s2(w):
    x = batch((9, 10, 3), w)
    k, b = conv_params(w, 5, 5, 3, 4)
    return conv(x, k, b, (2, 2), "VALID")


def conv_1x7_then_7x1(w):
    x = batch((6, 11, 4), w)
    k1, b1 = conv_params(w, 1, 7, 4, 5)
    k2, b2 = conv_params(w, 7, 1, 5, 3)
    return conv(conv(x, k1, b1, (1, 1), "SAME"), k2, b2, (1, 1), "SAME", relu=False)


def depthwise_same_s2(w):
    x = batch((8, 8, 3), w)
    k = fp16(w.uniform(3 * 3 * 3 * 2, 0.5)).reshape(3, 3, 3, 2)
    b = fp16(w.uniform(6, 0.1))
    y = tf.nn.depthwise_conv2d(x, k, strides=[1, 2, 2, 1], padding="SAME") + b
    return tf.nn.relu(y)


def pools(w):
    x = batch((8, 9, 3), w)
    a = tf.nn.max_pool2d(x, 3, 2, "SAME")
    b = tf.nn.avg_pool2d(a, 3, 1, "SAME")
    c = tf.nn.avg_pool2d(b, 3, 2, "SAME")
    return tf.nn.max_pool2d(c, 2, 1, "VALID")


def deconv_valid_s2(w):
    x = batch((5, 5, 3), w)
    filt = fp16(w.uniform(3 * 3 * 2 * 3, 0.5)).reshape(3, 3, 2, 3)  # [kh, kw, out, in]
    b = fp16(w.uniform(2, 0.1))
    y = tf.nn.conv2d_transpose(x, filt, output_shape=[1, 11, 11, 2], strides=2, padding="VALID")
    return y + b


def fc_softmax(w):
    x = batch((1, 1, 20), w)
    k = fp16(w.uniform(20 * 10, 0.5)).reshape(20, 10)
    b = fp16(w.uniform(10, 0.1))
    return tf.nn.softmax(tf.matmul(tf.reshape(x, [1, 20]), k) + b)


def lrn(w):
    x = batch((5, 5, 8), w)
    return tf.nn.local_response_normalization(x, depth_radius=2, bias=1.0, alpha=0.1, beta=0.75)


def elementwise(w):
    x = batch((4, 5, 3), w)
    k, b = conv_params(w, 1, 1, 3, 3)
    a = conv(x, k, b, (1, 1), "VALID", relu=False)
    s = tf.sigmoid(a)
    t = tf.tanh(a)
    p = s * t
    m = tf.maximum(p, a)
    return m + a


def inception_v3(w):
    """TF-Slim inception_v3 (no aux head, 1001 classes) with batch norm folded into biases."""
    return inception_v3_body(batch((299, 299, 3), w), w)


def inception_v3_body(x, w):
    """The network on an input batch, weights drawn from w in layer order; returns logits."""

    def c(x, cout, k, stride=1, padding="SAME", relu=True):
        kh, kw = (k, k) if isinstance(k, int) else k
        cin = int(x.shape[-1])
        weights = fp16(w.uniform(kh * kw * cin * cout, float(np.sqrt(np.float32(6.0) / np.float32(kh * kw * cin))))).reshape(kh, kw, cin, cout)
        bias = fp16(w.uniform(cout, 0.1))
        return conv(x, weights, bias, (stride, stride), padding, relu)

    def avg(x):
        return tf.nn.avg_pool2d(x, 3, 1, "SAME")

    def maxp(x):
        return tf.nn.max_pool2d(x, 3, 2, "VALID")

    x = c(x, 32, 3, 2, "VALID")
    x = c(x, 32, 3, 1, "VALID")
    x = c(x, 64, 3)
    x = maxp(x)
    x = c(x, 80, 1, 1, "VALID")
    x = c(x, 192, 3, 1, "VALID")
    x = maxp(x)
    for pool_features in (32, 64, 64):  # Mixed_5b, 5c, 5d
        b0 = c(x, 64, 1)
        b1 = c(c(x, 48, 1), 64, 5)
        b2 = c(c(c(x, 64, 1), 96, 3), 96, 3)
        b3 = c(avg(x), pool_features, 1)
        x = tf.concat([b0, b1, b2, b3], 3)
    b0 = c(x, 384, 3, 2, "VALID")  # Mixed_6a
    b1 = c(c(c(x, 64, 1), 96, 3), 96, 3, 2, "VALID")
    b2 = maxp(x)
    x = tf.concat([b0, b1, b2], 3)
    for width in (128, 160, 160, 192):  # Mixed_6b..6e
        b0 = c(x, 192, 1)
        b1 = c(c(c(x, width, 1), width, (1, 7)), 192, (7, 1))
        b2 = c(c(c(c(c(x, width, 1), width, (7, 1)), width, (1, 7)), width, (7, 1)), 192, (1, 7))
        b3 = c(avg(x), 192, 1)
        x = tf.concat([b0, b1, b2, b3], 3)
    b0 = c(c(x, 192, 1), 320, 3, 2, "VALID")  # Mixed_7a
    b1 = c(c(c(c(x, 192, 1), 192, (1, 7)), 192, (7, 1)), 192, 3, 2, "VALID")
    b2 = maxp(x)
    x = tf.concat([b0, b1, b2], 3)
    for _ in range(2):  # Mixed_7b, 7c
        b0 = c(x, 320, 1)
        b1 = c(x, 384, 1)
        b1 = tf.concat([c(b1, 384, (1, 3)), c(b1, 384, (3, 1))], 3)
        b2 = c(c(x, 448, 1), 384, 3)
        b2 = tf.concat([c(b2, 384, (1, 3)), c(b2, 384, (3, 1))], 3)
        b3 = c(avg(x), 192, 1)
        x = tf.concat([b0, b1, b2, b3], 3)
    x = tf.nn.avg_pool2d(x, 8, 1, "VALID")
    k = fp16(w.uniform(2048 * 1001, float(np.sqrt(np.float32(6.0) / np.float32(2048))))).reshape(2048, 1001)
    b = fp16(w.uniform(1001, 0.1))
    return tf.matmul(tf.reshape(x, [1, 2048]), k) + b  # logits; the graph ends in softmax


def conv_caffe_pad_s2(w):
    x = batch((9, 10, 3), w)
    k, b = conv_params(w, 3, 3, 3, 4)
    return conv(x, k, b, (2, 2), [[0, 0], [1, 1], [1, 1], [0, 0]])


def conv_dilated_caffe(w):
    """Dilation 2 (the Caffe parser's opParams) with explicit padding 1 row, 2 columns."""
    x = batch((11, 12, 3), w)
    k, b = conv_params(w, 3, 3, 3, 4)
    y = tf.nn.conv2d(x, k, strides=1, padding=[[0, 0], [1, 1], [2, 2], [0, 0]], dilations=2) + b
    return tf.nn.relu(y)


CASES = [conv_same_s1, conv_same_s2_even, conv_same_even_kernel, conv_valid_s2, conv_1x7_then_7x1,
         depthwise_same_s2, pools, deconv_valid_s2, fc_softmax, lrn, elementwise, inception_v3,
         conv_caffe_pad_s2, conv_dilated_caffe]

# Seeds: case i uses seed 1000 + i (Rust: the same table order).
if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    for i, case in enumerate(CASES):
        if only and case.__name__ not in only:
            continue
        y = np.asarray(case(Weights(1000 + i)), dtype=np.float32)[0]
        np.save(os.path.join(OUT, case.__name__ + ".npy"), y)
        print(f"{case.__name__:24s} {list(y.shape)}  max|y| {np.abs(y).max():.4g}")
