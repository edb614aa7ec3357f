"""Known layouts: rectify a photo onto its document template and read fields by position.

The ID card (GA 450) and the business licence (2019 national format, and the earlier
single-column format still in circulation) print every field at a fixed place. Fixed
texts the OCR engine reads (labels, titles, the checksummed number) are *anchors*:
their positions in the photo and on the template give a homography (RANSAC, so a
misread anchor is an outlier, not an error). Every OCR line is
then mapped onto the template and assigned to the field whose *band* holds it, so:

* a label the engine lost ('名 称' read as '名' and nothing else, '住' dropped) does not
  move a value into the wrong field, and values never run across the two columns of
  the licence;
* a value the detector missed (a one-character sex '女') can be re-read from the
  rectified band alone (`crop_quad`), recognition only.

When too few anchors are read the caller falls back to label parsing (`extract`).
Template coordinates are pixels of the document drawn at 10 px/mm (ID card 856 × 540)
or of the licence at 1600 × 1130, as the engine's boxes fall on a flat scan.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from lending.documents.kinds import DocumentKind
from lending.documents.layout import GAP, rows
from lending.identity.checks import is_valid_credit_code, normalise
from lending.ocr.ports import Point, TextLine

Rect = tuple[float, float, float, float]  # left, top, right, bottom (template pixels)
Quad = tuple[Point, Point, Point, Point]
Matrix = NDArray[np.float64]
MatchKind = Literal["full", "prefix"]

_ID_SHAPE_DIGITS: Final = frozenset("0123456789X")
_MAX_STRETCH: Final = 1.3  # anisotropy a document photo can show (perspective, tilt)
_ANCHOR_MARGIN: Final = 0.015  # of the template's width: RANSAC's threshold is 0.012


@dataclass(frozen=True, slots=True)
class Anchor:
    texts: tuple[str, ...]  # accepted readings (normalised)
    box: Rect
    prefix_ok: bool = True  # a line that *starts* with the text anchors its left edge

    def match(self, text: str) -> MatchKind | None:
        if text in self.texts:
            return "full"
        if self.prefix_ok and any(text.startswith(t) for t in self.texts):
            return "prefix"
        return None


@dataclass(frozen=True, slots=True)
class NumberAnchor:
    """The line holding only the document's checksummed number (fixed-width font)."""

    valid: Callable[[str], bool]
    box: Rect

    def match(self, text: str) -> MatchKind | None:
        return "full" if len(text) == 18 and self.valid(text) else None


@dataclass(frozen=True, slots=True)
class Band:
    field: str
    area: Rect  # lines whose centre falls here belong to the field (label included)
    value_left: float  # label characters left of this x are dropped
    labels: tuple[str, ...]  # label readings, stripped from the start of the value
    crop: Rect | None = None  # single-line value area, re-read when nothing was found


@dataclass(frozen=True, slots=True)
class Template:
    size: tuple[int, int]
    anchors: tuple[Anchor | NumberAnchor, ...]
    bands: tuple[Band, ...]


def _id_like(text: str) -> bool:
    return text[:17].isdigit() and text[17] in _ID_SHAPE_DIGITS


