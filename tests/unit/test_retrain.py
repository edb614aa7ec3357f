"""Scheduled retraining: due only when the champion is older than 90 days (or forced); new
versions enter as challengers, superseded challengers retire, the promotion gate decides."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lending.scoring.registry import LocalModelRegistry, ModelRecord, champion, sha256_hex
from lending.scoring.scorecard import DEFAULT_ARTEFACT
from tests.fakes import FakeClock

pytest.importorskip("sklearn")

from lending.modelling.datasets import available
from lending.modelling.retrain import Retrainer, retrain_due

NOW = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
FAMILY = "admission-german"


def _record(
    version: str,
    role: str,
    created: datetime,
    auc: float,
    algo: str = "scorecard",
    *,
    blob: bytes | None = None,
) -> Any:
    blob = blob or DEFAULT_ARTEFACT.read_bytes()
    return (
        ModelRecord(
            FAMILY,
            version,
            algo,  # type: ignore[arg-type]
            role,  # type: ignore[arg-type]
            sha256_hex(blob),
            created.isoformat(),
            {"holdout_auc": auc, "score_psi": 0.02},
        ),
        blob,
    )


def test_due_only_past_the_maximum_age() -> None:
    old, _ = _record("v-old", "champion", NOW - timedelta(days=91), 0.7)
    young, _ = _record("v-young", "champion", NOW - timedelta(days=30), 0.7)
    plain_date = ModelRecord(FAMILY, "v", "scorecard", "champion", "x", "2031-01-01", {})
    assert retrain_due([], NOW)[0]
    assert retrain_due([old], NOW)[0]
    assert not retrain_due([young], NOW)[0]
    assert retrain_due([young], NOW, max_age_days=20)[0]
    assert retrain_due([plain_date], NOW)[0]  # a date without a zone is read as UTC


@pytest.fixture(scope="module")
def german_run() -> Any:
    if not available("german"):
        pytest.skip("German credit CSV not installed")
    from lending.modelling import pipeline

    return pipeline.run_dataset("german", now=NOW, quiet=True)


def _registry(tmp_path: Path, champion_auc: float) -> LocalModelRegistry:
    registry = LocalModelRegistry(tmp_path)
    registry.register(*_record("v-champ", "champion", NOW - timedelta(days=120), champion_auc))
    registry.register(
        *_record("v-rf-old", "challenger", NOW - timedelta(days=120), 0.7, "random-forest")
    )
    return registry


def test_an_old_champion_is_retrained_and_the_gate_promotes(
    tmp_path: Path, german_run: Any
) -> None:
    registry = _registry(tmp_path, champion_auc=0.70)
    trained: list[str] = []

    def trainer(name: str, now: datetime) -> Any:
        trained.append(name)
        return german_run

    retrainer = Retrainer(registry, FakeClock(NOW), trainer=trainer)
    out = retrainer.run(FAMILY)
    assert out.due and out.trained and trained == ["german"]
    assert len(out.registered) == 3 and out.retired == ["v-rf-old"]
    assert out.gate_passed and out.champion_after == out.registered[0]
    assert any("no paired comparison" in r for r in out.gate_reasons)  # packaged champion
    (promotion,) = registry.promotions(FAMILY)
    assert (promotion.previous, promotion.actor, promotion.forced) == (
        "v-champ",
        "scheduled-retrain",
        False,
    )
    roles = {r.version: r.role for r in registry.records(FAMILY)}
    assert roles["v-champ"] == "challenger"  # the old champion keeps scoring in shadow
    assert roles["v-rf-old"] == "retired"
    assert sorted(v for v, r in roles.items() if r == "challenger") == sorted(
        ["v-champ", *out.registered[1:]]
    )
    # The new champion is fresh: the next scheduled run does nothing.
    again = retrainer.run(FAMILY)
    assert not again.due and not again.trained and trained == ["german"]
    assert again.champion_after == out.champion_after
    assert again.to_json()["trained"] is False


def test_a_worse_candidate_stays_a_challenger(tmp_path: Path, german_run: Any) -> None:
    # The packaged champion saw the holdout rows (trained on all 1,000): no paired
    # comparison; the candidate's AUC interval (~[0.67, 0.82]) must reach the recorded 0.85.
    registry = _registry(tmp_path, champion_auc=0.85)
    out = Retrainer(registry, FakeClock(NOW), trainer=lambda n, t: german_run).run(FAMILY)
    assert out.trained and out.gate_passed is False
    assert champion(registry, FAMILY).version == "v-champ"  # type: ignore[union-attr]
    assert any("no paired comparison" in r and "<" in r for r in out.gate_reasons)
    assert registry.promotions(FAMILY) == []


def _clean_champion(tmp_path: Path, run: Any) -> LocalModelRegistry:
    """A champion developed on the same split as the run (its own scorecard, renamed)."""
    registry = LocalModelRegistry(tmp_path)
    art = dict(run.artefacts["scorecard"], version="v-same-split")
    blob = json.dumps(art).encode()
    registry.register(
        *_record("v-same-split", "champion", NOW - timedelta(days=120), 0.74, blob=blob)
    )
    return registry


def test_a_candidate_as_good_as_a_clean_champion_is_promoted_on_the_paired_interval(
    tmp_path: Path, german_run: Any
) -> None:
    registry = _clean_champion(tmp_path, german_run)
    out = Retrainer(registry, FakeClock(NOW), trainer=lambda n, t: german_run).run(FAMILY)
    card = next(r for r in registry.records(FAMILY) if r.version == out.registered[0])
    assert card.notes["compared_with"] == "v-same-split"
    assert card.metrics["auc_diff_lo"] == card.metrics["auc_diff_hi"] == 0.0  # same PDs
    assert out.gate_passed, out.gate_reasons
    assert any("paired bootstrap" in r for r in out.gate_reasons)
    (promotion,) = registry.promotions(FAMILY)
    assert promotion.version == out.registered[0] and promotion.previous == "v-same-split"
    assert promotion.actor == "scheduled-retrain" and "retrained" in promotion.reason
    assert not promotion.forced and promotion.gate_passed


def test_a_clearly_worse_candidate_fails_the_paired_interval_and_the_floor(
    tmp_path: Path, german_run: Any
) -> None:
    registry = _clean_champion(tmp_path, german_run)
    worse = copy.copy(german_run)
    rng = np.random.default_rng(3)
    p = german_run.p_hold["scorecard"]
    worse.p_hold = {
        **german_run.p_hold,
        "scorecard": np.clip(p + rng.normal(0, 0.3, p.size), 0.01, 0.99),
    }
    out = Retrainer(registry, FakeClock(NOW), trainer=lambda n, t: worse).run(FAMILY)
    assert out.gate_passed is False
    assert any("paired bootstrap" in r and r.endswith("worse") for r in out.gate_reasons)
    assert any("< floor 0.70" in r for r in out.gate_reasons)
    assert champion(registry, FAMILY).version == "v-same-split"  # type: ignore[union-attr]


def test_a_challenger_below_the_shadow_floor_is_registered_retired(
    tmp_path: Path, german_run: Any
) -> None:
    registry = _registry(tmp_path, champion_auc=0.70)
    weak = copy.copy(german_run)
    weak.results = copy.deepcopy(german_run.results)
    weak.results["models"]["random-forest"]["holdout"]["auc"] = 0.57  # SBA's out-of-time
    out = Retrainer(registry, FakeClock(NOW), trainer=lambda n, t: weak).run(FAMILY)
    roles = {r.version: r.role for r in registry.records(FAMILY)}
    rf = next(v for v in out.registered if "-rf-" in v)
    assert roles[rf] == "retired"
    assert roles["v-rf-old"] == "challenger"  # nothing active replaced it: it keeps shadowing
    assert "retired_because" in {r.version: r for r in registry.records(FAMILY)}[rf].notes


def test_a_young_champion_is_retrained_only_on_demand(tmp_path: Path, german_run: Any) -> None:
    registry = LocalModelRegistry(tmp_path)
    registry.register(*_record("v-champ", "champion", NOW - timedelta(days=10), 0.70))
    calls: list[str] = []

    def trainer(name: str, now: datetime) -> Any:
        calls.append(name)
        return german_run

    retrainer = Retrainer(registry, FakeClock(NOW), trainer=trainer)
    assert not retrainer.run(FAMILY).trained
    forced = retrainer.run(FAMILY, force=True)
    assert forced.forced and forced.trained and calls == ["german"]
    with pytest.raises(ValueError):
        retrainer.run("admission-nonexistent", force=True)
