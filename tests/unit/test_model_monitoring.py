"""Weekly population-stability check: PSI arithmetic (== the training side's numpy PSI),
the reference stored in the packaged artefact, and stable / shifted / small live samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lending.scoring.monitoring import (
    LiveScore,
    PopulationMonitor,
    Reference,
    bucket_counts,
    decile_edges,
    psi,
    score_reference,
    stability_report,
)
from lending.scoring.scorecard import DEFAULT_ARTEFACT, Scorecard
from tests.fakes import FakeClock

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

ARTEFACT: dict[str, Any] = json.loads(DEFAULT_ARTEFACT.read_text("utf-8"))
T0 = datetime(2031, 3, 1, tzinfo=UTC)


def _german_rows() -> list[dict[str, Any]]:
    from lending.modelling import scorecard_training as train

    X, _ = train.load_german()
    return [dict(r) for r in X.to_dict("records")]


def _live(card: Scorecard, rows: list[dict[str, Any]]) -> list[LiveScore]:
    out = []
    for r in rows:
        s = card.score(r)
        out.append(LiveScore(card.version, s.probability_of_default, s.bins))
    return out


def _report(live: list[LiveScore], **kw: Any) -> Any:
    return stability_report(
        Reference.from_artefact(ARTEFACT),
        live,
        window_start=T0 - timedelta(days=7),
        window_end=T0,
        **kw,
    )


def test_psi_and_edges_match_the_training_side() -> None:
    from lending.modelling import metrics

    rng = np.random.default_rng(7)
    dev, live = rng.beta(2, 5, 3000), rng.beta(2.6, 5, 700)
    edges = decile_edges(dev.tolist())
    assert edges == pytest.approx(np.unique(np.quantile(dev, np.linspace(0, 1, 11)[1:-1])))
    ours = psi(bucket_counts(dev.tolist(), edges), bucket_counts(live.tolist(), edges))
    assert ours == pytest.approx(metrics.psi(dev, live), abs=1e-12)
    assert psi([1, 2, 3], [1, 2, 3]) == 0.0
    with pytest.raises(ValueError):
        psi([0, 0], [1, 1])


def test_the_packaged_artefact_carries_its_development_reference() -> None:
    ref = Reference.from_artefact(ARTEFACT)
    assert ref.version == "admission-german-lr-v1"
    assert ref.score_edges is not None and len(ref.score_edges) == 9
    assert sum(ref.score_shares) == pytest.approx(1.0)
    assert set(ref.features) == set(ARTEFACT["coefficients"])
    for shares in ref.features.values():
        assert sum(shares.values()) == pytest.approx(1.0)
    assert score_reference([0.1, 0.2, 0.3])["n"] == 3


def test_the_development_population_is_stable_and_a_shifted_one_alarms() -> None:
    card = Scorecard.load(ARTEFACT)
    rows = _german_rows()
    same = _report(_live(card, rows))
    assert same.status() == "stable"
    assert same.score_psi == pytest.approx(0.0, abs=1e-9)  # reference = these very rows
    assert same.max_feature_psi == pytest.approx(0.0, abs=1e-9)
    # Only applicants with no checking account / a negative balance: a different population.
    low = {"... < 0 DM", "0 <= ... < 200 DM"}
    risky = [r for r in rows if r["status_of_existing_checking_account"] in low]
    assert len(risky) >= 100
    shifted = _report(_live(card, risky))
    assert shifted.alarm and shifted.status() == "alarm"
    assert shifted.score_psi is not None and shifted.score_psi > 0.25
    assert "status_of_existing_checking_account" in shifted.drifted_features
    assert shifted.to_json()["status"] == "alarm"


def test_small_samples_and_other_models_never_alarm() -> None:
    card = Scorecard.load(ARTEFACT)
    rows = _german_rows()
    extreme = [LiveScore(card.version, 0.99, {}) for _ in range(99)]
    small = _report(extreme)
    assert small.status() == "insufficient-data" and not small.alarm and small.score_psi is None
    others = [LiveScore("another-model", 0.99, {}) for _ in range(500)]
    mixed = _report(_live(card, rows[:300]) + others)
    assert mixed.n_decisions == 300 and mixed.n_other_models == 500
    assert not mixed.alarm


def test_the_monitor_reads_the_last_seven_days() -> None:
    card = Scorecard.load(ARTEFACT)
    seen: list[tuple[datetime, datetime]] = []
    live = _live(card, _german_rows()[:200])

    class Decisions:
        def decided_scores(self, start: datetime, end: datetime) -> list[LiveScore]:
            seen.append((start, end))
            return live

    report = PopulationMonitor(Decisions(), FakeClock(T0), ARTEFACT, min_sample=150).check()
    ((start, end),) = seen
    assert end > T0 and end - start == timedelta(days=7)
    assert report.n_decisions == 200 and report.score_psi is not None
