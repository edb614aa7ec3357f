from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import pytest

from lending.documents.extract import extract_fields
from lending.documents.kinds import DocumentKind
from lending.documents.reading import read_document
from lending.documents.validate import DeclaredIdentity, validate_documents
from lending.identity.checks import id_check_digit
from lending.ocr.ports import Quad, TextLine, UnreadableImage
from lending.sandbox import SyntheticIdentity, make_identity

TODAY = date(2025, 6, 1)
JPEG = b"\xff\xd8\xff\xe0fake"  # the fake engine ignores pixels; only the magic matters
PNG = b"\x89PNG\r\n\x1a\nfake"


def line(text: str, x: float, y: float, score: float = 0.99, tilt: float = 0.0) -> TextLine:
    w, h = 30.0 * len(text), 30.0
    dy = tilt * w
    return TextLine(text, ((x, y), (x + w, y + dy), (x + w, y + h + dy), (x, y + h)), score)


def front(i: SyntheticIdentity, **over: str) -> list[TextLine]:
    sex = over.get("sex", "男" if i.sex == "M" else "女")
    b = i.birth_date
    return [
        line("姓名", 60, 60),
        line(over.get("name", i.name), 160, 58),
        line(f"性别{sex}", 60, 128),
        line("民族汉", 280, 128),
        line("出生", 60, 194),
        line(over.get("birth", f"{b.year}年{b.month}月{b.day}日"), 160, 192),
        line("住址" + i.address[:11], 60, 262),
        line(i.address[11:22], 160, 304),
        line("公民身份号码", 60, 448),
        line(over.get("id", i.id_number), 292, 442),
    ]


def back(i: SyntheticIdentity, period: str | None = None) -> list[TextLine]:
    period = period or f"{i.id_valid_from:%Y.%m.%d}-{i.id_valid_to:%Y.%m.%d}"
    return [
        line("中华人民共和国", 290, 64),
        line("居民身份证", 268, 140),
        line("签发机关", 150, 392),
        line(i.id_issuer, 302, 388),
        line(f"有效期限{period}", 150, 456),
    ]


def card(i: SyntheticIdentity, number: str | None = None) -> list[TextLine]:
    n = number or i.bank_card_number
    groups = [n[k : k + 4] for k in range(0, len(n), 4)]
    return [line(i.bank_name, 60, 44)] + [line(g, 72 + 150 * k, 330) for k, g in enumerate(groups)]


def licence(i: SyntheticIdentity, rep: str | None = None) -> list[TextLine]:
    return [
        line("营业执照", 550, 215),
        line("统一社会信用代码", 110, 300),
        line(i.credit_code, 110, 345),
        line("名", 110, 450),
        line("称" + i.company_name, 190, 452),
        line("注册资本100万元", 860, 450),
        line("法定代表人" + (rep or i.name), 110, 676),
    ]


class FakeEngine:
    def __init__(self, pages: dict[bytes, list[TextLine] | None]) -> None:
        self.pages = pages

    def read(self, image: bytes) -> list[TextLine]:
        lines = self.pages[image]
        if lines is None:
            raise UnreadableImage("blank")
        return lines


def run(
    ident: SyntheticIdentity,
    *,
    front_lines: list[TextLine] | None = None,
    back_lines: list[TextLine] | None = None,
    declared: DeclaredIdentity | None = None,
    with_card: bool = True,
    with_licence: bool = True,
    blank: DocumentKind | None = None,
) -> tuple[str, set[str]]:
    pages: dict[bytes, list[TextLine] | None] = {
        JPEG + b"f": front_lines or front(ident),
        JPEG + b"b": back_lines or back(ident),
        JPEG + b"c": card(ident),
        JPEG + b"l": licence(ident),
        PNG: None,
    }
    images = {
        DocumentKind.ID_FRONT: JPEG + b"f",
        DocumentKind.ID_BACK: JPEG + b"b",
        DocumentKind.BANK_CARD: JPEG + b"c",
        DocumentKind.BUSINESS_LICENCE: JPEG + b"l",
    }
    if blank is not None:
        images[blank] = PNG
    declared = declared or DeclaredIdentity(
        name=ident.name,
        id_number=ident.id_number,
        bank_card_number=ident.bank_card_number if with_card else None,
        company_name=ident.company_name if with_licence else None,
        credit_code=ident.credit_code if with_licence else None,
    )
    check = validate_documents(images, declared, FakeEngine(pages), TODAY)
    for reason in check.reasons:  # no personal data in any message
        for secret in (ident.name, ident.id_number, ident.bank_card_number, ident.credit_code):
            assert secret not in reason.message
    return check.outcome, {r.code for r in check.reasons}


