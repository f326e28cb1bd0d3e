#!/usr/bin/env python3
"""Test data for `ncs compile` (tests/compile_ops.rs, tests/compile_real.rs).

    pip install tensorflow-cpu numpy
    python3 tests/data/gen_compile.py ops                 # tests/data/compile/ops/*.pb + expected outputs
    python3 tests/data/gen_compile.py freeze META CKPT OUTPUT OUT.pb   # a checkpoint into a frozen pb:
                                     # META = model.ckpt.meta, CKPT = model.ckpt (the prefix), OUTPUT =
                                     # the output node (mvNCCompile's -on), OUT.pb = the file to write
    pip install tf_slim tf_keras
    python3 tests/data/gen_compile.py inception [OUT.pb]  # TF-Slim Inception V3, frozen (not committed,
                                                          # default target/compile/inception_v3_slim.pb)
                                                          # + TF's top-5 on real photos (committed)

`ops`: one small frozen graph per op the compiler lowers, built by TensorFlow itself (TF1 graph
mode, as users froze models for mvNCCompile), with TensorFlow's output on a fixed input. The
input comes from the SplitMix64 stream shared with `ncs::graph::samples::Weights` (seed per case,
drawn first), so the Rust test regenerates it and only the graph and the output are committed.
Weights are fp16-representable and folded scales are powers of two (batch-norm gammas ±2^k,
var + eps = 4), so ncs's fp16 weights hold
exactly TensorFlow's values and fp32 mode must agree to float rounding.

Tests and CI never need TensorFlow.
"""
import os
import sys

FREEZE_USAGE = "usage: gen_compile.py freeze META CKPT OUTPUT OUT.pb  (META: the .meta file, CKPT: the " \
    "checkpoint prefix, OUTPUT: the output node's name, OUT.pb: the frozen graph to write)"


def check_arguments(argv):
    """Answers --help and bad arguments before TensorFlow is imported (tests/compile_ops.rs runs
    this without TensorFlow)."""
    command = argv[1] if len(argv) > 1 else "ops"
    if command in ("-h", "--help"):
        print(__doc__)
        print(FREEZE_USAGE)
        sys.exit(0)
    if command == "freeze" and len(argv) != 6:
        sys.exit(FREEZE_USAGE)
    if command not in ("ops", "inception", "freeze"):
        sys.exit(__doc__)


if __name__ == "__main__":
    check_arguments(sys.argv)

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from gen_tf_reference import Weights  # noqa: E402  (SplitMix64, same as the Rust side)
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
OPS = os.path.join(HERE, "compile", "ops")


def fp16(a):
    return np.asarray(a, dtype=np.float32).astype(np.float16).astype(np.float32)


class Rng:
    """fp16-exact weights from a seeded numpy generator."""

    def __init__(self, seed):
        self.r = np.random.default_rng(seed)

    def w(self, *shape, scale=0.5):
        return tf.constant(fp16(self.r.uniform(-scale, scale, shape)))

    def grid(self, n, steps):
        """Multiples of 1/steps in [-1, 1]: products and sums of a few stay exact in fp16."""
        return tf.constant(self.r.integers(-steps, steps + 1, n).astype(np.float32) / steps)

    def powers_of_two(self, n):
        """±2^k: scaling fp16 weights by these is exact."""
        signs = self.r.choice([-1.0, 1.0], n)
        return tf.constant((signs * 2.0 ** self.r.integers(-2, 2, n)).astype(np.float32))


def conv(x, r, k, cout, stride=1, padding="SAME", name=None):
    cin = int(x.shape[-1])
    return tf.nn.conv2d(x, r.w(k, k, cin, cout), [1, stride, stride, 1], padding, name=name)


def bn(x, r, version):
    """Inference batch norm with scale exactly gamma/2 (var + eps == 4) and fp16-exact folding."""
    c = int(x.shape[-1])
    eps = 2.0 ** -10
    gamma, beta, mean = r.powers_of_two(c), r.grid(c, 64), r.grid(c, 32)
    var = tf.constant(np.full(c, 4.0 - eps, np.float32))
    op = {1: tf.raw_ops.FusedBatchNorm, 2: tf.raw_ops.FusedBatchNormV2, 3: tf.raw_ops.FusedBatchNormV3}[version]
    return op(x=x, scale=gamma, offset=beta, mean=mean, variance=var, epsilon=eps, is_training=False)[0]