TEMPLATES: Final[dict[DocumentKind, Template]] = {
    DocumentKind.ID_FRONT: Template(
        size=(856, 540),
        anchors=(
            Anchor(("姓名",), (56, 57, 134, 96)),
            Anchor(("性别", "性別"), (55, 121, 134, 164)),
            Anchor(("民族",), (276, 122, 356, 163)),
            Anchor(("出生",), (58, 191, 129, 226)),
            Anchor(("住址",), (58, 259, 130, 294)),
            Anchor(("公民身份号码",), (60, 447, 242, 480)),
            NumberAnchor(_id_like, (290, 443, 756, 480)),
        ),
        bands=(
            Band("name", (40, 40, 545, 110), 142, ("姓名", "娃名", "性名"), (140, 46, 545, 106)),
            Band(
                "sex",
                (40, 112, 268, 174),
                142,
                ("性别", "性別", "姓别", "牲别"),
                (142, 114, 266, 172),
            ),
            Band("ethnicity", (268, 112, 545, 174), 362, ("民族", "民旗"), (362, 114, 545, 172)),
            Band("birth", (40, 178, 545, 242), 142, ("出生", "出主"), (142, 180, 545, 238)),
            Band("address", (40, 246, 545, 398), 142, ("住址", "往址", "佳址")),
        ),
    ),
    DocumentKind.ID_BACK: Template(
        size=(856, 540),
        anchors=(
            Anchor(("中华人民共和国",), (290, 65, 632, 110), prefix_ok=False),
            Anchor(("居民身份证",), (265, 142, 654, 211), prefix_ok=False),
            Anchor(("签发机关",), (148, 390, 274, 424)),
            Anchor(("有效期限",), (148, 456, 272, 488)),
        ),
        bands=(
            Band("id_issuer", (130, 372, 850, 438), 283, ("签发机关",), (285, 378, 780, 432)),
            Band("validity", (130, 440, 850, 508), 283, ("有效期限",), (285, 444, 780, 498)),
        ),
    ),
    DocumentKind.BUSINESS_LICENCE: Template(
        size=(1600, 1130),
        anchors=(
            Anchor(("营业执照",), (542, 213, 1079, 344), prefix_ok=False),
            Anchor(("统一社会信用代码",), (105, 297, 353, 338)),
            NumberAnchor(is_valid_credit_code, (107, 344, 517, 382)),
            Anchor(("(副本)",), (751, 344, 848, 393), prefix_ok=False),
            Anchor(("注册资本",), (854, 446, 1007, 490)),
            Anchor(("成立日期",), (854, 536, 1007, 580)),
            Anchor(("营业期限",), (857, 627, 1005, 664)),
            Anchor(("法定代表人",), (101, 669, 280, 716)),
            Anchor(("经营范围",), (104, 766, 250, 803)),
            Anchor(("登记机关",), (1204, 951, 1357, 1004), prefix_ok=False),
        ),
        bands=(
            Band("company_name", (92, 440, 845, 532), 268, ("名称",), (268, 442, 845, 492)),
            Band("company_type", (92, 532, 845, 664), 268, ("类型",)),
            Band(
                "legal_representative",
                (92, 664, 845, 758),
                268,
                ("法定代表人", "法定代表", "法人代表"),
                (268, 666, 845, 716),
            ),
            Band("registered_capital", (845, 440, 1560, 532), 1018, ("注册资本",), None),
            Band("established", (845, 532, 1560, 620), 1018, ("成立日期",), (1010, 534, 1400, 584)),
            Band("company_address", (845, 708, 1560, 852), 1018, ("住所",)),
        ),
    ),
}


# Other layouts of a kind, tried after TEMPLATES: the fit that more anchors agree with
# wins. The licence issued before 2019 lists its fields in one column under the title,
# with the credit code top right: fitted on the 2019 layout, its rows would land in the
# wrong bands (the type glued onto the company name).
LICENCE_2015: Final = Template(
    size=(1600, 1130),
    anchors=(
        Anchor(("营业执照",), (565, 192, 1050, 305), prefix_ok=False),
        Anchor(("(副本)",), (752, 305, 846, 353), prefix_ok=False),
        Anchor(("统一社会信用代码",), (1096, 329, 1328, 366)),
        NumberAnchor(is_valid_credit_code, (1096, 371, 1485, 406)),
        Anchor(("法定代表人",), (289, 556, 465, 607)),
        Anchor(("注册资本",), (291, 618, 441, 662)),
        Anchor(("成立日期",), (293, 675, 439, 722)),
        Anchor(("营业期限",), (291, 735, 441, 779)),
        Anchor(("经营范围",), (291, 792, 441, 836)),
        Anchor(("登记机关",), (1222, 951, 1374, 1004), prefix_ok=False),
    ),
    bands=(
        Band("company_name", (270, 380, 1090, 437), 462, ("名称",), (468, 382, 900, 434)),
        Band("company_type", (270, 437, 1560, 495), 462, ("类型",)),
        Band("company_address", (270, 495, 1560, 552), 462, ("住所",)),
        Band(
            "legal_representative",
            (270, 552, 1560, 611),
            462,
            ("法定代表人", "法定代表", "法人代表"),
            (468, 554, 760, 609),
        ),
        Band("registered_capital", (270, 611, 1560, 669), 462, ("注册资本",)),
        Band("established", (270, 669, 1560, 727), 462, ("成立日期",), (468, 671, 860, 725)),
    ),
)
LAYOUTS: Final[dict[DocumentKind, tuple[Template, ...]]] = {
    kind: (template, *((LICENCE_2015,) if kind is DocumentKind.BUSINESS_LICENCE else ()))
    for kind, template in TEMPLATES.items()
}


