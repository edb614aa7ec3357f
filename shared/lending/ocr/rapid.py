"""OcrEngine adapter on RapidOCR (PP-OCR models run by ONNX Runtime, shipped in the wheel).

Tuned for one document photo per call on a 2-core Lambda:

* text detection runs on the image scaled so its longer side is at most 736 px
  (RapidOCR's default scales the *shorter* side up to 736, which costs ~2× on ID cards);
* the 180° line classifier is off: document photos are upright within ±15°, and the
  detector's rotated boxes already handle tilt;
* big phone photos are decoded at reduced size (JPEG DCT scaling) and capped at
  `_MAX_SIDE`, so decoding a 12 MP photo does not dominate;
* detected lines are recognised one per call, each at its own width: a batch is
  padded to its widest line, and RapidOCR pads every line to at least 320 px (a
  1-character line costs as much as a 7-character one); on CPU the padding costs
  more than batching saves. The recogniser runs one line per ONNX Runtime thread,
  two lines at a time, which keeps both cores busier than one line on two intra-op
  threads;
* a region that is not a detected line (`read_regions`: a field's place on the
  layout, mostly blank paper around a short value) is padded to the 320 px the model
  was trained with: unpadded, the recogniser can invent a character in the blank
  ('男' read as '男畫' at 0.66; padded, '男' at 0.999);
* detection gets 2 intra-op threads and no inter-op pool, and those threads sleep
  when idle: ONNX Runtime's default has them spin-wait after every operator, which on
  a busy machine burns CPU other steps need (measured on 10 applications of 3
  documents each, with the other core busy: 1.34 → 1.00 CPU-seconds per application,
  same readings);
* both sessions keep ONNX Runtime's memory arena (RapidOCR turns it off): without it
  every run allocates its tensors afresh (0.96–1.00 → 0.87–0.90 CPU-seconds per
  application, same 10 applications).

The models are built on first use and reused: loading them takes ~0.5 s.

Besides `read`, the engine can detect and recognise separately (`LineReader`): the
document reader uses that to skip lines outside a known layout's fields. The decoded
pixels of the last image are kept for the purpose.
"""

from __future__ import annotations

import math
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile

from lending.ocr.ports import Quad, TextLine, UnreadableImage

_MAX_SIDE: Final = 2000
_MAX_PIXELS: Final = 50_000_000  # refuse decompression bombs before decoding
_BLANK_STDDEV: Final = 4.0  # grey-level spread below which an image holds no ink
_REC_HEIGHT: Final = 48  # the PP-OCR recogniser's input height
_REC_TRAINED_ASPECT: Final = 320 / 48  # the width it pads every line to, by default
_PAD_GREY: Final = 128  # what its zero padding is, once normalised back to pixels


class CropReader(ABC):
    """What engines that detect lines, then recognise a crop per line, share: each quad
    warped upright (padded with grey to `min_aspect` × its height), its text kept at or
    above `min_score` ('' with score 0 below), in the quads' order. A field's region
    (`read_regions`) is mostly blank paper, so it is padded to the width the recogniser
    was trained with: unpadded, it can invent a character in the blank."""

    _min_score: float
    _trained_aspect: float
    _pixels: Callable[[bytes], NDArray[np.uint8]]

    @abstractmethod
    def detect(self, image: bytes) -> list[Quad]: ...

    @abstractmethod
    def _texts(self, crops: list[NDArray[np.uint8]]) -> list[tuple[str, float]]:
        """(text, score) per crop, in order."""

    def _recognise(
        self, image: bytes, quads: Sequence[Quad], min_aspect: float = 0.0
    ) -> list[TextLine]:
        if not quads:
            return []
        pixels = self._pixels(image)
        crops = [pad_right(crop(pixels, quad), min_aspect) for quad in quads]
        try:
            read = self._texts(crops)
        except Exception as exc:  # the engine's own failures are not the caller's bug
            raise UnreadableImage("the OCR engine could not process the regions") from exc
        return [
            TextLine(text, quad, score)
            if score >= self._min_score and text.strip()
            else TextLine("", quad, 0.0)
            for quad, (text, score) in zip(quads, read, strict=True)
        ]

    def recognise(self, image: bytes, quads: Sequence[Quad]) -> list[TextLine]:
        return self._recognise(image, quads)

    def read(self, image: bytes) -> list[TextLine]:
        lines = [line for line in self.recognise(image, self.detect(image)) if line.text]
        if not lines:
            raise UnreadableImage("no text found in the image")
        return lines

    def read_regions(self, image: bytes, quads: Sequence[Quad]) -> list[TextLine]:
        return self._recognise(image, quads, self._trained_aspect)


