"""Build the glyph table the document checks compare characters with
(lending/documents/glyphs.json): every GB 2312 character (the 3,755 common ones of
level 1 and the 3,008 of level 2, where common surnames such as 闫 and 覃 are) drawn
with the sandbox's CJK font and reduced to 12 × 12 pixels of 16 grey levels, about the
detail a 12-15 px character keeps in a phone photo. Built here, where the font is; the
OCR image ships the table, not a font.

    python -m lending.sandbox.glyphs
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lending.sandbox.fonts import cjk_font_path

SIDE: Final = 12
TABLE: Final = Path(__file__).resolve().parents[1] / "documents" / "glyphs.json"


def common_characters() -> list[str]:
    """GB 2312's hanzi: level 1 in rows 0xB0-0xD7 (the last ending at 0xF9), level 2 in
    rows 0xD8-0xF7. Level 1 alone left 闫 and 覃 out: a valid applicant whose 闫 was
    read as 间 (glyphs correlating 0.84) was declined instead of asked to retake."""
    return [
        bytes([hi, lo]).decode("gb2312")
        for hi in range(0xB0, 0xF8)
        for lo in range(0xA1, 0xFF)
        if not (hi == 0xD7 and lo > 0xF9)
    ]


def glyph(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    """The character's ink at SIDE × SIDE, 4 bits a pixel (0 paper, 15 ink), two
    pixels a byte (the first in the high nibble)."""
    canvas = Image.new("L", (56, 56), 0)
    ImageDraw.Draw(canvas).text((4, 0), char, font=font, fill=255)
    small = canvas.resize((SIDE, SIDE), Image.Resampling.BOX)
    levels = np.asarray(small, dtype=np.uint8).ravel() >> 4
    return bytes((levels[0::2] << 4) | levels[1::2])


def build() -> dict[str, str]:
    font = ImageFont.truetype(str(cjk_font_path()), 48)
    chars = common_characters()
    pixels = b"".join(glyph(font, c) for c in chars)
    return {
        "side": str(SIDE),
        "font": cjk_font_path().name,
        "chars": "".join(chars),
        "pixels": base64.b64encode(pixels).decode(),
    }


if __name__ == "__main__":
    TABLE.write_text(json.dumps(build(), ensure_ascii=False) + "\n")
    print(f"wrote {TABLE}")
