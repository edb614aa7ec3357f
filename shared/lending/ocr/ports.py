"""The OCR port: what the document checks need from any OCR engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from lending.errors import DomainError

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]


@dataclass(frozen=True, slots=True)
class TextLine:
    """One recognised line. `box` is clockwise from the top-left corner, in pixels of
    the image as the engine analysed it (engines may deskew or rescale first, so only
    relative geometry is meaningful)."""

    text: str
    box: tuple[Point, Point, Point, Point]
    score: float

    @property
    def left(self) -> float:
        return min(p[0] for p in self.box)

    @property
    def right(self) -> float:
        return max(p[0] for p in self.box)

    @property
    def top(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def bottom(self) -> float:
        return max(p[1] for p in self.box)

    @property
    def cx(self) -> float:
        return sum(p[0] for p in self.box) / 4

    @property
    def cy(self) -> float:
        return sum(p[1] for p in self.box) / 4

    @property
    def height(self) -> float:
        return self.bottom - self.top


class UnreadableImage(DomainError):
    """The bytes are not a decodable image, or it holds no text at all."""

    code = "unreadable_image"
    http_status = 422


class OcrEngine(Protocol):
    def read(self, image: bytes) -> list[TextLine]:
        """All text lines in the image; raises UnreadableImage for undecodable input."""
        ...


@runtime_checkable
class RegionReader(Protocol):
    """Optional capability: recognise text in given regions of an image, skipping
    detection. Used to re-read a field the detector missed, at a place the document's
    layout predicts (see lending.documents.templates)."""

    def read_regions(self, image: bytes, quads: Sequence[Quad]) -> list[TextLine]:
        """One line per quad (clockwise from top-left, pixels of the image as `read`
        analysed it), in order; text '' with score 0 where nothing was recognised."""
        ...


@runtime_checkable
class LineReader(Protocol):
    """Optional capability: `read` as two steps, detection then recognition, so a
    caller can recognise only the lines it needs (see lending.documents.reading)."""

    def detect(self, image: bytes) -> list[Quad]:
        """The text lines' boxes (clockwise from top-left, pixels of the image as
        `read` analyses it); raises UnreadableImage for undecodable input or no text."""
        ...

    def recognise(self, image: bytes, quads: Sequence[Quad]) -> list[TextLine]:
        """One line per quad that `detect` returned, in order; text '' with score 0
        where nothing was recognised."""
        ...
