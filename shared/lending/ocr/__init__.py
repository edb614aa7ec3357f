"""OCR: the engine port and its adapters (the RapidOCR adapter is imported lazily by
callers from lending.ocr.rapid, so importing the port never loads ONNX Runtime)."""

from lending.ocr.ports import (
    LineReader,
    OcrEngine,
    Quad,
    RegionReader,
    TextLine,
    UnreadableImage,
)

__all__ = ["LineReader", "OcrEngine", "Quad", "RegionReader", "TextLine", "UnreadableImage"]
