"""Buckets, the five tiers with their regulatory floors, and the NPL ratio."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lending.servicing.delinquency import (
    Tier,
    TierThresholds,
    bucket,
    classify,
    floor_tier,
    npl_ratio,
)


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, "M0"), (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"), (61, "M3"), (90, "M3"), (91, "M3+")],
)
def test_buckets(days: int, expected: str) -> None:
    assert bucket(days) == expected


@pytest.mark.parametrize(
    ("days", "tier"),
    [
        (0, Tier.NORMAL),
        (1, Tier.SPECIAL_MENTION),
        (90, Tier.SPECIAL_MENTION),
        (91, Tier.SUBSTANDARD),
        (270, Tier.SUBSTANDARD),
        (271, Tier.DOUBTFUL),
        (360, Tier.DOUBTFUL),
        (361, Tier.LOSS),
    ],
)
def test_the_regulatory_floors(days: int, tier: Tier) -> None:
    assert floor_tier(days) is tier


@given(st.integers(min_value=0, max_value=2000), st.sampled_from(list(Tier)))
def test_a_judgement_can_make_a_loan_worse_never_better(days: int, judged: Tier) -> None:
    tier = classify(days, judged)
    assert tier >= floor_tier(days) and tier >= judged


def test_a_product_may_be_stricter_than_the_floors_not_looser() -> None:
    strict = TierThresholds(substandard=60)
    assert floor_tier(61, strict) is Tier.SUBSTANDARD
    with pytest.raises(ValueError):
        TierThresholds(substandard=120)


def test_npl_ratio_is_the_non_performing_share_of_principal() -> None:
    loans = [(Tier.NORMAL, 900_00), (Tier.SPECIAL_MENTION, 50_00), (Tier.SUBSTANDARD, 30_00)]
    loans.append((Tier.LOSS, 20_00))
    assert npl_ratio(loans) == Decimal("0.05")
    assert npl_ratio([]) == 0
    assert Tier.SUBSTANDARD.label_zh == "次级"