@dataclass(frozen=True, slots=True)
class Rectified:
    """A fitted template: `to_template` maps image pixels onto the template."""

    template: Template
    to_template: Matrix
    anchors: int  # anchor lines that agree with the fit


def _apply(m: Matrix, points: NDArray[np.float64]) -> NDArray[np.float64]:
    ones = np.ones((len(points), 1))
    mapped = np.hstack([points, ones]) @ m.T
    return np.asarray(mapped[:, :2] / mapped[:, 2:3], dtype=np.float64)


def _corners(rect: Rect) -> list[Point]:
    left, top, right, bottom = rect
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


def fit(template: Template, lines: list[TextLine]) -> Rectified | None:
    """The homography photo → template from the anchors read, or None when the anchors
    are too few or disagree (the caller then parses labels instead)."""
    import cv2  # the OCR image carries OpenCV; importing it lazily keeps this module light

    src: list[Point] = []
    dst: list[Point] = []
    owner: list[int] = []
    used: set[int] = set()
    for line in lines:
        text = normalise(line.text)
        for k, anchor in enumerate(template.anchors):
            if k in used or (kind := anchor.match(text)) is None:
                continue
            used.add(k)
            canon = _corners(anchor.box)
            pairs = [0, 1, 2, 3] if kind == "full" else [0, 3]
            src += [line.box[i] for i in pairs]
            dst += [canon[i] for i in pairs]
            owner += [k] * len(pairs)
            break
    if len(used) < 3:
        return None
    s = np.array(src, dtype=np.float64)
    d = np.array(dst, dtype=np.float64)
    w, h = template.size
    m: Matrix | None = None
    inliers = np.ones(len(src), dtype=bool)
    if _surrounds(d, template):  # perspective only when the anchors surround the page
        found, mask = cv2.findHomography(s, d, cv2.RANSAC, 0.012 * w)
        if found is not None:
            m, inliers = np.asarray(found, dtype=np.float64), mask.ravel().astype(bool)
            if not _surrounds(d[inliers], template):
                m = None
    if m is None:
        spread = d.std(axis=0)
        if spread[0] > 0.08 * w and spread[1] > 0.08 * h:  # shear and scale per axis
            found, mask = cv2.estimateAffine2D(
                s, d, method=cv2.RANSAC, ransacReprojThreshold=0.012 * w
            )
        else:  # anchors nearly in a line: rotation and scale only
            found, mask = cv2.estimateAffinePartial2D(
                s, d, method=cv2.RANSAC, ransacReprojThreshold=0.012 * w
            )
        if found is None:
            return None
        m = np.vstack([np.asarray(found, dtype=np.float64), [0.0, 0.0, 1.0]])
        inliers = mask.ravel().astype(bool)
    agreeing = {owner[i] for i in range(len(owner)) if inliers[i]}
    if len(agreeing) < 3 or not _plausible(m, template):
        return None
    return Rectified(template, m, len(agreeing))


