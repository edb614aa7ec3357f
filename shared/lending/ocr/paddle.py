"""OcrEngine adapter on PaddleOCR 3.x (the Paddle runtime), for deployments that want it.

Nothing is downloaded: the constructor takes local model directories (exported
PP-OCR inference models, e.g. PP-OCRv5_mobile_det / PP-OCRv5_mobile_rec) and refuses to
start without them. `paddleocr` (and `paddlepaddle`, ~1.4 GB) are imported only when
the engine is first used, so importing this module costs nothing and the default
image does not carry them. Same behaviour as the RapidOCR adapter: one upright
document photo, no orientation models, detection limited to `det_side` on the longer
side, lines below `min_score` dropped, and `read_regions` for recognition only.

    PADDLE_OCR_DET_DIR=/opt/models/det PADDLE_OCR_REC_DIR=/opt/models/rec
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lending.ocr.ports import Quad, TextLine, UnreadableImage


class PaddleUnavailable(RuntimeError):
    """paddleocr is not installed or the model directories are missing."""


class PaddleOcrEngine:
    def __init__(
        self,
        det_model_dir: Path | str,
        rec_model_dir: Path | str,
        *,
        det_model_name: str | None = None,
        rec_model_name: str | None = None,
        det_side: int = 736,
        min_score: float = 0.5,
    ) -> None:
        self._det_dir, self._rec_dir = Path(det_model_dir), Path(rec_model_dir)
        for path in (self._det_dir, self._rec_dir):
            if not path.is_dir() or not any(path.iterdir()):
                raise PaddleUnavailable(f"model directory missing or empty: {path}")
        self._det_name, self._rec_name = det_model_name, rec_model_name
        self._det_side = det_side
        self._min_score = min_score
        self._pipeline: Any = None
        self._recogniser: Any = None
        self._lock = threading.Lock()
        from lending.ocr.rapid import LastImage  # same decoding rules and limits

        self._pixels = LastImage().pixels

    @classmethod
    def from_env(cls) -> PaddleOcrEngine:
        """From PADDLE_OCR_DET_DIR / PADDLE_OCR_REC_DIR; PaddleUnavailable if unset."""
        det, rec = os.environ.get("PADDLE_OCR_DET_DIR"), os.environ.get("PADDLE_OCR_REC_DIR")
        if not det or not rec:
            raise PaddleUnavailable("PADDLE_OCR_DET_DIR and PADDLE_OCR_REC_DIR are not set")
        if not available():
            raise PaddleUnavailable("paddleocr is not installed")
        return cls(det, rec)

    def _load(self) -> tuple[Any, Any]:
        if self._pipeline is None:
            with self._lock:
                if self._pipeline is None:
                    try:
                        from paddleocr import PaddleOCR, TextRecognition
                    except ImportError as exc:
                        raise PaddleUnavailable("paddleocr is not installed") from exc
                    self._recogniser = TextRecognition(
                        model_name=self._rec_name, model_dir=str(self._rec_dir)
                    )
                    self._pipeline = PaddleOCR(
                        text_detection_model_name=self._det_name,
                        text_detection_model_dir=str(self._det_dir),
                        text_recognition_model_name=self._rec_name,
                        text_recognition_model_dir=str(self._rec_dir),
                        use_doc_orientation_classify=False,
                        use_doc_unwarping=False,
                        use_textline_orientation=False,
                        text_det_limit_type="max",
                        text_det_limit_side_len=self._det_side,
                        text_rec_score_thresh=self._min_score,
                    )
        return self._pipeline, self._recogniser

    def warm(self) -> None:
        self._load()

    def read(self, image: bytes) -> list[TextLine]:
        pixels = self._pixels(image)
        pipeline, _ = self._load()
        try:
            results = list(pipeline.predict(pixels))
        except Exception as exc:
            raise UnreadableImage("the OCR engine could not process the image") from exc
        lines: list[TextLine] = []
        for res in results:
            for poly, text, score in zip(
                res["rec_polys"], res["rec_texts"], res["rec_scores"], strict=True
            ):
                if float(score) < self._min_score or len(poly) < 4:
                    continue
                quad = tuple((float(x), float(y)) for x, y in list(poly)[:4])
                lines.append(TextLine(str(text), quad, float(score)))  # type: ignore[arg-type]
        if not lines:
            raise UnreadableImage("no text found in the image")
        return lines

    def read_regions(self, image: bytes, quads: Sequence[Quad]) -> list[TextLine]:
        if not quads:
            return []
        from lending.ocr.rapid import crop

        pixels = self._pixels(image)
        _, recogniser = self._load()
        try:
            results = list(recogniser.predict([crop(pixels, q) for q in quads]))
        except Exception as exc:
            raise UnreadableImage("the OCR engine could not process the regions") from exc
        out = []
        for quad, res in zip(quads, results, strict=True):
            text, score = str(res["rec_text"]), float(res["rec_score"])
            out.append(
                TextLine(text, quad, score) if score >= self._min_score else TextLine("", quad, 0.0)
            )
        return out


def available() -> bool:
    """Whether paddleocr can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("paddleocr") is not None