class RapidOcrEngine(CropReader):
    _trained_aspect = _REC_TRAINED_ASPECT

    def __init__(self, *, threads: int = 2, det_side: int = 736, min_score: float = 0.5) -> None:
        self._threads = threads
        self._det_side = det_side
        self._min_score = min_score
        self._detector: Any = None
        self._recogniser: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pixels = LastImage().pixels

    def _models(self) -> tuple[Any, Any]:
        """(detector, recogniser): two RapidOCR pipelines, each loading one model, as
        ONNX Runtime threads are set per pipeline (2 for detection, 1 per line)."""
        if self._recogniser is None:
            with self._lock:
                if self._recogniser is None:
                    from rapidocr import RapidOCR  # heavy import: only when first needed

                    def pipeline(threads: int) -> Any:
                        return RapidOCR(
                            params={
                                "Global.log_level": "warning",
                                "Global.use_cls": False,
                                "Det.limit_type": "max",
                                "Det.limit_side_len": self._det_side,
                                "Rec.rec_batch_num": 1,
                                "Rec.rec_img_shape": [3, _REC_HEIGHT, _REC_HEIGHT],
                                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                            }
                        )

                    self._detector = pipeline(self._threads)._load_det_model()
                    self._detector.session = _tuned(self._detector.session)
                    recogniser = pipeline(1)
                    recogniser._load_rec_model()
                    recogniser.text_rec.session = _tuned(recogniser.text_rec.session)
                    self._pool = ThreadPoolExecutor(self._threads, "ocr-rec")
                    self._recogniser = recogniser
        return self._detector, self._recogniser

    def warm(self) -> None:
        """Load the detection and recognition models now (they load on first use
        otherwise): call it at Lambda init, which runs at full CPU."""
        self._models()

    def detect(self, image: bytes) -> list[Quad]:
        detector, _ = self._models()
        pixels = self._pixels(image)
        try:
            found = detector(pixels)
        except Exception as exc:  # the engine's own failures are not the caller's bug
            raise UnreadableImage("the OCR engine could not process the image") from exc
        if found.boxes is None or len(found.boxes) == 0:
            raise UnreadableImage("no text found in the image")
        return [tuple((float(x), float(y)) for x, y in box) for box in found.boxes]  # type: ignore[misc]

    def _texts(self, crops: list[NDArray[np.uint8]]) -> list[tuple[str, float]]:
        _, recogniser = self._models()
        assert self._pool is not None

        def one(i: int) -> tuple[str, float]:
            result = recogniser.recognize_txt([crops[i]])
            return str(result.txts[0]), float(result.scores[0])

        widest_first = sorted(range(len(crops)), key=lambda i: -crops[i].shape[1])
        read = dict(zip(widest_first, self._pool.map(one, widest_first), strict=True))
        return [read[i] for i in range(len(crops))]


def _tuned(ort_session: Any) -> Any:
    """RapidOCR's session wrapper with its ONNX Runtime session rebuilt: same model and
    threads, idle intra-op threads sleeping instead of spinning, the memory arena on.
    RapidOCR has no setting for either; it does take a ready session (its `session`
    config key)."""
    import onnxruntime as ort
    from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

    session = ort_session.session
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.enable_cpu_mem_arena = True
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = session.get_session_options().intra_op_num_threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    rebuilt = ort.InferenceSession(
        session._model_path, sess_options=options, providers=session.get_providers()
    )
    return OrtInferSession({"session": rebuilt})


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


class LastImage:
    """The decoded pixels of the last image: detection, recognition and re-reads of
    one document decode it once. Safe across threads: a miss only decodes again."""

    def __init__(self) -> None:
        self._last: tuple[bytes, NDArray[np.uint8]] | None = None

    def pixels(self, image: bytes) -> NDArray[np.uint8]:
        last = self._last
        if last is not None and (last[0] is image or last[0] == image):
            return last[1]
        pixels = decode_image(image)
        self._last = (image, pixels)
        return pixels


def pad_right(pixels: NDArray[np.uint8], min_aspect: float) -> NDArray[np.uint8]:
    height, width = pixels.shape[:2]
    missing = math.ceil(height * min_aspect) - width
    if missing <= 0:
        return pixels
    return np.pad(pixels, ((0, 0), (0, missing), (0, 0)), constant_values=_PAD_GREY)


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
    import cv2  # RapidOCR depends on OpenCV

    rgb = np.asarray(img, dtype=np.uint8)
    # Every 4th pixel each way tells ink from a blank page at 1/16 of the cost.
    if min(rgb.shape[:2]) < 16 or float(rgb[::4, ::4].std()) < _BLANK_STDDEV:
        raise UnreadableImage("the image is blank")
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), dtype=np.uint8)
