"""Repayment schedules: 等额本息, 等额本金, 先息后本.

Conventions (the contract and the disclosure both rely on these, so change them together):

* Money is integer fen; rates are ``Decimal`` annual nominal rates (``Decimal("0.06")`` = 6%).
* Monthly rate ``i = r / 12`` (月利率 = 年利率 / 12), independent of the actual number of
  days in the month, as is customary for Chinese instalment loans.
* Interest of every period is ``remaining principal × r / 12`` computed exactly and rounded
  once, **half-up**, to the fen (never via a rounded monthly rate: ``r / 12`` does not
  terminate for most rates, and a tie k + 0.5 fen would come out k).
* The equal-instalment payment is the annuity amount rounded half-up to the fen.
* The **last instalment absorbs the principal remainder**: its principal is whatever is still
  outstanding, so principal always sums exactly to P. Its total may therefore differ from the
  other instalments by a few fen.
* Due date k is the disbursement date plus k calendar months; when the disbursement day does not
  exist in that month it is clamped to the month's last day (31 Jan -> 28/29 Feb -> 31 Mar).
  Clamping is computed from the disbursement date each time, so it never drifts.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

__all__ = [
    "Instalment",
    "RepaymentMethod",
    "Schedule",
    "add_months",
    "annuity_payment_fen",
    "build_schedule",
    "equal_instalment",
    "equal_principal",
    "format_yuan",
    "interest_first",
    "round_half_up_fen",
]

# Working precision for intermediate Decimal arithmetic; far beyond what fen rounding needs.
_PREC = 50
_MAX_TERM_MONTHS = 360


class RepaymentMethod(StrEnum):
    EQUAL_INSTALMENT = "equal_instalment"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_FIRST = "interest_first"  # 先息后本

    @property
    def label_zh(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]


_LABELS: dict[RepaymentMethod, tuple[str, str]] = {
    RepaymentMethod.EQUAL_INSTALMENT: ("等额本息", "Equal instalment"),
    RepaymentMethod.EQUAL_PRINCIPAL: ("等额本金", "Equal principal"),
    RepaymentMethod.INTEREST_FIRST: ("先息后本", "Interest first, principal at maturity"),
}


@dataclass(frozen=True, slots=True)
class Instalment:
    number: int  # 1-based
    due_date: date
    principal_fen: int
    interest_fen: int
    total_fen: int  # principal_fen + interest_fen
    remaining_principal_fen: int  # outstanding principal after this instalment is paid


@dataclass(frozen=True, slots=True)
class Schedule:
    method: RepaymentMethod
    principal_fen: int
    annual_rate: Decimal
    term_months: int
    disbursement_date: date
    instalments: tuple[Instalment, ...]

    @property
    def total_principal_fen(self) -> int:
        return sum(x.principal_fen for x in self.instalments)

    @property
    def total_interest_fen(self) -> int:
        return sum(x.interest_fen for x in self.instalments)

    @property
    def total_repayment_fen(self) -> int:
        return sum(x.total_fen for x in self.instalments)

    @property
    def first_due_date(self) -> date:
        return self.instalments[0].due_date

    @property
    def maturity_date(self) -> date:
        return self.instalments[-1].due_date


def round_half_up_fen(amount: Decimal) -> int:
    """Round a Decimal amount of fen to a whole fen, half-up (0.5 fen -> 1 fen)."""
    with localcontext(prec=_PREC):
        return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_yuan(fen: int) -> str:
    """Integer fen as yuan with thousands separators, e.g. 860664 -> '8,606.64' (no float)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, day clamped to the target month's length."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last_day))


def _validate(principal_fen: int, annual_rate: Decimal, term_months: int) -> None:
    # bool is an int subclass; a float would silently break exactness.
    if not isinstance(principal_fen, int) or isinstance(principal_fen, bool) or principal_fen <= 0:
        raise ValueError(f"principal_fen must be a positive int, got {principal_fen!r}")
    if not isinstance(annual_rate, Decimal) or not annual_rate.is_finite() or annual_rate < 0:
        raise ValueError(f"annual_rate must be a finite non-negative Decimal, got {annual_rate!r}")
    if not isinstance(term_months, int) or not 1 <= term_months <= _MAX_TERM_MONTHS:
        raise ValueError(f"term_months must be in 1..{_MAX_TERM_MONTHS}, got {term_months!r}")


def _monthly_rate(annual_rate: Decimal) -> Decimal:
    with localcontext(prec=_PREC):
        return annual_rate / 12


