#!/usr/bin/env python3
"""Expected stage outputs of real mvNCCompile graphs (and graphs/op_zoo.graph), computed by
TensorFlow running *the weights stored in each blob*, for tests/graph_reference.rs.

The blob is read here by its own small parser of the documented format (docs/blob_format.md
§1–§4), not by ncs. Each network is then written out by hand as the TensorFlow model it was
compiled from (conv2d, max_pool2d, matmul, conv2d_transpose, …), taking from the records only the
weights and what a TensorFlow model states itself (kernel, stride, padding, post-op, channel
offsets of slices); `check()` asserts that every record is the op this script says it is. So ncs's
parser, planner and operators and this script meet only in the expected outputs.

Conventions, each the same documented choice as ncs (src/reference/semantics.rs):
- Memory order: the stick's tensors are HWC with rows = inputDimY, columns = inputDimX. The TF
  parser wrote the model's H as X and W as Y (blob_format.md §3.4 quirk 1), so a non-square
  graph (deeppicar, conv_regression) describes the computation on the transposed image: here
  TensorFlow is fed the stick's memory as an NHWC [1, Y, X, C] tensor with the taps unchanged,
  which is exactly what the records ask the stick to compute (the kernels and strides are square).
- TF SAME padding: TensorFlow's own split (before = floor(total/2)); max pooling never takes
  padding (TensorFlow pads with -inf).
- conv_deconv's sigmoid record says 65x65x65 where its input is 65x65x1 (quirk 2): the record is
  followed as written, reading the input through its own strides with the output's dims; past the
  input buffer (the last in the work area) lies the zeroed guard band.
- ncs_test's `add` takes its second operand from the network input (quirk 3), read through the
  first operand's strides with the output's dims, as for every eltwise record.
- An fp16 blob holds fp16 weights; they are used exactly (as float32). TensorFlow computes in
  float32 throughout.

Inputs: SplitMix64 uniform [-1, 1) (`ncs::graph::samples::Weights`), seed per graph below, in the
stick's memory order. A stage output of more than SAMPLE values is committed as every step-th
value of its HWC order, step = n // SAMPLE + 1 raised until coprime with the channel count (so
every channel is sampled); tests/graph_reference.rs samples identically.

    pip install tensorflow-cpu numpy
    python3 tests/data/gen_graph_reference.py          # rewrites tests/data/graph_ref/

Tests and CI never need TensorFlow.
"""
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_tf_reference import Weights, tf  # noqa: E402  (one SplitMix64 stream for all scripts)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("NCS_SHARED_GRAPHS", os.path.join(ROOT, "..", "shared", "graphs"))
OUT = os.path.join(HERE, "graph_ref")
SAMPLE = 4096

# ---- the blob, read independently (docs/blob_format.md §2–§3) ----

HEADER_LEN, RECORD_LEN = 264, 227
LOC_INPUT, LOC_BLOB = 1, 3
OP = {"conv": 0, "maxpool": 1, "avgpool": 2, "softmax": 3, "fc": 4, "depthwise": 8, "prelu": 10, "lrn": 11,
      "sum": 12, "prod": 13, "max": 14, "scale": 15, "copy": 19, "sigmoid": 20, "tanh": 21, "deconv": 22,
      "power": 26}
PAD = {"none": 0, "tfvalid": 1, "caffe": 2, "tfsame": 3}


class Record:
    """One 227-byte stage record; dims are (x, y, z), strides in bytes."""

    def __init__(self, raw):
        self.name = raw[:100].split(b"\0")[0].decode("latin-1")
        self.op = raw[100]
        self.kx, self.ky = struct.unpack_from("<bb", raw, 105)
        self.sx, self.sy, self.px, self.py, self.pad_style = raw[107:112]
        u = struct.unpack_from("<18I", raw, 112)
        self.in_dims, self.tap_dims, self.out_dims = u[0:3], u[3:6], u[6:9]
        self.in_strides, self.out_strides = u[9:12], u[15:18]
        # (pointer, location) for data, taps, bias, opParams, output
        self.data, self.taps, self.bias, self.params, self.output = [
            struct.unpack_from("<IH", raw, 187 + 6 * i) for i in range(5)]
        self.post_op = raw[218]
        self.post_param = struct.unpack_from("<f", raw, 219)[0]


