#!/usr/bin/env python3
"""Small hostile or unusual input files for tests/bad_input.rs (written to tests/data/bad_input/).

- orient_N.png / orient_N.jpg (N = 1..8): one 6x4 picture (8x larger in the JPEGs) stored as EXIF orientation N would
  store it (the pixels transformed by the inverse of N, the tag saying N), so every file shows the
  same upright picture once the orientation is applied. PNG carries the tag in an eXIf chunk.
- cmyk.jpg / cmyk_rgb.png: a CMYK JPEG and the RGB picture it was made from.
- huge_header.jpg: a valid 8x8 JPEG whose frame header claims 60000x60000 pixels.

    pip install pillow
    python3 tests/data/gen_bad_input.py
"""
import os
import struct

from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad_input")
ORIENTATION_TAG = 0x0112

# The inverse of each EXIF orientation: what a camera stored so that applying N shows it upright.
STORED = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


def upright():
    """6 wide, 4 high, every pixel distinct, in flat colour blocks of 2x2 (JPEG keeps them)."""
    img = Image.new("RGB", (6, 4))
    for y in range(4):
        for x in range(6):
            img.putpixel((x, y), (40 * (x // 2) + 20, 120 * (y // 2) + 60, 200 - 30 * (x // 2) - 60 * (y // 2)))
    return img


def main():
    os.makedirs(OUT, exist_ok=True)
    base = upright()
    base.save(os.path.join(OUT, "upright.png"))
    for n, ops in STORED.items():
        img = base
        for op in ops:
            img = img.transpose(op)
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = n
        img.save(os.path.join(OUT, f"orient_{n}.png"), exif=exif.tobytes())
        big = img.resize((img.width * 8, img.height * 8), Image.Resampling.NEAREST)
        big.save(os.path.join(OUT, f"orient_{n}.jpg"), quality=95, exif=exif.tobytes())

    cmyk_source = base.resize((48, 32), Image.Resampling.NEAREST)
    cmyk_source.save(os.path.join(OUT, "cmyk_rgb.png"))
    cmyk_source.convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=95)

    # An 8x8 JPEG, then its SOF0 height and width fields set to 60000.
    path = os.path.join(OUT, "huge_header.jpg")
    Image.new("RGB", (8, 8), (128, 64, 32)).save(path, quality=90)
    data = bytearray(open(path, "rb").read())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 60000, 60000)
    open(path, "wb").write(bytes(data))


if __name__ == "__main__":
    main()
