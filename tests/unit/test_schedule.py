"""Repayment schedules: exactness, consistency and textbook values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lending.finance import (
    RepaymentMethod,
    Schedule,
    add_months,
    annuity_payment_fen,
    build_schedule,
    disclose,
    equal_instalment,
    equal_principal,
    format_yuan,
    interest_first,
    round_half_up_fen,
)

D0 = date(2024, 1, 31)

principals = st.integers(min_value=100_00, max_value=1_000_000_00)
terms = st.integers(min_value=1, max_value=36)
# 0%–24% in steps of 0.01% (1 bp), as Decimal: never float.
rates = st.integers(min_value=0, max_value=2400).map(lambda bp: Decimal(bp) / 10_000)
methods = st.sampled_from(list(RepaymentMethod))
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


def _check_invariants(s: Schedule) -> None:
    rows = s.instalments
    assert len(rows) == s.term_months
    assert [r.number for r in rows] == list(range(1, s.term_months + 1))
    assert s.total_principal_fen == s.principal_fen
    assert s.total_repayment_fen == s.total_principal_fen + s.total_interest_fen
    remaining = s.principal_fen
    for r in rows:
        assert r.principal_fen >= 0
        assert r.interest_fen >= 0
        assert r.total_fen == r.principal_fen + r.interest_fen
        # Exact: remaining × rate / 12 as integers, rounded once half-up.
        numerator, denominator = s.annual_rate.as_integer_ratio()
        assert r.interest_fen == _half_up(remaining * numerator, 12 * denominator)
        remaining -= r.principal_fen
        assert r.remaining_principal_fen == remaining >= 0
    assert rows[-1].remaining_principal_fen == 0
    due = [r.due_date for r in rows]
    assert due == sorted(set(due))
    assert all(isinstance(getattr(r, f), int) for r in rows for f in ("principal_fen", "total_fen"))


@settings(max_examples=300, deadline=None)
@given(principals, rates, terms, methods, dates)
def test_schedule_invariants(
    p: int, r: Decimal, n: int, method: RepaymentMethod, start: date
) -> None:
    _check_invariants(build_schedule(method, p, r, n, start))


@settings(max_examples=200, deadline=None)
@given(principals, rates, terms)
def test_equal_instalment_totals_are_level_except_last(p: int, r: Decimal, n: int) -> None:
    s = equal_instalment(p, r, n, D0)
    payment = annuity_payment_fen(p, r, n)
    assert all(x.total_fen == payment for x in s.instalments[:-1])
    # The last absorbs only rounding drift: a fen per period at most.
    assert abs(s.instalments[-1].total_fen - payment) <= n


@settings(max_examples=200, deadline=None)
@given(principals, rates, terms)
def test_equal_principal_and_interest_first_shapes(p: int, r: Decimal, n: int) -> None:
    ep = equal_principal(p, r, n, D0)
    assert all(x.principal_fen == p // n for x in ep.instalments[:-1])
    assert ep.instalments[-1].principal_fen == p // n + p % n
    interests = [x.interest_fen for x in ep.instalments]
    assert interests == sorted(interests, reverse=True)

    io = interest_first(p, r, n, D0)
    assert [x.principal_fen for x in io.instalments] == [0] * (n - 1) + [p]
    assert {x.interest_fen for x in io.instalments} <= {round_half_up_fen(p * r / 12)}


def test_textbook_equal_instalment_100k_12m_6pct() -> None:
    s = equal_instalment(100_000_00, Decimal("0.06"), 12, D0)
    assert annuity_payment_fen(100_000_00, Decimal("0.06"), 12) == 8_606_64
    assert s.instalments[0].total_fen == 8_606_64
    assert s.instalments[0].interest_fen == 500_00
    assert s.instalments[0].principal_fen == 8_106_64
    # Last instalment absorbs the rounding: 8,563.87 principal + 42.82 interest.
    assert s.instalments[-1].total_fen == 8_606_69
    assert s.total_interest_fen == 3_279_73
    assert s.total_principal_fen == 100_000_00


def test_textbook_equal_principal_and_interest_first() -> None:
    ep = equal_principal(120_000_00, Decimal("0.06"), 12, D0)
    assert ep.instalments[0].total_fen == 10_000_00 + 600_00
    assert ep.instalments[-1].total_fen == 10_000_00 + 50_00
    assert ep.total_interest_fen == 3_900_00  # P·i·(n+1)/2
    io = interest_first(100_000_00, Decimal("0.12"), 12, D0)
    assert io.total_interest_fen == 12_000_00
    assert io.instalments[-1].total_fen == 101_000_00


def test_zero_rate_splits_principal_with_remainder_last() -> None:
    s = equal_instalment(100_00, Decimal(0), 3, D0)
    assert [x.total_fen for x in s.instalments] == [33_33, 33_33, 33_34]
    assert s.total_interest_fen == 0


def test_half_up_interest_rounding() -> None:
    # 1,000 fen at 6% -> 5.0 fen exactly; 1,001 fen -> 5.005 -> 5; 1,100 -> 5.5 -> 6 (half-up).
    assert interest_first(1_100, Decimal("0.06"), 1, D0).instalments[0].interest_fen == 6
    assert round_half_up_fen(Decimal("2.5")) == 3
    assert round_half_up_fen(Decimal("2.4999")) == 2


def test_due_dates_clamp_without_drift() -> None:
    s = equal_principal(1_000_00, Decimal("0.1"), 4, date(2023, 12, 31))
    assert [x.due_date for x in s.instalments] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 11, 15), 2) == date(2025, 1, 15)


@pytest.mark.parametrize(
    ("p", "r", "n"),
    [
        (0, Decimal("0.1"), 12),
        (-1, Decimal("0.1"), 12),
        (1000, Decimal("-0.01"), 12),
        (1000, Decimal("NaN"), 12),
        (1000, 0.1, 12),
        (1000.0, Decimal("0.1"), 12),
        (True, Decimal("0.1"), 12),
        (1000, Decimal("0.1"), 0),
    ],
)
def test_invalid_inputs(p: object, r: object, n: int) -> None:
    with pytest.raises(ValueError):
        equal_instalment(p, r, n, D0)  # type: ignore[arg-type]


def test_build_schedule_dispatch() -> None:
    s = build_schedule("interest_first", 1_000_00, Decimal("0.12"), 3, D0)
    assert s.method is RepaymentMethod.INTEREST_FIRST
    with pytest.raises(ValueError):
        build_schedule("balloon", 1_000_00, Decimal("0.12"), 3, D0)


def test_format_yuan() -> None:
    assert format_yuan(8_606_64) == "8,606.64"
    assert format_yuan(5) == "0.05"
    assert format_yuan(-1_234_56) == "-1,234.56"


# -- interest at an exact half fen ------------------------------------------------------------


def _half_up(numerator: int, denominator: int) -> int:
    """The oracle: round numerator/denominator (>= 0) half-up in integers only."""
    return (2 * numerator + denominator) // (2 * denominator)


def test_a_half_fen_of_interest_rounds_up_whatever_the_rate() -> None:
    # 18000 × 3.7% / 12 = 55.5 fen exactly; a monthly rate stored at 50 digits gave 55.
    one = interest_first(18_000, Decimal("0.037"), 1, date(2024, 1, 31))
    assert one.instalments[0].interest_fen == 56
    assert (
        disclose(
            "consumer-flex", 15_300_000, 3, "equal_instalment", Decimal("0.0721")
        ).total_interest_fen
        == 184_222
    )


@given(
    st.integers(min_value=1, max_value=10**10),
    st.integers(min_value=360, max_value=2400),  # basis points: 3.60% to 24.00%
    st.sampled_from(list(RepaymentMethod)),
    st.integers(min_value=1, max_value=36),
)
def test_every_period_interest_is_the_exact_amount_rounded_once(
    principal: int, bps: int, method: RepaymentMethod, term: int
) -> None:
    schedule = build_schedule(method, principal, Decimal(bps) / 10_000, term, D0)
    remaining = principal
    for row in schedule.instalments:
        # remaining × (bps / 10000) / 12, as a fraction of integers
        assert row.interest_fen == _half_up(remaining * bps, 120_000)
        remaining -= row.principal_fen
