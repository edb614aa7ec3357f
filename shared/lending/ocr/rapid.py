"""OcrEngine adapter on RapidOCR (PP-OCR models run by ONNX Runtime, shipped in the wheel).

Tuned for one document photo per call on a 2-core Lambda:

* text detection runs on the image scaled so its longer side is at most 736 px
  (RapidOCR's default scales the *shorter* side up to 736, which costs ~2× on ID cards);
* the 180° line classifier is off: document photos are upright within ±15°, and the
  detector's rotated boxes already handle tilt;
* big phone photos are decoded at reduced size (JPEG DCT scaling) and capped at
  `_MAX_SIDE`, so decoding a 12 MP photo does not dominate;
* ONNX Runtime gets 2 intra-op threads and no inter-op pool.

The engine is built on first use and reused: loading the three models takes ~0.5 s.
"""

from __future__ import annotations

import threading
import warnings
from io import BytesIO
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile

from lending.ocr.ports import TextLine, UnreadableImage

_MAX_SIDE: Final = 2000
_MAX_PIXELS: Final = 50_000_000  # refuse decompression bombs before decoding
_BLANK_STDDEV: Final = 4.0  # grey-level spread below which an image holds no ink


class RapidOcrEngine:
    def __init__(self, *, threads: int = 2, det_side: int = 736, min_score: float = 0.5) -> None:
        self._threads = threads
        self._det_side = det_side
        self._min_score = min_score
        self._engine: Any = None
        self._lock = threading.Lock()

    def _rapid(self) -> Any:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from rapidocr import RapidOCR  # heavy import: only when first needed

                    self._engine = RapidOCR(
                        params={
                            "Global.log_level": "warning",
                            "Global.use_cls": False,
                            "Global.text_score": self._min_score,
                            "Det.limit_type": "max",
                            "Det.limit_side_len": self._det_side,
                            "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
                            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                        }
                    )
        return self._engine

    def read(self, image: bytes) -> list[TextLine]:
        pixels = decode_image(image)
        try:
            result = self._rapid()(pixels)
        except Exception as exc:  # the engine's own failures are not the caller's bug
            raise UnreadableImage("the OCR engine could not process the image") from exc
        boxes, texts, scores = result.boxes, result.txts, result.scores
        if boxes is None or texts is None or len(texts) == 0:
            raise UnreadableImage("no text found in the image")
        return [
            TextLine(
                text=str(text),
                box=tuple((float(x), float(y)) for x, y in box),  # type: ignore[arg-type]
                score=float(score),
            )
            for box, text, score in zip(boxes, texts, scores, strict=True)
        ]


def decode_image(data: bytes) -> NDArray[np.uint8]:
    """BGR pixels (OpenCV order, as RapidOCR expects), or UnreadableImage."""
    if not data:
        raise UnreadableImage("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(BytesIO(data))
            if img.width * img.height > _MAX_PIXELS:
                raise UnreadableImage("image too large")
            if max(img.size) > _MAX_SIDE and isinstance(img, ImageFile.ImageFile):
                img.draft("RGB", (_MAX_SIDE, _MAX_SIDE))  # JPEG: decode at 1/2, 1/4 … size
            img = img.convert("RGB")  # forces the full decode: truncation raises here
    except UnreadableImage:
        raise
    except Exception as exc:  # PIL raises many types for malformed input
        raise UnreadableImage("the file is not a readable image") from exc
    if max(img.size) > _MAX_SIDE:
        img.thumbnail((_MAX_SIDE, _MAX_SIDE), Image.Resampling.BILINEAR)
    rgb = np.asarray(img, dtype=np.uint8)
    if min(rgb.shape[:2]) < 16 or float(rgb.std()) < _BLANK_STDDEV:
        raise UnreadableImage("the image is blank")
    return np.ascontiguousarray(rgb[:, :, ::-1])