# Each case: (input shape, builder). The builder returns the output tensor.

def conv_bias_relu(x, r):
    return tf.nn.relu(tf.nn.bias_add(conv(x, r, 3, 8), r.w(8, scale=0.1)))


def conv_bn_v3_relu6(x, r):
    return tf.nn.relu6(bn(conv(x, r, 3, 8, 2, "VALID"), r, 3))


def conv_bn_v1_elu(x, r):
    return tf.nn.elu(bn(conv(x, r, 3, 8), r, 1))


def conv_bn_v2_leaky_op(x, r):
    return tf.nn.leaky_relu(bn(conv(x, r, 1, 8), r, 2), alpha=0.25)


def conv_leaky_pattern(x, r):
    y = conv(x, r, 3, 8)
    return tf.maximum(y, 0.125 * y)


def depthwise_bn_relu(x, r):
    c = int(x.shape[-1])
    y = tf.nn.depthwise_conv2d(x, r.w(3, 3, c, 1), [1, 1, 1, 1], "SAME")
    return tf.nn.relu(bn(y, r, 3))


def deconv_bias(x, r):
    y = tf.nn.conv2d_transpose(x, r.w(3, 3, 4, int(x.shape[-1])), [1, 11, 11, 4], 2, "VALID")
    return tf.nn.bias_add(y, r.w(4, scale=0.1))


def pad_conv(x, r):
    y = tf.pad(x, [[0, 0], [2, 2], [1, 1], [0, 0]])
    return tf.nn.relu(conv(y, r, 3, 8, 1, "VALID"))


def pools(x, r):
    y = tf.nn.max_pool2d(conv(x, r, 3, 8), 3, 2, "SAME")
    y = tf.nn.avg_pool2d(y, 2, 1, "VALID")
    return tf.nn.avg_pool2d(y, 3, 1, "SAME")


def lrn(x, r):
    return tf.nn.local_response_normalization(conv(x, r, 1, 8), depth_radius=2, bias=1.0, alpha=0.1, beta=0.75)


def flatten_fc_softmax(x, r):
    y = tf.nn.relu(conv(x, r, 3, 8, 2))
    # tf.layers.flatten's pattern: Shape → StridedSlice → Pack → Reshape.
    flat = tf.reshape(y, tf.stack([tf.shape(y)[0], -1]))
    n = int(np.prod(y.shape[1:]))
    return tf.nn.softmax(tf.matmul(flat, r.w(n, 10, scale=0.2)) + r.w(10, scale=0.1))


def mean_squeeze_fc_sigmoid(x, r):
    y = tf.nn.relu(conv(x, r, 3, 16))
    y = tf.squeeze(tf.reduce_mean(y, [1, 2], keepdims=True), [1, 2])
    return tf.sigmoid(tf.matmul(y, r.w(16, 4)) + r.w(4, scale=0.1))


def fc_tanh(x, r):
    flat = tf.reshape(x, [1, -1])
    n = int(flat.shape[-1])
    return tf.tanh(tf.nn.bias_add(tf.matmul(flat, r.w(n, 12, scale=0.2)), r.w(12, scale=0.1)))


def eltwise_ops(x, r):
    a = conv(x, r, 1, 8)
    b = conv(x, r, 3, 8)
    c = conv(x, r, 1, 8)
    d = conv(x, r, 3, 8)
    return tf.maximum(tf.multiply(tf.add(a, b), c) - d, c)


def mul_div_constants(x, r):
    y = conv(x, r, 3, 8) * 2.0  # absorbed into the convolution
    y = y / tf.constant(np.array([0.5, 1, 2, 4, 0.25, 1, 2, 8], np.float32))
    y = tf.nn.max_pool2d(tf.nn.relu(y), 2, 2, "VALID")
    return y * 0.5  # a scale stage after a pool


def max_with_const(x, r):
    return tf.maximum(conv(x, r, 3, 8), 0.25)


