"""Sandbox=false boots: the template deployed as production runs every step, and the steps
that need contracted data sources refuse with a recorded reason instead of crashing.

Production wires no sandbox login, data providers or banks' sessions, so the test mints
sessions as the production login would (`wiring.sessions().issue`), and plays the banks
with them. One application goes through OCR to data collection, where each source
refuses (DataSourcesNotContracted, in the execution history) and scoring refuses in turn:
the application ends `failed` with that reason. A second one carries a decision recorded
as a contracted bureau and scorecard would have made it, and runs every later step:
manual review, offer, contract signature, disbursement and booking.

A second local cloud cannot share a process with the session's one (moto's backends and
the environment are process-wide), so the production cloud runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]

WAIT_SECONDS = 240.0  # generous: the machine is shared; never a timing assertion
SOURCES = ("credit_bureau", "business_registry", "tax_bureau", "judicial_records")


def _failures(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(error, cause) of every failed task or Lambda in an execution's history."""
    found = []
    for event in history:
        for key, details in event.items():
            if key.endswith("FailedEventDetails") and isinstance(details, dict):
                found.append((str(details.get("error", "")), str(details.get("cause", ""))))
    return found


def _record_a_decision(application_id: str, now: datetime) -> None:
    """What a contracted bureau and the scorecard would have recorded: a case for review."""
    from lending.applications.model import Decision, Offer, Reason
    from lending.applications.ports import Event
    from lending.aws import wiring
    from lending.finance import disclose, get_product

    repo = wiring.applications()
    app = repo.get(application_id)
    assert app is not None
    rate = get_product(app.product_id).min_annual_rate
    terms = disclose(app.product_id, app.amount_fen, app.term_months, app.repayment_method, rate)
    app.decision = Decision(
        outcome="review",
        probability_of_default=0.08,
        points=580,
        credit_line_fen=app.amount_fen,
        coverage=1.0,
        model_version="contracted-bureau-scorecard",
        reasons=[Reason(code="R01", message="score in the review band")],
        decided_at=now,
    )
    app.offer = Offer(
        amount_fen=app.amount_fen,
        term_months=app.term_months,
        repayment_method=app.repayment_method,
        annual_rate=str(Decimal(rate)),
        apr=str(terms.apr),
        first_payment_fen=terms.first_payment_fen,
        total_interest_fen=terms.total_interest_fen,
        total_repayment_fen=terms.total_repayment_fen,
        grade="C",
    )
    repo.save(app, Event(type="scored", at=now, data={"outcome": "review"}))


def production_run() -> dict[str, Any]:
    """In a fresh interpreter: deploy with Sandbox=false and drive both applications."""

    from infra.localcloud.bank import SimulatedBank
    from infra.localcloud.cloud import REGION, LocalCloud
    from infra.localcloud.demo import identities
    from infra.localcloud.http import call
    from infra.localcloud.miniprogram import Applicant, Reviewer
    from lending.auth import Role, sandbox_subject
    from lending.aws import wiring

    seen: dict[str, Any] = {}
    with LocalCloud.start(sandbox=False, banks=False) as cloud:
        api = cloud.api_url
        seen["sandbox_login"] = call(
            "POST", f"{api}/v1/sessions", {"code": "x", "role": "applicant"}
        ).status
        issuer = wiring.sessions()

        def session(role: Role, code: str, funder_id: str | None = None) -> str:
            subject = sandbox_subject(f"{role.value}:{code}")
            return issuer.issue(subject, role, cloud.clock.now(), funder_id)

        shape: dict[str, Any] = {"amount_fen": 20_000_00, "monthly_income_fen": 18_000_00}
        first, second, third = (
            Applicant(api, who, token=session(Role.APPLICANT, f"prod-{n}"), **shape)
            for n, who in enumerate(identities(3))
        )

        # 1. Through OCR to the data sources, which refuse; scoring refuses in turn.
        first.apply()
        first.upload_documents()
        assert first.submit().status == 202
        view = first.wait_for(timeout=WAIT_SECONDS)
        seen["refused"] = {
            "status": view["status"],
            "ocr_outcome": view["ocr_outcome"],
            "outcome": view.get("outcome"),
            "events": [e["type"] for e in view["events"]],
        }
        seen["refused_failures"] = _failures(cloud.history(first.application_id))

        # 2. A recorded decision: every later step runs, to the booked loan.
        for funder_id, url in json.loads(
            cloud.deployment.environment["LENDING_FUNDER_QUEUES"]
        ).items():
            bank = SimulatedBank(
                funder_id, url, api, REGION, _token=session(Role.BANK, funder_id, funder_id)
            )
            bank.start()
            cloud._stoppers.append(bank.stop)
        second.apply()
        second.upload_documents()
        _record_a_decision(second.application_id, cloud.clock.now())
        with cloud.wait_timeouts(review=1):  # nobody takes the review: it is escalated
            assert second.submit().status == 202
        second.wait_for_event("review_escalated", timeout=WAIT_SECONDS)
        reviewer = Reviewer(api, token=session(Role.REVIEWER, "prod-reviewer"))
        assert reviewer.decide(second.application_id, "approve", []).status == 202
        assert second.wait_for("offered", timeout=WAIT_SECONDS)["status"] == "offered"
        assert second.answer_offer(True).status == 202
        view = second.wait_for(timeout=WAIT_SECONDS)
        seen["disbursed"] = {
            "status": view["status"],
            "outcome": view.get("outcome"),
            "events": [e["type"] for e in view["events"]],
            "loan": second._call("GET", f"/v1/loans/{view.get('loan_id')}").status,
        }

        # 3. An unreadable document that is never uploaded again: the wait expires.
        seen["reupload_expired"] = _never_uploaded_again(cloud, third)
        seen["scheduled_errors"] = _run_schedules(cloud)

        seen["ran"] = sorted(cloud.registry.invocations)
        seen["functions"] = sorted(cloud.deployment.functions)
        # Production's calls are checked against the roles too (unused grants are the
        # sandbox check's business: production skips scoring here).
        seen["iam"] = [str(f) for f in cloud.iam_findings() if "unused" not in f.kind]
    return seen