def fit_layout(kind: DocumentKind, lines: list[TextLine]) -> Rectified | None:
    """The best fit among the kind's layouts (most agreeing anchors; the first layout
    on a tie), or None when none fits."""
    fits = [r for t in LAYOUTS.get(kind, ()) if (r := fit(t, lines)) is not None]
    return max(fits, key=lambda r: r.anchors, default=None)


def _surrounds(points: NDArray[np.float64], template: Template) -> bool:
    """Anchor points in all four quadrants of the template: a homography is then
    determined everywhere, not extrapolated from one side."""
    cx, cy = template.size[0] / 2, template.size[1] / 2
    quadrants = {(bool(x > cx), bool(y > cy)) for x, y in points}
    return len(points) >= 8 and len(quadrants) == 4


def _plausible(m: Matrix, template: Template) -> bool:
    """The template's outline must map back to a convex, not absurdly skewed quad."""
    try:
        inv = np.asarray(np.linalg.inv(m), dtype=np.float64)
    except np.linalg.LinAlgError:
        return False
    quad = _apply(inv, np.array(_corners((0, 0, *template.size)), dtype=np.float64))
    signs = []
    for i in range(4):
        a, b, c = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
        signs.append(np.cross(b - a, c - b) > 0)
    if len(set(signs)) != 1:
        return False
    # A photo of a flat document is locally a rotation and a scale: at the centre the
    # map must not stretch one direction much more than the other (a fit on anchors
    # that all lie on one edge can shear wildly and still agree with them).
    cx, cy = template.size[0] / 2, template.size[1] / 2
    probe = _apply(inv, np.array([(cx, cy), (cx + 10, cy), (cx, cy + 10)], dtype=np.float64))
    jacobian = np.column_stack([probe[1] - probe[0], probe[2] - probe[0]])
    stretch = np.linalg.svd(jacobian, compute_uv=False)
    if stretch[1] <= 0 or stretch[0] / stretch[1] > _MAX_STRETCH:
        return False
    sides = [float(np.linalg.norm(quad[i] - quad[(i + 1) % 4])) for i in range(4)]
    return min(sides[0], sides[2]) > 0.6 * max(sides[0], sides[2]) and min(
        sides[1], sides[3]
    ) > 0.6 * max(sides[1], sides[3])


def _char_weight(c: str) -> float:
    return 1.0 if ord(c) >= 0x2E80 else 0.55


def _strip_label_chars(line: TextLine, band: Band) -> str:
    """Drop label characters lying left of the value column (by interpolated position
    along the line), so '称郑州…' or a lone '名' does not leak into the value; then a
    label's tail at the very start of the value column ('人史静' when the engine put
    '法定代表' and '人' on either side of the column edge, or '称四川…' when the fit
    puts the whole line a little right of the column's edge). A line that began in
    the label column may also start with a tail whose first character was misread
    ('违人叶梓': '表人' read as '违人')."""
    text = line.text.replace(" ", "").replace("\u3000", "")
    if not text or line.left >= band.value_left + 3 * line.height:
        return text  # well inside the value column: no label here
    value = text
    if line.left < band.value_left + line.height:
        label_chars = set("".join(band.labels))
        weights = [_char_weight(c) for c in text]
        total = sum(weights)
        x, centres = line.left, []
        for wgt in weights:
            centres.append(x + (line.right - line.left) * (wgt / 2) / total)
            x += (line.right - line.left) * wgt / total
        in_label = [centre < band.value_left for centre in centres]
        # Up to the last label character left of the column, everything is label (a
        # misread one included: '法定代违人'). Other characters are not dropped by
        # position alone: a line that merges label and value loses the gap between
        # them, so interpolated positions put the value's first characters too far left.
        last = max((i for i, c in enumerate(text) if in_label[i] and c in label_chars), default=-1)
        kept = [
            i for i, c in enumerate(text) if not (in_label[i] and (i <= last or c in label_chars))
        ]
        # A line starting left of the edge with a look-alike of the label's last
        # character starts with that character misread ('移' for '称').
        if kept[:1] == [0] and in_label[0] and _looks_like_label_end(text[0], band):
            kept = kept[1:]
        value = "".join(text[i] for i in kept)
    tails = {label[i:] for label in band.labels for i in range(len(label))}
    for tail in sorted(tails, key=len, reverse=True):
        if value.startswith(tail) and len(value) > len(tail):
            return value[len(tail) :]
    if line.left < band.value_left:
        for tail in sorted((t for t in tails if len(t) >= 2), key=len, reverse=True):
            if value[1 : len(tail)] == tail[1:] and len(value) > len(tail):
                return value[len(tail) :]
    return value