class Blob:
    def __init__(self, path):
        raw = open(path, "rb").read()
        size, version = struct.unpack_from("<II", raw, 32)
        assert size == len(raw) and version == 2, path
        count, data_offset = struct.unpack_from("<II", raw, 240)
        self.records = [Record(raw[HEADER_LEN + i * RECORD_LEN:HEADER_LEN + (i + 1) * RECORD_LEN])
                        for i in range(count)]
        self.data = raw[data_offset:]

    def _read(self, slot, dtype, count):
        pointer, location = slot
        assert location == LOC_BLOB, f"slot {slot} is not in the data section"
        return np.frombuffer(self.data, dtype=dtype, count=count, offset=pointer).astype(np.float32)

    def taps(self, r, count):
        return self._read(r.taps, "<f2", count)

    def bias(self, r, count):
        return self._read(r.bias, "<f2", count) if r.bias[1] else None

    def params(self, r, dtype, count):
        return self._read(r.params, dtype, count)


# ---- TensorFlow layers, each asserting the record is what the model says ----

def check(r, op, kernel=None, stride=None, pad=None):
    assert r.op == OP[op], f"{r.name}: op {r.op}, expected {op}"
    if kernel is not None:
        assert (r.ky, r.kx) == tuple(kernel), f"{r.name}: kernel {(r.ky, r.kx)} != {kernel}"
    if stride is not None:
        assert (r.sy, r.sx) == tuple(stride), f"{r.name}: stride {(r.sy, r.sx)} != {stride}"
    if pad is not None:
        assert r.pad_style == PAD[pad], f"{r.name}: pad style {r.pad_style} != {pad}"


def post(r, y):
    """The fused post-op (blob_format.md §3.2): 5 none, 9 bias only, 6 relu, 7 relu-x,
    42 leaky relu, 23 elu."""
    if r.post_op in (5, 9):
        return y
    if r.post_op == 6:
        return tf.nn.relu(y)
    if r.post_op == 7:
        return tf.minimum(tf.nn.relu(y), r.post_param)
    if r.post_op == 42:
        return tf.nn.leaky_relu(y, alpha=r.post_param)
    if r.post_op == 23:
        return tf.where(y > 0, y, r.post_param * (tf.exp(y) - 1.0))
    raise ValueError(f"{r.name}: post-op {r.post_op}")


def with_bias(b, r, y):
    bias = b.bias(r, int(y.shape[-1]))
    return post(r, y if bias is None else y + bias)


def tf_padding(r):
    if r.pad_style == PAD["tfsame"]:
        return "SAME"
    if r.pad_style == PAD["tfvalid"]:
        return "VALID"
    return [[0, 0], [r.py, r.py], [r.px, r.px], [0, 0]]


def conv(b, r, x, kernel, stride, pad):
    check(r, "conv", kernel, stride, pad)
    cin, cout = int(x.shape[-1]), r.out_dims[2]
    w = b.taps(r, kernel[0] * kernel[1] * cin * cout).reshape(kernel[0], kernel[1], cin, cout)
    dilation = int(b.params(r, "<i4", 1)[0]) if r.params[1] else 1
    y = tf.nn.conv2d(x, w, strides=[1, *stride, 1], padding=tf_padding(r), dilations=dilation)
    return with_bias(b, r, y)


