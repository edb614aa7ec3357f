"""Check uploaded documents against what the applicant declared.

Outcomes, from worst to best (the worst finding wins):

* ``suspicious`` — the document contradicts itself: the birth date or sex printed on
  the ID card disagrees with the ID number, the validity period is not one that
  GB 11643 issues (5, 10 or 20 years, or 长期), or the card was issued after today.
  Only on a read that leaves no doubt (validity dates at ≥ `_SURE`, sex and birth date
  at ≥ `_CONFIDENT`, on a photo that is not poor): elsewhere a misread makes these, so
  it is ``possible_misread``, below. Goes to manual fraud review.
* ``mismatch`` — a confidently read field differs from the declaration (name, ID
  number, card number, company, credit code, legal representative), or the ID card
  has expired by `today` (code ``id_expired``: the card was read correctly, but it no
  longer supports the declaration; the applicant must upload a current card).
* ``unreadable`` — a required document is missing, not an accepted image, or a
  required field could not be read or failed its checksum even after look-alike
  correction. Also used when a differing field was read with low OCR confidence, or
  differs in a way OCR could have made (code ``possible_misread``: as long, few
  characters changed, each into a look-alike; see `confusable`): that is more likely
  a misread than a lie, so the applicant is asked for a better photo (and a reviewer
  decides after the last attempt), never declined.
* ``verified`` — every required field read, checksums valid, ID current, and the
  front, the back and the declaration agree (compared after full/half-width and
  whitespace normalisation).

A misread cannot produce ``verified``: every identifying field must *equal* the
declared value after normalisation, and numbers must also pass their checksums.

A required field the guided read (only the lines the fitted layout expects, see
`reading`) missed is looked for again in a read of the whole document.

Each document found unreadable carries what the applicant should do about it
(`DocumentCheck.retakes`: blurred, glare, cut off, too small, too dark, ...; see
`quality`).

Required documents: ID front and back always; the bank card when a card number is
declared; the business licence when a company name or credit code is declared.
Messages never contain personal data; `extracted` does, and the caller encrypts it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, Final, Literal

from lending.documents import quality
from lending.documents.confusable import possible_misread
from lending.documents.extract import Extraction, Field, extract_fields
from lending.documents.kinds import MAX_DOCUMENT_BYTES, DocumentKind, sniff_mime_type
from lending.documents.reading import read_document
from lending.identity.checks import birth_date_of, normalise, sex_of
from lending.ocr.ports import LineReader, OcrEngine, Quad, RegionReader, TextLine, UnreadableImage

Outcome = Literal["verified", "mismatch", "unreadable", "suspicious"]
_SEVERITY: Final[dict[Outcome, int]] = {
    "verified": 0,
    "unreadable": 1,
    "mismatch": 2,
    "suspicious": 3,
}
_CONFIDENT: Final = 0.8  # below this OCR score a difference is treated as a misread
# An irregular or lapsed validity period accuses the applicant: it rests on dates read
# at least this surely (a clean photo's dates read at 0.99 or more; a misread digit in
# a blurred one, 2038 as 2058, came back at 0.94).
_SURE: Final = 0.97
_VALIDITY_YEARS: Final = frozenset({5, 10, 20})


@dataclass(frozen=True, slots=True)
class DeclaredIdentity:
    name: str
    id_number: str
    bank_card_number: str | None = None
    company_name: str | None = None
    credit_code: str | None = None


@dataclass(frozen=True, slots=True)
class FieldReason:
    document: DocumentKind
    field: str
    code: str
    message: str  # never personal data


@dataclass(frozen=True, slots=True)
class RetakeReason:
    """What the applicant should do about an unreadable document (never personal data)."""

    document: DocumentKind
    code: str  # stable: see quality.RETAKE_MESSAGES
    message: str


@dataclass(slots=True)
class DocumentCheck:
    outcome: Outcome
    reasons: list[FieldReason] = field(default_factory=list)
    extracted: dict[str, str] = field(default_factory=dict)  # personal data
    retakes: list[RetakeReason] = field(default_factory=list)


_REQUIRED: Final[dict[DocumentKind, tuple[str, ...]]] = {
    DocumentKind.ID_FRONT: ("name", "id_number", "sex", "birth_date"),
    DocumentKind.ID_BACK: ("id_valid_from", "id_valid_to"),
    DocumentKind.BANK_CARD: ("bank_card_number",),
    DocumentKind.BUSINESS_LICENCE: ("credit_code", "company_name", "legal_representative"),
}
# Fields in words: checksummed numbers that differ yet pass their checksum are not
# misreads (a misread digit fails it), so only these may be `possible_misread`.
_WRITTEN: Final = frozenset({"name", "company_name", "legal_representative"})
_LABEL: Final = {
    "name": "name",
    "id_number": "ID number",
    "bank_card_number": "card number",
    "company_name": "company name",
    "credit_code": "credit code",
    "legal_representative": "legal representative",
}


class _Findings:
    def __init__(self) -> None:
        self.reasons: list[tuple[Outcome, FieldReason]] = []

    def add(self, outcome: Outcome, doc: DocumentKind, name: str, code: str, msg: str) -> None:
        self.reasons.append((outcome, FieldReason(doc, name, code, msg)))

    def unsure(self, doc: DocumentKind) -> bool:
        """Whether something on this document was already found unreadable."""
        return any(o == "unreadable" and r.document is doc for o, r in self.reasons)

    def outcome(self) -> Outcome:
        return max((o for o, _ in self.reasons), key=_SEVERITY.__getitem__, default="verified")


def comparison_key(value: str) -> str:
    """What two values must share to be equal: full/half width, whitespace, traditional
    forms and the minority-name middle dot are folded."""
    # Minority names use a middle dot that OCR and keyboards render differently.
    folded = "".join(_simplified(c) for c in normalise(value))
    return folded.replace("•", "·").replace("・", "·").replace(".", "·")


@cache
def _simplified(char: str) -> str:
    """PP-OCR sometimes answers a character with its traditional form (薛凯博 → 薛凱博,
    郑杰国 → 郑傑國): the same character, so it is folded (OpenCC's t2s dictionary).
    Only characters outside GB 2312, which holds the simplified set mainland documents
    print, one at a time: no simplified name character is rewritten (王乾 stays)."""
    try:
        char.encode("gb2312")
        return char
    except UnicodeEncodeError:
        return str(_t2s().convert(char))


@cache
def _t2s() -> Any:
    from opencc import OpenCC  # only where documents are compared (the OCR image)

    return OpenCC("t2s")


def _required_kinds(declared: DeclaredIdentity) -> list[DocumentKind]:
    kinds = [DocumentKind.ID_FRONT, DocumentKind.ID_BACK]
    if declared.bank_card_number is not None:
        kinds.append(DocumentKind.BANK_CARD)
    if declared.company_name is not None or declared.credit_code is not None:
        kinds.append(DocumentKind.BUSINESS_LICENCE)
    return kinds


@dataclass(slots=True)
class _Read:
    extraction: Extraction | None = None
    lines: list[TextLine] = field(default_factory=list)
    retake: str | None = None  # a retake code known before looking at the photo
    image: bytes = b""


def _read(
    kind: DocumentKind, data: bytes, engine: OcrEngine, today: date, found: _Findings
) -> _Read:
    if len(data) > MAX_DOCUMENT_BYTES or sniff_mime_type(data) is None:
        found.add("unreadable", kind, "file", "unsupported_file", "not a JPEG/PNG under 5 MiB")
        return _Read(retake="unsupported_file")
    try:
        lines = read_document(kind, data, engine)
    except UnreadableImage:
        found.add("unreadable", kind, "file", "unreadable_image", "the image could not be read")
        return _Read()
    regions = None
    if isinstance(engine, RegionReader):
        reader = engine

        def regions(quads: Sequence[Quad]) -> list[TextLine]:
            try:
                return reader.read_regions(data, quads)
            except UnreadableImage:
                return [TextLine("", q, 0.0) for q in quads]

    ex = extract_fields(kind, lines, today, regions)
    if isinstance(engine, LineReader) and any(n not in ex.fields for n in _REQUIRED[kind]):
        # The guided read recognised only the lines the fitted layout expects: a fit a
        # few percent off can leave a required line out. The whole read has every line.
        try:
            whole = engine.read(data)
        except UnreadableImage:
            whole = []
        if whole:
            again = extract_fields(kind, whole, today, regions)
            for name in _REQUIRED[kind]:
                if name not in ex.fields and name in again.fields:
                    ex.fields[name] = again.fields[name]
                    ex.problems.pop(name, None)
            lines = whole
    for name in _REQUIRED[kind]:
        if name in ex.problems:
            found.add("unreadable", kind, name, ex.problems[name], f"{name} failed its checksum")
        elif name not in ex.fields:
            found.add("unreadable", kind, name, "not_found", f"{name} could not be read")
    return _Read(ex, lines, image=data)


def _poor(found: _Findings, kind: DocumentKind, read: _Read) -> bool:
    """A photo on which OCR misreads more than look-alikes (see `confusable`): small
    text, something else on it already unreadable, or blurred."""
    return quality.small_text(read.lines) or found.unsure(kind) or quality.blurred(read.image)


def _compare(
    found: _Findings, kind: DocumentKind, read: _Read, name: str, declared: str | None
) -> None:
    assert read.extraction is not None
    got = read.extraction.fields.get(name)
    if declared is None or got is None or comparison_key(got.value) == comparison_key(declared):
        return
    label = _LABEL[name]
    poor = _poor(found, kind, read)
    if got.score < _CONFIDENT:
        found.add("unreadable", kind, name, "low_confidence", f"{label} read with low confidence")
    elif name in _WRITTEN and possible_misread(
        comparison_key(got.value), comparison_key(declared), poor_photo=poor
    ):
        found.add("unreadable", kind, name, "possible_misread", f"{label} may be misread")
    else:
        found.add("mismatch", kind, name, "mismatch", f"{label} differs from the declaration")


def _check_front(found: _Findings, read: _Read, declared: DeclaredIdentity) -> None:
    kind = DocumentKind.ID_FRONT
    _compare(found, kind, read, "name", declared.name)
    _compare(found, kind, read, "id_number", declared.id_number)
    assert read.extraction is not None
    ex = read.extraction
    number = ex.fields.get("id_number")
    if number is None:
        return
    # Sex and birth date repeat what the number encodes: a contradiction accuses the
    # applicant only on a confident read of a good photo; on a poor one a misread digit
    # or character makes one (a blurred 1971 read as 1974), so it is asked for again.
    # (Not `_SURE`: a clean photo's 男/女 reads at 0.9-0.97, and a forger's clean
    # photo must still go to fraud review.)
    poor = _poor(found, kind, read)

    def contradiction(value: Field, name: str, code: str, message: str) -> None:
        unsure = poor or min(value.score, number.score) < _CONFIDENT
        found.add(
            "unreadable" if unsure else "suspicious",
            kind,
            name,
            "possible_misread" if unsure else code,
            message,
        )

    if (sex := ex.fields.get("sex")) and sex.value != sex_of(number.value):
        contradiction(sex, "sex", "sex_contradicts_id", "sex disagrees with ID number")
    birth = ex.fields.get("birth_date")
    if birth and birth.value != birth_date_of(number.value).isoformat():
        contradiction(
            birth, "birth_date", "birth_contradicts_id", "birth date disagrees with ID number"
        )


def _check_back(found: _Findings, read: _Read, today: date) -> None:
    kind = DocumentKind.ID_BACK
    assert read.extraction is not None
    ex = read.extraction
    # On a poor photo a misread digit makes an irregular, lapsed or future period: ask
    # again (a blurred 2020 has come back as 2529).
    start, end = ex.fields.get("id_valid_from"), ex.fields.get("id_valid_to")
    if start is None or end is None:
        return
    unsure = min(start.score, end.score) < _SURE or _poor(found, kind, read)
    doubt: Outcome | None = "unreadable" if unsure else None
    valid_from = date.fromisoformat(start.value)
    if valid_from > today:
        found.add(
            doubt or "suspicious",
            kind,
            "id_valid_from",
            "possible_misread" if doubt else "issued_in_future",
            "issue date is future",
        )
    if end.value == "长期":
        return
    valid_to = date.fromisoformat(end.value)
    years = valid_to.year - valid_from.year
    if years not in _VALIDITY_YEARS or (valid_to.month, valid_to.day) != (
        valid_from.month,
        valid_from.day,
    ):
        found.add(
            doubt or "suspicious",
            kind,
            "id_valid_to",
            "possible_misread" if doubt else "irregular_validity",
            "validity period is not one that is issued",
        )
    if valid_to < today:
        found.add(
            doubt or "mismatch",
            kind,
            "id_valid_to",
            "possible_misread" if doubt else "id_expired",
            "the ID card has expired",
        )


def validate_documents(
    images: Mapping[DocumentKind, bytes],
    declared: DeclaredIdentity,
    engine: OcrEngine,
    today: date,
) -> DocumentCheck:
    found = _Findings()
    extracted: dict[str, str] = {}
    reads: dict[DocumentKind, _Read] = {}
    for kind in _required_kinds(declared):
        data = images.get(kind)
        if data is None:
            found.add("unreadable", kind, "file", "document_missing", "document not uploaded")
            reads[kind] = _Read(retake="missing")
            continue
        read = reads[kind] = _read(kind, data, engine, today, found)
        ex = read.extraction
        if ex is None:
            continue
        extracted.update({name: f.value for name, f in ex.fields.items()})
        if kind is DocumentKind.ID_FRONT:
            _check_front(found, read, declared)
        elif kind is DocumentKind.ID_BACK:
            _check_back(found, read, today)
        elif kind is DocumentKind.BANK_CARD:
            _compare(found, kind, read, "bank_card_number", declared.bank_card_number)
        else:
            _compare(found, kind, read, "company_name", declared.company_name)
            _compare(found, kind, read, "credit_code", declared.credit_code)
            _compare(found, kind, read, "legal_representative", declared.name)
    retakes = []
    for kind, read in reads.items():
        if not any(o == "unreadable" and r.document is kind for o, r in found.reasons):
            continue
        code = read.retake or quality.advise(images[kind], read.lines)
        retakes.append(RetakeReason(kind, code, quality.RETAKE_MESSAGES[code]))
    return DocumentCheck(found.outcome(), [r for _, r in found.reasons], extracted, retakes)
