"""Reading a document photo: every line, or only the lines its layout needs.

Detection costs per image; recognition costs per line, in proportion to its length.
On a known layout most lines hold a field, but not all: the licence's business-scope
paragraph, its term and the registration date are long lines no check reads (real
licences print scopes of many lines). When the engine can detect and recognise
separately (`LineReader`):

1. every line is detected; the short ones, where the anchors are (labels, titles, the
   18-character number), are recognised first;
2. the template is fitted on them (see `templates`);
3. of the long lines, only those lying in a field's band or on an anchor are
   recognised. If the template does not fit, all of them are, as `read` would.

Other engines, and documents without a template, are read whole.
"""

from __future__ import annotations

import math
from typing import Final

from lending.documents.kinds import DocumentKind
from lending.ocr.ports import LineReader, OcrEngine, Quad, TextLine, UnreadableImage

# Width/height of a line recognised before the fit. Anchors are shorter: the longest,
# the credit code, measures 8-11 and is recognised in step 3 when longer, being on an
# anchor; a label merged with its value is matched as a prefix either way.
_ANCHOR_ASPECT: Final = 8.0


def _aspect(quad: Quad) -> float:
    (x0, y0), (x1, y1), _, (x3, y3) = quad
    return math.hypot(x1 - x0, y1 - y0) / max(math.hypot(x3 - x0, y3 - y0), 1.0)


def read_document(kind: DocumentKind, image: bytes, engine: OcrEngine) -> list[TextLine]:
    """The lines the extraction of this kind of document needs (see the module doc);
    raises UnreadableImage for an undecodable image or one without text."""
    from lending.documents import templates  # NumPy/OpenCV: only where OCR runs

    if kind not in templates.LAYOUTS or not isinstance(engine, LineReader):
        return engine.read(image)
    quads = engine.detect(image)
    first = [i for i, q in enumerate(quads) if _aspect(q) <= _ANCHOR_ASPECT]
    read = dict(zip(first, engine.recognise(image, [quads[i] for i in first]), strict=True))
    rect = templates.fit_layout(kind, [line for line in read.values() if line.text])
    rest = [
        i
        for i, q in enumerate(quads)
        if i not in read and (rect is None or templates.holds_field(rect, q))
    ]
    read.update(zip(rest, engine.recognise(image, [quads[i] for i in rest]), strict=True))
    lines = [read[i] for i in sorted(read) if read[i].text]
    if not lines:
        raise UnreadableImage("no text found in the image")
    return lines
