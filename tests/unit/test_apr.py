"""IRR-method APR."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lending.finance import (
    RepaymentMethod,
    build_schedule,
    compute_apr,
    equal_instalment,
    interest_first,
    monthly_irr,
)

D0 = date(2024, 3, 15)
ONE_BP = Decimal("0.0001")


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=1_000_00, max_value=1_000_000_00),
    st.integers(min_value=1, max_value=2400).map(lambda bp: Decimal(bp) / 10_000),
    st.integers(min_value=1, max_value=36),
)
def test_no_fee_equal_instalment_apr_equals_nominal(p: int, r: Decimal, n: int) -> None:
    result = compute_apr(equal_instalment(p, r, n, D0))
    assert abs(result.nominal_apr - r) <= ONE_BP
    assert result.effective_apr >= result.nominal_apr
    assert result.total_fees_fen == 0
    assert result.total_cost_fen == result.total_interest_fen


@pytest.mark.parametrize("method", list(RepaymentMethod))
def test_no_fee_apr_equals_nominal_for_every_method(method: RepaymentMethod) -> None:
    s = build_schedule(method, 100_000_00, Decimal("0.0865"), 24, D0)
    assert compute_apr(s).nominal_apr == Decimal("0.0865")


def test_known_values() -> None:
    r = compute_apr(equal_instalment(100_000_00, Decimal("0.06"), 12, D0))
    assert r.nominal_apr == Decimal("0.0600")
    assert r.effective_apr == Decimal("0.0617")  # 1.005^12 − 1 = 6.1678%


def test_upfront_fee_raises_apr() -> None:
    s = equal_instalment(10_000_00, Decimal("0.12"), 12, D0)
    base = compute_apr(s)
    with_fee = compute_apr(s, upfront_fee_fen=200_00)
    assert with_fee.nominal_apr > base.nominal_apr
    assert with_fee.net_disbursed_fen == 9_800_00
    assert with_fee.total_fees_fen == 200_00
    assert with_fee.total_cost_fen == base.total_interest_fen + 200_00
    # A 2% fee on a 12-month amortising loan costs roughly 3.7 points of APR.
    assert Decimal("0.155") < with_fee.nominal_apr < Decimal("0.16")


def test_periodic_fee_on_zero_rate_instalment_plan() -> None:
    # "0% interest" with 0.3%/month on the original principal: APR ≈ 6.58%, not 3.6%.
    s = equal_instalment(10_000_00, Decimal(0), 12, D0)
    r = compute_apr(s, periodic_fee_fen=30_00)
    assert r.nominal_apr == Decimal("0.0658")
    assert r.total_fees_fen == 360_00
    assert r.total_interest_fen == 0


def test_interest_first_apr() -> None:
    s = interest_first(100_000_00, Decimal("0.12"), 12, D0)
    assert compute_apr(s).nominal_apr == Decimal("0.1200")
    # Exact: 1% per month on the full principal, so monthly IRR is exactly 0.01.
    assert abs(compute_apr(s).monthly_irr - Decimal("0.01")) < Decimal("1e-25")
    with_fee = compute_apr(s, upfront_fee_fen=1_000_00)  # 1% at drawdown
    assert Decimal("0.1300") < with_fee.nominal_apr < Decimal("0.1320")


def test_irr_sign_convention_and_negative_root() -> None:
    assert monthly_irr([-100, 110]) == monthly_irr([100, -110])
    assert abs(monthly_irr([-100, 110]) - Decimal("0.1")) < Decimal("1e-25")
    assert monthly_irr([-100, 90]) < 0


@pytest.mark.parametrize("flows", [[], [-100], [0, 100], [-100, 50, -10], [-100, 0, 0]])
def test_irr_rejects_unconventional_flows(flows: list[int]) -> None:
    with pytest.raises(ValueError):
        monthly_irr(flows)


def test_fee_validation() -> None:
    s = equal_instalment(1_000_00, Decimal("0.1"), 3, D0)
    with pytest.raises(ValueError):
        compute_apr(s, upfront_fee_fen=-1)
    with pytest.raises(ValueError):
        compute_apr(s, upfront_fee_fen=1_000_00)