def concat_branches(x, r):
    a = tf.nn.relu(conv(x, r, 1, 8))
    b = tf.nn.relu(conv(x, r, 3, 8))
    c = tf.nn.max_pool2d(tf.nn.relu(conv(x, r, 3, 8)), 3, 1, "SAME")
    return tf.nn.relu(conv(tf.concat([a, b, c], 3), r, 1, 8))


def slice_channels(x, r):
    y = tf.nn.relu(conv(x, r, 3, 8))
    return conv(tf.slice(y, [0, 0, 0, 2], [1, -1, -1, 3]), r, 1, 8)


def batch_norm_pattern(x, r):
    # tf.nn.batch_normalization: Rsqrt/Mul/Sub on constants, Mul + Add on the tensor.
    y = conv(x, r, 3, 8)
    eps = 2.0 ** -10
    return tf.nn.relu(tf.nn.batch_normalization(
        y, r.grid(8, 32), tf.constant(np.full(8, 4.0 - eps, np.float32)), r.grid(8, 64), r.powers_of_two(8), eps))


CASES = [
    ((8, 8, 3), conv_bias_relu),
    ((9, 9, 3), conv_bn_v3_relu6),
    ((8, 8, 3), conv_bn_v1_elu),
    ((6, 6, 4), conv_bn_v2_leaky_op),
    ((8, 8, 3), conv_leaky_pattern),
    ((8, 8, 4), depthwise_bn_relu),
    ((5, 5, 3), deconv_bias),
    ((7, 7, 3), pad_conv),
    ((9, 9, 3), pools),
    ((5, 5, 3), lrn),
    ((8, 8, 3), flatten_fc_softmax),
    ((6, 6, 3), mean_squeeze_fc_sigmoid),
    ((4, 4, 3), fc_tanh),
    ((6, 6, 3), eltwise_ops),
    ((8, 8, 3), mul_div_constants),
    ((6, 6, 3), max_with_const),
    ((7, 7, 4), concat_branches),
    ((6, 6, 3), slice_channels),
    ((6, 6, 3), batch_norm_pattern),
]


def ops(only):
    os.makedirs(OPS, exist_ok=True)
    for i, (shape, case) in enumerate(CASES):
        name = case.__name__
        if only and name not in only:
            continue
        seed = 2000 + i
        image = Weights(seed).uniform(int(np.prod(shape)), 1.0).reshape((1,) + shape)
        g = tf1.Graph()
        with g.as_default():
            x = tf1.placeholder(tf.float32, (1,) + shape, name="input")
            tf.identity(case(x, Rng(seed)), name="output")
            frozen = tf1.graph_util.extract_sub_graph(g.as_graph_def(), ["output"])
        g2 = tf1.Graph()
        with g2.as_default():
            tf1.import_graph_def(frozen, name="")
            with tf1.Session(graph=g2) as sess:
                y = sess.run("output:0", {"input:0": image})
        with open(os.path.join(OPS, name + ".pb"), "wb") as f:
            f.write(frozen.SerializeToString())
        y = np.asarray(y, np.float32).reshape(-1)
        np.save(os.path.join(OPS, name + ".npy"), y)
        print(f"{name:26s} seed {seed}  {len(frozen.node):3d} nodes  out {y.size:4d}  max|y| {np.abs(y).max():.4g}")


def freeze(meta, ckpt, output, out_path):
    tf1.disable_eager_execution()
    g = tf1.Graph()
    with g.as_default(), tf1.Session(graph=g) as sess:
        saver = tf1.train.import_meta_graph(meta, clear_devices=True)
        saver.restore(sess, ckpt)
        frozen = tf1.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), [output])
    with open(out_path, "wb") as f:
        f.write(frozen.SerializeToString())
    print(out_path, len(frozen.node), "nodes")


INCEPTION_PB = os.path.join(HERE, "..", "..", "target", "compile", "inception_v3_slim.pb")
INCEPTION_TOP5 = os.path.join(HERE, "compile", "inception_v3_top5.json")
# PNGs only: ncs's slim-eval preprocessing matches TF's to 1e-5 on them (tests/preprocess.rs);
# JPEG decoders differ by up to 0.035.
INCEPTION_PHOTOS = ["chelsea.png", "rocket_portrait.png", "chelsea_grey.png"]
INCEPTION_SEED = 3000


