#!/usr/bin/env python3
"""Pen-stroke digits 0-9 for the MNIST graph tests, made the way MNIST's were.

Each digit is a few strokes (lines and elliptic arcs) in a 20x20 box, drawn antialiased with a
round pen at 8x resolution, downsampled to 28x28, and shifted so its centre of mass is the
frame's centre; white on black in [0, 1]. Six styles: pen width 2.0 / 2.6 / 3.2 pixels, upright
or slanted. Writes tests/data/digits/w<width>_s<slant>_<digit>.npy as float32 [28, 28, 1].

    pip install pillow numpy && python3 tests/data/gen_digits.py
"""
import math
import os

import numpy as np
from PIL import Image, ImageDraw

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits")
SCALE = 8


def arc(cx, cy, rx, ry, a0, a1, n=24):
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]


# Strokes in a 20x20 box, y pointing down.
STROKES = {
    0: [arc(10, 10, 6, 9, 0, 360)],
    1: [[(11, 1), (10, 19)]],
    2: [arc(10, 6, 5.5, 5, 200, 360) + [(15, 8), (4, 19), (16, 19)]],
    3: [arc(10, 5.5, 5, 4.5, 210, 450), arc(10, 14.5, 5.5, 5, 270, 510)],
    4: [[(12, 1), (4, 13), (17, 13)], [(13, 6), (13, 19)]],
    5: [[(15, 1), (6, 1), (5, 8)] + arc(10, 13, 5.5, 6, 240, 480)],
    6: [[(13, 1), (7, 8)] + arc(10, 14, 5, 5.5, 200, 560)],
    7: [[(4, 2), (16, 2), (8, 19)]],
    8: [arc(10, 5.5, 4.5, 4.5, 0, 360), arc(10, 14.5, 5.5, 5, 0, 360)],
    9: [arc(10, 6.5, 5, 5.5, 0, 360), [(15, 7), (13, 19)]],
}


def render(digit, width, slant):
    img = Image.new("L", (28 * SCALE, 28 * SCALE), 0)
    draw = ImageDraw.Draw(img)
    r = width * SCALE / 2
    for stroke in STROKES[digit]:
        pts = [((4 + x + slant * (10 - y)) * SCALE, (4 + y) * SCALE) for x, y in stroke]
        draw.line(pts, fill=255, width=int(width * SCALE), joint="curve")
        for px, py in (pts[0], pts[-1]):
            draw.ellipse([px - r, py - r, px + r, py + r], fill=255)
    a = np.asarray(img.resize((28, 28), Image.LANCZOS), np.float32) / 255.0
    ys, xs = np.nonzero(a > 0)
    w = a[ys, xs]
    a = np.roll(a, int(round(14 - (ys * w).sum() / w.sum())), axis=0)
    a = np.roll(a, int(round(14 - (xs * w).sum() / w.sum())), axis=1)
    return np.clip(a, 0.0, 1.0)[:, :, None]


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    count = 0
    for width in (2.0, 2.6, 3.2):
        for slant in (0.0, 0.15):
            for d in range(10):
                name = f"w{width:.1f}_s{slant:.2f}_{d}.npy"
                np.save(os.path.join(OUT, name), render(d, width, slant).astype(np.float32))
                count += 1
    print("wrote", count, "digits to", OUT)
