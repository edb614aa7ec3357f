"""Our amounts onto the training population (issue 12, point 3): quantile mapping from our
consumer applicants' requests (yuan) to the German card's amounts (DM)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lending.scoring.profile import (
    AMOUNT_PERCENTILES,
    CONSUMER_AMOUNT_YUAN,
    GERMAN_AMOUNT_DM,
    amount_fen_for_model,
    amount_knots,
    model_amount,
)


def test_german_knots_are_the_data_sets_percentiles() -> None:
    np = pytest.importorskip("numpy")
    train = pytest.importorskip("lending.modelling.scorecard_training")
    X, _ = train.load_german()
    expected = np.percentile(X["credit_amount"].to_numpy(), AMOUNT_PERCENTILES)
    assert pytest.approx(expected.tolist(), abs=1e-6) == GERMAN_AMOUNT_DM


def test_knots_rise_strictly_and_span_the_consumer_products() -> None:
    from lending.finance.products import get_product

    for knots in (GERMAN_AMOUNT_DM, CONSUMER_AMOUNT_YUAN):
        assert all(a < b for a, b in itertools.pairwise(knots))
    lo = min(get_product(p).min_amount_fen for p in ("consumer-flex", "consumer-instalment"))
    hi = max(get_product(p).max_amount_fen for p in ("consumer-flex", "consumer-instalment"))
    assert (CONSUMER_AMOUNT_YUAN[0] * 100, CONSUMER_AMOUNT_YUAN[-1] * 100) == (lo, hi)


def test_large_loans_no_longer_all_fall_in_the_worst_bin() -> None:
    # Before: 9,271 yuan read as 9,271 DM, German's top ~5%. Now the product's largest loans
    # reach German's largest amounts and 9,271 yuan is an ordinary request.
    assert model_amount(9_271_00) < 2_500
    assert model_amount(200_000_00) == 18_424
    assert model_amount(10_000_00) == 2_320  # the assumed median, German's median
    assert model_amount(1) == 250 and model_amount(10**12) == 18_424  # clamped at the ends
    # On the assumed applicant distribution, the share scored in German's top 5% is ~5%.
    grid = [500 * 400 ** ((i + 0.5) / 1000) for i in range(1000)]
    top = sum(model_amount(round(a * 100)) >= GERMAN_AMOUNT_DM[-2] for a in grid) / 1000
    assert top == pytest.approx(0.05, abs=0.01)
    before = sum(a >= GERMAN_AMOUNT_DM[-2] for a in grid) / 1000
    assert before > 0.5


@given(st.integers(1, 10**9), st.integers(1, 10**9))
def test_the_mapping_keeps_the_order_of_amounts(a: int, b: int) -> None:
    if a <= b:
        assert model_amount(a) <= model_amount(b)


def test_sandbox_requests_map_back_to_their_german_amount() -> None:
    for dm in range(250, 18_425, 7):
        fen = amount_fen_for_model(dm)
        assert isinstance(fen, int) and model_amount(fen) == dm


def test_knots_from_observed_requests() -> None:
    knots = amount_knots(float(i) for i in range(101))
    assert knots == tuple(float(q) for q in AMOUNT_PERCENTILES)
    assert math.isclose(amount_knots([1.0, 3.0])[10], 2.0)
    with pytest.raises(ValueError):
        amount_knots([5.0])