def slim_eval(path, size=299):
    """The slim eval preprocessing, as tests/data/gen_preprocess.py (and ncs's Scheme::SlimEval)."""
    image = tf.io.decode_png(tf.io.read_file(path), channels=3)
    image = tf.image.convert_image_dtype(image, tf.float32)
    image = tf.image.central_crop(image, central_fraction=0.875)
    image = tf1.image.resize_bilinear(image[None], [size, size], align_corners=False)[0]
    return ((image - 0.5) * 2.0).numpy()


def inception(out_path):
    """tf_slim's inception_v3 as users froze it for mvNCCompile: 1001 classes, eval mode, the
    usual arg scope (fused batch norm without gamma, epsilon 1e-3), real batch-norm nodes with
    seeded moving statistics, frozen at InceptionV3/Predictions/Softmax.

    Weights are He-scaled normals (a network of 94 convolutions keeps its activations in range,
    as a trained one does, so fp16 storage neither overflows nor flattens the softmax)."""
    import json

    try:  # tf_slim's layers come from tf_keras, which moved them under src/ in TF 2.16+
        import tf_keras.legacy_tf_layers  # noqa: F401
    except ImportError:
        import tf_keras.src.legacy_tf_layers as legacy

        sys.modules["tf_keras.legacy_tf_layers"] = legacy
    from tf_slim.nets import inception_v3 as slim_inception

    import tf_slim as slim

    images = [slim_eval(os.path.join(HERE, "photos", name)) for name in INCEPTION_PHOTOS]
    rng = np.random.default_rng(INCEPTION_SEED)
    g = tf1.Graph()
    with g.as_default():
        x = tf1.placeholder(tf.float32, (1, 299, 299, 3), name="input")
        with slim.arg_scope(slim_inception.inception_v3_arg_scope()):
            slim_inception.inception_v3(x, num_classes=1001, is_training=False)
        output = "InceptionV3/Predictions/Softmax"
        with tf1.Session(graph=g) as sess:
            for v in tf1.global_variables():
                shape = v.shape.as_list()
                name = v.op.name
                if name.endswith("moving_mean"):
                    value = rng.uniform(-0.05, 0.05, shape)
                elif name.endswith("moving_variance"):
                    value = rng.uniform(0.5, 1.5, shape)
                elif name.endswith("beta"):
                    value = rng.uniform(-0.02, 0.02, shape)
                elif name.endswith("biases"):
                    value = rng.uniform(-0.01, 0.01, shape)
                elif name.endswith("weights"):
                    fan_in = int(np.prod(shape[:-1]))
                    value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
                else:
                    sys.exit(f"unexpected variable {name}")
                v.load(value.astype(np.float32), sess)
            frozen = tf1.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), [output])
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(frozen.SerializeToString())
    ops = sorted({n.op for n in frozen.node})
    print(out_path, len(frozen.node), "nodes:", ", ".join(ops))
    g2 = tf1.Graph()
    with g2.as_default():
        tf1.import_graph_def(frozen, name="")
        with tf1.Session(graph=g2) as sess:
            expected = {}
            for name, image in zip(INCEPTION_PHOTOS, images):
                p = sess.run(output + ":0", {"input:0": image[None]}).reshape(-1)
                top = np.argsort(-p, kind="stable")[:6]
                expected[name] = {"top5": [int(i) for i in top[:5]], "probabilities": [float(p[i]) for i in top[:5]]}
                gaps = np.diff(p[top]) / p[top[0]]
                print(f"{name}: top-5 {top[:5].tolist()} p {np.round(p[top[:5]], 4).tolist()}"
                      f" smallest gap {np.abs(gaps).min():.2e} of p1")
    with open(INCEPTION_TOP5, "w") as f:
        json.dump({"seed": INCEPTION_SEED, "output": output, "photos": expected}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "ops"
    if command == "ops":
        ops(set(sys.argv[2:]))
    elif command == "inception":
        inception(sys.argv[2] if len(sys.argv) > 2 else INCEPTION_PB)
    elif command == "freeze":
        freeze(*sys.argv[2:6])
