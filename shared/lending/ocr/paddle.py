"""OcrEngine adapter on PaddleOCR 3.x (the Paddle runtime), for deployments that want it.

Nothing is downloaded: the engine loads local model directories (Paddle inference
models with their ``inference.yml``, PP-OCRv4_mobile_det / PP-OCRv4_mobile_rec as
prepared by `lending.ocr.paddle_models` at install time) and refuses to start without
them; PaddleX's model-hoster connectivity check is switched off. `paddleocr` (and
`paddlepaddle`, ~1.4 GB with its dependencies) is imported only when the engine is
first used, so importing this module costs nothing and the default image does not
carry them (`make paddle-venv` installs them in .venv-paddle).

Same behaviour as the RapidOCR adapter, so the two compare engine for engine: one
upright document photo, no orientation models, detection limited to `det_side` on the
longer side, lines below `min_score` dropped, detection and recognition as two steps
(`LineReader`) and `read_regions` for recognition only, with the same crops and
padding. Lines are recognised one per call: a batch is padded to its widest line,
which on CPU costs more than batching saves (measured: 1.5 s CPU one by one, 3.5 s
in batches of 6, for an ID card's 13 lines). oneDNN (MKL-DNN) is off: Paddle 3.x's
oneDNN executor fails on these exported programs ("ConvertPirAttribute2RuntimeAttribute
not support").

    PADDLE_OCR_DET_DIR=/opt/models/det PADDLE_OCR_REC_DIR=/opt/models/rec
    (unset: the models prepared inside the virtual environment, <sys.prefix>/models)
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from lending.ocr.paddle_models import DET_MODEL, REC_IMAGE_SHAPE, REC_MODEL
from lending.ocr.ports import Quad, UnreadableImage
from lending.ocr.rapid import CropReader, LastImage

_SAME_ROW_PX: Final = 10  # PaddleOCR's reading order: tops this close share a row


class PaddleUnavailable(RuntimeError):
    """paddleocr is not installed or the model directories are missing."""


def default_model_dirs() -> tuple[Path, Path]:
    """Where `make paddle-venv` prepares the models: inside the virtual environment."""
    root = Path(sys.prefix) / "models"
    return root / DET_MODEL, root / REC_MODEL


class PaddleOcrEngine(CropReader):
    # Its input is REC_IMAGE_SHAPE: a region is padded to that width.
    _trained_aspect = REC_IMAGE_SHAPE[2] / REC_IMAGE_SHAPE[1]

    def __init__(
        self,
        det_model_dir: Path | str,
        rec_model_dir: Path | str,
        *,
        det_model_name: str = DET_MODEL,
        rec_model_name: str = REC_MODEL,
        threads: int = 2,
        det_side: int = 736,
        min_score: float = 0.5,
    ) -> None:
        self._det_dir, self._rec_dir = Path(det_model_dir), Path(rec_model_dir)
        for path in (self._det_dir, self._rec_dir):
            if not (path / "inference.yml").is_file():
                raise PaddleUnavailable(f"no prepared model in {path} (inference.yml missing)")
        self._det_name, self._rec_name = det_model_name, rec_model_name
        self._threads = threads
        self._det_side = det_side
        self._min_score = min_score
        self._detector: Any = None
        self._recogniser: Any = None
        self._lock = threading.Lock()
        self._pixels = LastImage().pixels  # same decoding rules and limits

    @classmethod
    def from_env(cls) -> PaddleOcrEngine:
        """From PADDLE_OCR_DET_DIR / PADDLE_OCR_REC_DIR, else the virtual environment's
        own models; PaddleUnavailable without paddleocr or the models."""
        det, rec = default_model_dirs()
        det = Path(os.environ.get("PADDLE_OCR_DET_DIR") or det)
        rec = Path(os.environ.get("PADDLE_OCR_REC_DIR") or rec)
        if not available():
            raise PaddleUnavailable("paddleocr is not installed")
        return cls(det, rec)

    def _models(self) -> tuple[Any, Any]:
        if self._recogniser is None:
            with self._lock:
                if self._recogniser is None:
                    # Read by PaddleX at import: without it, creating a model first
                    # probes the model hosters over the network.
                    os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
                    try:
                        from paddleocr import TextDetection, TextRecognition
                    except ImportError as exc:
                        raise PaddleUnavailable("paddleocr is not installed") from exc
                    common = {
                        "device": "cpu",
                        "enable_mkldnn": False,
                        "cpu_threads": self._threads,
                    }
                    self._detector = TextDetection(
                        model_name=self._det_name,
                        model_dir=str(self._det_dir),
                        limit_side_len=self._det_side,
                        limit_type="max",
                        **common,
                    )
                    self._recogniser = TextRecognition(
                        model_name=self._rec_name, model_dir=str(self._rec_dir), **common
                    )
        return self._detector, self._recogniser

    def warm(self) -> None:
        """Load both models now (they load on first use otherwise)."""
        self._models()

    def detect(self, image: bytes) -> list[Quad]:
        detector, _ = self._models()
        pixels = self._pixels(image)
        try:
            (found,) = detector.predict(pixels)
        except Exception as exc:  # the engine's own failures are not the caller's bug
            raise UnreadableImage("the OCR engine could not process the image") from exc
        quads: list[Quad] = [
            tuple((float(x), float(y)) for x, y in poly)  # type: ignore[misc]
            for poly in found["dt_polys"]
            if len(poly) == 4
        ]
        if not quads:
            raise UnreadableImage("no text found in the image")
        return reading_order(quads)

    def _texts(self, crops: list[NDArray[np.uint8]]) -> list[tuple[str, float]]:
        _, recogniser = self._models()
        results = recogniser.predict(crops, batch_size=1)
        return [(str(res["rec_text"]), float(res["rec_score"])) for res in results]


def reading_order(quads: Sequence[Quad]) -> list[Quad]:
    """Top to bottom, left to right within a row (PaddleOCR's `sorted_boxes`)."""
    out = sorted(quads, key=lambda q: (q[0][1], q[0][0]))
    for i in range(len(out) - 1):  # one bubble pass per box, as PaddleOCR does
        for j in range(i, -1, -1):
            a, b = out[j], out[j + 1]
            if abs(b[0][1] - a[0][1]) < _SAME_ROW_PX and b[0][0] < a[0][0]:
                out[j], out[j + 1] = b, a
            else:
                break
    return out


def available() -> bool:
    """Whether paddleocr can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("paddleocr") is not None