IDENT = make_identity(3, today=TODAY)


def test_all_documents_consistent_is_verified() -> None:
    assert run(IDENT) == ("verified", set())


def test_extracted_fields() -> None:
    ident = IDENT
    ex = extract_fields(DocumentKind.ID_FRONT, front(ident), TODAY)
    values = {k: f.value for k, f in ex.fields.items()}
    assert values["name"] == ident.name
    assert values["id_number"] == ident.id_number
    assert values["sex"] == ident.sex
    assert values["birth_date"] == ident.birth_date.isoformat()
    assert values["address"] == ident.address[:22]


def test_label_and_value_split_or_merged_and_tilted() -> None:
    ident = IDENT
    lines = [line(f"姓名{ident.name}", 60, 60, tilt=0.15)] + [
        line(t.text, t.left, t.top + 0.15 * t.left, tilt=0.15) for t in front(ident)[2:]
    ]
    fields = extract_fields(DocumentKind.ID_FRONT, lines, TODAY).fields
    values = {k: f.value for k, f in fields.items()}
    assert values["name"] == ident.name
    assert values["id_number"] == ident.id_number


def test_sex_read_behind_a_traditional_form_of_its_label() -> None:
    # PP-OCR answers 性別 for 性别 on some photos; the value is still the one 男/女.
    sex = "男" if IDENT.sex == "M" else "女"
    for page in (front(IDENT), front_as_read(IDENT)):
        lines = [TextLine(t.text.replace("性别", "性別"), t.box, t.score) for t in page]
        assert any(t.text == f"性別{sex}" for t in lines)
        fields = extract_fields(DocumentKind.ID_FRONT, lines, TODAY).fields
        assert fields["sex"].value == IDENT.sex


def test_full_width_declaration_is_normalised() -> None:
    full = "".join(chr(ord(c) + 0xFEE0) for c in IDENT.id_number)
    declared = DeclaredIdentity(f" {IDENT.name} ", full)
    assert run(IDENT, declared=declared, with_card=False, with_licence=False)[0] == "verified"


def test_lookalike_corrected_only_when_checksum_proves_it() -> None:
    pos = IDENT.id_number.index("0")
    broken = IDENT.id_number[:pos] + "O" + IDENT.id_number[pos + 1 :]
    assert run(IDENT, front_lines=front(IDENT, id=broken))[0] == "verified"
    # Two readings of 'G' (6 or 9) at a position: only the checksum-valid one is taken.
    six = IDENT.id_number.find("6", 0, 17)
    if six >= 0:
        broken = IDENT.id_number[:six] + "G" + IDENT.id_number[six + 1 :]
        assert run(IDENT, front_lines=front(IDENT, id=broken))[0] == "verified"


def test_checksum_failure_is_unreadable() -> None:
    bad = IDENT.id_number[:5] + str((int(IDENT.id_number[5]) + 1) % 10) + IDENT.id_number[6:]
    outcome, codes = run(IDENT, front_lines=front(IDENT, id=bad))
    assert outcome == "unreadable" and "checksum_failed" in codes


def test_declared_name_differs_is_mismatch() -> None:
    declared = DeclaredIdentity("王小明", IDENT.id_number)
    outcome, codes = run(IDENT, declared=declared, with_card=False, with_licence=False)
    assert outcome == "mismatch" and "mismatch" in codes


def test_low_confidence_difference_is_unreadable_not_mismatch() -> None:
    lines = front(IDENT)
    lines[1] = replace(lines[1], text="王小明", score=0.6)
    outcome, codes = run(IDENT, front_lines=lines, with_card=False, with_licence=False)
    assert outcome == "unreadable" and codes == {"low_confidence"}


def test_another_valid_id_number_is_mismatch() -> None:
    other = make_identity(99, today=TODAY)
    declared = DeclaredIdentity(IDENT.name, other.id_number)
    assert run(IDENT, declared=declared, with_card=False, with_licence=False)[0] == "mismatch"


def test_sex_contradicting_number_is_suspicious() -> None:
    wrong = "女" if IDENT.sex == "M" else "男"
    outcome, codes = run(IDENT, front_lines=front(IDENT, sex=wrong))
    assert outcome == "suspicious" and "sex_contradicts_id" in codes


