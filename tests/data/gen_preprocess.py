#!/usr/bin/env python3
"""Expected preprocessing outputs for tests/preprocess.rs, computed by TensorFlow's own ops.

Photos (tests/data/photos/) come from scikit-image's bundled data: chelsea.png 451x300 (CC0,
Stefan van der Walt), coffee 600x400 (CC0, Rachel Michetti; re-encoded as JPEG), rocket.jpg
640x427 and a 280x427 portrait crop of it (public domain, SpaceX), astronaut 512x512 (public
domain, NASA; re-encoded as JPEG). Derived variants: grey, 16-bit RGB (half size), RGBA, and an
EXIF-rotated PNG. Outputs (tests/data/preprocess/):
  slim_eval_<photo>.npy, ncsdk_<photo>.npy  [80, 80, 3] float32
  prim_*.npy                                primitives with fixed parameters on a small crop
  bbox_stats.json                           sample_distorted_bounding_box statistics

    pip install tensorflow-cpu scikit-image pillow numpy
    python3 tests/data/gen_preprocess.py

Tests and CI never need TensorFlow.
"""
import json
import os
import shutil
import struct
import zlib

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PHOTOS = os.path.join(HERE, "photos")
OUT = os.path.join(HERE, "preprocess")
SIZE = 80


def write_png16(path, rgb16):
    """A 16-bit RGB PNG (PIL cannot write one): IHDR depth 16, colour type 2, filter 0 rows."""
    h, w, _ = rgb16.shape
    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def make_photos():
    os.makedirs(PHOTOS, exist_ok=True)
    import skimage

    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    if not os.path.exists(os.path.join(PHOTOS, "chelsea.png")):
        shutil.copy(os.path.join(data, "chelsea.png"), PHOTOS)
        shutil.copy(os.path.join(data, "rocket.jpg"), PHOTOS)
        Image.open(os.path.join(data, "coffee.png")).convert("RGB").save(os.path.join(PHOTOS, "coffee.jpg"), quality=92)
        Image.open(os.path.join(data, "astronaut.png")).convert("RGB").save(os.path.join(PHOTOS, "astronaut.jpg"), quality=90)
        rocket = np.asarray(Image.open(os.path.join(data, "rocket.jpg")).convert("RGB"))
        Image.fromarray(rocket[:, 180:460]).save(os.path.join(PHOTOS, "rocket_portrait.png"))
    chelsea = np.asarray(Image.open(os.path.join(PHOTOS, "chelsea.png")).convert("RGB"))
    Image.fromarray(chelsea).convert("L").save(os.path.join(PHOTOS, "chelsea_grey.png"))
    # 16-bit: spread each 8-bit level over 257 steps and add a fixed low-order pattern, so a
    # decoder that drops to 8 bits is caught.
    half = chelsea[::2, ::2]
    pattern = (np.arange(half.size).reshape(half.shape) * 37) % 200
    write_png16(os.path.join(PHOTOS, "chelsea_16bit.png"), (half.astype(np.int64) * 257 - pattern).clip(0, 65535).astype(np.uint16))
    alpha = np.linspace(0, 255, chelsea.shape[1], dtype=np.uint8)[None, :].repeat(chelsea.shape[0], 0)
    Image.fromarray(np.dstack([chelsea, alpha]), "RGBA").save(os.path.join(PHOTOS, "chelsea_rgba.png"))
    # EXIF orientation 6 (rotate 90° clockwise to display): stored sideways, upright once applied.
    small = Image.fromarray(chelsea[100:160, 150:250])
    exif = Image.Exif()
    exif[0x0112] = 6
    small.transpose(Image.Transpose.ROTATE_90).save(os.path.join(PHOTOS, "chelsea_exif6.png"), exif=exif)
    small.save(os.path.join(OUT, "chelsea_exif6_upright.png"))


def decode(name):
    data = tf.io.read_file(os.path.join(PHOTOS, name))
    if name.endswith(".jpg"):
        return tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE")
    dtype = tf.uint16 if "16bit" in name else tf.uint8
    return tf.io.decode_png(data, channels=3, dtype=dtype)


