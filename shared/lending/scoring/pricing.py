"""Risk-based pricing: PD -> grade A..E -> annual nominal rate, never above the legal APR cap.

The comprehensive annual cost (综合年化成本: interest plus every fee, annualised) may not
exceed 24%; when a grade's rate plus fees would, the nominal rate is cut to fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from lending.finance.products import APR_CAP
from lending.scoring.scorecard import ReasonCode

Grade = Literal["A", "B", "C", "D", "E"]
RATE_QUANTUM = Decimal("0.0001")  # one hundredth of a percentage point


@dataclass(frozen=True, slots=True)
class GradeBand:
    grade: Grade
    pd_below: float  # the band holds PDs strictly below this (the last band takes the rest)
    annual_rate: Decimal


@dataclass(frozen=True, slots=True)
class RateTable:
    bands: tuple[GradeBand, ...]
    apr_cap: Decimal = APR_CAP

    def band_for(self, pd: float) -> GradeBand:
        return next((b for b in self.bands if pd < b.pd_below), self.bands[-1])


# Bands sized to the German baseline's PD spread; recalibrate with local loss data.
DEFAULT_RATE_TABLE = RateTable(
    bands=(
        GradeBand("A", 0.05, Decimal("0.0720")),
        GradeBand("B", 0.10, Decimal("0.1080")),
        GradeBand("C", 0.15, Decimal("0.1440")),
        GradeBand("D", 0.25, Decimal("0.1800")),
        GradeBand("E", 1.00, Decimal("0.2200")),
    )
)


@dataclass(frozen=True, slots=True)
class Pricing:
    grade: Grade
    annual_rate: Decimal  # nominal interest rate
    apr: Decimal  # comprehensive annual cost: nominal rate + annualised fees
    capped: bool
    reasons: list[ReasonCode]


def price(
    probability_of_default: float,
    *,
    annual_fee_rate: Decimal = Decimal("0"),
    table: RateTable = DEFAULT_RATE_TABLE,
) -> Pricing:
    if not 0.0 <= probability_of_default <= 1.0:
        raise ValueError("probability_of_default must be in [0, 1]")
    if not 0 <= annual_fee_rate <= table.apr_cap:
        # Fees alone above the cap mean a misconfigured product, not a pricing decision.
        raise ValueError(f"annual_fee_rate must be within [0, {table.apr_cap}]")
    band = table.band_for(probability_of_default)
    reasons = [
        ReasonCode(
            "P01",
            None,
            f"PD {probability_of_default:.2%} -> grade {band.grade}, "
            f"table rate {band.annual_rate:.2%}",
        )
    ]
    rate = band.annual_rate
    capped = rate + annual_fee_rate > table.apr_cap
    if capped:
        rate = max(Decimal("0"), table.apr_cap - annual_fee_rate)
        reasons.append(
            ReasonCode(
                "P02",
                None,
                f"rate cut to {rate:.2%} so rate + fees "
                f"{annual_fee_rate:.2%} stay within the "
                f"{table.apr_cap:.0%} APR cap",
            )
        )
    rate = rate.quantize(RATE_QUANTUM, rounding=ROUND_FLOOR)
    return Pricing(band.grade, rate, rate + annual_fee_rate, capped, reasons)
