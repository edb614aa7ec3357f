"""Pricing: PD -> grade -> Decimal rate, with the 24% comprehensive-cost cap."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lending.scoring.pricing import APR_CAP, DEFAULT_RATE_TABLE, price


@pytest.mark.parametrize(
    ("pd", "grade", "rate"),
    [
        (0.0, "A", "0.0720"),
        (0.0499, "A", "0.0720"),
        (0.05, "B", "0.1080"),
        (0.12, "C", "0.1440"),
        (0.20, "D", "0.1800"),
        (0.25, "E", "0.2200"),
        (1.0, "E", "0.2200"),
    ],
)
def test_grade_and_rate(pd: float, grade: str, rate: str) -> None:
    p = price(pd)
    assert (p.grade, p.annual_rate, p.capped) == (grade, Decimal(rate), False)
    assert isinstance(p.annual_rate, Decimal)
    assert p.reasons[0].code == "P01"


def test_fees_push_rate_down_to_the_cap() -> None:
    p = price(0.30, annual_fee_rate=Decimal("0.0350"))
    assert p.capped
    assert p.annual_rate == Decimal("0.2050")
    assert p.apr == APR_CAP
    assert [r.code for r in p.reasons] == ["P01", "P02"]


def test_fees_alone_at_the_cap_leave_zero_interest() -> None:
    p = price(0.01, annual_fee_rate=APR_CAP)
    assert (p.annual_rate, p.apr) == (Decimal("0"), APR_CAP)


def test_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError):
        price(-0.1)
    with pytest.raises(ValueError):
        price(0.1, annual_fee_rate=Decimal("-0.01"))
    with pytest.raises(ValueError):
        price(0.1, annual_fee_rate=Decimal("0.2401"))


@given(st.floats(0, 1), st.decimals("0", "0.24", places=4))
def test_apr_never_exceeds_cap_and_rate_rises_with_pd(pd: float, fee: Decimal) -> None:
    p = price(pd, annual_fee_rate=fee)
    assert p.apr <= APR_CAP
    assert p.apr == p.annual_rate + fee
    assert price(min(1.0, pd + 0.1)).annual_rate >= price(pd).annual_rate


def test_table_rates_are_within_the_cap() -> None:
    assert all(b.annual_rate <= APR_CAP for b in DEFAULT_RATE_TABLE.bands)