def _looks_like_label_end(char: str, band: Band) -> bool:
    from lending.documents.confusable import LOOK_ALIKE, glyph_similarity

    return any((glyph_similarity(char, label[-1]) or 0.0) >= LOOK_ALIKE for label in band.labels)


@dataclass(frozen=True, slots=True)
class BandText:
    value: str
    score: float


def read_bands(rect: Rectified, lines: list[TextLine]) -> dict[str, BandText]:
    """Field → text of the lines mapped into its band (rows top to bottom, then left to
    right; labels removed). Fields with no line are absent."""
    grouped: dict[str, list[TextLine]] = {}
    for line in lines:
        pts = _apply(rect.to_template, np.array(line.box, dtype=np.float64))
        quad: Quad = tuple((float(x), float(y)) for x, y in pts)  # type: ignore[assignment]
        mapped = TextLine(line.text, quad, line.score)
        for band in rect.template.bands:
            left, top, right, bottom = band.area
            if left <= mapped.cx < right and top <= mapped.cy < bottom:
                grouped.setdefault(band.field, []).append(mapped)
                break
    out: dict[str, BandText] = {}
    for band in rect.template.bands:
        members = grouped.get(band.field)
        if not members:
            continue
        parts = [_strip_label_chars(line, band) for row in rows(members) for line in row.lines]
        value = strip_labels(normalise_value("".join(parts)), band.labels)
        if value:
            out[band.field] = BandText(value, min(line.score for line in members))
    return out


def normalise_value(text: str) -> str:
    """Colons and symbols (Unicode So: '☑', '■') go: no field value holds them, and the
    engine reads them out of the label spacing and the paper's texture."""
    text = normalise(text.replace(GAP, "")).replace(":", "").replace(":", "")
    return "".join(c for c in text if unicodedata.category(c) != "So")


def strip_labels(text: str, labels: tuple[str, ...]) -> str:
    for label in sorted(labels, key=len, reverse=True):
        if text.startswith(label) and len(text) > len(label):
            return text[len(label) :]
    return text


def holds_field(rect: Rectified, quad: Quad) -> bool:
    """Whether a line at `quad` (photo pixels) is one the extraction reads: its centre
    lies in a field's band or on an anchor (with a margin for the fit's error)."""
    x, y = _apply(rect.to_template, np.array(quad, dtype=np.float64)).mean(axis=0)
    margin = _ANCHOR_MARGIN * rect.template.size[0]
    areas = [band.area for band in rect.template.bands] + [
        (left - margin, top - margin, right + margin, bottom + margin)
        for left, top, right, bottom in (anchor.box for anchor in rect.template.anchors)
    ]
    return any(left <= x < right and top <= y < bottom for left, top, right, bottom in areas)


def crop_quad(rect: Rectified, band: Band) -> Quad | None:
    """The band's value area in photo pixels (for recognition-only re-reading)."""
    if band.crop is None:
        return None
    inv = np.asarray(np.linalg.inv(rect.to_template), dtype=np.float64)
    pts = _apply(inv, np.array(_corners(band.crop), dtype=np.float64))
    if not np.all(np.isfinite(pts)):
        return None
    return tuple((float(x), float(y)) for x, y in pts)  # type: ignore[return-value]