def slim_eval(image, size):
    image = tf.image.convert_image_dtype(image, tf.float32)
    image = tf.image.central_crop(image, central_fraction=0.875)
    image = tf.compat.v1.image.resize_bilinear(image[None], [size, size], align_corners=False)[0]
    return (image - 0.5) * 2.0


def ncsdk(image, size):
    image = tf.cast(image, tf.float32)
    h, w = int(image.shape[0]), int(image.shape[1])
    cut = abs(h - w) // 2
    image = image[cut:h - cut, :] if h > w else image[:, cut:w - cut]
    image = tf.image.resize(image[None], [size, size], method="bilinear", antialias=False)[0]
    return (image - 128.0) * (1.0 / 128.0)


def primitives():
    base = tf.image.convert_image_dtype(decode("chelsea.png"), tf.float32)[120:144, 200:232]
    np.save(os.path.join(OUT, "prim_input.npy"), base.numpy())
    results = {
        "brightness_p0.1": tf.image.adjust_brightness(base, 0.1),
        "saturation_1.3": tf.image.adjust_saturation(base, 1.3),
        "saturation_0.6": tf.image.adjust_saturation(base, 0.6),
        "hue_0.15": tf.image.adjust_hue(base, 0.15),
        "hue_m0.3": tf.image.adjust_hue(base, -0.3),
        "contrast_1.4": tf.image.adjust_contrast(base, 1.4),
        "contrast_0.5": tf.image.adjust_contrast(base, 0.5),
        "flip": tf.image.flip_left_right(base),
        "slice_3_5_17_20": tf.slice(base, [3, 5, 0], [17, 20, 3]),
    }
    for method in range(4):
        for rows, cols in ((17, 23), (41, 53)):
            resized = tf.compat.v1.image.resize_images(base, [rows, cols], method=method, align_corners=False)
            results[f"resize_m{method}_{rows}x{cols}"] = resized
    for name, value in results.items():
        np.save(os.path.join(OUT, f"prim_{name}.npy"), np.asarray(value, dtype=np.float32))


def bbox_stats(height=300, width=451, samples=20000):
    tf.random.set_seed(1234)
    bbox = tf.constant([[[0.0, 0.0, 1.0, 1.0]]])
    areas, aspects, full = [], [], 0
    for _ in range(samples):
        begin, size, _ = tf.image.sample_distorted_bounding_box(
            [height, width, 3], bounding_boxes=bbox, min_object_covered=0.1,
            aspect_ratio_range=(0.75, 1.33), area_range=(0.05, 1.0), max_attempts=100,
            use_image_if_no_bounding_boxes=True)
        h, w = int(size[0]), int(size[1])
        if h == height and w == width:
            full += 1
        areas.append(h * w / (height * width))
        aspects.append(w / h)
    areas = np.array(areas)
    return {
        "height": height, "width": width, "samples": samples,
        "mean_area": float(areas.mean()), "std_area": float(areas.std()),
        "mean_aspect": float(np.mean(aspects)), "p10_area": float(np.percentile(areas, 10)),
        "p90_area": float(np.percentile(areas, 90)), "full_image_rate": full / samples,
    }


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_photos()
    for name in ["chelsea.png", "coffee.jpg", "rocket.jpg", "astronaut.jpg", "rocket_portrait.png",
                 "chelsea_grey.png", "chelsea_16bit.png", "chelsea_rgba.png"]:
        image = decode(name)
        stem = name.rsplit(".", 1)[0]
        np.save(os.path.join(OUT, f"slim_eval_{stem}.npy"), slim_eval(image, SIZE).numpy())
        if "16bit" not in name:
            np.save(os.path.join(OUT, f"ncsdk_{stem}.npy"), ncsdk(image, SIZE).numpy())
        print(name, image.shape, image.dtype.name)
    primitives()
    stats = bbox_stats()
    json.dump(stats, open(os.path.join(OUT, "bbox_stats.json"), "w"), indent=1)
    print(stats)
