"""Field extraction from OCR lines, per document kind.

Rows are rebuilt in reading order (see `layout`), then each row string is cut at the
known labels: a value runs from its label to the next label, whether the OCR engine
returned label and value as one line or several. Labels carry the look-alikes the
PP-OCR models actually produce. Checksummed numbers are found by shape anywhere on
the document (see `numbers`), so a lost label does not lose the number.

For the ID card and the business licence, the layout is known: when enough fixed texts
are read, the photo is rectified onto the template and lines are assigned to fields by
position instead (see `templates`), which survives lost labels and keeps the licence's
two columns apart. A field the detector missed is then re-read from its rectified place
when the engine can recognise regions (`RegionReader`). Label parsing remains the
fallback when rectification fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from lending.documents.kinds import DocumentKind
from lending.documents.layout import GAP, Row, rows
from lending.documents.numbers import find_number
from lending.identity.checks import is_valid_credit_code, is_valid_resident_id, luhn_valid
from lending.identity.checks import normalise as _normalise
from lending.ocr.ports import Quad, TextLine

# Recognition only, at given places of the image being read (RegionReader.read_regions).
RegionRead = Callable[[Sequence[Quad]], list[TextLine]]
_MIN_REREAD_SCORE: Final = 0.8  # a re-read value below this is left unread

_LABELS: Final[dict[DocumentKind, dict[str, tuple[str, ...]]]] = {
    DocumentKind.ID_FRONT: {
        "name": ("姓名", "娃名", "性名", "姓各"),
        "sex": ("性别", "性別", "姓别", "牲别", "性剧"),
        "ethnicity": ("民族", "民旗", "民簇"),
        "birth": ("出生", "出主"),
        "address": ("住址", "往址", "住扯", "佳址"),
        "id_label": ("公民身份号码", "公民身份号", "身份号码"),
    },
    DocumentKind.ID_BACK: {
        "id_issuer": ("签发机关", "签发机美", "鉴发机关", "签发机"),
        "validity": ("有效期限", "有效期", "有效限"),
    },
    DocumentKind.BUSINESS_LICENCE: {
        "credit_label": ("统一社会信用代码", "社会信用代码"),
        "company_name": ("名称",),
        "company_type": ("类型",),
        "legal_representative": ("法定代表人", "法定代表", "法人代表"),
        "scope": ("经营范围",),
        "registered_capital": ("注册资本",),
        "established": ("成立日期",),
        "term": ("营业期限",),
        "company_address": ("住所",),
    },
    DocumentKind.BANK_CARD: {},
}


@dataclass(frozen=True, slots=True)
class Field:
    value: str
    score: float  # lowest OCR confidence of the lines the value came from
    corrected: bool = False  # a look-alike character was fixed by the checksum


@dataclass(slots=True)
class Extraction:
    fields: dict[str, Field] = field(default_factory=dict)
    # field → problem code for fields that were seen but could not be trusted
    problems: dict[str, str] = field(default_factory=dict)


def _segments(row: Row, labels: dict[str, tuple[str, ...]]) -> list[tuple[str | None, str]]:
    """Cut the row text at label occurrences: [(label or None, value), …]."""
    text = row.text.replace(" ", "").replace("\u3000", "")
    text = _normalise(text.replace(GAP, "\0")).replace("\0", GAP)
    hits: list[tuple[int, int, str]] = []
    for name, aliases in labels.items():
        for alias in sorted(aliases, key=len, reverse=True):
            if (pos := text.find(alias)) >= 0:
                hits.append((pos, pos + len(alias), name))
                break
    hits.sort()
    out: list[tuple[str | None, str]] = []
    if not hits or hits[0][0] > 0:
        out.append((None, text[: hits[0][0] if hits else len(text)]))
    for i, (_, end, name) in enumerate(hits):
        nxt = hits[i + 1][0] if i + 1 < len(hits) else len(text)
        out.append((name, text[end:nxt].split(GAP)[0] if nxt >= end else ""))
    return [(name, value.replace(GAP, "")) for name, value in out]


def _labelled(all_rows: list[Row], labels: dict[str, tuple[str, ...]]) -> dict[str, Field]:
    """label → value, plus unlabelled continuation rows appended to the label above
    them (addresses and company types wrap onto following lines)."""
    values: dict[str, Field] = {}
    last: str | None = None
    for row in all_rows:
        segments = _segments(row, labels)
        if all(name is None for name, _ in segments):
            if last is not None and last in values:
                prev = values[last]
                values[last] = Field(prev.value + segments[0][1], min(prev.score, row.min_score))
            continue
        for name, value in segments:
            if name is not None and name not in values:
                values[name] = Field(value, row.min_score)
                last = name
    return values


_DATE: Final = re.compile(r"(\d{4})[年.\-/,]?(\d{1,2})[月.\-/,]?(\d{1,2})日?")
_PERIOD: Final = re.compile(
    r"(\d{4})\D?(\d{2})\D?(\d{2})\D{0,2}?(?:(\d{4})\D?(\d{2})\D?(\d{2})|(长期))"
)


def _iso(y: str, m: str, d: str) -> str | None:
    try:
        return date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def _put_number(
    out: Extraction,
    name: str,
    all_rows: list[Row],
    *,
    lengths: tuple[int, ...],
    valid: Callable[[str], bool],
    kind: str,
) -> None:
    texts = [row.text for row in all_rows]
    search = find_number(texts, lengths=lengths, valid=valid, kind=kind)
    if search.found is not None:
        row = next((r for r in all_rows if search.found.value[-4:] in _normalise(r.text)), None)
        score = row.min_score if row is not None else 0.0
        out.fields[name] = Field(search.found.value, score, search.found.corrected)
    elif search.saw_candidate:
        out.problems[name] = "checksum_failed"


def _id_front(all_rows: list[Row], found: dict[str, Field], today: date) -> Extraction:
    out = Extraction()
    _put_number(
        out,
        "id_number",
        all_rows,
        lengths=(18,),
        valid=lambda s: is_valid_resident_id(s, today=today),
        kind="id",
    )
    if (name := found.get("name")) and name.value:
        out.fields["name"] = name
    # The value is one character; whatever else the line kept is label debris ('別男'
    # when the engine answers the traditional form of the label's 别).
    if (sex := found.get("sex")) and len(marks := set(sex.value) & {"男", "女"}) == 1:
        out.fields["sex"] = Field("M" if marks == {"男"} else "F", sex.score)
    if (eth := found.get("ethnicity")) and eth.value:
        out.fields["ethnicity"] = eth
    birth = found.get("birth")
    if birth and (m := _DATE.search(birth.value)) and (iso := _iso(*m.groups())):
        out.fields["birth_date"] = Field(iso, birth.score)
    if (address := found.get("address")) and address.value:
        out.fields["address"] = address
    return out


def _id_back(all_rows: list[Row], found: dict[str, Field], today: date) -> Extraction:
    out = Extraction()
    if (issuer := found.get("id_issuer")) and issuer.value:
        out.fields["id_issuer"] = issuer
    validity = found.get("validity")
    candidates = [validity] if validity else []
    candidates += [Field(_normalise(r.text), r.min_score) for r in all_rows]
    for cand in candidates:
        if m := _PERIOD.search(cand.value):
            start = _iso(*m.group(1, 2, 3))
            end = "长期" if m.group(7) else _iso(*m.group(4, 5, 6))
            if start and end:
                out.fields["id_valid_from"] = Field(start, cand.score)
                out.fields["id_valid_to"] = Field(end, cand.score)
                break
    else:
        if validity:
            out.problems["id_valid_to"] = "unparseable"
    return out


def _licence(all_rows: list[Row], found: dict[str, Field], today: date) -> Extraction:
    out = Extraction()
    _put_number(
        out, "credit_code", all_rows, lengths=(18,), valid=is_valid_credit_code, kind="credit"
    )
    for key in ("company_name", "legal_representative", "company_type", "registered_capital"):
        if (f := found.get(key)) and f.value:
            out.fields[key] = f
    est = found.get("established")
    if est and (m := _DATE.search(est.value)) and (iso := _iso(*m.groups())):
        out.fields["established"] = Field(iso, est.score)
    if (addr := found.get("company_address")) and addr.value:
        out.fields["company_address"] = addr
    return out


_BANK: Final = re.compile(r"[\u4e00-\u9fff]{2,8}银行")


def _bank_card(all_rows: list[Row], found: dict[str, Field], today: date) -> Extraction:
    out = Extraction()
    _put_number(
        out, "bank_card_number", all_rows, lengths=(16, 17, 18, 19), valid=luhn_valid, kind="card"
    )
    for row in all_rows:
        if m := _BANK.search(_normalise(row.text)):
            out.fields["bank_name"] = Field(m.group(0), row.min_score)
            break
    return out


_EXTRACTORS: Final[
    dict[DocumentKind, Callable[[list[Row], dict[str, Field], date], Extraction]]
] = {
    DocumentKind.ID_FRONT: _id_front,
    DocumentKind.ID_BACK: _id_back,
    DocumentKind.BUSINESS_LICENCE: _licence,
    DocumentKind.BANK_CARD: _bank_card,
}


def _positional(
    kind: DocumentKind, lines: list[TextLine], regions: RegionRead | None
) -> dict[str, Field] | None:
    """Fields by their place on the rectified template, or None if it does not fit."""
    from lending.documents import templates  # NumPy/OpenCV: only where OCR runs

    rect = templates.fit_layout(kind, lines)
    if rect is None:
        return None
    template = rect.template
    found = {
        name: Field(text.value, text.score)
        for name, text in templates.read_bands(rect, lines).items()
    }
    if regions is not None:
        missing = [b for b in template.bands if b.field not in found and b.crop is not None]
        quads = [q for b in missing if (q := templates.crop_quad(rect, b)) is not None]
        if quads and len(quads) == len(missing):
            for band, line in zip(missing, regions(quads), strict=True):
                value = templates.strip_labels(templates.normalise_value(line.text), band.labels)
                if value and line.score >= _MIN_REREAD_SCORE:
                    found[band.field] = Field(value, line.score)
    return found


def extract_fields(
    kind: DocumentKind,
    lines: list[TextLine],
    today: date,
    regions: RegionRead | None = None,
) -> Extraction:
    """The fields of one document. `today` bounds birth dates in the ID checksum test;
    `regions`, when given, re-reads fields the detector missed."""
    all_rows = rows(lines)
    found = _positional(kind, lines, regions)
    if found is None:
        found = _labelled(all_rows, _LABELS[kind])
    return _EXTRACTORS[kind](all_rows, found, today)
