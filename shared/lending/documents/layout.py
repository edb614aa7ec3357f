"""Reading order for OCR lines: deskew by the text angle, group into rows, sort by x.

OCR engines split or merge a label and its value unpredictably ("姓名林娟丽" as one
line, or "姓名" and "林娟丽" as two). Joining every row into one string in reading
order makes both cases look the same to the label parser.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass

from lending.ocr.ports import TextLine

GAP = "\t"  # column separator in Row.text: values never run across it


@dataclass(frozen=True, slots=True)
class Row:
    lines: tuple[TextLine, ...]  # left to right
    y: float  # deskewed centre line

    @property
    def text(self) -> str:
        """Lines joined left to right; a wide gap (another column) becomes GAP."""
        height = statistics.median(line.height for line in self.lines)
        parts = [self.lines[0].text]
        for prev, line in itertools.pairwise(self.lines):
            parts.append(GAP if line.left - prev.right > 2.5 * height else "")
            parts.append(line.text)
        return "".join(parts)

    @property
    def min_score(self) -> float:
        return min(line.score for line in self.lines)

    @property
    def left(self) -> float:
        return self.lines[0].left


def text_angle(lines: list[TextLine]) -> float:
    """Median slope of the boxes' top edges, in radians (wide boxes only: their angle
    is precise)."""
    angles = []
    for line in lines:
        (x0, y0), (x1, y1) = line.box[0], line.box[1]
        if abs(x1 - x0) > 2 * line.height:
            angles.append(math.atan2(y1 - y0, x1 - x0))
    return statistics.median(angles) if angles else 0.0


def rows(lines: list[TextLine]) -> list[Row]:
    """Lines grouped into rows, top to bottom; a line joins a row when its deskewed
    centre is within half a text height of the row's."""
    if not lines:
        return []
    angle = text_angle(lines)
    cos, sin = math.cos(-angle), math.sin(-angle)

    def rotated(line: TextLine) -> tuple[float, float]:
        return line.cx * cos - line.cy * sin, line.cx * sin + line.cy * cos

    placed = sorted(((rotated(line), line) for line in lines), key=lambda p: p[0][1])
    heights = [max(line.height * abs(math.cos(angle)), 1.0) for line in lines]
    tolerance = statistics.median(heights) * 0.5
    groups: list[list[tuple[tuple[float, float], TextLine]]] = []
    for item in placed:
        if groups and abs(item[0][1] - _mean_y(groups[-1])) <= tolerance:
            groups[-1].append(item)
        else:
            groups.append([item])
    return [
        Row(tuple(line for _, line in sorted(g, key=lambda p: p[0][0])), _mean_y(g)) for g in groups
    ]


def _mean_y(group: list[tuple[tuple[float, float], TextLine]]) -> float:
    return sum(p[0][1] for p in group) / len(group)