def test_birth_contradicting_number_is_suspicious() -> None:
    outcome, codes = run(IDENT, front_lines=front(IDENT, birth="1999年1月1日"))
    assert outcome == "suspicious" and "birth_contradicts_id" in codes


def test_forged_number_with_valid_checksum_but_other_birth() -> None:
    first17 = IDENT.id_number[:6] + "19990101" + IDENT.id_number[14:17]
    forged = first17 + id_check_digit(first17)
    declared = DeclaredIdentity(IDENT.name, forged)
    outcome, codes = run(
        IDENT,
        front_lines=front(IDENT, id=forged),
        declared=declared,
        with_card=False,
        with_licence=False,
    )
    assert outcome == "suspicious" and codes == {"birth_contradicts_id"}


def test_expired_id_is_mismatch_with_code() -> None:
    ident = make_identity(5, expired_id=True, today=TODAY)
    outcome, codes = run(ident)
    assert outcome == "mismatch" and codes == {"id_expired"}


def test_irregular_validity_is_suspicious() -> None:
    outcome, codes = run(IDENT, back_lines=back(IDENT, "2020.01.01-2033.05.01"))
    assert outcome == "suspicious" and "irregular_validity" in codes


def test_long_term_validity_accepted() -> None:
    assert run(IDENT, back_lines=back(IDENT, "2010.01.01-长期"))[0] == "verified"


def test_card_number_differs_is_mismatch() -> None:
    other = make_identity(42, today=TODAY).bank_card_number
    declared = DeclaredIdentity(IDENT.name, IDENT.id_number, bank_card_number=other)
    assert run(IDENT, declared=declared) == ("mismatch", {"mismatch"})


def test_legal_representative_differs_is_mismatch() -> None:
    pages_ident = IDENT
    declared = DeclaredIdentity(
        pages_ident.name,
        pages_ident.id_number,
        company_name=pages_ident.company_name,
        credit_code=pages_ident.credit_code,
    )
    engine = FakeEngine(
        {
            JPEG + b"f": front(IDENT),
            JPEG + b"b": back(IDENT),
            JPEG + b"l": licence(IDENT, "赵某某"),
        }
    )
    images = {
        DocumentKind.ID_FRONT: JPEG + b"f",
        DocumentKind.ID_BACK: JPEG + b"b",
        DocumentKind.BUSINESS_LICENCE: JPEG + b"l",
    }
    check = validate_documents(images, declared, engine, TODAY)
    assert check.outcome == "mismatch"
    assert [r.field for r in check.reasons] == ["legal_representative"]


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_unreadable_image(kind: DocumentKind) -> None:
    outcome, codes = run(IDENT, blank=kind)
    assert outcome == "unreadable" and "unreadable_image" in codes


def test_missing_document_and_bad_file() -> None:
    declared = DeclaredIdentity(IDENT.name, IDENT.id_number)
    engine = FakeEngine({JPEG + b"f": front(IDENT)})
    check = validate_documents({DocumentKind.ID_FRONT: JPEG + b"f"}, declared, engine, TODAY)
    assert check.outcome == "unreadable"
    assert {r.code for r in check.reasons} == {"document_missing"}
    check = validate_documents(
        {DocumentKind.ID_FRONT: b"GIF89a", DocumentKind.ID_BACK: JPEG + b"x" * (6 << 20)},
        declared,
        engine,
        TODAY,
    )
    assert {r.code for r in check.reasons} == {"unsupported_file"}


def test_missing_required_field_is_unreadable() -> None:
    lines = [t for t in front(IDENT) if not t.text.startswith("性别")]
    outcome, codes = run(IDENT, front_lines=lines)
    assert outcome == "unreadable" and codes == {"not_found"}


# --- rectification onto the known layouts (lending.documents.templates) ----------------


def _photographed(lines: list[TextLine], angle: float = 7.0) -> list[TextLine]:
    """The lines as a tilted, perspective-distorted photo would place them."""
    import numpy as np

    a = np.radians(angle)
    h = np.array(
        [[np.cos(a) * 0.8, -np.sin(a) * 0.8, 300.0], [np.sin(a) * 0.8, np.cos(a) * 0.8, 200.0],
         [0.00004, 0.00003, 1.0]]
    )  # fmt: skip

    def warp(p: tuple[float, float]) -> tuple[float, float]:
        x, y, w = h @ np.array([p[0], p[1], 1.0])
        return float(x / w), float(y / w)

    return [
        TextLine(t.text, (warp(t.box[0]), warp(t.box[1]), warp(t.box[2]), warp(t.box[3])), t.score)
        for t in lines
    ]


