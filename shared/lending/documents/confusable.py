"""Could OCR have made this difference? Read text that differs from the declaration is
a lie only if no plausible misreading explains it.

A misreading keeps the text's length (the detector boxed the same characters) and
changes few characters, each into one that looks like it: at the 12-15 px a phone
photo gives a character, 孟建刚 comes back as 孟建削 with a confident score. Or it
gains or loses one character at an end: label debris ('移' for the label's '称'), a
character lost at the photo's edge. So a difference is a *possible misread* when the two
are as long (or are, once the longer loses one character at an end), at most a third of
the characters differ (at least one may), and each differing pair looks alike: their
glyphs, drawn at 12 × 12 pixels (lending/documents/glyphs.json, built by
lending.sandbox.glyphs), correlate at least `LOOK_ALIKE`, which about one pair in ten
of unrelated common characters reaches. Both can happen at once: 郭军波 read as 书郸军波
(the label's 书 debris, 郭 as 郸). Or the detector boxed the value with the lines
beside it: the declared text at one end, digits in the rest. Another person's name
almost never passes these tests; it still declines.

On a poor photo (text a few pixels high, or other fields of the same document already
unreadable) OCR misreads any character, look-alike or not: there a difference of the
same length that keeps at least one character in place is a possible misread too.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from importlib.resources import files
from typing import Final

import numpy as np
from numpy.typing import NDArray

LOOK_ALIKE: Final = 0.66


@cache
def _table() -> tuple[dict[str, int], NDArray[np.float32]]:
    """Character → row; rows are the glyphs, centred and scaled to unit length."""
    raw = json.loads(files("lending.documents").joinpath("glyphs.json").read_text("utf-8"))
    packed = np.frombuffer(base64.b64decode(raw["pixels"]), dtype=np.uint8)
    levels = np.empty(packed.size * 2, dtype=np.float32)
    levels[0::2], levels[1::2] = packed >> 4, packed & 0x0F
    side = int(raw["side"])
    glyphs = levels.reshape(len(raw["chars"]), side * side)
    glyphs -= glyphs.mean(axis=1, keepdims=True)
    glyphs /= np.maximum(np.linalg.norm(glyphs, axis=1, keepdims=True), 1e-6)
    return {c: i for i, c in enumerate(raw["chars"])}, glyphs


def glyph_similarity(a: str, b: str) -> float | None:
    """Correlation of the two characters' glyphs (1 for the same character), or None
    when either is not a common character."""
    if a == b:
        return 1.0
    index, glyphs = _table()
    if a not in index or b not in index:
        return None
    return float(glyphs[index[a]] @ glyphs[index[b]])


def possible_misread(read: str, declared: str, *, poor_photo: bool = False) -> bool:
    """Whether OCR could have read `declared` as `read` (both already normalised)."""
    if read == declared:
        return False
    if _merged_with_other_lines(read, declared):
        return True
    if abs(len(read) - len(declared)) == 1:
        # One character more or less at an end: a piece of the label read into the
        # value, or an edge character lost to the photo's edge or the label column; the
        # rest read as it is or with look-alikes (never the poor photo's leniency).
        longer, shorter = (read, declared) if len(read) > len(declared) else (declared, read)
        return len(shorter) >= 2 and any(
            _look_alikes(trimmed, shorter) for trimmed in (longer[1:], longer[:-1])
        )
    if len(read) != len(declared):
        return False
    if poor_photo:
        return sum(r != d for r, d in zip(read, declared, strict=True)) < len(declared)
    return _look_alikes(read, declared)


def _merged_with_other_lines(read: str, declared: str) -> bool:
    """The declared text at one end of the read, the rest holding digits: on a poor photo
    the detector can box the name with the birth date, address and number beside it
    (武伟伟1976412878广东省…). A name has no digits, so that rest is not part of it."""
    for extra in (read.removeprefix(declared), read.removesuffix(declared)):
        if extra != read and any(c.isdigit() for c in extra):
            return True
    return False


def _look_alikes(read: str, declared: str) -> bool:
    """Two texts as long: at most a third of the characters differ (one may), each into
    a look-alike."""
    pairs = [(r, d) for r, d in zip(read, declared, strict=True) if r != d]
    if len(pairs) > max(1, len(declared) // 3):
        return False
    return all((glyph_similarity(r, d) or 0.0) >= LOOK_ALIKE for r, d in pairs)
