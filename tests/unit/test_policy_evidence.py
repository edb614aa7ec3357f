"""Policies chosen with their uncertainty, reject inference and nested CV (issue 12,
points 1, 2 and 8)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

train = pytest.importorskip("lending.modelling.scorecard_training")
policy = pytest.importorskip("lending.modelling.policy")
evidence = pytest.importorskip("lending.modelling.evidence")


@pytest.fixture(scope="module")
def split() -> Any:
    return train.german_split(*train.load_german())


def test_wilson_interval_matches_the_formula() -> None:
    lo, hi = policy.wilson(8, 20)
    assert (round(lo, 4), round(hi, 4)) == (0.2188, 0.6134)
    assert policy.wilson(0, 10)[0] == 0.0 and policy.wilson(10, 10)[1] == 1.0


def test_the_automation_floor_is_refused_below_and_passed_at() -> None:
    row = {"automation_share": 0.79}
    with pytest.raises(policy.AutomationFloorError, match=r"79\.0%"):
        policy.enforce_automation_floor(row, "test")
    policy.enforce_automation_floor({"automation_share": 0.80}, "test")


def test_every_training_path_enforces_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    from lending.modelling import pipeline

    # A policy whose review band is everything but the extremes automates too little.
    monkeypatch.setattr(train, "AIM_AUTOMATION", 0.30)
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    p = np.clip(y * 0.2 + rng.random(500) * 0.6, 0, 1)
    with pytest.raises(policy.AutomationFloorError):
        pipeline._policy("german", "scorecard", p[None, :], y)


def test_repeated_cv_cut_offs_and_their_chance(split: Any) -> None:
    X_dev, y_dev, _, _ = split
    cv = policy.repeated_cv(train.build_pipeline, X_dev, y_dev, repeats=2, quiet=True)
    assert cv.oof.shape == (2, len(y_dev)) and len(cv.folds) == 10
    assert ((cv.oof > 0) & (cv.oof < 1)).all()  # every row scored out of fold in each repeat
    chosen = policy.choose_on_repeats(cv, y_dev, 0.12)
    pooled = train.tradeoff(cv.oof.ravel(), np.tile(y_dev, 2), chosen)
    assert pooled["bad_rate_approved"] <= 0.12 and pooled["automation_share"] >= 0.80
    chance = policy.target_chance(cv, y_dev, chosen, 0.12)
    met = chance["chance_bad_rate_within_target"]
    assert met["of"] == 10 and met["wilson_95"][0] <= met["chance"] <= met["wilson_95"][1]
    # Chosen at the point estimate: about an even chance per batch, never a certainty.
    assert 0.05 < chance["long_run_probability_bad_rate_within_target"] < 0.95


def test_parcelling_draws_more_bads_in_riskier_bands() -> None:
    rng = np.random.default_rng(3)
    p_acc = rng.random(2000)
    y_acc = (rng.random(2000) < p_acc).astype(int)
    low, high = np.full(1000, 0.05), np.full(1000, 0.95)
    assert evidence.parcel(p_acc, y_acc, low).mean() < 0.15
    assert evidence.parcel(p_acc, y_acc, high).mean() > 0.9


def test_reject_inference_moves_the_figures_toward_the_truth(split: Any) -> None:
    X_dev, y_dev, X_hold, y_hold = split
    ri = evidence.reject_inference(
        train.build_pipeline,
        X_dev=X_dev,
        y_dev=y_dev,
        X_hold=X_hold,
        y_hold=y_hold,
        approval_rate=0.4,
    )
    assert 0.1 < ri["declined_share"] < 0.5
    assert ri["rejects_true_bad_rate"] > ri["accepted_bad_rate"]  # the old policy had a point
    truth = ri["holdout_bad_rate"]
    kgb, aug = ri["known_good_bad"], ri["with_reject_inference"]
    # Accepts only under-state the through-the-door risk; parcelling corrects much of it.
    assert kgb["holdout_mean_pd"] < truth
    assert abs(aug["holdout_mean_pd"] - truth) < abs(kgb["holdout_mean_pd"] - truth)


def test_nested_cv_scores_folds_no_choice_has_seen(split: Any) -> None:
    X_dev, y_dev, _, _ = split
    grid = {
        "defaults": train.GERMAN_SETTINGS,
        "coarse": train.ScorecardSettings(min_bin_frac=0.1, max_bins=3),
    }
    out = evidence.nested_cv(train.CANDIDATES, grid, X_dev, y_dev, inner_splits=2, quiet=True)
    assert len(out["folds"]) == 5 and all(f["chosen"] in grid for f in out["folds"])
    for f in out["folds"]:
        assert f["chosen"] == max(f["inner_auc"], key=lambda k: f["inner_auc"][k])
    assert 0.6 < out["auc_mean"] < 0.9