def _at(text: str, left: float, top: float, right: float, bottom: float) -> TextLine:
    return TextLine(text, ((left, top), (right, top), (right, bottom), (left, bottom)), 0.99)


def licence_as_read(i: SyntheticIdentity, *, lose: tuple[str, ...] = ()) -> list[TextLine]:
    """A licence as the engine reads it: labels spaced out ('名 称') come back split."""
    lines = [
        _at("营业执照", 542, 213, 1079, 344),
        _at("统一社会信用代码", 105, 297, 353, 338),
        _at(i.credit_code, 107, 344, 517, 382),
        _at("(副本)", 751, 344, 848, 393),
        _at("名", 105, 448, 148, 488),
        _at("称" + i.company_name, 207, 448, 583, 486),
        _at("注册资本 100万元", 854, 446, 1148, 490),
        _at("类", 103, 535, 148, 579),
        _at("型", 209, 539, 252, 576),
        _at(i.company_type[:16], 272, 539, 722, 576),
        _at("成立日期", 854, 536, 1007, 580),
        _at(f"{i.established:%Y年%m月%d日}", 1017, 539, 1254, 576),
        _at("营业期限", 857, 627, 1005, 664),
        _at("法定代表人" + i.name, 101, 669, 376, 716),
        _at("住", 857, 719, 900, 757),
        _at("所" + i.company_address[:16], 959, 719, 1454, 757),
        _at("经营范围", 104, 766, 250, 803),
        _at("登记机关", 1204, 951, 1357, 1004),
    ]
    return [t for t in lines if t.text not in lose and t.text[:1] not in lose]


def test_licence_columns_survive_lost_labels_and_tilt() -> None:
    # '住' and '称' lost: label parsing would run the address into the representative.
    lines = _photographed(licence_as_read(IDENT, lose=("住", "称")))
    fields = extract_fields(DocumentKind.BUSINESS_LICENCE, lines, TODAY).fields
    values = {k: f.value for k, f in fields.items()}
    assert values["legal_representative"] == IDENT.name
    assert values["credit_code"] == IDENT.credit_code
    assert values["established"] == IDENT.established.isoformat()
    assert values["company_type"] == IDENT.company_type[:16]
    assert "company_name" not in values  # its line was lost with the label: not guessed


def test_split_label_characters_do_not_leak_into_values() -> None:
    lines = _photographed(licence_as_read(IDENT), angle=-9.0)
    values = {
        k: f.value
        for k, f in extract_fields(DocumentKind.BUSINESS_LICENCE, lines, TODAY).fields.items()
    }
    assert values["company_name"] == IDENT.company_name
    assert values["company_address"] == IDENT.company_address[:16]
    assert values["registered_capital"] == "100万元"


def test_symbols_read_from_the_label_spacing_leave_the_value() -> None:
    lines = [
        _at("称☑" + IDENT.company_name, 207, 448, 583, 486) if t.text.startswith("称") else t
        for t in licence_as_read(IDENT)
    ]
    fields = extract_fields(DocumentKind.BUSINESS_LICENCE, _photographed(lines), TODAY).fields
    assert fields["company_name"].value == IDENT.company_name


def front_as_read(i: SyntheticIdentity, sex_value: bool = True) -> list[TextLine]:
    b = i.birth_date
    lines = [
        _at("姓名", 56, 57, 134, 96),
        _at(i.name, 148, 52, 237, 96),
        _at("性别" + ("男" if i.sex == "M" else "女"), 55, 122, 198, 164),
        _at("民族汉", 276, 122, 413, 163),
        _at("出生", 58, 190, 128, 225),
        _at(f"{b.year}年{b.month}月{b.day}日", 153, 188, 426, 227),
        _at("住址", 58, 259, 129, 294),
        _at(i.address[:11], 156, 258, 477, 294),
        _at("公民身份号码", 60, 447, 243, 480),
        _at(i.id_number, 291, 444, 755, 480),
    ]
    if not sex_value:
        lines[2] = _at("性别", 55, 122, 134, 164)
    return lines


def test_missed_value_is_reread_from_its_place() -> None:
    lines = _photographed(front_as_read(IDENT, sex_value=False))
    asked: list[int] = []

    def regions(quads: object) -> list[TextLine]:
        assert isinstance(quads, list)
        asked.append(len(quads))
        return [TextLine("女" if IDENT.sex == "F" else "男", q, 0.97) for q in quads]

    without = extract_fields(DocumentKind.ID_FRONT, lines, TODAY).fields
    assert "sex" not in without
    fields = extract_fields(DocumentKind.ID_FRONT, lines, TODAY, regions).fields
    assert fields["sex"].value == IDENT.sex and asked == [1]
    assert fields["address"].value == IDENT.address[:11]


