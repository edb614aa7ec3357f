"""OCR: the engine port and its adapters (the RapidOCR adapter is imported lazily by
callers from lending.ocr.rapid, so importing the port never loads ONNX Runtime)."""

from lending.ocr.ports import (
    OcrEngine,
    Quad,
    RegionReader,
    TextDetector,
    TextLine,
    UnreadableImage,
)

__all__ = ["OcrEngine", "Quad", "RegionReader", "TextDetector", "TextLine", "UnreadableImage"]
