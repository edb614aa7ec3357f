"""Admission decision policy: hard rules first, then PD bands, then data and amount checks.

Order matters: fraud and the dishonest-debtor list decline outright; thin data goes to a
human *before* a PD decline, because missing data is scored as the riskiest bin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from lending.scoring.credit_line import CreditLine
from lending.scoring.scorecard import ReasonCode, ScoreResult

Outcome = Literal["approve", "decline", "review"]


@dataclass(frozen=True, slots=True)
class DecisionPolicy:
    approve_pd_below: float
    decline_pd_above: float
    min_data_coverage: float = 0.95
    max_request_over_line: Decimal = Decimal("1.5")  # beyond this a counter-offer needs a human

    def __post_init__(self) -> None:
        if not 0.0 <= self.approve_pd_below <= self.decline_pd_above <= 1.0:
            raise ValueError("need 0 <= approve_pd_below <= decline_pd_above <= 1")

    @classmethod
    def from_artefact(cls, cutoffs: Mapping[str, object]) -> DecisionPolicy:
        """Build from the artefact's `cutoffs` block (or `Scorecard.cutoffs`)."""
        return cls(
            approve_pd_below=float(str(cutoffs["approve_pd_below"])),
            decline_pd_above=float(str(cutoffs["decline_pd_above"])),
            min_data_coverage=float(str(cutoffs.get("min_data_coverage", 0.95))),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reasons: list[ReasonCode]
    approved_amount_fen: int  # 0 unless approved
    probability_of_default: float
    points: int


def pd_band(probability_of_default: float, policy: DecisionPolicy) -> Outcome:
    if probability_of_default < policy.approve_pd_below:
        return "approve"
    if probability_of_default > policy.decline_pd_above:
        return "decline"
    return "review"


def decide(
    score: ScoreResult,
    anti_fraud_hits: list[str],
    data_coverage: float,
    requested_amount_fen: int,
    line: CreditLine,
    *,
    policy: DecisionPolicy,
    judicial_blacklisted: bool = False,
) -> Decision:
    if requested_amount_fen <= 0:
        raise ValueError("requested_amount_fen must be positive")
    pd = score.probability_of_default

    def done(outcome: Outcome, reasons: list[ReasonCode], amount: int = 0) -> Decision:
        return Decision(outcome, reasons, amount, pd, score.points)

    if anti_fraud_hits:
        return done(
            "decline",
            [ReasonCode("D01", None, f"anti-fraud rule hit: {h}") for h in anti_fraud_hits],
        )
    if judicial_blacklisted:
        return done(
            "decline",
            [ReasonCode("D02", None, "listed as dishonest judgment debtor (失信被执行人)")],
        )
    if data_coverage < policy.min_data_coverage:
        return done(
            "review",
            [
                ReasonCode(
                    "V01",
                    None,
                    f"data coverage {data_coverage:.0%} < {policy.min_data_coverage:.0%}",
                )
            ],
        )
    band = pd_band(pd, policy)
    if band == "decline":
        return done(
            "decline",
            [
                ReasonCode(
                    "D03", None, f"PD {pd:.1%} above decline cut {policy.decline_pd_above:.1%}"
                ),
                *score.reasons,
            ],
        )
    if band == "review":
        return done(
            "review", [ReasonCode("V02", None, f"PD {pd:.1%} in the review band"), *score.reasons]
        )
    if line.amount_fen <= 0:
        return done("decline", [ReasonCode("D04", None, "no repayment capacity for any line")])
    if requested_amount_fen > line.amount_fen * policy.max_request_over_line:
        return done(
            "review",
            [
                ReasonCode(
                    "V03",
                    None,
                    f"requested amount is more than {policy.max_request_over_line}x the line",
                )
            ],
        )
    amount = min(requested_amount_fen, line.amount_fen)
    reasons = [
        ReasonCode("A01", None, f"PD {pd:.1%} below approve cut {policy.approve_pd_below:.1%}")
    ]
    if amount < requested_amount_fen:
        reasons.append(ReasonCode("A02", None, "approved amount reduced to the credit line"))
    return done("approve", reasons, amount)