def test_low_confidence_reread_is_not_taken() -> None:
    lines = _photographed(front_as_read(IDENT, sex_value=False))

    def regions(quads: object) -> list[TextLine]:
        assert isinstance(quads, list)
        return [TextLine("女", q, 0.55) for q in quads]

    assert "sex" not in extract_fields(DocumentKind.ID_FRONT, lines, TODAY, regions).fields


def test_too_few_anchors_falls_back_to_labels() -> None:
    from lending.documents.templates import TEMPLATES, fit

    lines = [t for t in front(IDENT) if t.text in ("姓名", IDENT.name)]
    assert fit(TEMPLATES[DocumentKind.ID_FRONT], lines) is None
    assert extract_fields(DocumentKind.ID_FRONT, lines, TODAY).fields["name"].value == IDENT.name


# --- reading only what the layout needs (lending.documents.reading) --------------------


class DetectingEngine:
    """Detects the page's lines and recognises them on request, recording which."""

    def __init__(self, page: list[TextLine]) -> None:
        self.by_box = {line.box: line for line in page}
        self.recognised: list[str] = []

    def read(self, image: bytes) -> list[TextLine]:
        raise AssertionError("a detecting engine is read line by line")

    def detect(self, image: bytes) -> list[Quad]:
        return list(self.by_box)

    def recognise(self, image: bytes, quads: Sequence[Quad]) -> list[TextLine]:
        self.recognised += [self.by_box[q].text for q in quads]
        return [self.by_box[q] for q in quads]


def licence_with_unread_lines(i: SyntheticIdentity) -> tuple[list[TextLine], set[str]]:
    """The licence as read, plus long lines outside every field: two lines of business
    scope and the term's value."""
    unread = [
        _at("技术开发、技术咨询、技术服务;销售电子产品、日用品", 270, 766, 840, 803),
        _at("售电子产品、日用品、五金交电、建筑材料。", 270, 810, 760, 847),
        _at(f"{i.established:%Y年%m月%d日}至长期", 1017, 627, 1420, 664),
    ]
    return licence_as_read(i) + unread, {t.text for t in unread}


def test_lines_outside_the_layouts_fields_are_not_recognised() -> None:
    page, unread = licence_with_unread_lines(IDENT)
    engine = DetectingEngine(_photographed(page))
    lines = read_document(DocumentKind.BUSINESS_LICENCE, JPEG, engine)
    assert not unread & set(engine.recognised)
    assert sorted(engine.recognised) == sorted(t.text for t in page if t.text not in unread)
    assert [t.text for t in lines] == [t.text for t in page if t.text not in unread]
    values = extract_fields(DocumentKind.BUSINESS_LICENCE, lines, TODAY).fields
    assert values["credit_code"].value == IDENT.credit_code
    assert values["company_name"].value == IDENT.company_name
    assert values["company_address"].value == IDENT.company_address[:16]


def test_every_line_is_recognised_when_the_layout_does_not_fit() -> None:
    page, _ = licence_with_unread_lines(IDENT)
    kept = [t for t in page if t.text not in ("营业执照", "统一社会信用代码", "(副本)")]
    kept = [t for t in kept if not t.text.startswith(("成立", "营业", "法定", "经营", "登记"))]
    engine = DetectingEngine(_photographed(kept))
    lines = read_document(DocumentKind.BUSINESS_LICENCE, JPEG, engine)
    assert sorted(engine.recognised) == sorted(t.text for t in kept)
    assert len(lines) == len(kept)


def test_engines_without_detection_and_untemplated_documents_are_read_whole() -> None:
    plain = FakeEngine({JPEG: card(IDENT)})
    assert read_document(DocumentKind.BUSINESS_LICENCE, JPEG, plain) == card(IDENT)
    detecting = DetectingEngine(card(IDENT))
    with pytest.raises(AssertionError, match="line by line"):
        read_document(DocumentKind.BANK_CARD, JPEG, detecting)


def test_nothing_recognised_is_unreadable() -> None:
    engine = DetectingEngine([TextLine("", line("x", 10, 10).box, 0.0)])
    with pytest.raises(UnreadableImage):
        read_document(DocumentKind.ID_FRONT, JPEG, engine)
