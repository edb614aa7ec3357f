"""A registered challenger scores every application in shadow; only the champion decides."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from infra.localcloud import LocalCloud
from infra.localcloud.miniprogram import Applicant
from lending.aws import wiring
from lending.modelling.challengers import build_boosting, export_ensemble
from lending.modelling.datasets import DATASETS
from lending.scoring.registry import ModelRecord, sha256_hex

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]

VERSION = "admission-german-gb-shadow-itest"


def _reload_models() -> None:
    wiring.challengers.cache_clear()
    wiring.scoring.cache_clear()


@pytest.fixture
def challenger(cloud: LocalCloud) -> Iterator[str]:
    """A real gradient-boosting challenger trained on German credit, registered for the test."""
    spec = DATASETS["german"]
    frame = spec.load()
    model = build_boosting(spec.features, n_rows=len(frame.y)).fit(frame.X, frame.y)
    artefact = export_ensemble(model, version=VERSION, dataset={"name": "german"}, metrics={})
    blob = json.dumps(artefact).encode()
    registry = wiring.model_registry()
    family = wiring.config().admission_family
    registry.register(
        ModelRecord(
            family=family,
            version=VERSION,
            algorithm="gradient-boosting",
            role="challenger",
            sha256=sha256_hex(blob),
            created_at=datetime.now(UTC).isoformat(),
        ),
        blob,
    )
    _reload_models()
    yield VERSION
    registry.set_role(family, VERSION, "retired")
    _reload_models()


def test_a_challenger_scores_in_shadow_and_the_champion_decides(
    challenger: str,
    applicants: Callable[..., Applicant],
    cast: Callable[..., int],
) -> None:
    applicant = applicants()
    cast(applicant, "decline", pick=9)
    applicant.sign_in()
    applicant.apply()
    applicant.upload_documents()
    applicant.submit()
    view = applicant.wait_for(timeout=90)
    assert view["status"] == "declined"
    decision = view["decision"]
    assert decision["model_version"] == wiring.scorecard().version  # the champion decided
    shadow = {s["model_version"]: s for s in decision["shadow"]}
    assert challenger in shadow
    assert 0.0 < shadow[challenger]["probability_of_default"] < 1.0
