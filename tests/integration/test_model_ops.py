"""Model operations on the local cloud: the weekly PSI check reads decisions through the
sparse byDecidedDay index (no scan) and its alarms are deployed; the retrain function
retrains an old champion's family in-process and the promotion gate decides."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.localcloud.cloud import REGION, LocalCloud
from lending.applications.model import Application, Decision
from lending.applications.ports import Event
from lending.aws import wiring
from lending.scoring.monitoring import PopulationMonitor
from lending.scoring.registry import ModelRecord, champion, sha256_hex
from lending.scoring.scorecard import DEFAULT_ARTEFACT, Scorecard
from tests.fakes import FakeClock

pytestmark = [pytest.mark.localcloud, pytest.mark.usefixtures("http_log")]

ARTEFACT: dict[str, Any] = json.loads(DEFAULT_ARTEFACT.read_text("utf-8"))
# Far from the clock of every other test, so only this module's decisions are in the window.
DAY0 = datetime(2031, 3, 1, 8, 0, tzinfo=UTC)


def _invoke(cloud: LocalCloud, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    out = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=cloud.deployment.functions[logical_id].name, Payload=json.dumps(event)
    )
    body: dict[str, Any] = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, body
    return body


def test_the_schedules_and_psi_alarms_are_deployed(cloud: LocalCloud) -> None:
    assert cloud.deployment.schedules["PsiCheckFunction"].period == timedelta(days=7)
    assert cloud.deployment.schedules["RetrainFunction"].period == timedelta(days=90)
    alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]
    by_metric = {a["MetricName"]: a for a in alarms}
    for metric in ("ScorePSI", "MaxFeaturePSI"):
        assert by_metric[metric]["Threshold"] == 0.25
        assert by_metric[metric]["ComparisonOperator"] == "GreaterThanThreshold"
        assert by_metric[metric]["Namespace"] == "Lending"


def _decided(i: int, at: datetime, pd_: float, bins: dict[str, str]) -> Application:
    return Application(
        id=f"A-psi-{i:04d}",
        applicant_id="U-psi-monitor",
        product_id="consumer-flex",
        product_type="consumer",
        amount_fen=20_000_00,
        term_months=12,
        repayment_method="equal_instalment",
        created_at=at,
        updated_at=at,
        applicant_blob="-",
        id_hash=f"psi-{i}",
        decision=Decision(
            outcome="review",
            probability_of_default=pd_,
            points=600,
            credit_line_fen=0,
            coverage=1.0,
            model_version=ARTEFACT["version"],
            decided_at=at,
            bins=bins,
        ),
    )


def test_the_weekly_check_queries_a_week_of_decisions_by_day(cloud: LocalCloud) -> None:
    from lending.modelling import scorecard_training as train

    card = Scorecard.load(ARTEFACT)
    X, _ = train.load_german()
    rows = X.to_dict("records")[:300:2]  # 150 development applicants: a stable population
    repo = wiring.applications()
    for i, row in enumerate(rows):
        at = DAY0 + timedelta(hours=i + 1)  # spread over ~6 days
        s = card.score(row)
        repo.create(_decided(i, at, s.probability_of_default, s.bins), Event(type="t", at=at))
    # Outside the window: 8 days before its end, and an undecided application.
    repo.create(_decided(9000, DAY0 - timedelta(days=3), 0.99, {}), Event(type="t", at=DAY0))
    undecided = _decided(9001, DAY0, 0.5, {}).model_copy(update={"decision": None})
    repo.create(undecided, Event(type="t", at=DAY0))

    end = DAY0 + timedelta(days=7)
    found = repo.decided_between(end - timedelta(days=7), end)
    assert sorted(a.id for a in found) == sorted(f"A-psi-{i:04d}" for i in range(len(rows)))
    report = PopulationMonitor(repo, FakeClock(end), ARTEFACT).check()
    assert report.n_decisions == len(rows)
    assert report.status() in ("stable", "watch") and not report.alarm
    assert report.score_psi is not None and report.score_psi < 0.25


def test_the_psi_check_function_reports(cloud: LocalCloud) -> None:
    body = _invoke(cloud, "PsiCheckFunction", {"source": "test"})
    assert body["champion_version"] == ARTEFACT["version"]
    assert body["status"] in ("insufficient-data", "stable", "watch", "alarm")
    assert body["threshold"] == 0.25


def test_the_retrain_function_retrains_an_old_champion_once(cloud: LocalCloud) -> None:
    family = "admission-retrain-itest"  # its own family: the live champion is untouched
    registry = wiring.model_registry()
    blob = DEFAULT_ARTEFACT.read_bytes()
    old = cloud.clock.now() - timedelta(days=120)
    registry.register(
        ModelRecord(
            family,
            "v-old",
            "scorecard",
            "champion",
            sha256_hex(blob),
            old.isoformat(),
            {"holdout_auc": 0.70, "score_psi": 0.02},
        ),
        blob,
    )
    event = {"family": family, "dataset": "german"}
    first = _invoke(cloud, "RetrainFunction", event)
    assert first["due"] and first["trained"] and len(first["registered"]) == 3
    assert first["gate_passed"] and first["champion_after"] == first["registered"][0]
    current = champion(registry, family)
    assert current is not None and current.version == first["registered"][0]
    assert {r.version: r.role for r in registry.records(family)}["v-old"] == "challenger"
    # The registry holds real, loadable artefacts in S3.
    assert Scorecard.load(json.loads(registry.artefact(family, current.version))).features
    second = _invoke(cloud, "RetrainFunction", event)
    assert not second["due"] and not second["trained"]
