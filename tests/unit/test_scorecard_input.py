"""Serving on odd input (issue 12, point 6): the scikit-learn pipeline's answer, or a clear
refusal naming the field. Tested with hypothesis against the pipelines the artefacts were
exported from (the scorecard, and a forest challenger)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lending.scoring.decision import DecisionPolicy
from lending.scoring.scorecard import InvalidFeatureValue, Scorecard, refusal
from lending.scoring.trees import TreeEnsemble, tree_refusal

train = pytest.importorskip("lending.modelling.scorecard_training")
pd = pytest.importorskip("pandas")
challengers = pytest.importorskip("lending.modelling.challengers")


def _german() -> tuple[Any, Any]:
    try:
        return train.load_german()  # type: ignore[no-any-return]
    except FileNotFoundError:
        pytest.skip("German credit CSV not installed")


X, Y = _german()
ROWS: list[dict[str, Any]] = [dict(r) for r in X.to_dict("records")]
PIPELINE = train.build_pipeline().fit(X, Y)
CARD = Scorecard.load(
    json.loads(
        json.dumps(
            train.export_artefact(
                PIPELINE,
                metrics={},
                policy=DecisionPolicy(0.2, 0.4),
                tradeoffs=[{"approve_pd_below": 0.2}],
                dataset={},
                trained_at=datetime(2025, 1, 1, tzinfo=UTC),
            )
        )
    )
)
FOREST = challengers.build_forest(train.CANDIDATES, n_rows=len(Y)).fit(X, Y)
TREES = TreeEnsemble.load(
    json.loads(json.dumps(challengers.export_ensemble(FOREST, version="t", dataset={}, metrics={})))
)
KIND = {f.name: f.kind for f in train.CANDIDATES}
NUMERIC = sorted(n for n, k in KIND.items() if k == "numeric")
CATEGORICAL = sorted(n for n, k in KIND.items() if k == "categorical")

ODD: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: beyond 2**53 and beyond float range
    st.just(10**400),
    st.floats(),  # with NaN and both infinities
    st.sampled_from([1e300, -1e39, 3.4e38]),  # beyond / within float32 (the trees' input)
    st.sampled_from(
        ["inf", "infinity", "-Infinity", "NaN", "nan", "24", " 24 ", "1e3", "1_000", "", "abc"]
    ),
    st.text(max_size=8),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(0, 9), max_size=1),
    st.binary(max_size=2),
)


def _sklearn_pd(model: Any, row: dict[str, Any]) -> float:
    return float(model.predict_proba(pd.DataFrame([row]))[:, 1][0])


def _check(
    served: Any, used: set[str], model: Any, row: dict[str, Any], odd: dict[str, Any]
) -> None:
    why = refusal if served is _card_pd else tree_refusal
    refused = {k for k, v in odd.items() if why(KIND[k], v) is not None} & used
    try:
        got = served(row)
    except InvalidFeatureValue as e:
        # A clear refusal: exactly the odd fields the model uses, each with its reason.
        assert set(e.problems) == refused
        assert e.problems and all(e.problems.values())
        return
    assert not refused
    assert math.isfinite(got)
    assert got == pytest.approx(_sklearn_pd(model, row), abs=1e-9)


def _card_pd(row: dict[str, Any]) -> float:
    result = CARD.score(row)
    assert CARD.probability_of_default(row) == result.probability_of_default
    return result.probability_of_default


def _tree_pd(row: dict[str, Any]) -> float:
    return TREES.probability_of_default(row)


ODD_ROWS = st.tuples(
    st.integers(0, len(ROWS) - 1),
    st.dictionaries(st.sampled_from(NUMERIC + CATEGORICAL), ODD, min_size=1, max_size=3),
)


@settings(deadline=None, max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(ODD_ROWS)
def test_the_scorecard_agrees_with_scikit_learn_or_refuses(
    case: tuple[int, dict[str, Any]],
) -> None:
    i, odd = case
    _check(_card_pd, {f.name for f in CARD.features}, PIPELINE, {**ROWS[i], **odd}, odd)


@settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(ODD_ROWS)
def test_the_forest_challenger_agrees_with_scikit_learn_or_refuses(
    case: tuple[int, dict[str, Any]],
) -> None:
    i, odd = case
    _check(_tree_pd, set(KIND), FOREST, {**ROWS[i], **odd}, odd)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (math.inf, "infinite"),
        (-math.inf, "infinite"),
        ("infinity", "text for a numeric feature"),
        ("24", "text for a numeric feature"),
        (True, "a boolean is not a feature value"),
        (False, "a boolean is not a feature value"),
        (10**400, "integer beyond +-2**53 (positive)"),
        (-(2**53) - 1, "integer beyond +-2**53 (negative)"),
        ([24], "unsupported type list"),
    ],
)
def test_the_issues_odd_values_are_refused_by_name(value: Any, why: str) -> None:
    row = {**ROWS[0], "duration_in_month": value, "credit_amount": value}
    with pytest.raises(InvalidFeatureValue) as caught:
        CARD.score(row)
    assert caught.value.problems == {"duration_in_month": why, "credit_amount": why}
    assert "duration_in_month" in str(caught.value)
    with pytest.raises(InvalidFeatureValue):
        TREES.probability_of_default(row)


@pytest.mark.parametrize("value", [None, math.nan, 2**53, -(2**53), 1e300, 24.5, 0])
def test_missing_nan_and_extreme_finite_numbers_match_scikit_learn(value: Any) -> None:
    row = {**ROWS[3], "duration_in_month": value, "credit_amount": value}
    assert CARD.score(row).probability_of_default == pytest.approx(
        _sklearn_pd(PIPELINE, row), abs=1e-9
    )
    if value != 1e300:  # beyond float32: scikit-learn's trees refuse it, and so do ours
        assert TREES.probability_of_default(row) == pytest.approx(
            _sklearn_pd(FOREST, row), abs=1e-9
        )
    else:
        with pytest.raises(InvalidFeatureValue):
            TREES.probability_of_default(row)


def test_categorical_text_numbers_and_unknowns_match_scikit_learn() -> None:
    for value in ("martian account", "", "nan", "None", 3, 2.5, math.nan, None):
        row = {**ROWS[5], "status_of_existing_checking_account": value}
        assert CARD.score(row).probability_of_default == pytest.approx(
            _sklearn_pd(PIPELINE, row), abs=1e-9
        )


def test_check_names_every_refused_field() -> None:
    with pytest.raises(InvalidFeatureValue) as caught:
        CARD.check({"duration_in_month": "12", "purpose": True, "housing": "own"})
    assert set(caught.value.problems) == {"duration_in_month", "purpose"}
    CARD.check(ROWS[0])  # a training row passes