def depthwise(b, r, x, kernel, stride, pad):
    check(r, "depthwise", kernel, stride, pad)
    cin, cout = int(x.shape[-1]), r.out_dims[2]
    w = b.taps(r, kernel[0] * kernel[1] * cout).reshape(kernel[0], kernel[1], cin, cout // cin)
    return with_bias(b, r, tf.nn.depthwise_conv2d(x, w, strides=[1, *stride, 1], padding=tf_padding(r)))


def deconv(b, r, x, kernel, stride, pad):
    """conv2d_transpose with Caffe's symmetric padding `pad` cropped from the VALID result. The
    blob holds the filter flipped with in/out swapped (blob_format.md §3.4): T[i][j][c][k] =
    F[kh-1-i][kw-1-j][k][c] for TF's [kh, kw, out, in] filter F."""
    check(r, "deconv", kernel, stride, "caffe")
    assert (r.py, r.px) == pad
    cin, cout = int(x.shape[-1]), r.out_dims[2]
    taps = b.taps(r, kernel[0] * kernel[1] * cin * cout).reshape(kernel[0], kernel[1], cin, cout)
    filt = taps[::-1, ::-1].transpose(0, 1, 3, 2)
    h, w = int(x.shape[1]), int(x.shape[2])
    full = [1, stride[0] * (h - 1) + kernel[0], stride[1] * (w - 1) + kernel[1], cout]
    y = tf.nn.conv2d_transpose(x, filt, output_shape=full, strides=[1, *stride, 1], padding="VALID")
    y = y[:, pad[0]:full[1] - pad[0], pad[1]:full[2] - pad[1], :]
    return with_bias(b, r, y)


def fc(b, r, x):
    check(r, "fc")
    flat = tf.reshape(x, [1, -1])  # the stick's HWC order, as NHWC flattens
    n, k = int(flat.shape[1]), r.out_dims[2]
    y = tf.matmul(flat, b.taps(r, n * k).reshape(n, k))
    return tf.reshape(with_bias(b, r, y), [1, 1, 1, k])


def max_pool(r, x, kernel, stride, pad):
    check(r, "maxpool", kernel, stride, pad)
    return tf.nn.max_pool2d(x, kernel, stride, tf_padding(r))


def scale(b, r, x):
    check(r, "scale")
    c = int(x.shape[-1])
    return with_bias(b, r, x * b.taps(r, c))


def softmax(r, x):
    check(r, "softmax")
    return tf.nn.softmax(x, axis=-1)


def slice_channels(r, producer, x):
    """A copy record reading channels of its producer's output: the first channel is the
    pointer's offset from the producer's buffer start (blob_format.md §3.4, copy)."""
    check(r, "copy")
    assert r.data[1] == producer.output[1]
    first = (r.data[0] - producer.output[0]) // producer.out_strides[2]
    return x[..., first:first + r.out_dims[2]]


# ---- the networks: each returns every stage's output, in record order ----

def conv_fc_sigmoid(b, x):
    """matpalm conv_with_{8,6}_filters: slim conv 3x3/2 SAME + ReLU, flatten, FC(1), sigmoid."""
    r = b.records
    c = conv(b, r[0], x, (3, 3), (2, 2), "tfsame")
    f = fc(b, r[1], c)
    check(r[2], "sigmoid")
    return [c, f, tf.sigmoid(f)]


def conv_deconv(b, x):
    r = b.records
    c1 = conv(b, r[0], x, (3, 3), (2, 2), "tfsame")
    c2 = conv(b, r[1], c1, (3, 3), (2, 2), "tfsame")
    d = deconv(b, r[2], c2, (3, 3), (2, 2), (0, 0))
    logits = conv(b, r[3], d, (1, 1), (1, 1), "tfsame")
    sl = slice_channels(r[4], r[3], logits)
    # Quirk 2: the sigmoid record reads 65x65x65 values through its input's strides.
    check(r[5], "sigmoid")
    (sx, sy, sz), (ox, oy, oz) = [s // 2 for s in r[5].in_strides], r[5].out_dims
    index = (np.arange(oy)[:, None, None] * sy + np.arange(ox)[None, :, None] * sx
             + np.arange(oz)[None, None, :] * sz)
    flat = tf.reshape(sl, [-1])
    guard = tf.zeros([int(index.max()) + 1 - int(flat.shape[0])])
    read = tf.gather(tf.concat([flat, guard], 0), index.reshape(-1))
    return [c1, c2, d, logits, sl, tf.reshape(tf.sigmoid(read), [1, oy, ox, oz])]


def conv_regression(b, x):
    r = b.records
    c1 = conv(b, r[0], x, (3, 3), (2, 2), "tfsame")
    c2 = conv(b, r[1], c1, (3, 3), (2, 2), "tfsame")
    return [c1, c2, fc(b, r[2], c2)]


def kwierman_fc(b, x):
    r = b.records
    f1 = fc(b, r[0], x)
    f2 = fc(b, r[1], f1)
    return [f1, f2, softmax(r[2], f2)]


def ncs_test(b, x):
    r = b.records
    outs = []
    h = x
    for i, pool in enumerate([2, 2, 3]):  # conv 5x5 SAME + BN (folded) + ReLU, max pool SAME
        h = conv(b, r[2 * i], h, (5, 5), (1, 1), "tfsame")
        outs.append(h)
        h = max_pool(r[2 * i + 1], h, [pool, pool], (pool, pool), "tfsame")
        outs.append(h)
    f1 = fc(b, r[6], h)
    bn = scale(b, r[7], f1)
    f2 = fc(b, r[8], bn)
    # Quirk 3: `add` sums with the network input, read with the first operand's strides.
    check(r[9], "sum")
    assert r[9].taps[1] == LOC_INPUT
    (sx, sy, sz), (ox, oy, oz) = [s // 2 for s in r[9].in_strides], r[9].out_dims
    start = r[9].taps[0] // 2
    index = start + (np.arange(oy)[:, None, None] * sy + np.arange(ox)[None, :, None] * sx
                     + np.arange(oz)[None, None, :] * sz)
    second = tf.reshape(tf.gather(tf.reshape(x, [-1]), index.reshape(-1)), [1, oy, ox, oz])
    added = f2 + second
    return outs + [f1, bn, f2, added, softmax(r[10], added)]


def deeppicar(b, x):
    r = b.records
    outs = []
    h = x
    for i, (k, s) in enumerate([(5, 2), (5, 2), (5, 2), (3, 1), (3, 1)]):
        h = conv(b, r[i], h, (k, k), (s, s), "tfvalid")
        outs.append(h)
    for i in range(5, 9):
        h = fc(b, r[i], h)
        outs.append(h)
    outs.append(scale(b, r[9], h))  # the model's output x 2 (a constant multiplier)
    return outs


def op_zoo(b, x):
    """graphs/op_zoo.graph (src/graph/samples.rs), as TensorFlow ops."""
    r = b.records
    dw = depthwise(b, r[0], x, (3, 3), (1, 1), "tfsame")
    de = deconv(b, r[1], dw, (3, 3), (2, 2), (1, 1))
    pooled = max_pool(r[2], de, [2, 2], (2, 2), "tfsame")
    check(r[3], "lrn")
    k, alpha, beta = b.bias(r[3], 3)  # [k, alpha', beta]; alpha' = alpha * n (§3.4 LRN)
    n = r[3].kx
    lrn = tf.nn.local_response_normalization(pooled, depth_radius=(n - 1) // 2, bias=k, alpha=alpha / n, beta=beta)
    check(r[4], "prelu")
    slopes = b.bias(r[4], 4)
    pr = tf.where(lrn > 0, lrn, slopes * lrn)
    sc = scale(b, r[5], pr)  # scale + bias, then ELU(alpha) as post-op
    check(r[6], "sum")
    add = sc + pooled
    check(r[7], "prod")
    mul = add * sc
    check(r[8], "max")
    mx = tf.maximum(mul, add)
    check(r[9], "power")
    shift, factor, power = b.params(r[9], "<f4", 3)
    pw = tf.pow(shift + factor * mx, power)
    check(r[10], "sigmoid")
    sg = tf.sigmoid(pw)
    check(r[11], "tanh")
    th = tf.tanh(mx)
    sl = slice_channels(r[12], r[11], th)
    sl1 = slice_channels(r[13], r[10], sg)
    both = tf.concat([sl, sl1], -1)  # both copies write into one buffer at channel offsets 0, 2
    assert r[13].output[0] - r[12].output[0] == 2 * r[12].out_dims[2]
    out = conv(b, r[14], both, (1, 1), (1, 1), "tfvalid")
    return [dw, de, pooled, lrn, pr, sc, add, mul, mx, pw, sg, th, sl, sl1, out]


# (graph file, folder, seed, network)
GRAPHS = [
    ("conv8.graph", SHARED, 2000, conv_fc_sigmoid),
    ("conv6.graph", SHARED, 2001, conv_fc_sigmoid),
    ("conv_deconv.graph", SHARED, 2002, conv_deconv),
    ("conv_regression.graph", SHARED, 2003, conv_regression),
    ("kwierman_fc.graph", SHARED, 2004, kwierman_fc),
    ("ncs_test.graph", SHARED, 2005, ncs_test),
    ("deeppicar.graph", SHARED, 2006, deeppicar),
    ("op_zoo.graph", os.path.join(ROOT, "graphs"), 2007, op_zoo),
]


def sample(values, channels):
    """Every step-th value, step coprime with `channels` (mirrored in tests/graph_reference.rs)."""
    n = values.size
    if n <= SAMPLE:
        return values
    step = n // SAMPLE + 1
    while math.gcd(step, channels) != 1:
        step += 1
    return values[::step]


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    for file, folder, seed, net in GRAPHS:
        if only and file not in only:
            continue
        b = Blob(os.path.join(folder, file))
        first = b.records[0]
        (cols, rows, ch) = first.in_dims
        x = Weights(seed).uniform(rows * cols * ch, 1.0).reshape(1, rows, cols, ch)
        stages = net(b, tf.constant(x))
        assert len(stages) == len(b.records), file
        parts = []
        for rec, y in zip(b.records, stages):
            y = np.asarray(y, dtype=np.float32)[0]
            ox, oy, oz = rec.out_dims
            assert y.shape == (oy, ox, oz), f"{file} {rec.name}: {y.shape} vs records {(oy, ox, oz)}"
            parts.append(sample(y.reshape(-1), oz))
        out = np.concatenate(parts).astype(np.float32)
        np.save(os.path.join(OUT, file.replace(".graph", ".npy")), out)
        last = np.asarray(stages[-1]).reshape(-1)
        print(f"{file:24s} {len(stages):2d} stages, {out.size:6d} values; output[:4] {last[:4]}")
