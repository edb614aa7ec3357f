"""Contract PDF: determinism, content and masking."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from lending.contracts import ContractTerms, contract_digest, render_contract
from lending.finance import equal_principal, interest_first

CST = timezone(timedelta(hours=8))


def _terms(**overrides: object) -> ContractTerms:
    fields: dict[str, object] = {
        "contract_number": "LC-20240131-000123",
        "lender_name": "示例小额贷款有限公司",
        "borrower_name_masked": "张*",
        "borrower_id_masked": "110101********123X",
        "product_name_zh": "经营贷",
        "product_name_en": "Small Business Operating Loan",
        "schedule": equal_principal(100_000_00, Decimal("0.12"), 24, date(2024, 1, 31)),
        "apr": Decimal("0.1299"),
        "total_fees_fen": 1_000_00,
        "overdue_annual_rate": Decimal("0.18"),
        "privacy_contact": "privacy@lender.example.cn",
        "issued_at": datetime(2024, 1, 31, 10, 30, tzinfo=CST),
    }
    fields.update(overrides)
    return ContractTerms.model_validate(fields)


def _pdf_text(pdf: bytes) -> str:
    """Tiny extractor for reportlab output: inflate content streams, decode the UTF-16BE
    strings that the STSong-Light CID font uses, and join them."""
    out: list[str] = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            data = zlib.decompress(base64.a85decode(raw.strip(), adobe=True))
        except ValueError:
            continue
        for lit in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", data, re.S):
            unescaped = re.sub(
                rb"\\([0-7]{1,3}|.)",
                lambda m: (
                    bytes([int(m.group(1), 8)])
                    if m.group(1)[:1].isdigit()
                    else {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(m.group(1), m.group(1))
                ),
                lit,
            )
            out.append(unescaped.decode("utf-16-be", errors="replace"))
    return "\n".join(out)


def test_pdf_is_deterministic() -> None:
    a = render_contract(_terms())
    b = render_contract(_terms())
    assert a.startswith(b"%PDF")
    assert a.rstrip().endswith(b"%%EOF")
    assert a == b
    assert contract_digest(a) == contract_digest(b)
    assert len(contract_digest(a)) == 32


def test_determinism_ignores_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    a = render_contract(_terms())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert render_contract(_terms()) == a


def test_different_terms_give_different_digest() -> None:
    a = render_contract(_terms())
    b = render_contract(_terms(contract_number="LC-20240131-000124"))
    c = render_contract(_terms(apr=Decimal("0.1300")))
    assert len({contract_digest(a), contract_digest(b), contract_digest(c)}) == 3


def test_creation_date_comes_from_terms() -> None:
    pdf = render_contract(_terms())
    assert b"D:20240131103000+08'00'" in pdf


def test_renders_terms_schedule_and_clauses() -> None:
    terms = _terms()
    text = _pdf_text(render_contract(terms))
    for expected in (
        "LC-20240131-000123",
        "示例小额贷款有限公司",
        "张*",
        "110101********123X",
        "经营贷",
        "100,000.00",
        "24 个月",
        "12.00%",  # nominal rate
        "12.99%",  # APR
        "等额本金",
        "逾期",
        "18.00%",  # overdue rate
        "提前还款",
        "个人信息保护法",
        "privacy@lender.example.cn",
        "征信",
        "签署",
        "2026-01-31",  # last due date
    ):
        assert expected in text, expected
    # Every schedule row is printed.
    for row in terms.schedule.instalments:
        assert row.due_date.isoformat() in text
    assert "4,166.66" in text  # 100,000 / 24 floored to the fen


def test_renders_only_what_it_is_given() -> None:
    text = _pdf_text(render_contract(_terms(borrower_name_masked="李**")))
    assert "李**" in text
    assert "张" not in text


@pytest.mark.parametrize(
    "field,value",
    [
        ("borrower_name_masked", "张三"),
        ("borrower_id_masked", "11010119900307123X"),
    ],
)
def test_unmasked_identifiers_are_rejected(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        _terms(**{field: value})


def test_naive_issue_time_rejected() -> None:
    with pytest.raises(ValidationError):
        _terms(issued_at=datetime(2024, 1, 31, 10, 30))


def test_long_schedule_paginates() -> None:
    s = interest_first(3_000_000_00, Decimal("0.15"), 36, date(2024, 1, 31))
    pdf = render_contract(_terms(schedule=s, issued_at=datetime(2024, 1, 31, tzinfo=UTC)))
    assert pdf.count(b"/Type /Page\n") >= 2
    assert "3,000,000.00" in _pdf_text(pdf)