def _interest(remaining_fen: int, annual_rate: Decimal) -> int:
    """``remaining × r / 12``, half-up: the product is exact, and a quotient that is a tie
    (a multiple of 6 over 12) is exact too, so the one rounding sees the true value."""
    with localcontext(prec=_PREC):
        return round_half_up_fen(remaining_fen * annual_rate / 12)


def _assemble(
    method: RepaymentMethod,
    principal_fen: int,
    annual_rate: Decimal,
    term_months: int,
    disbursement_date: date,
    *,
    principal_for: Callable[[int, int, int], int],
) -> Schedule:
    """Walk the periods; ``principal_for(k, remaining, interest)`` gives period k's principal.

    The last period always repays everything still outstanding (remainder absorption), and no
    period may repay more than is outstanding, so no principal or remaining value goes negative.
    """
    remaining = principal_fen
    rows: list[Instalment] = []
    for k in range(1, term_months + 1):
        interest = _interest(remaining, annual_rate)
        if k == term_months:
            principal = remaining
        else:
            principal = max(0, min(principal_for(k, remaining, interest), remaining))
        remaining -= principal
        rows.append(
            Instalment(
                number=k,
                due_date=add_months(disbursement_date, k),
                principal_fen=principal,
                interest_fen=interest,
                total_fen=principal + interest,
                remaining_principal_fen=remaining,
            )
        )
    return Schedule(method, principal_fen, annual_rate, term_months, disbursement_date, tuple(rows))


def annuity_payment_fen(principal_fen: int, annual_rate: Decimal, term_months: int) -> int:
    """等额本息 monthly payment ``P·i·(1+i)^n / ((1+i)^n − 1)``, half-up to the fen (P/n at 0%)."""
    _validate(principal_fen, annual_rate, term_months)
    i = _monthly_rate(annual_rate)
    with localcontext(prec=_PREC):
        if i == 0:
            return round_half_up_fen(Decimal(principal_fen) / term_months)
        growth = (1 + i) ** term_months
        return round_half_up_fen(principal_fen * i * growth / (growth - 1))


def equal_instalment(
    principal_fen: int, annual_rate: Decimal, term_months: int, disbursement_date: date
) -> Schedule:
    """等额本息: the same total every month (the annuity payment), except the last instalment,
    which repays the exact outstanding principal plus its interest (so may differ by a few fen).
    """
    _validate(principal_fen, annual_rate, term_months)
    payment = annuity_payment_fen(principal_fen, annual_rate, term_months)
    return _assemble(
        RepaymentMethod.EQUAL_INSTALMENT,
        principal_fen,
        annual_rate,
        term_months,
        disbursement_date,
        principal_for=lambda _k, _remaining, interest: payment - interest,
    )


def equal_principal(
    principal_fen: int, annual_rate: Decimal, term_months: int, disbursement_date: date
) -> Schedule:
    """等额本金: principal ``P // n`` fen each month (floored); the last instalment carries the
    remaining ``P mod n`` fen as well. Interest declines with the outstanding principal.
    """
    _validate(principal_fen, annual_rate, term_months)
    base = principal_fen // term_months
    return _assemble(
        RepaymentMethod.EQUAL_PRINCIPAL,
        principal_fen,
        annual_rate,
        term_months,
        disbursement_date,
        principal_for=lambda _k, _remaining, _interest: base,
    )


def interest_first(
    principal_fen: int, annual_rate: Decimal, term_months: int, disbursement_date: date
) -> Schedule:
    """先息后本: interest only each month (``P × i`` half-up); all principal with the last one."""
    _validate(principal_fen, annual_rate, term_months)
    return _assemble(
        RepaymentMethod.INTEREST_FIRST,
        principal_fen,
        annual_rate,
        term_months,
        disbursement_date,
        principal_for=lambda _k, _remaining, _interest: 0,
    )


_BUILDERS: dict[RepaymentMethod, Callable[[int, Decimal, int, date], Schedule]] = {
    RepaymentMethod.EQUAL_INSTALMENT: equal_instalment,
    RepaymentMethod.EQUAL_PRINCIPAL: equal_principal,
    RepaymentMethod.INTEREST_FIRST: interest_first,
}


def build_schedule(
    method: RepaymentMethod | str,
    principal_fen: int,
    annual_rate: Decimal,
    term_months: int,
    disbursement_date: date,
) -> Schedule:
    """Dispatch on ``method`` (enum or its string value; unknown values raise ValueError)."""
    return _BUILDERS[RepaymentMethod(method)](
        principal_fen, annual_rate, term_months, disbursement_date
    )
