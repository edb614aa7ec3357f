"""Scheduled retraining: due only when the champion is older than 90 days (or forced); new
versions enter as challengers, superseded challengers retire, the promotion gate decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lending.scoring.registry import LocalModelRegistry, ModelRecord, champion, sha256_hex
from lending.scoring.scorecard import DEFAULT_ARTEFACT
from tests.fakes import FakeClock

pytest.importorskip("sklearn")

from lending.modelling.datasets import available
from lending.modelling.retrain import Retrainer, retrain_due

NOW = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
FAMILY = "admission-german"


def _record(version: str, role: str, created: datetime, auc: float, algo: str = "scorecard") -> Any:
    blob = DEFAULT_ARTEFACT.read_bytes()
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
    registry = _registry(tmp_path, champion_auc=0.80)  # new holdout AUC ~0.74 < 0.80 - 0.01
    out = Retrainer(registry, FakeClock(NOW), trainer=lambda n, t: german_run).run(FAMILY)
    assert out.trained and out.gate_passed is False
    assert champion(registry, FAMILY).version == "v-champ"  # type: ignore[union-attr]
    assert any("holdout AUC" in r and "<" in r for r in out.gate_reasons)


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
