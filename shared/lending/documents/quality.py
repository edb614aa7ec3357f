"""Why a document photo could not be read, as advice the applicant can act on.

Measured on the photo (at most 1000 px a side, grey) and on the lines the engine
found; the first finding that applies is the advice:

* ``too_dark`` — even the brightest tenth of the photo is dim;
* ``glare`` — blobs of saturated pixels (light reflected by the laminate or a plastic
  sleeve) cover a noticeable part of a photo whose paper is not itself that white;
* ``cut_off`` — text runs into the photo's edge;
* ``too_small`` — the text is only a few pixels high: the photo was taken from too far;
* ``no_document`` — the photo has hardly any contrast: no document is in it;
* ``blurred`` — even the sharpest edges are soft (camera shake, focus);
* ``unclear`` — none of these: retake it flat, in focus and in good light.

Thresholds were set on the sandbox's phone-photo corpus (tests.corpus), where the
clean and mild levels stay below them.
"""

from __future__ import annotations

import statistics
from io import BytesIO
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from lending.ocr.ports import TextLine

RETAKE_MESSAGES: Final[dict[str, str]] = {
    "too_dark": "The photo is too dark: take it in good light.",
    "glare": "Light reflects off the document: tilt it or move away from the lamp.",
    "cut_off": "Part of the document is outside the photo: fit all of it in the frame.",
    "too_small": "The text is too small: hold the phone closer so the document fills the photo.",
    "no_document": "No document could be found in the photo: photograph the document itself.",
    "blurred": "The photo is blurred: hold the phone still and let it focus.",
    "unclear": "The text could not be read reliably: retake the photo flat, in focus and in "
    "good light.",
    "unsupported_file": "Upload a JPEG or PNG photo under 5 MB.",
    "missing": "This document has not been uploaded yet.",
}
_SIDE: Final = 1000
_DARK: Final = 80.0  # 90th percentile grey level
_SATURATED: Final = 250
_GLARE_SHARE: Final = 0.01  # of the photo's pixels, in blobs
_WHITE_PAPER: Final = 235.0  # 75th percentile grey level of a scan: saturation is paper
_MIN_TEXT_PX: Final = 16.0  # median line box height in the engine's pixels (ink ~12 px)
_EDGE: Final = 0.01  # of the side: a line this close to the edge is cut
_FLAT: Final = 24.0  # grey levels between the 2nd and 98th percentiles
_SHARP: Final = 0.24  # 99th percentile gradient over the contrast


def _grey(image: bytes) -> tuple[NDArray[np.float32], float] | None:
    """The grey photo at most _SIDE a side, and the factor it was shrunk by."""
    try:
        img = Image.open(BytesIO(image))
        img.draft("L", (_SIDE, _SIDE))
        grey = img.convert("L")
    except Exception:  # undecodable: nothing to measure
        return None
    full = max(img.size)
    if max(grey.size) > _SIDE:
        grey.thumbnail((_SIDE, _SIDE), Image.Resampling.BILINEAR)
    return np.asarray(grey, dtype=np.float32), max(grey.size) / max(full, 1)


def measure(image: bytes) -> dict[str, float]:
    """The photo's measures (see the module doc); {} when it cannot be decoded."""
    import cv2  # the OCR image carries OpenCV

    decoded = _grey(image)
    if decoded is None:
        return {}
    grey, _ = decoded
    saturated = (grey >= _SATURATED).astype(np.uint8)
    # Blobs only: specks of white print or noise are not glare.
    blobs = cv2.morphologyEx(saturated, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    smooth = cv2.GaussianBlur(grey, (0, 0), 1.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    gradient = np.hypot(gx, gy)
    contrast = float(np.percentile(grey, 98) - np.percentile(grey, 2))
    return {
        "bright": float(np.percentile(grey, 90)),
        "paper": float(np.percentile(grey, 75)),
        "glare": float(blobs.mean()),
        "contrast": contrast,
        "sharpness": float(np.percentile(gradient, 99)) / max(contrast, 1.0) / 4,
    }


def small_text(lines: list[TextLine]) -> bool:
    """Whether the lines' text is too small to be read reliably."""
    return bool(lines) and statistics.median(line.height for line in lines) < _MIN_TEXT_PX


def blurred(image: bytes) -> bool:
    """Whether even the photo's sharpest edges are soft."""
    found = measure(image)
    return bool(found) and found["contrast"] >= _FLAT and found["sharpness"] < _SHARP


def advise(image: bytes, lines: list[TextLine]) -> str:
    """The retake code for an unreadable photo (a key of RETAKE_MESSAGES)."""
    found = measure(image)
    if found and found["bright"] < _DARK:
        return "too_dark"
    if found and found["glare"] > _GLARE_SHARE and found["paper"] < _WHITE_PAPER:
        return "glare"
    decoded = _grey(image) if lines else None
    if decoded is not None:
        grey, shrunk = decoded
        width, height = grey.shape[1] / shrunk, grey.shape[0] / shrunk
        if any(
            line.left < _EDGE * width
            or line.top < _EDGE * height
            or line.right > (1 - _EDGE) * width
            or line.bottom > (1 - _EDGE) * height
            for line in lines
        ):
            return "cut_off"
    if small_text(lines):
        return "too_small"
    if found and found["contrast"] < _FLAT:
        return "no_document"
    if found and found["sharpness"] < _SHARP:
        return "blurred"
    return "unclear"
