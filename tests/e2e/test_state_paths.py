"""The state machine's timeout and failure paths, each reached for real (short waits
through the execution input's timeouts), and every state entered by the e2e suite."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.localcloud.cloud import REGION, LocalCloud
from infra.localcloud.miniprogram import Applicant, Reviewer
from tests.e2e.test_reupload import blank_photo

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]
WAIT = 120.0
ASL = Path(__file__).resolve().parents[2] / "infra" / "statemachines" / "origination.asl.json"


def states_entered(cloud: LocalCloud, application_id: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in cloud.history(application_id)
        if "stateEnteredEventDetails" in e
    ]


def reasons(view: dict[str, Any]) -> list[str]:
    return [r["code"] for r in view["outcome"]["reasons"]]


def prepared(
    applicants: Callable[..., Applicant], cast: Callable[..., int], band: str
) -> Applicant:
    applicant = applicants()
    cast(applicant, band, pick=9)
    applicant.sign_in()
    applicant.apply()
    applicant.upload_documents()
    return applicant


def test_an_unanswered_offer_expires(
    cloud: LocalCloud, applicants: Callable[..., Applicant], cast: Callable[..., int]
) -> None:
    applicant = prepared(applicants, cast, "approve")
    with cloud.wait_timeouts(offer=1):
        assert applicant.submit().status == 202
    view = applicant.wait_for(timeout=WAIT)
    assert view["status"] == "withdrawn" and reasons(view) == ["offer_expired"]
    assert "OfferExpired" in states_entered(cloud, applicant.application_id)
    assert applicant.answer_offer(True).status == 409  # too late: nothing waits for it


def test_documents_not_uploaded_again_in_time_withdraw_the_application(
    cloud: LocalCloud, applicants: Callable[..., Applicant], cast: Callable[..., int]
) -> None:
    applicant = prepared(applicants, cast, "approve")
    applicant.upload("id_front", blank_photo(), "image/jpeg")
    with cloud.wait_timeouts(reupload=1):
        assert applicant.submit().status == 202
    view = applicant.wait_for(timeout=WAIT)
    assert view["status"] == "withdrawn" and reasons(view) == ["documents_not_resubmitted"]
    assert "ReuploadExpired" in states_entered(cloud, applicant.application_id)


def test_a_review_nobody_takes_in_time_is_escalated_and_still_decided(
    cloud: LocalCloud, applicants: Callable[..., Applicant], cast: Callable[..., int]
) -> None:
    applicant = prepared(applicants, cast, "review")
    with cloud.wait_timeouts(review=1):
        assert applicant.submit().status == 202
    reviewer = Reviewer(cloud.api_url, code="path-reviewer")
    reviewer.sign_in()
    applicant.wait_for_event("review_escalated", timeout=WAIT)
    escalated = next(c for c in reviewer.queue() if c["application_id"] == applicant.application_id)
    assert escalated.get("escalated") is True, "the state machine's review timeout escalates"
    assert "EscalateReview" in states_entered(cloud, applicant.application_id)
    reply = reviewer.decide(
        applicant.application_id, "decline", [{"code": "M03", "message": "senior: no"}]
    )
    assert reply.status == 202, reply.body
    assert applicant.wait_for(timeout=WAIT)["status"] == "declined"


def test_a_step_that_fails_for_good_marks_the_application_failed(
    cloud: LocalCloud, applicants: Callable[..., Applicant], cast: Callable[..., int]
) -> None:
    applicant = prepared(applicants, cast, "approve")
    # The uploaded ID card disappears from storage before OCR reads it: not retriable.
    boto3.client("s3", region_name=REGION).delete_object(
        Bucket=cloud.deployment.ref("DocumentsBucket"),
        Key=f"applications/{applicant.application_id}/documents/id_front",
    )
    assert applicant.submit().status == 202
    view = applicant.wait_for(timeout=WAIT)
    assert view["status"] == "failed" and reasons(view) == ["technical"]
    assert "NotFound" in view["outcome"]["reasons"][0]["message"]
    assert "RecordTechnicalFailure" in states_entered(cloud, applicant.application_id)


def test_sources_that_stay_down_send_the_case_to_a_person(
    cloud: LocalCloud,
    applicants: Callable[..., Applicant],
    cast: Callable[..., int],
    outage: Callable[[str], None],
) -> None:
    down = ["business_registry", "tax_bureau", "judicial_records"]
    applicant = prepared(applicants, cast, "approve")
    for source in down:
        outage(source)
    assert applicant.submit().status == 202
    view = applicant.wait_for("in_review", timeout=WAIT)
    assert view["status"] == "in_review"
    assert view["decision"]["reasons"][0]["code"] == "V03"
    assert {s for s, status in view["sources"].items() if status != "ok"} == set(down)
    entered = states_entered(cloud, applicant.application_id)
    assert {"BusinessRegistryUnavailable", "TaxBureauUnavailable"} <= set(entered)
    assert "JudicialRecordsUnavailable" in entered
    reviewer = Reviewer(cloud.api_url, code="outage-reviewer")
    reviewer.sign_in()
    reasons_ = [{"code": "M04", "message": "cannot decide without the sources"}]
    assert reviewer.decide(applicant.application_id, "decline", reasons_).status == 202
    assert applicant.wait_for(timeout=WAIT)["status"] == "declined"


def all_states(states: dict[str, Any]) -> set[str]:
    names = set(states)
    for state in states.values():
        for branch in state.get("Branches", []):
            names |= all_states(branch["States"])
    return names


def test_every_state_is_entered_by_the_e2e_suite(
    cloud: LocalCloud, request: pytest.FixtureRequest
) -> None:
    modules = {item.path.name for item in request.session.items}
    if not {"test_origination.py", "test_late_funding.py", "test_reupload.py"} <= modules:
        pytest.skip("needs the whole e2e suite in the same session")
    entered: set[str] = set()
    for execution in cloud.executions():
        entered |= set(states_entered(cloud, execution["name"]))
    never = all_states(json.loads(ASL.read_text())["States"]) - entered
    assert never == set(), f"states no e2e test reaches: {sorted(never)}"
