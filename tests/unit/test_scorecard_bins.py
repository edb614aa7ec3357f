"""Bins a credit officer would accept (issue 12, point 2): business orders and risk
directions enforced by pooling, every override recorded, the data-driven bins kept for
comparison."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lending.scoring.decision import DecisionPolicy

train = pytest.importorskip("lending.modelling.scorecard_training")


@pytest.fixture(scope="module")
def german() -> Any:
    return train.german_split(*train.load_german())[:2]


def _rates(fb: Any) -> list[float]:
    return [b / (g + b) for g, b in zip(fb.goods, fb.bads, strict=True)]


@given(st.lists(st.tuples(st.integers(1, 200), st.integers(0, 200)), min_size=1, max_size=12))
def test_pooling_leaves_a_never_rising_bad_rate_over_a_partition(
    cells: list[tuple[int, int]],
) -> None:
    goods, bads = [g for g, _ in cells], [b for _, b in cells]
    blocks = train.pool_adjacent_violators(goods, bads)
    assert [i for blk in blocks for i in blk] == list(range(len(cells)))
    rates = [sum(bads[i] for i in b) / sum(goods[i] + bads[i] for i in b) for b in blocks]
    assert all(a >= b for a, b in itertools.pairwise(rates))


def test_pooling_keeps_an_ordered_sequence_and_pools_a_reversal() -> None:
    assert train.pool_adjacent_violators([50, 60, 70], [50, 40, 30]) == [[0], [1], [2]]
    assert train.pool_adjacent_violators([70, 50], [30, 50]) == [[0, 1]]


def test_business_ordered_features_follow_their_order(german: Any) -> None:
    X, y = german
    binner = train.build_pipeline().fit(X, y).named_steps["woe"]
    by_name = {fb.spec.name: fb for fb in binner.all_bins_}
    for spec in train.CANDIDATES:
        fb = by_name[spec.name]
        rates = _rates(fb)
        if spec.order:
            # Bins hold consecutive categories of the order, riskiest first.
            flat = [c for grp in fb.groups for c in grp]
            assert flat == [c for c in spec.order if c in flat]
            assert all(a >= b for a, b in itertools.pairwise(rates)), spec.name
        if spec.risk_rises is not None and len(rates) > 1:
            diffs = np.diff(rates)
            assert (diffs >= 0).all() if spec.risk_rises else (diffs <= 0).all(), spec.name


def test_every_override_is_recorded_and_exported(german: Any) -> None:
    X, y = german
    model = train.build_pipeline().fit(X, y)
    by_name = {fb.spec.name: fb for fb in model.named_steps["woe"].all_bins_}
    checking = by_name["status_of_existing_checking_account"]
    # The data rank "no checking account" safest; the order puts it after "< 0 DM" only.
    assert ["no checking account", "0 <= ... < 200 DM"] in checking.groups
    assert any("no checking account" in o for o in checking.overrides)
    # Credit history contradicts its order throughout: pooled to one bin, not scored.
    history = by_name["credit_history"]
    assert len(history.groups) == 1 and history.iv == pytest.approx(0.0)
    assert "credit_history" not in {fb.spec.name for fb in model.named_steps["woe"].bins_}
    art = train.export_artefact(
        model,
        metrics={},
        policy=DecisionPolicy(0.2, 0.4),
        tradeoffs=[{"approve_pd_below": 0.2}],
        dataset={},
        trained_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    exported = {f["name"]: f for f in art["features"]}
    assert exported["status_of_existing_checking_account"]["overrides"] == checking.overrides
    assert exported["age_in_years"]["constraint"] == "bad rate falls with the value"


def test_data_driven_bins_remain_available_for_comparison(german: Any) -> None:
    X, y = german
    free = train.ScorecardSettings(constrained=False)
    binner = train.build_pipeline(settings=free).fit(X, y).named_steps["woe"]
    checking = next(fb for fb in binner.all_bins_ if fb.spec.name.startswith("status"))
    assert checking.groups[0] == ["no checking account"] and not checking.overrides


def test_a_category_outside_the_business_order_is_refused(german: Any) -> None:
    X, y = german
    odd = X.copy()
    odd.iloc[0, odd.columns.get_loc("savings_account_and_bonds")] = "gold bars"
    with pytest.raises(ValueError, match="outside its business order"):
        train.build_pipeline().fit(odd, y)
