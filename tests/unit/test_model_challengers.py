"""Tree challengers: array export + plain-Python scorer == scikit-learn (<= 1e-9), encoder
semantics, registry gate and shadow scoring, stability/calibration measures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")

from lending.modelling import metrics  # noqa: E402
from lending.modelling.challengers import build_boosting, build_forest, export_ensemble  # noqa: E402
from lending.modelling.datasets import DATASETS, available  # noqa: E402
from lending.scoring.registry import (  # noqa: E402
    LocalModelRegistry,
    ModelRecord,
    champion,
    load_challengers,
    load_champion,
    promote,
    promotion_gate,
    sha256_hex,
    shadow_scores,
)
from lending.scoring.scorecard import DEFAULT_ARTEFACT, InvalidFeatureValue, Scorecard  # noqa: E402
from lending.scoring.trees import TreeEnsemble  # noqa: E402

TOL = 1e-9


def _fit(name: str, build: Any, rows: int | None = None) -> tuple[Any, Any, TreeEnsemble]:
    spec = DATASETS[name]
    frame = spec.load()
    X, y = frame.X, frame.y
    if rows is not None:
        X, y = X.iloc[:rows], y[:rows]
    model = build(spec.features, n_rows=len(y)).fit(X, y)
    art = export_ensemble(model, version=f"t-{name}", dataset={}, metrics={})
    return X, model, TreeEnsemble.load(json.loads(json.dumps(art)))


def _junk_rows(X: Any) -> Any:
    # Missing everywhere, unseen text in categorical columns (text for a number is refused:
    # tests/unit/test_scorecard_input.py).
    bad = X.iloc[:20].copy().astype(object)
    for i, column in enumerate(bad.columns):
        text = X[column].dtype.kind not in "iuf"
        bad.iloc[i % 20, i] = "??" if text and i % 2 == 0 else None
    return bad


needs = {
    n: pytest.mark.skipif(not available(n), reason=f"{n} data package not installed")
    for n in DATASETS
}


@needs["german"]
@pytest.mark.parametrize("build", [build_forest, build_boosting])
def test_german_trees_match_sklearn(build: Any) -> None:
    X, model, served = _fit("german", build)
    rows = [*X.to_dict("records"), *_junk_rows(X).to_dict("records")]
    import pandas as pd

    expected = model.predict_proba(pd.DataFrame(rows, columns=X.columns))[:, 1]
    got = np.array([served.probability_of_default(r) for r in rows])
    ref = np.array([served.reference_probability(r) for r in rows])
    assert np.max(np.abs(got - expected)) <= TOL
    assert np.max(np.abs(ref - got)) <= TOL


@needs["bloan"]
@pytest.mark.parametrize("build", [build_forest, build_boosting])
def test_bloan_trees_match_sklearn_with_missing_income(build: Any) -> None:
    X, model, served = _fit("bloan", build, rows=4000)
    assert X["income"].isna().any()
    got = np.array([served.probability_of_default(r) for r in X.to_dict("records")])
    assert np.max(np.abs(got - model.predict_proba(X)[:, 1])) <= TOL


@needs["bloan"]
def test_bloan_scorecard_settings_parity_and_shapes() -> None:
    from datetime import UTC, datetime

    from lending.modelling import scorecard_training as sc
    from lending.scoring.decision import DecisionPolicy

    spec = DATASETS["bloan"]
    assert spec.scorecard != sc.GERMAN_SETTINGS
    assert DATASETS["german"].scorecard == sc.GERMAN_SETTINGS
    frame = spec.load()
    X, y = frame.X.iloc[:4000], frame.y[:4000]
    model = sc.build_pipeline(spec.features, spec.scorecard).fit(X, y)
    lr = model.named_steps["lr"]
    assert isinstance(lr, sc.InnerCVLogisticRegression)
    assert lr.C_ in spec.scorecard.C_grid
    for fb in model.named_steps["woe"].all_bins_:
        assert min(n_g + n_b for n_g, n_b in zip(fb.goods, fb.bads, strict=True)) >= 0.02 * 3999
        if fb.spec.kind == "numeric" and fb.spec.name not in spec.scorecard.non_monotone:
            steps = np.diff([b / (g + b) for g, b in zip(fb.goods, fb.bads, strict=True)])
            assert (steps >= 0).all() or (steps <= 0).all(), fb.spec.name
    art = sc.export_artefact(
        model,
        metrics={},
        policy=DecisionPolicy(0.05, 0.2),
        tradeoffs=[{"approve_pd_below": 0.05}],
        dataset={},
        trained_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert art["model"]["C"] == lr.C_
    assert art["model"]["non_monotone"] == ["debrate"]
    card = Scorecard.load(json.loads(json.dumps(art)))
    got = np.array([card.score(r).probability_of_default for r in X.to_dict("records")])
    assert np.max(np.abs(got - model.predict_proba(X)[:, 1])) <= TOL


@needs["german"]
def test_missing_and_unseen_take_the_riskiest_fill() -> None:
    _, _, served = _fit("german", build_boosting)
    purpose = next(f for f in served.features if f.name == "purpose")
    assert purpose.encode(None) == purpose.encode("never seen") == max(purpose.codes.values())
    amount = next(f for f in served.features if f.name == "credit_amount")
    assert amount.encode(None) == amount.encode(float("nan")) == amount.fill
    with pytest.raises(InvalidFeatureValue):
        amount.encode("junk")
    assert 0.0 < served.probability_of_default({}) < 1.0


def test_serving_trees_do_not_import_numpy() -> None:
    code = (
        "import sys, lending.scoring.trees, lending.scoring.registry;"
        "print(any(m in sys.modules for m in ('numpy', 'sklearn', 'pandas')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- measures
def test_psi_ks_calibration() -> None:
    rng = np.random.default_rng(1)
    a = rng.random(5000)
    assert metrics.psi(a, a) == pytest.approx(0.0, abs=1e-12)
    assert metrics.psi(a, a**3) > 0.25
    y = (rng.random(5000) < a).astype(int)
    s = metrics.summary(y, a)
    assert 0.78 < s["auc"] < 0.87 and s["gini"] == pytest.approx(2 * s["auc"] - 1, abs=2e-4)
    assert s["ece"] < 0.03  # the PDs are the true probabilities
    assert sum(r["n"] for r in s["calibration"]) == 5000


# ---------------------------------------------------------------- registry
def _evidence(auc: float) -> dict[str, float]:
    return {
        "holdout_auc": auc,
        "holdout_auc_lo": auc - 0.03,
        "holdout_auc_hi": auc + 0.03,
        "holdout_ece": 0.03,
        "holdout_ece_limit": 0.08,
        "calibration_slope": 1.0,
        "calibration_slope_lo": 0.8,
        "calibration_slope_hi": 1.2,
    }


def _record(version: str, algo: str, auc: float, psi: float, blob: bytes) -> ModelRecord:
    return ModelRecord(
        "admission-german",
        version,
        algo,
        "challenger",
        sha256_hex(blob),
        "2026-01-01",  # type: ignore[arg-type]
        {**_evidence(auc), "score_psi": psi},
    )


def test_gate_rules() -> None:
    # Details in tests/unit/test_model_gate.py; a score PSI is no longer a gate.
    assert promotion_gate(_evidence(0.75), None).passed
    assert promotion_gate(_evidence(0.741), {"holdout_auc": 0.75}).passed
    assert not promotion_gate(_evidence(0.70), {"holdout_auc": 0.75}).passed  # hi 0.73 < 0.75
    assert not promotion_gate(_evidence(0.69), None).passed  # below the floor
    assert not promotion_gate({}, None).passed


def test_local_registry_champion_and_shadow(tmp_path: Path) -> None:
    reg = LocalModelRegistry(tmp_path)
    card_blob = DEFAULT_ARTEFACT.read_bytes()
    fallback = Scorecard.load()
    assert load_champion(reg, "admission-german", fallback) is fallback
    reg.register(_record("lr-1", "scorecard", 0.76, 0.02, card_blob), card_blob)
    with pytest.raises(ValueError):
        reg.register(_record("lr-x", "scorecard", 0.76, 0.02, b"other"), card_blob)
    assert promote(reg, "admission-german", "lr-1").passed
    assert champion(reg, "admission-german") is not None
    # A worse candidate fails the gate and leaves the champion in place.
    reg.register(_record("lr-2", "scorecard", 0.70, 0.02, card_blob), card_blob)
    assert not promote(reg, "admission-german", "lr-2").passed
    assert champion(reg, "admission-german").version == "lr-1"  # type: ignore[union-attr]
    loaded = load_champion(reg, "admission-german", fallback)
    assert loaded is not fallback and loaded.version == fallback.version
    shadows = load_challengers(reg, "admission-german")
    assert [s.version for s in shadows] == [fallback.version]  # lr-2 stays a challenger
    scores = shadow_scores(shadows, {"age_in_years": 30})
    assert scores[0].probability_of_default == round(
        fallback.score({"age_in_years": 30}).probability_of_default, 6
    )


def test_tree_cannot_be_champion_and_shadow_failures_do_not_raise(tmp_path: Path) -> None:
    reg = LocalModelRegistry(tmp_path)
    blob = b'{"version": "rf"}'
    reg.register(_record("rf-1", "random-forest", 0.9, 0.01, blob), blob)
    assert not promote(reg, "admission-german", "rf-1").passed

    class Broken:
        version = "broken"

        def probability_of_default(self, features: Any) -> float:
            raise RuntimeError("boom")

    assert shadow_scores([Broken()], {})[0].probability_of_default is None
