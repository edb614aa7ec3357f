"""Credit line from repayment capacity, in integer fen, with a readable derivation.

Capacity = income x DSR cap - existing debt service, haircut by PD, turned into principal by
the equal-instalment annuity at a conservative rate, then capped by the product maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from lending.finance.products import APR_CAP

# The annuity is priced at the legal APR ceiling by default: a line affordable at the cap
# is affordable at whatever lower rate pricing finally sets.
DEFAULT_CAPACITY_RATE = APR_CAP


@dataclass(frozen=True, slots=True)
class LinePolicy:
    max_debt_service_ratio: Decimal = Decimal("0.50")
    rounding_fen: int = 10_000  # lines are offered in whole hundreds of yuan


@dataclass(frozen=True, slots=True)
class CreditLine:
    amount_fen: int
    monthly_capacity_fen: int  # instalment the line may consume per month
    steps: list[str]


def _yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def annuity_factor(annual_rate: Decimal, term_months: int) -> Decimal:
    """Principal repaid by one fen per month over the term (present value of an annuity)."""
    r = annual_rate / 12
    if r == 0:
        return Decimal(term_months)
    return (1 - (1 + r) ** -term_months) / r


def monthly_instalment_fen(principal_fen: int, annual_rate: Decimal, term_months: int) -> int:
    """Equal monthly instalment, rounded up to the fen (the borrower never underpays)."""
    raw = Decimal(principal_fen) / annuity_factor(annual_rate, term_months)
    return int(raw.to_integral_value(rounding=ROUND_CEILING))


def credit_line(
    *,
    monthly_income_fen: int,
    existing_monthly_debt_fen: int,
    probability_of_default: float,
    term_months: int,
    product_max_fen: int,
    annual_rate: Decimal = DEFAULT_CAPACITY_RATE,
    policy: LinePolicy = LinePolicy(),
) -> CreditLine:
    if min(monthly_income_fen, existing_monthly_debt_fen, product_max_fen) < 0:
        raise ValueError("money amounts must be non-negative fen")
    if term_months < 1:
        raise ValueError("term_months must be >= 1")
    if not 0.0 <= probability_of_default <= 1.0:
        raise ValueError("probability_of_default must be in [0, 1]")

    steps: list[str] = []
    dsr = policy.max_debt_service_ratio
    ceiling = int((Decimal(monthly_income_fen) * dsr).to_integral_value(rounding=ROUND_FLOOR))
    steps.append(
        f"debt-service ceiling = income {_yuan(monthly_income_fen)} x {dsr:.0%} "
        f"= {_yuan(ceiling)}/month"
    )
    spare = max(0, ceiling - existing_monthly_debt_fen)
    steps.append(
        f"spare capacity = {_yuan(ceiling)} - existing debt "
        f"{_yuan(existing_monthly_debt_fen)} = {_yuan(spare)}/month"
    )
    keep = 1 - Decimal(str(probability_of_default)).quantize(Decimal("0.0001"))
    capacity = int((spare * keep).to_integral_value(rounding=ROUND_FLOOR))
    steps.append(f"risk haircut x (1 - PD) = x {keep} -> {_yuan(capacity)}/month")
    factor = annuity_factor(annual_rate, term_months)
    principal = int((capacity * factor).to_integral_value(rounding=ROUND_FLOOR))
    steps.append(
        f"principal repayable over {term_months} months at {annual_rate:.2%} = {_yuan(principal)}"
    )
    capped = min(principal, product_max_fen)
    if capped < principal:
        steps.append(f"capped at product maximum {_yuan(product_max_fen)}")
    amount = capped - capped % policy.rounding_fen
    steps.append(f"line = {_yuan(amount)} (rounded down to {_yuan(policy.rounding_fen)})")
    return CreditLine(amount_fen=amount, monthly_capacity_fen=capacity, steps=steps)
