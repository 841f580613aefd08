"""Build the demo's binary assets: a block-letter web font and raster images.

Run from ``apps/demo`` with ``python tools/build_assets.py`` (needs ``fonttools``
and ``brotli``); the outputs are committed, so the demo itself needs neither.
Every shape is drawn here, so the files belong to the project.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

STATIC = Path(__file__).resolve().parent.parent / "demo" / "static"

# A 5x7 pixel alphabet: each letter is seven rows of five bits.
ROWS = {
    "A": "01110 10001 10001 11111 10001 10001 10001", "B": "11110 10001 11110 10001 10001 10001 11110",
    "C": "01111 10000 10000 10000 10000 10000 01111", "D": "11110 10001 10001 10001 10001 10001 11110",
    "E": "11111 10000 11110 10000 10000 10000 11111", "F": "11111 10000 11110 10000 10000 10000 10000",
    "G": "01111 10000 10000 10111 10001 10001 01111", "H": "10001 10001 11111 10001 10001 10001 10001",
    "I": "11111 00100 00100 00100 00100 00100 11111", "J": "00111 00001 00001 00001 10001 10001 01110",
    "K": "10001 10010 11100 10010 10001 10001 10001", "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10001 10001 10001 10001", "N": "10001 11001 10101 10011 10001 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110", "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101", "R": "11110 10001 10001 11110 10010 10001 10001",
    "S": "01111 10000 01110 00001 00001 00001 11110", "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110", "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 11011 10001", "X": "10001 01010 00100 00100 01010 10001 10001",
    "Y": "10001 01010 00100 00100 00100 00100 00100", "Z": "11111 00010 00100 01000 10000 10000 11111",
    "0": "01110 10011 10101 11001 10001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00010 00100 01000 10000 11111", "3": "11110 00001 01110 00001 00001 00001 11110",
    "4": "10010 10010 11111 00010 00010 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "01110 10000 11110 10001 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 01110 10001 10001 10001 01110", "9": "01110 10001 01111 00001 00001 00001 01110",
    "-": "00000 00000 00000 11111 00000 00000 00000", ".": "00000 00000 00000 00000 00000 01100 01100",
    "!": "00100 00100 00100 00100 00100 00000 00100", "?": "01110 10001 00010 00100 00100 00000 00100",
}  # fmt: skip
CELL = 100  # font units per pixel
ADVANCE = 6 * CELL


def _glyph(rows: str) -> object:
    pen = TTGlyphPen(None)
    for y, row in enumerate(rows.split()):
        for x, bit in enumerate(row):
            if bit == "1":
                left, top = x * CELL, (7 - y) * CELL
                pen.moveTo((left, top - CELL))
                pen.lineTo((left, top))
                pen.lineTo((left + CELL, top))
                pen.lineTo((left + CELL, top - CELL))
                pen.closePath()
    return pen.glyph()


def build_font(path: Path) -> None:
    names = {char: f"g{ord(char):04X}" for char in ROWS}
    lower = {char.lower(): names[char] for char in ROWS if char.isalpha()}
    order = [".notdef", "space", *names.values()]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap(
        {32: "space", **{ord(c): n for c, n in names.items()}, **{ord(c): n for c, n in lower.items()}}
    )
    glyphs = {".notdef": _glyph("11111 10001 10001 10001 10001 10001 11111"), "space": TTGlyphPen(None).glyph()}
    glyphs.update({names[c]: _glyph(rows) for c, rows in ROWS.items()})
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (ADVANCE, 0) for name in order})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Firehose Blocks", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.font.flavor = "woff2"
    builder.save(str(path))


def _png(width: int, height: int, pixel: object) -> bytes:
    raw = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width))  # type: ignore[operator]
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def build_images(folder: Path) -> None:
    def hero(x: int, y: int) -> tuple[int, int, int]:
        return (255 - y // 3, 90 + x // 8, 40 + (x // 16 + y // 16) % 2 * 30)

    (folder / "hero.png").write_bytes(_png(640, 240, hero))
    for n, (r, g, b) in enumerate(
        [(230, 90, 40), (40, 120, 200), (60, 170, 90), (200, 60, 140), (240, 190, 40), (90, 90, 110)]
    ):
        (folder / f"photo-{n + 1}.png").write_bytes(
            _png(160, 120, lambda x, y, r=r, g=g, b=b: (r ^ (x & 16) * 3, g ^ (y & 16) * 3, b))
        )


if __name__ == "__main__":
    build_font(STATIC / "fonts" / "firehose-blocks.woff2")
    build_images(STATIC / "img")
    print("built", *(p.relative_to(STATIC) for p in sorted(STATIC.rglob("*")) if p.suffix in {".woff2", ".png"}))
