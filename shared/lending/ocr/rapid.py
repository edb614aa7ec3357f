"""OcrEngine adapter on RapidOCR (PP-OCR models run by ONNX Runtime, shipped in the wheel).

Tuned for one document photo per call on a 2-core Lambda:

* text detection runs on the image scaled so its longer side is at most 736 px
  (RapidOCR's default scales the *shorter* side up to 736, which costs ~2× on ID cards);
* the 180° line classifier is off: document photos are upright within ±15°, and the
  detector's rotated boxes already handle tilt;
* big phone photos are decoded at reduced size (JPEG DCT scaling) and capped at
  `_MAX_SIDE`, so decoding a 12 MP photo does not dominate;
* text lines are recognised one at a time (batch 1): a batch is padded to its widest
  line, and on CPU the padding costs more than batching saves (recognition ~25-35%
  less CPU on the corpus; smaller input tensors also lower peak RSS by ~100 MB);
* ONNX Runtime gets 2 intra-op threads and no inter-op pool.

The engine is built on first use and reused: loading the three models takes ~0.5 s.

`read_regions` (the RegionReader capability) recognises given quads of the last image
read, recognition only: the decoded pixels of that image are kept for the purpose.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from io import BytesIO
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile

from lending.ocr.ports import Quad, TextLine, UnreadableImage

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
        self._last: tuple[bytes, NDArray[np.uint8]] | None = None  # image → decoded pixels

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
                            "Rec.rec_batch_num": 1,
                            "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
                            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                        }
                    )
        return self._engine

    def warm(self) -> None:
        """Load the detection and recognition models now (they load on first use
        otherwise): call it at Lambda init, which runs at full CPU."""
        rapid = self._rapid()
        rapid._load_det_model()
        rapid._load_rec_model()

    def _pixels(self, image: bytes) -> NDArray[np.uint8]:
        last = self._last
        if last is not None and (last[0] is image or last[0] == image):
            return last[1]
        pixels = decode_image(image)
        self._last = (image, pixels)
        return pixels

    def read(self, image: bytes) -> list[TextLine]:
        pixels = self._pixels(image)
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

    def read_regions(self, image: bytes, quads: Sequence[Quad]) -> list[TextLine]:
        if not quads:
            return []
        pixels = self._pixels(image)
        crops = [crop(pixels, quad) for quad in quads]
        try:
            result = self._rapid().recognize_txt(crops)
        except Exception as exc:
            raise UnreadableImage("the OCR engine could not process the regions") from exc
        texts, scores = result.txts or (), result.scores or ()
        return [
            TextLine(str(t), q, float(sc)) if float(sc) >= self._min_score else TextLine("", q, 0)
            for q, t, sc in zip(quads, texts, scores, strict=True)
        ]


def crop(pixels: NDArray[np.uint8], quad: Quad) -> NDArray[np.uint8]:
    """The quad (clockwise from top-left) warped to an upright rectangle."""
    import cv2  # RapidOCR depends on OpenCV

    pts = np.array(quad, dtype=np.float32)
    width = max(int(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[3] - pts[2]))), 8)
    height = max(int(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2]))), 8)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(pts, target)
    out = cv2.warpPerspective(
        pixels, m, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(out, dtype=np.uint8)


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