def _never_uploaded_again(cloud: Any, applicant: Any) -> str:
    from tests.e2e.test_reupload import blank_photo

    applicant.apply()
    applicant.upload_documents()
    applicant.upload("id_front", blank_photo(), "image/jpeg")
    with cloud.wait_timeouts(reupload=1):
        assert applicant.submit().status == 202
    status: str = applicant.wait_for(timeout=WAIT_SECONDS)["status"]
    return status


def _run_schedules(cloud: Any) -> dict[str, str | None]:
    import boto3

    from infra.localcloud.cloud import REGION

    lam = boto3.client("lambda", region_name=REGION)
    errors: dict[str, str | None] = {}
    for logical_id in ("ReviewSweeperFunction", "PsiCheckFunction", "FinanceMorningFunction"):
        name = cloud.deployment.functions[logical_id].name
        out = lam.invoke(FunctionName=name, Payload=json.dumps({"source": "production"}))
        errors[logical_id] = out.get("FunctionError")
    # The servicing jobs, as their schedules start them.
    sfn = cloud.sfn()
    for logical_id, job in (
        ("ServicingNightStateMachine", "night"),
        ("ServicingRemindersStateMachine", "reminders"),
    ):
        arn = sfn.start_execution(
            stateMachineArn=cloud.deployment.state_machines[logical_id],
            name=f"production-{job}",
            input=json.dumps({"job": job}),
        )["executionArn"]
        while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
            time.sleep(0.05)
        errors[logical_id] = None if status == "SUCCEEDED" else status
    return errors


@pytest.fixture(scope="module")
def production() -> dict[str, Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        seen: dict[str, Any] = pool.apply(production_run)
    return seen


def test_the_sandbox_login_is_refused(production: dict[str, Any]) -> None:
    assert production["sandbox_login"] == 403


def test_data_collection_refuses_each_source_by_name(production: dict[str, Any]) -> None:
    refused = production["refused"]
    assert refused["ocr_outcome"] == "verified"  # OCR ran: documents read and checked
    failures = production["refused_failures"]
    for source in SOURCES:
        assert any(
            error == "DataSourcesNotContracted" and repr(source) in cause
            for error, cause in failures
        ), (source, failures)


def test_scoring_refuses_and_the_outcome_records_why(production: dict[str, Any]) -> None:
    refused = production["refused"]
    assert refused["status"] == "failed", refused
    assert "scored" not in refused["events"]  # never scored on sandbox data, nor on none
    (reason,) = refused["outcome"]["reasons"]
    assert reason["code"] == "technical"
    assert "DataSourcesNotContracted" in reason["message"]
    assert any(
        error == "DataSourcesNotContracted" and "scoring refuses to run" in cause
        for error, cause in production["refused_failures"]
    )


def test_every_step_after_scoring_runs_to_a_booked_loan(production: dict[str, Any]) -> None:
    disbursed = production["disbursed"]
    assert disbursed["status"] == "disbursed", disbursed
    path = [
        "queued_for_review",
        "reviewed",
        "offered",
        "contract_signed",
        "fund_requested",
        "loan_booked",
    ]
    assert [t for t in disbursed["events"] if t in path] == path
    assert disbursed["loan"] == 200


def test_unreadable_documents_are_asked_for_again_then_expire(
    production: dict[str, Any],
) -> None:
    assert production["reupload_expired"] == "withdrawn"


def test_every_function_runs(production: dict[str, Any]) -> None:
    assert production["scheduled_errors"] == {
        "ReviewSweeperFunction": None,
        "PsiCheckFunction": None,
        "FinanceMorningFunction": None,
        "ServicingNightStateMachine": None,
        "ServicingRemindersStateMachine": None,
    }
    # Retraining (a 90-day schedule, its own container image) is the one left out here.
    assert set(production["functions"]) - set(production["ran"]) == {"RetrainFunction"}


def test_production_calls_are_allowed_by_the_roles(production: dict[str, Any]) -> None:
    assert production["iam"] == []
