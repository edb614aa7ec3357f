"""A funder that answers after the funding wait gave up: the money is never lost.

The banks are held back while an approved, signed loan waits for its payout with a
one-second funding timeout: Disburse asks the same funder again (never another one),
then the application fails with its quota kept and a `funding_unconfirmed` incident.
When the bank comes back and pays, its late `paid` books the loan.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import boto3
import pytest

from infra.localcloud.cloud import REGION, LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import Applicant, Reviewer
from lending.funding.model import MAX_FUNDING_ENQUIRIES

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]
WAIT = 120.0


def loan_count(cloud: LocalCloud, application_id: str) -> int:
    db = boto3.client("dynamodb", region_name=REGION)
    items = db.scan(TableName=cloud.deployment.ref("LoansTable"))["Items"]
    return sum(application_id in i["doc"]["S"] for i in items if i["sk"]["S"] == "META")


def test_a_payout_confirmed_after_the_wait_gave_up_books_the_loan(
    cloud: LocalCloud, applicants: Callable[..., Applicant], cast: Callable[..., int]
) -> None:
    applicant = applicants()
    cast(applicant, "approve", pick=7)
    applicant.sign_in()
    applicant.apply()
    applicant.upload_documents()
    for bank in cloud.banks.values():
        bank.paused = True
    try:
        with cloud.wait_timeouts(funding=1):
            assert applicant.submit().status == 202
        assert applicant.wait_for("offered", timeout=WAIT)["status"] == "offered"
        assert applicant.answer_offer(True).status == 202
        view = applicant.wait_for("failed", "disbursed", timeout=WAIT)
    finally:
        for bank in cloud.banks.values():
            bank.paused = False
    assert view["status"] == "failed", view.get("outcome")
    assert [r["code"] for r in view["outcome"]["reasons"]] == ["funding_unconfirmed"]
    events = [e["type"] for e in view["events"]]
    assert events.count("fund_requested") == 1
    assert events.count("fund_request_repeated") == MAX_FUNDING_ENQUIRIES
    funder_id = view["funding"]["funder_id"]
    assert {e["data"].get("funder_id") for e in view["events"] if "fund_" in e["type"]} == {
        funder_id
    }
    staff = Reviewer(cloud.api_url, code="incident-reader")
    staff.sign_in()
    incidents = call(
        "GET", f"{cloud.api_url}/v1/applications/{applicant.application_id}", token=staff.token
    ).body["incidents"]
    assert [(i["kind"], i["resolved_at"]) for i in incidents] == [("funding_unconfirmed", None)]

    # The bank comes back, pays once (whatever it was asked three times) and confirms.
    deadline = time.monotonic() + WAIT
    while (view := applicant.status())["status"] != "disbursed" and time.monotonic() < deadline:
        time.sleep(0.1)  # `failed` is terminal: wait_for would stop there
    assert view["status"] == "disbursed", view.get("outcome")
    assert [e["type"] for e in view["events"]][-1] == "loan_booked_late"
    assert view["loan_id"]
    assert loan_count(cloud, applicant.application_id) == 1
    paid = [
        p
        for p in cloud.banks[funder_id].ledger.values()
        if p.application_id == applicant.application_id
    ]
    assert len(paid) == 1 and paid[0].reference == view["funding"]["payout_reference"]
    incidents = call(
        "GET", f"{cloud.api_url}/v1/applications/{applicant.application_id}", token=staff.token
    ).body["incidents"]
    assert incidents[0]["resolved_at"] is not None
