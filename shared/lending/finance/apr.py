"""APR by the IRR method (内部收益率法), as PBoC guidance requires for 年化利率 disclosure.

The borrower's cash flows are monthly periods: at t=0 the net amount actually at the borrower's
disposal (principal minus any upfront fee), at t=k the k-th instalment plus any per-period fee.
Periods are treated as equal months (not actual days), consistent with the schedule's ``r / 12``.

* ``monthly_irr`` solves ``Σ cf_k / (1+i)^k = 0`` by bisection in 50-digit Decimal.
  Bisection is slower than Newton but cannot diverge, and with one outflow followed by inflows
  the NPV is strictly decreasing in i, so the root is unique and always bracketed.
* ``nominal`` APR = 12 × i — the figure Chinese disclosure labels 年化利率 and the one the 24%
  comprehensive-cost cap is measured against.
* ``effective`` APR = (1+i)^12 − 1 (compounded), shown for information.
Both are rounded half-up to 4 decimal places (0.1234 = 12.34%); the unrounded monthly IRR is kept
so a cap check can be strict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from lending.finance.schedule import Schedule

__all__ = ["AprResult", "compute_apr", "monthly_irr", "round_rate"]

_PREC = 50
_TOLERANCE = Decimal("1e-30")
_MAX_ITERATIONS = 400
_RATE_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class AprResult:
    monthly_irr: Decimal  # unrounded beyond 30 decimal places
    nominal_apr: Decimal  # 12 × monthly IRR, 4 dp — the disclosed 年化利率
    effective_apr: Decimal  # (1 + monthly IRR)^12 − 1, 4 dp
    net_disbursed_fen: int  # principal minus upfront fees: what the borrower can actually use
    total_interest_fen: int
    total_fees_fen: int  # upfront + all per-period fees
    total_cost_fen: int  # interest + fees (综合融资成本 in fen)

    @property
    def nominal_apr_unrounded(self) -> Decimal:
        with localcontext(prec=_PREC):
            return self.monthly_irr * 12


def round_rate(rate: Decimal) -> Decimal:
    """Round a rate half-up to 4 dp (basis-point precision)."""
    with localcontext(prec=_PREC):
        return rate.quantize(_RATE_QUANTUM, rounding=ROUND_HALF_UP)


def _npv(rate: Decimal, cash_flows: Sequence[int]) -> Decimal:
    discount = 1 / (1 + rate)
    factor = Decimal(1)
    total = Decimal(0)
    for cf in cash_flows:
        total += cf * factor
        factor *= discount
    return total


def monthly_irr(cash_flows: Sequence[int]) -> Decimal:
    """Periodic IRR of fen cash flows ``cash_flows[k]`` at month k.

    Sign convention is free but must be conventional: ``cash_flows[0]`` non-zero and every later
    flow of the opposite sign or zero (e.g. lender view ``[-net, p1, ..., pn]``). Raises
    ValueError otherwise, since the IRR would not be unique.
    """
    if len(cash_flows) < 2 or cash_flows[0] == 0:
        raise ValueError("need an initial non-zero flow and at least one later flow")
    sign = 1 if cash_flows[0] < 0 else -1
    flows = [sign * cf for cf in cash_flows]  # normalise to [-outlay, +inflows...]
    if any(cf < 0 for cf in flows[1:]) or not any(cf > 0 for cf in flows[1:]):
        raise ValueError("cash flows must be one outlay followed by non-negative inflows")

    with localcontext(prec=_PREC):
        # NPV is strictly decreasing on (-1, inf). Root >= 0 iff undiscounted NPV >= 0.
        if _npv(Decimal(0), flows) >= 0:
            lo, hi = Decimal(0), Decimal(1)
            while _npv(hi, flows) > 0:
                lo, hi = hi, hi * 2
        else:
            lo, hi = Decimal("-0.5"), Decimal(0)
            while _npv(lo, flows) < 0:
                lo, hi = (lo - 1) / 2, lo  # halve the distance to -1
        for _ in range(_MAX_ITERATIONS):
            if hi - lo <= _TOLERANCE:
                break
            mid = (lo + hi) / 2
            if _npv(mid, flows) > 0:
                lo = mid
            else:
                hi = mid
        return ((lo + hi) / 2).quantize(_TOLERANCE)


def compute_apr(
    schedule: Schedule, *, upfront_fee_fen: int = 0, periodic_fee_fen: int = 0
) -> AprResult:
    """APR of ``schedule`` for the borrower.

    ``upfront_fee_fen`` is paid at drawdown (it reduces the money the borrower can use at t=0;
    it is never withheld from the contractual principal, which Civil Code art. 670 forbids).
    ``periodic_fee_fen`` is charged with every instalment (e.g. a 分期 service fee).
    """
    if upfront_fee_fen < 0 or periodic_fee_fen < 0:
        raise ValueError("fees cannot be negative")
    net = schedule.principal_fen - upfront_fee_fen
    if net <= 0:
        raise ValueError("upfront fee must be smaller than the principal")
    flows = [-net, *(x.total_fen + periodic_fee_fen for x in schedule.instalments)]
    i = monthly_irr(flows)
    with localcontext(prec=_PREC):
        nominal = round_rate(i * 12)
        effective = round_rate((1 + i) ** 12 - 1)
    fees = upfront_fee_fen + periodic_fee_fen * len(schedule.instalments)
    interest = schedule.total_interest_fen
    return AprResult(
        monthly_irr=i,
        nominal_apr=nominal,
        effective_apr=effective,
        net_disbursed_fen=net,
        total_interest_fen=interest,
        total_fees_fen=fees,
        total_cost_fen=interest + fees,
    )
