"""Credit line: integer fen throughout, DSR cap honoured, product max, readable steps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lending.scoring.credit_line import (
    LinePolicy,
    annuity_factor,
    credit_line,
    monthly_instalment_fen,
)


def test_worked_example() -> None:
    line = credit_line(
        monthly_income_fen=2_000_000,  # ¥20,000
        existing_monthly_debt_fen=300_000,  # ¥3,000
        probability_of_default=0.10,
        term_months=12,
        product_max_fen=20_000_000,
    )
    # 50% x 20,000 - 3,000 = 7,000; x 0.9 = 6,300/month; x annuity(2%/m, 12) = 66,624.64
    assert line.monthly_capacity_fen == 630_000
    assert line.amount_fen == 6_660_000
    assert isinstance(line.amount_fen, int)
    assert line.steps[0].startswith("debt-service ceiling = income ¥20,000.00 x 50%")
    assert line.steps[-1] == "line = ¥66,600.00 (rounded down to ¥100.00)"


def test_product_max_caps_and_is_explained() -> None:
    line = credit_line(
        monthly_income_fen=10_000_000,
        existing_monthly_debt_fen=0,
        probability_of_default=0.01,
        term_months=36,
        product_max_fen=5_000_000,
    )
    assert line.amount_fen == 5_000_000
    assert any("product maximum" in s for s in line.steps)


def test_no_spare_capacity_gives_zero_line() -> None:
    line = credit_line(
        monthly_income_fen=1_000_000,
        existing_monthly_debt_fen=600_000,
        probability_of_default=0.05,
        term_months=12,
        product_max_fen=5_000_000,
    )
    assert line.amount_fen == 0


def test_zero_rate_is_plain_multiplication() -> None:
    assert annuity_factor(Decimal("0"), 12) == 12
    assert monthly_instalment_fen(1_200_001, Decimal("0"), 12) == 100_001  # rounds up


@pytest.mark.parametrize(
    "kwargs",
    [
        {"monthly_income_fen": -1},
        {"term_months": 0},
        {"probability_of_default": 1.5},
    ],
)
def test_rejects_bad_input(kwargs: dict[str, int | float]) -> None:
    base: dict[str, int | float] = {
        "monthly_income_fen": 1_000_000,
        "existing_monthly_debt_fen": 0,
        "probability_of_default": 0.1,
        "term_months": 12,
        "product_max_fen": 1_000_000,
    }
    with pytest.raises(ValueError):
        credit_line(**(base | kwargs))  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    income=st.integers(0, 50_000_000),
    debt=st.integers(0, 30_000_000),
    pd=st.floats(0, 1),
    term=st.integers(1, 60),
    product_max=st.integers(0, 100_000_000),
    rate=st.decimals("0", "0.24", places=4),
)
def test_line_respects_dsr_and_caps(
    *, income: int, debt: int, pd: float, term: int, product_max: int, rate: Decimal
) -> None:
    policy = LinePolicy()
    line = credit_line(
        monthly_income_fen=income,
        existing_monthly_debt_fen=debt,
        probability_of_default=pd,
        term_months=term,
        product_max_fen=product_max,
        annual_rate=rate,
        policy=policy,
    )
    assert isinstance(line.amount_fen, int) and line.amount_fen >= 0
    assert line.amount_fen <= product_max
    assert line.amount_fen % policy.rounding_fen == 0
    # Money sums in fen: the new instalment plus existing debt stays within 50% of income
    # whenever the applicant had spare capacity at all.
    if line.amount_fen:
        instalment = monthly_instalment_fen(line.amount_fen, rate, term)
        assert instalment <= line.monthly_capacity_fen
        assert 2 * (instalment + debt) <= income
