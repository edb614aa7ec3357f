"""Decision policy: rule order, bands, coverage and amount checks, artefact cut-offs."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from lending.scoring.credit_line import CreditLine
from lending.scoring.decision import DecisionPolicy, decide, pd_band
from lending.scoring.scorecard import DEFAULT_ARTEFACT, ReasonCode, Scorecard, ScoreResult

POLICY = DecisionPolicy(approve_pd_below=0.20, decline_pd_above=0.40)
LINE = CreditLine(amount_fen=5_000_000, monthly_capacity_fen=500_000, steps=["..."])
SCORE_REASON = ReasonCode("R01", "status_of_existing_checking_account", "Checking account: x")


def score(pd: float) -> ScoreResult:
    return ScoreResult(pd, 600, [SCORE_REASON], {})


def run(pd: float = 0.1, **kw: object) -> tuple[str, list[str], int]:
    args: dict[str, object] = {
        "anti_fraud_hits": [],
        "data_coverage": 1.0,
        "requested_amount_fen": 3_000_000,
        "line": LINE,
        "policy": POLICY,
    } | kw
    d = decide(score(pd), **args)  # type: ignore[arg-type]
    return d.outcome, [r.code for r in d.reasons], d.approved_amount_fen


def test_low_pd_approves_requested_amount() -> None:
    assert run(0.1) == ("approve", ["A01"], 3_000_000)


def test_fraud_and_blacklist_decline_even_at_low_pd() -> None:
    assert run(0.01, anti_fraud_hits=["device-farm", "id-reuse"])[:2] == ("decline", ["D01", "D01"])
    assert run(0.01, judicial_blacklisted=True)[:2] == ("decline", ["D02"])


def test_high_pd_declines_with_score_reasons() -> None:
    outcome, codes, amount = run(0.5)
    assert (outcome, codes, amount) == ("decline", ["D03", "R01"], 0)


def test_middle_band_goes_to_review() -> None:
    assert run(0.3)[:2] == ("review", ["V02", "R01"])


def test_thin_data_goes_to_review_before_a_pd_decline() -> None:
    assert run(0.9, data_coverage=0.94)[:2] == ("review", ["V01"])
    assert run(0.1, data_coverage=0.95)[0] == "approve"


def test_amount_checks() -> None:
    # Slightly over the line: counter-offer at the line.
    assert run(0.1, requested_amount_fen=6_000_000) == ("approve", ["A01", "A02"], 5_000_000)
    # Far over the line (> 1.5x): a human looks at it.
    assert run(0.1, requested_amount_fen=7_500_001)[:2] == ("review", ["V03"])
    zero = CreditLine(0, 0, [])
    assert run(0.1, line=zero)[:2] == ("decline", ["D04"])


def test_band_edges() -> None:
    assert pd_band(0.1999, POLICY) == "approve"
    assert pd_band(0.20, POLICY) == "review"
    assert pd_band(0.40, POLICY) == "review"
    assert pd_band(0.4001, POLICY) == "decline"


def test_policy_validation_and_bad_amount() -> None:
    with pytest.raises(ValueError):
        DecisionPolicy(approve_pd_below=0.5, decline_pd_above=0.4)
    with pytest.raises(ValueError):
        run(0.1, requested_amount_fen=0)
    assert POLICY.max_request_over_line == Decimal("1.5")


def test_policy_from_artefact_matches_training_tradeoff() -> None:
    cut = json.loads(DEFAULT_ARTEFACT.read_text("utf-8"))["cutoffs"]
    policy = DecisionPolicy.from_artefact(cut)
    assert policy == DecisionPolicy.from_artefact(Scorecard.load().cutoffs)
    assert policy.min_data_coverage == 0.95
    chosen = cut["tradeoff_chosen"]
    assert chosen["automation_share"] >= 0.80
    assert chosen["bad_rate_approved"] < 0.30 < chosen["bad_rate_declined"]  # base rate 30%
