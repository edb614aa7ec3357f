"""A funder's daily repayment file: its rows only, sorted, exact, totalled."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lending.servicing.digest import PaymentRow
from lending.servicing.funder_file import (
    FUNDER_FILE_HEADER,
    TOTAL_LABEL,
    funder_file_csv,
    funder_file_name,
)

DAY = date(2026, 3, 2)
REFS = {f"L{i}": f"BANKA-{i:04d}" for i in range(40)}


def pay(
    loan: str,
    ref: str,
    parts: tuple[int, int, int, int, int],
    *,
    funder: str = "bank-a",
    day: date = DAY,
) -> PaymentRow:
    return PaymentRow(day, loan, funder, "consumer-flex", "auto_debit", ref, *parts)


def parse(text: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    assert not text.startswith("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == FUNDER_FILE_HEADER
    *rows, total = list(reader)
    assert total["business_day"] == TOTAL_LABEL
    return rows, total


AMOUNTS = ("principal_yuan", "interest_yuan", "overdue_interest_yuan", "fee_yuan", "total_yuan")


def fen(yuan: str) -> int:
    assert re.fullmatch(r"\d+\.\d{2}", yuan), yuan  # exact 2 decimals, no float artefacts
    return int(Decimal(yuan) * 100)


def test_file_name() -> None:
    assert funder_file_name("bank-a", DAY) == "funders/bank-a/repayments/2026-03-02.csv"
    for bad in ("", "../x", "a/b", "bank a", "-a"):
        with pytest.raises(ValueError, match="key segment"):
            funder_file_name(bad, DAY)


def test_only_the_funders_rows_of_the_day_sorted_by_loan_then_serial() -> None:
    payments = [
        pay("L2", "C9", (100_00, 5_00, 0, 0, 0)),
        pay("L1", "C5", (50_00, 1_00, 0, 0, 0)),
        pay("L2", "C3", (10_00, 0, 2_34, 1_00, 0)),
        pay("L3", "C1", (70_00, 0, 0, 0, 0), funder="trust-b"),
        pay("L4", "C2", (80_00, 0, 0, 0, 0), day=DAY - timedelta(days=1)),
    ]
    rows, total = parse(funder_file_csv("bank-a", DAY, payments, REFS))
    assert [(r["loan_id"], r["channel_serial"]) for r in rows] == [
        ("L1", "C5"),
        ("L2", "C3"),
        ("L2", "C9"),
    ]
    first = rows[1]
    assert first == {
        "business_day": "2026-03-02",
        "loan_id": "L2",
        "funder_loan_ref": "BANKA-0002",
        "channel_serial": "C3",
        "channel": "auto_debit",
        "principal_yuan": "10.00",
        "interest_yuan": "0.00",
        "overdue_interest_yuan": "2.34",
        "fee_yuan": "1.00",
        "total_yuan": "13.34",
    }
    assert total["total_yuan"] == "169.34"
    assert total["principal_yuan"] == "160.00"


def test_the_credit_held_is_not_the_funders() -> None:
    payments = [
        pay("L1", "C1", (100_00, 10_00, 0, 0, 25_00)),
        pay("L2", "C2", (0, 0, 0, 0, 40_00)),  # wholly held as credit: no row
    ]
    rows, total = parse(funder_file_csv("bank-a", DAY, payments, REFS))
    assert [r["loan_id"] for r in rows] == ["L1"]
    assert rows[0]["total_yuan"] == "110.00" and total["total_yuan"] == "110.00"


def test_an_empty_day_still_has_a_zero_total() -> None:
    rows, total = parse(funder_file_csv("bank-a", DAY, [], REFS))
    assert rows == []
    assert [total[a] for a in AMOUNTS] == ["0.00"] * 5


def test_a_loan_without_the_funders_reference_is_an_error() -> None:
    with pytest.raises(ValueError, match="L99"):
        funder_file_csv("bank-a", DAY, [pay("L99", "C1", (1, 0, 0, 0, 0))], REFS)


def test_text_from_outside_is_not_a_formula() -> None:
    payments = [pay("L1", "=1+1", (1_00, 0, 0, 0, 0))]
    rows, _ = parse(funder_file_csv("bank-a", DAY, payments, {"L1": "@SUM(A1)"}))
    assert (rows[0]["channel_serial"], rows[0]["funder_loan_ref"]) == ("'=1+1", "'@SUM(A1)")


parts = st.tuples(*(st.integers(0, 10**13) for _ in range(5)))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 39),
            st.text("ABC123", min_size=1, max_size=6),
            st.sampled_from(["bank-a", "trust-b"]),
            parts,
        ),
        max_size=30,
    )
)
def test_the_totals_row_is_the_sum_of_the_rows_in_fen(
    rows_in: list[tuple[int, str, str, tuple[int, int, int, int, int]]],
) -> None:
    payments = [pay(f"L{n}", ref, p, funder=f) for n, ref, f, p in rows_in]
    rows, total = parse(funder_file_csv("bank-a", DAY, payments, REFS))
    mine = [p for p in payments if p.funder_id == "bank-a" and p.total_fen - p.credit_fen > 0]
    assert len(rows) == len(mine)
    keys = [(r["loan_id"], r["channel_serial"]) for r in rows]
    assert keys == sorted(keys)
    for r in rows:
        parts_fen = [fen(r[a]) for a in AMOUNTS[:4]]
        assert sum(parts_fen) == fen(r["total_yuan"])
    for a in AMOUNTS:
        assert sum(fen(r[a]) for r in rows) == fen(total[a])
    assert fen(total["total_yuan"]) == sum(p.total_fen - p.credit_fen for p in mine)
