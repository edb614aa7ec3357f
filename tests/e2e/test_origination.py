"""End to end through the mini-program API: OCR, data, scoring, review, signature, banks.

Each applicant is cast for a path (their bureau answer pinned to a German row the
scorecard puts in a band) and driven over HTTP like the mini-program would. The
journeys the selected tests need start together in the background when the module
starts (OCR dominates their cost); a test waits for its own journey, then asserts, and
where a person acts (reviewer, applicant at the offer) the test does it itself.

A source outage is global in the sandbox, so the outage journey holds the data
collection step alone: no other journey submits while it is switched on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from infra.localcloud.cloud import REGION, LocalCloud
from infra.localcloud.http import Reply, call
from infra.localcloud.miniprogram import TERMINAL, Applicant, Reviewer, login
from lending.auth import sandbox_subject
from lending.aws import wiring
from lending.identity.checks import normalise
from lending.sandbox.providers import BusinessRegistry
from lending.scoring.sources import Subject
from lending.signatures import verify_signature

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]

WAIT_SECONDS = 240.0  # generous: the machine is shared; never a timing assertion
CONSUMER_DOCS = {"id_front", "id_back", "bank_card"}
BUSINESS_DOCS = {*CONSUMER_DOCS, "business_licence"}


# -- journeys --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    band: str  # the scorecard band the bureau answer is pinned to
    stop_at: str | None = None  # a status where the test takes over (a person acts)
    business: bool = False
    mismatch: bool = False
    outage: str | None = None
    double_submit: bool = False
    refused_by: tuple[str, ...] = ()  # banks that refuse to fund it


PLANS: dict[str, Plan] = {
    "approved": Plan("approve", double_submit=True),
    "declined": Plan("decline"),
    "review_to_approve": Plan("review", stop_at="in_review"),
    "review_to_decline": Plan("review", stop_at="in_review"),
    "name_mismatch": Plan("approve", mismatch=True),
    "bureau_outage": Plan("approve", stop_at="in_review", outage="credit_bureau"),
    "offered": Plan("approve", stop_at="offered"),
    "offer_race": Plan("approve", stop_at="offered"),
    "business": Plan("approve", business=True),
    "no_bank_funds": Plan("approve", refused_by=("bank-a", "trust-b")),
    "first_bank_refuses": Plan("approve", refused_by=("bank-a",)),
}


@dataclass
class Run:
    name: str
    applicant: Applicant
    view: dict[str, Any]  # at the stop status, or terminal
    submit_replies: list[Reply]

    @property
    def id(self) -> str:
        return self.applicant.application_id


class OutageGate:
    """Journeys submit under a shared hold; an outage journey holds it alone (writer first)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._writers = 0

    def announce_writer(self) -> None:
        with self._cond:
            self._writers += 1

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: self._writers == 0)
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """For a writer already announced."""
        with self._cond:
            self._cond.wait_for(lambda: self._shared == 0)
        try:
            yield
        finally:
            with self._cond:
                self._writers -= 1
                self._cond.notify_all()


class Journeys:
    def __init__(
        self, cloud: LocalCloud, applicants: Callable[..., Applicant], cast: Callable[..., int]
    ) -> None:
        self.cloud = cloud
        self.applicants = applicants
        self.cast = cast
        self.gate = OutageGate()
        self.pool = ThreadPoolExecutor(max_workers=len(PLANS), thread_name_prefix="journey")
        self.futures: dict[str, Future[Run]] = {}
        self._lock = threading.Lock()

    def start(self, names: set[str]) -> None:
        with self._lock:
            # Outage journeys first, so they are announced before any other one submits.
            for name in sorted(names - set(self.futures), key=lambda n: not PLANS[n].outage):
                if PLANS[name].outage:
                    self.gate.announce_writer()
                self.futures[name] = self.pool.submit(self._run, name)

    def result(self, name: str) -> Run:
        self.start({name})
        return self.futures[name].result(timeout=2 * WAIT_SECONDS)

    def wait_all(self) -> None:
        for future in list(self.futures.values()):
            future.exception(timeout=2 * WAIT_SECONDS)

    def _applicant(self, name: str, plan: Plan) -> Applicant:
        # The same person for a path whatever the order the tests run in.
        slot = list(PLANS).index(name)
        if not plan.business:
            return self.applicants(fixed=slot)
        # A business whose sandbox registry record says 'revoked' is declined by the
        # anti-fraud rules whatever its score (the registry answers from a keyed hash,
        # new at each boot): cast only companies in good standing.
        registry = BusinessRegistry()
        index = wiring.blind_index()
        for n in range(len(PLANS), 2 * len(PLANS) + 8):
            applicant = self.applicants(business=True, fixed=n)
            who = applicant.identity
            subject = Subject(
                index.digest("id:" + normalise(who.id_number)),
                index.digest("uscc:" + normalise(who.credit_code)),
                "business",
            )
            if registry.fetch(subject).fields["company_status"] != "吊销":
                return applicant
        raise LookupError("no company in good standing among the reserved identities")

    def _run(self, name: str) -> Run:
        plan = PLANS[name]
        pick = list(PLANS).index(name)
        applicant = self._applicant(name, plan)
        if plan.mismatch:
            who = applicant.identity
            applicant.declared_name = who.name[0] + ("某某" if who.name[1:] != "某某" else "某")
        self.cast(applicant, plan.band, pick=pick)
        applicant.sign_in()
        applicant.apply()
        applicant.upload_documents(seed=pick)
        for funder_id in plan.refused_by:
            self.cloud.banks[funder_id].declines.add(applicant.application_id)
        if plan.outage:
            with self.gate.exclusive():
                self.cloud.set_outage(plan.outage, True)
                try:
                    replies = [applicant.submit()]
                    view = applicant.wait_for(plan.stop_at or "", timeout=WAIT_SECONDS)
                finally:
                    self.cloud.set_outage(plan.outage, False)
            return Run(name, applicant, view, replies)
        with self.gate.shared():
            if plan.double_submit:
                with ThreadPoolExecutor(2) as pool:
                    replies = list(pool.map(lambda _: applicant.submit(), range(2)))
            else:
                replies = [applicant.submit()]
            if plan.stop_at:
                view = applicant.wait_for(plan.stop_at, timeout=WAIT_SECONDS)
            else:
                view = applicant.wait_for("offered", timeout=WAIT_SECONDS)
                if view["status"] == "offered":
                    applicant.answer_offer(True)
                    view = applicant.wait_for(timeout=WAIT_SECONDS)
        return Run(name, applicant, view, replies)

    def close(self, reviewer: Reviewer) -> None:
        """Finish whatever a failed test left waiting, so no execution outlives the module."""
        self.wait_all()
        for future in self.futures.values():
            if future.exception() is not None:
                continue
            applicant = future.result().applicant
            try:
                status = applicant.status()["status"]
                if status == "in_review":
                    reviewer.decide(
                        applicant.application_id,
                        "decline",
                        [{"code": "T00", "message": "test clean-up"}],
                    )
                elif status == "offered":
                    applicant.answer_offer(False)
                if status not in TERMINAL:
                    applicant.wait_for(timeout=30)
            except Exception as exc:  # clean-up must not hide the tests' own results
                print(f"clean-up of {applicant.application_id} failed: {exc}")
        self.pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def reviewer(cloud: LocalCloud) -> Reviewer:
    who = Reviewer(cloud.api_url, code="e2e-reviewer")
    who.sign_in()
    return who


@pytest.fixture(scope="module")
def journeys(
    request: pytest.FixtureRequest,
    cloud: LocalCloud,
    applicants: Callable[..., Applicant],
    cast: Callable[..., int],
    reviewer: Reviewer,
) -> Iterator[Journeys]:
    runner = Journeys(cloud, applicants, cast)
    # Start, together, the journeys that the selected tests of this module use.
    wanted: set[str] = set()
    for item in request.session.items:
        if item.path == request.path:
            wanted |= set(getattr(item, "fixturenames", ())) & set(PLANS)
    runner.start(wanted)
    try:
        yield runner
    finally:
        runner.close(reviewer)


def _journey(name: str) -> Any:
    @pytest.fixture(scope="module", name=name)
    def fixture(journeys: Journeys) -> Run:
        return journeys.result(name)

    return fixture


approved = _journey("approved")
declined = _journey("declined")
review_to_approve = _journey("review_to_approve")
review_to_decline = _journey("review_to_decline")
name_mismatch = _journey("name_mismatch")
bureau_outage = _journey("bureau_outage")
offered = _journey("offered")
offer_race = _journey("offer_race")
business = _journey("business")
no_bank_funds = _journey("no_bank_funds")
first_bank_refuses = _journey("first_bank_refuses")


# -- helpers -----------------------------------------------------------------------------


def executions_named(cloud: LocalCloud, name: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = cloud.deployment.state_machines["OriginationStateMachine"]
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"stateMachineArn": arn}
    while True:
        out = sfn.list_executions(**kwargs)
        found += [e for e in out["executions"] if e["name"] == name]
        if not out.get("nextToken"):
            return found
        kwargs["nextToken"] = out["nextToken"]


def scan_items(table: str) -> list[dict[str, Any]]:
    db = boto3.client("dynamodb", region_name=REGION)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        out = db.scan(**kwargs)
        items += out["Items"]
        if "LastEvaluatedKey" not in out:
            return items
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def loans_of(cloud: LocalCloud, application_id: str) -> list[dict[str, Any]]:
    items = scan_items(cloud.deployment.ref("LoansTable"))
    metas = [json.loads(i["doc"]["S"]) for i in items if i["sk"]["S"] == "META"]
    return [m for m in metas if m["application_id"] == application_id]


def all_items_text(cloud: LocalCloud) -> list[str]:
    db = boto3.client("dynamodb", region_name=REGION)
    return [
        json.dumps(item, ensure_ascii=False)
        for table in db.list_tables()["TableNames"]
        for item in scan_items(table)
    ]


def codes(reasons: list[dict[str, str]] | None) -> list[str]:
    return [r["code"] for r in reasons or []]


def event_types(view: dict[str, Any]) -> list[str]:
    return [e["type"] for e in view["events"]]


def assert_error_reply(reply: Reply, *statuses: int) -> None:
    assert reply.status in statuses, (reply.status, reply.body)
    assert isinstance(reply.body, dict), reply.body
    assert isinstance(reply.body.get("code"), str)
    assert reply.body["code"]
    assert isinstance(reply.body.get("message"), str)


# -- approved and disbursed ------------------------------------------------------------


def test_an_approved_application_is_disbursed_and_booked(approved: Run, cloud: LocalCloud) -> None:
    view = approved.view
    assert view["status"] == "disbursed", view.get("outcome")
    assert view["ocr_outcome"] == "verified"
    assert view["decision"]["outcome"] == "approve"
    assert set(view["documents"]) == CONSUMER_DOCS
    path = event_types(view)
    expected = [
        "submitted",
        "documents_checked",
        "scored",
        "offered",
        "offer_answered",
        "contract_signed",
        "fund_requested",
        "funding_confirmed",
        "loan_booked",
    ]
    assert [t for t in path if t in expected] == expected
    assert "queued_for_review" not in path
    assert [s for s in view["progress"] if s["state"] != "done"] == []


def test_the_booked_loan_schedule_sums_exactly_to_the_offer(approved: Run) -> None:
    view = approved.view
    offer = view["offer"]
    reply = approved.applicant._call("GET", f"/v1/loans/{view['loan_id']}")
    assert reply.status == 200, reply.body
    loan = reply.body
    assert loan["application_id"] == approved.id
    assert loan["principal_fen"] == offer["amount_fen"]
    assert loan["term_months"] == offer["term_months"] == len(loan["instalments"])
    assert sum(i["principal_fen"] for i in loan["instalments"]) == offer["amount_fen"]
    assert all(
        i["total_fen"] == i["principal_fen"] + i["interest_fen"] for i in loan["instalments"]
    )
    assert sum(i["interest_fen"] for i in loan["instalments"]) == offer["total_interest_fen"]
    assert [i["number"] for i in loan["instalments"]] == list(range(1, offer["term_months"] + 1))
    assert loan["contract_sha256"] == view["contract"]["sha256_hex"]
    assert loan["payout_reference"] == view["funding"]["payout_reference"]
    # The ledger opened with the disbursement: all principal outstanding, nothing due yet.
    statement = loan["statement"]
    assert statement["status"] == "current" and statement["bucket"] == "M0"
    assert statement["principal_outstanding_fen"] == offer["amount_fen"]
    assert statement["due_now_fen"] == 0 and statement["credit_fen"] == 0
    assert [i["status"] for i in statement["instalments"]] == ["due"] * offer["term_months"]
    assert [i["principal_fen"] for i in statement["instalments"]] == [
        i["principal_fen"] for i in loan["instalments"]
    ]


def test_the_contract_signature_verifies_with_the_published_key(
    approved: Run, cloud: LocalCloud
) -> None:
    key = call("GET", f"{cloud.api_url}/v1/keys/signing")
    assert key.status == 200
    public_pem = key.body["public_key_pem"].encode()
    reply = approved.applicant._call("GET", f"/v1/applications/{approved.id}/contract")
    assert reply.status == 200, reply.body
    contract = reply.body
    pdf = (
        boto3.client("s3", region_name=REGION)
        .get_object(
            Bucket=cloud.deployment.environment["LENDING_DOCUMENTS_BUCKET"], Key=contract["key"]
        )["Body"]
        .read()
    )
    assert pdf.startswith(b"%PDF")
    digest = hashlib.sha256(pdf).digest()
    assert digest.hex() == contract["sha256_hex"]
    signature = base64.b64decode(contract["signature_b64"])
    assert verify_signature(public_pem, digest, signature)
    assert not verify_signature(public_pem, hashlib.sha256(pdf + b"\n").digest(), signature)
    assert contract["public_key_pem"].encode() == public_pem


def test_the_bank_paid_once_what_was_offered(approved: Run, cloud: LocalCloud) -> None:
    funding = approved.view["funding"]
    bank = cloud.banks[funding["funder_id"]]
    payments = [p for p in bank.ledger.values() if p.fund_request_id == funding["fund_request_id"]]
    assert len(payments) == 1
    assert payments[0].amount_fen == approved.view["offer"]["amount_fen"]
    assert payments[0].reference == funding["payout_reference"]
    message = bank.messages[funding["fund_request_id"]]["body"]
    assert message["application_id"] == approved.id
    assert message["contract_sha256"] == approved.view["contract"]["sha256_hex"]
    assert len(loans_of(cloud, approved.id)) == 1


def test_no_personal_data_is_stored_in_clear_after_disbursement(
    approved: Run, cloud: LocalCloud
) -> None:
    who = approved.applicant.identity
    texts = all_items_text(cloud)
    assert any(approved.id in t for t in texts)
    for value in (who.id_number, who.bank_card_number, who.phone, who.name, who.address):
        for form in (value, json.dumps(value)[1:-1]):
            assert not [t for t in texts if form in t]


def test_another_applicant_cannot_read_the_loan(approved: Run, applicants: Any) -> None:
    intruder = applicants()
    intruder.sign_in()
    reply = intruder._call("GET", f"/v1/loans/{approved.view['loan_id']}")
    assert_error_reply(reply, 404)


# -- double submit and redelivery: exactly once ---------------------------------------------


def test_a_double_submit_starts_exactly_one_execution(approved: Run, cloud: LocalCloud) -> None:
    assert len(approved.submit_replies) == 2
    assert all(200 <= r.status < 300 for r in approved.submit_replies), [
        (r.status, r.body) for r in approved.submit_replies
    ]
    late = approved.applicant.submit()
    assert 200 <= late.status < 300, late.body
    assert late.body["status"] == "disbursed"
    # The mechanism itself: the execution is named after the application, so starting
    # it again (what a racing submit does) starts nothing.
    assert wiring.workflow().start(approved.id) is False
    executions = executions_named(cloud, approved.id)
    assert len(executions) == 1
    assert executions[0]["status"] == "SUCCEEDED"
    assert event_types(approved.applicant.status()).count("submitted") == 1


def test_a_redelivered_fund_request_is_confirmed_again_but_paid_once(
    approved: Run, cloud: LocalCloud
) -> None:
    funding = approved.view["funding"]
    request_id = funding["fund_request_id"]
    bank = cloud.banks[funding["funder_id"]]

    assert bank.handle(bank.messages[request_id]) is True  # the bank may delete it again

    payments = [p for p in bank.ledger.values() if p.fund_request_id == request_id]
    assert len(payments) == 1
    assert payments[0].reference == funding["payout_reference"]
    # The bank's confirmation callback, sent once more: acknowledged, nothing moves.
    token = login(cloud.api_url, f"e2e-bank-{funding['funder_id']}", "bank", funding["funder_id"])
    url = f"{cloud.api_url}/v1/funders/{funding['funder_id']}/confirmations"
    confirmation = {
        "fund_request_id": request_id,
        "status": "paid",
        "amount_fen": payments[0].amount_fen,
        "payout_reference": payments[0].reference,
        "paid_at": payments[0].paid_at.isoformat(),
    }
    reply = call("POST", url, confirmation, token=token)
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "already_confirmed"
    # A second payout reference for the same request: money may have left twice. It is
    # not booked; an incident asks the bank for the funds back (once, however often sent).
    for _ in range(2):
        reply = call(
            "POST", url, {**confirmation, "payout_reference": "ANOTHER-REFERENCE"}, token=token
        )
        assert reply.status == 202, reply.body
        assert reply.body["status"] == "return_requested"
        assert reply.body["action"] == "return_funds"
    after = approved.applicant.status()
    assert after["status"] == "disbursed"
    assert after["funding"]["payout_reference"] == funding["payout_reference"]
    assert after["loan_id"] == approved.view["loan_id"]
    assert len(loans_of(cloud, approved.id)) == 1
    assert len(executions_named(cloud, approved.id)) == 1
    staff = login(cloud.api_url, "e2e-incidents", "reviewer")
    incidents = call("GET", f"{cloud.api_url}/v1/applications/{approved.id}", token=staff).body[
        "incidents"
    ]
    assert [(i["kind"], i["payout_reference"]) for i in incidents] == [
        ("unexpected_payout", "ANOTHER-REFERENCE")
    ]


def test_a_bank_cannot_confirm_for_another_funder(approved: Run, cloud: LocalCloud) -> None:
    funding = approved.view["funding"]
    other = next(f for f in cloud.banks if f != funding["funder_id"])
    token = login(cloud.api_url, f"e2e-bank-{other}", "bank", other)
    body = {
        "fund_request_id": funding["fund_request_id"],
        "status": "paid",
        "amount_fen": approved.view["offer"]["amount_fen"],
        "payout_reference": "X-1",
        "paid_at": "2026-01-01T00:00:00+00:00",
    }
    reply = call("POST", f"{cloud.api_url}/v1/funders/{other}/confirmations", body, token=token)
    assert_error_reply(reply, 404)
    reply = call(
        "POST",
        f"{cloud.api_url}/v1/funders/{funding['funder_id']}/confirmations",
        body,
        token=token,
    )
    assert_error_reply(reply, 403)
    reply = approved.applicant._call(
        "POST", f"/v1/funders/{funding['funder_id']}/confirmations", body
    )
    assert_error_reply(reply, 403)


# -- declined -------------------------------------------------------------------------------


def test_a_declined_application_says_why(
    declined: Run, cloud: LocalCloud, reviewer: Reviewer
) -> None:
    view = declined.view
    assert view["status"] == "declined"
    assert view["decision"]["outcome"] == "decline"
    reasons = view["outcome"]["reasons"]
    assert reasons
    assert all(r["code"] and r["message"] for r in reasons)
    assert "D03" in codes(reasons)
    assert view["offer"] is None
    assert view["contract"] is None
    assert view["funding"] is None
    assert view["loan_id"] is None
    assert executions_named(cloud, declined.id)[0]["status"] == "SUCCEEDED"
    # A reviewer cannot resurrect a decided application.
    reply = reviewer.decide(declined.id, "approve", [])
    assert_error_reply(reply, 409)
    assert declined.applicant.status()["status"] == "declined"


def requests_to(cloud: LocalCloud, application_id: str) -> dict[str, list[str]]:
    """Funder → the fund request ids it received for this application."""
    return {
        funder_id: [
            request_id
            for request_id, message in bank.messages.items()
            if message["body"]["application_id"] == application_id
        ]
        for funder_id, bank in cloud.banks.items()
    }


def test_a_refused_loan_goes_to_the_next_funder(first_bank_refuses: Run, cloud: LocalCloud) -> None:
    view = first_bank_refuses.view
    assert view["status"] == "disbursed", [e["type"] for e in view["events"]]
    funding = view["funding"]
    assert funding["funder_id"] == "trust-b"
    assert funding["refusals"] == [
        {"funder_id": "bank-a", "fund_request_id": "F" + first_bank_refuses.id[1:]}
    ]
    assert requests_to(cloud, first_bank_refuses.id) == {
        "bank-a": ["F" + first_bank_refuses.id[1:]],
        "trust-b": [funding["fund_request_id"]],
    }
    assert [loan["funder_id"] for loan in loans_of(cloud, first_bank_refuses.id)] == ["trust-b"]
    assert wiring.funders().reservation_of(first_bank_refuses.id) == "trust-b"
    # Bank A sends its refusal again: acknowledged, nothing moves.
    bank_a = cloud.banks["bank-a"]
    assert bank_a.handle(bank_a.messages["F" + first_bank_refuses.id[1:]]) is True
    after = first_bank_refuses.applicant.status()
    assert after["status"] == "disbursed" and after["funding"] == funding
    # Bank A then says it paid after all: the loan is not booked twice, and an incident
    # asks bank A for the money back.
    token = login(cloud.api_url, "e2e-bank-a", "bank", "bank-a")
    reply = call(
        "POST",
        f"{cloud.api_url}/v1/funders/bank-a/confirmations",
        {
            "fund_request_id": "F" + first_bank_refuses.id[1:],
            "status": "paid",
            "amount_fen": view["offer"]["amount_fen"],
            "payout_reference": "BANK-A-CHANGED-ITS-MIND",
            "paid_at": "2026-11-30T08:00:00+08:00",
        },
        token=token,
    )
    assert reply.status == 202 and reply.body["action"] == "return_funds", reply.body
    after = first_bank_refuses.applicant.status()
    assert after["funding"] == funding and "incidents" not in after  # not the applicant's
    assert [loan["funder_id"] for loan in loans_of(cloud, first_bank_refuses.id)] == ["trust-b"]


def test_a_loan_no_bank_will_fund_is_declined_and_its_quota_given_back(
    no_bank_funds: Run, journeys: Journeys, cloud: LocalCloud
) -> None:
    view = no_bank_funds.view
    assert view["status"] == "declined", view
    assert codes(view["outcome"]["reasons"]) == ["funding"]
    assert view["funding"]["payout_reference"] is None
    assert [r["funder_id"] for r in view["funding"]["refusals"]] == ["bank-a", "trust-b"]
    assert all(len(ids) == 1 for ids in requests_to(cloud, no_bank_funds.id).values())
    assert view["loan_id"] is None and not loans_of(cloud, no_bank_funds.id)
    assert not any(
        p.application_id == no_bank_funds.id
        for bank in cloud.banks.values()
        for p in bank.ledger.values()
    )
    funders = wiring.funders()
    assert funders.reservation_of(no_bank_funds.id) is None
    assert funders.release(no_bank_funds.id) is False  # a redelivered finalize: nothing more
    # Quota in use is exactly what the unreleased reservations hold, less the principal
    # repaid since (a revolving quota), once no journey runs.
    journeys.wait_all()
    held: dict[str, int] = {}
    for item in scan_items(cloud.deployment.ref("FundersTable")):
        funder_id = item.get("funder_id", {}).get("S", "")
        if item["pk"]["S"].startswith("RES#") and "released" not in item:
            held[funder_id] = held.get(funder_id, 0) + int(item["amount_fen"]["N"])
        elif item["pk"]["S"].startswith("REPAID#"):
            held[funder_id] = held.get(funder_id, 0) - int(item["principal_fen"]["N"])
    for funder_id in cloud.banks:
        funder = funders.get(funder_id)
        assert funder is not None and funder.used_fen == held.get(funder_id, 0), funder


# -- manual review ----------------------------------------------------------------------


def test_manual_review_approved_is_disbursed(review_to_approve: Run, reviewer: Reviewer) -> None:
    run = review_to_approve
    assert run.view["status"] == "in_review"
    assert run.view["ocr_outcome"] == "verified", run.view["ocr_reasons"]
    assert run.view["decision"]["outcome"] == "review"
    assert "V02" in codes(run.view["decision"]["reasons"])
    queued = {c["application_id"]: c for c in reviewer.queue()}
    assert run.id in queued
    assert queued[run.id]["decision"]["outcome"] == "review"

    # The applicant cannot decide their own case; a reviewer cannot decline without reasons.
    reply = run.applicant._call(
        "POST", f"/v1/reviews/{run.id}", {"decision": "approve", "reasons": []}
    )
    assert_error_reply(reply, 403)
    reply = reviewer.decide(run.id, "decline", [])
    assert_error_reply(reply, 400, 422)
    assert run.applicant.status()["status"] == "in_review"

    reply = reviewer.decide(run.id, "approve", [])
    assert reply.status == 202, reply.body
    view = run.applicant.wait_for("offered", timeout=WAIT_SECONDS)
    assert view["status"] == "offered"
    assert run.id not in {c["application_id"] for c in reviewer.queue()}
    assert run.applicant.answer_offer(True).status == 202
    view = run.applicant.wait_for(timeout=WAIT_SECONDS)
    assert view["status"] == "disbursed", view.get("outcome")
    # The applicant never sees who reviewed; staff do.
    assert "reviewed_by" not in view
    reviewed = [e for e in view["events"] if e["type"] == "reviewed"]
    assert reviewed and all("reviewer" not in e["data"] for e in reviewed)
    staff_view = call(
        "GET", f"{run.applicant.api_url}/v1/applications/{run.id}", token=reviewer.token
    )
    assert staff_view.body["reviewed_by"] == sandbox_subject(f"reviewer:{reviewer.code}")
    path = event_types(view)
    assert path.index("queued_for_review") < path.index("reviewed") < path.index("loan_booked")


def test_manual_review_declined_carries_the_reviewers_reasons(
    review_to_decline: Run, reviewer: Reviewer
) -> None:
    run = review_to_decline
    assert run.view["status"] == "in_review"
    assert run.view["ocr_outcome"] == "verified", run.view["ocr_reasons"]
    assert "V02" in codes(run.view["decision"]["reasons"])
    assert run.id in {c["application_id"] for c in reviewer.queue()}
    reasons = [{"code": "M01", "message": "reviewer: repayment capacity not evidenced"}]
    reply = reviewer.decide(run.id, "decline", reasons)
    assert reply.status == 202, reply.body
    view = run.applicant.wait_for(timeout=WAIT_SECONDS)
    assert view["status"] == "declined"
    assert view["outcome"]["reasons"] == reasons
    assert view["offer"] is not None  # scoring offered terms; the reviewer said no
    assert view["contract"] is None
    assert view["loan_id"] is None
    assert run.id not in {c["application_id"] for c in reviewer.queue()}
    assert_error_reply(reviewer.decide(run.id, "approve", []), 409)


# -- documents that do not match the declaration ------------------------------------------


def test_a_declared_name_that_differs_from_the_id_card_is_declined(name_mismatch: Run) -> None:
    view = name_mismatch.view
    assert view["status"] == "declined"
    assert view["ocr_outcome"] != "verified"
    reasons = view["outcome"]["reasons"]
    assert reasons
    assert any("id_front" in r["message"] and "name" in r["message"] for r in reasons), reasons
    # Nothing after the documents step ran.
    assert view["decision"] is None
    assert view["sources"] == {}
    assert "scored" not in event_types(view)


# -- a data source that stays down ---------------------------------------------------------


def test_a_bureau_outage_is_retried_then_routed_to_review(
    bureau_outage: Run, cloud: LocalCloud, reviewer: Reviewer
) -> None:
    run = bureau_outage
    view = run.view
    assert view["status"] == "in_review"
    assert view["ocr_outcome"] == "verified", view["ocr_reasons"]
    assert codes(view["decision"]["reasons"])[0] == "V03"
    assert "credit_bureau" in view["decision"]["reasons"][0]["message"]
    assert view["sources"]["credit_bureau"] == "unavailable"
    assert {k: v for k, v in view["sources"].items() if k != "credit_bureau"} == {
        "business_registry": "ok",
        "tax_bureau": "ok",
        "judicial_records": "ok",
    }
    failures = [
        e["taskFailedEventDetails"]["error"]
        for e in cloud.history(run.id)
        if e["type"] == "TaskFailed"
    ]
    assert failures.count("SourceUnavailable") >= 2  # the first call and at least one retry
    assert run.id in {c["application_id"] for c in reviewer.queue()}
    reply = reviewer.decide(
        run.id, "decline", [{"code": "M02", "message": "reviewer: bureau report needed"}]
    )
    assert reply.status == 202, reply.body
    assert run.applicant.wait_for(timeout=WAIT_SECONDS)["status"] == "declined"


# -- the offer: other applicants, refusal ----------------------------------------------------


def test_another_applicant_cannot_see_or_answer_an_offer(offered: Run, applicants: Any) -> None:
    run = offered
    assert run.view["status"] == "offered"
    intruder = applicants()
    intruder.sign_in()
    assert_error_reply(intruder._call("GET", f"/v1/applications/{run.id}"), 404)
    assert_error_reply(intruder._call("GET", f"/v1/applications/{run.id}/contract"), 404)
    reply = intruder._call(
        "POST", f"/v1/applications/{run.id}/offer", {"accept": True, "contract_read": True}
    )
    assert_error_reply(reply, 404)
    mine = intruder._call("GET", "/v1/applications")
    assert mine.status == 200
    assert run.id not in {a["id"] for a in mine.body["applications"]}
    assert run.applicant.status()["status"] == "offered"

    # Accepting needs the contract-read confirmation; refusing withdraws the application.
    reply = run.applicant._call("POST", f"/v1/applications/{run.id}/offer", {"accept": True})
    assert_error_reply(reply, 400, 422)
    assert run.applicant.answer_offer(False).status == 202
    view = run.applicant.wait_for(timeout=WAIT_SECONDS)
    assert view["status"] == "withdrawn"
    assert codes(view["outcome"]["reasons"]) == ["offer_refused"]
    assert view["contract"] is None
    assert view["funding"] is None
    assert view["loan_id"] is None
    assert_error_reply(run.applicant.answer_offer(True), 409)


# -- a business loan ---------------------------------------------------------------------


def test_concurrent_offer_answers_record_exactly_one(offer_race: Run) -> None:
    """Ten answers at once (8 accept, 2 refuse): one is recorded, the others get 409 with
    it, and the application goes the recorded answer's way (never signed after a refusal)."""
    applicant = offer_race.applicant
    answers = [True] * 8 + [False] * 2
    with ThreadPoolExecutor(len(answers)) as pool:
        replies = list(pool.map(applicant.answer_offer, answers))
    won = [(answer, r) for answer, r in zip(answers, replies, strict=True) if r.status == 202]
    assert len(won) == 1, [r.status for r in replies]
    recorded = won[0][0]
    for reply in replies:
        if reply.status != 202:
            assert_error_reply(reply, 409)
            if reply.body["code"] == "offer_answered":
                assert reply.body["answer"]["accepted"] is recorded
    assert sum(r.body["code"] == "offer_answered" for r in replies if r.status == 409) >= 1
    view = applicant.wait_for(timeout=WAIT_SECONDS)
    assert view["status"] == ("disbursed" if recorded else "withdrawn"), view.get("outcome")
    assert event_types(view).count("offer_answered") == 1
    assert view["offer_answer"]["accepted"] is recorded
    late = applicant.answer_offer(not recorded)
    assert_error_reply(late, 409)


def test_a_business_loan_with_four_documents_is_disbursed(business: Run, cloud: LocalCloud) -> None:
    view = business.view
    assert view["status"] == "disbursed", view.get("outcome")
    assert view["product_type"] == "business"
    assert set(view["documents"]) == BUSINESS_DOCS
    assert view["ocr_outcome"] == "verified"
    reply = business.applicant._call("GET", f"/v1/loans/{view['loan_id']}")
    assert reply.status == 200, reply.body
    loan = reply.body
    assert loan["repayment_method"] == "equal_principal"
    assert sum(i["principal_fen"] for i in loan["instalments"]) == view["offer"]["amount_fen"]
    assert len(loans_of(cloud, business.id)) == 1


# -- bad input and authentication --------------------------------------------------------


@pytest.fixture(scope="module")
def signed_in(applicants: Any) -> Applicant:
    applicant = applicants()
    applicant.sign_in()
    return applicant


@pytest.fixture(scope="module")
def draft_app(applicants: Any) -> Applicant:
    applicant = applicants()
    applicant.sign_in()
    applicant.apply()
    return applicant


def _with(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = body
        for key in parents:
            node = node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return change


_DELETE = object()


def _bad_check_digit(body: dict[str, Any]) -> None:
    id_number = body["applicant"]["id_number"]
    body["applicant"]["id_number"] = id_number[:17] + ("0" if id_number[17] != "0" else "1")


def _business_without_company(body: dict[str, Any]) -> None:
    body.update(
        product_id="business-operating",
        amount_fen=200_000_00,
        term_months=24,
        repayment_method="equal_principal",
        purpose="business",
    )


CREATE_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], tuple[int, ...]]] = {
    "amount is a string": (_with("amount_fen", "lots"), (422,)),
    "amount is a float": (_with("amount_fen", 2000.5), (422,)),
    "term is a list": (_with("term_months", [12]), (422,)),
    "applicant is a string": (_with("applicant", "me"), (422,)),
    "unknown product": (_with("product_id", "payday-xxl"), (400,)),
    "amount below the product minimum": (_with("amount_fen", 1), (400,)),
    "amount above the product maximum": (_with("amount_fen", 999_999_00), (400,)),
    "amount above any product": (_with("amount_fen", 10**15), (400, 422)),
    "negative amount": (_with("amount_fen", -5), (400, 422)),
    "term the product does not offer": (_with("term_months", 7), (400,)),
    "repayment method the product does not offer": (_with("repayment_method", "balloon"), (400,)),
    "invalid ID check digit": (_bad_check_digit, (400,)),
    "short ID number": (_with("applicant.id_number", "1101051949"), (400, 422)),
    "invalid phone": (_with("applicant.phone", "12345"), (422,)),
    "missing consent": (_with("consent", _DELETE), (422,)),
    "consent refused": (_with("consent.credit_inquiry", False), (422,)),
    "unknown field": (_with("referrer", "x"), (422,)),
    "unknown purpose": (_with("purpose", "casino"), (422,)),
    "business loan without a company": (_business_without_company, (400,)),
    "name of spaces": (_with("applicant.name", "   "), (422,)),
    "NUL in the name": (_with("applicant.name", "张\x00三"), (422,)),
    "emoji in the name": (_with("applicant.name", "张三😀"), (422,)),
    "Latin letters in the name": (_with("applicant.name", "Zhang San"), (422,)),
    "control character in the address": (
        _with("applicant.address", "北京市朝阳区\x07建国路"),
        (422,),
    ),
    "bidi override in the address": (
        _with("applicant.address", "\u202e北京市朝阳区建国路"),
        (422,),
    ),
    "address of 121 characters": (_with("applicant.address", "路" * 121), (422,)),
    "phone with letters": (_with("applicant.phone", "1381234567a"), (422,)),
    "card number failing Luhn": (
        _with("applicant.bank_card_number", "6222021234567890124"),
        (422,),
    ),
}
EXPECTED_CODES = {
    "invalid ID check digit": "invalid_id",
    "business loan without a company": "missing_company",
    "unknown product": "unknown_product",
}


@pytest.mark.parametrize("case", sorted(CREATE_CASES))
def test_invalid_applications_are_refused_with_a_json_error(
    signed_in: Applicant, case: str
) -> None:
    change, statuses = CREATE_CASES[case]
    body = json.loads(json.dumps(signed_in.application_body()))
    change(body)
    reply = signed_in._call("POST", "/v1/applications", body)
    assert_error_reply(reply, *statuses)
    if case in EXPECTED_CODES:
        assert reply.body["code"] == EXPECTED_CODES[case]


def _create_with_key(applicant: Applicant, key: str, body: dict[str, Any]) -> Reply:
    request = urllib.request.Request(
        f"{applicant.api_url}/v1/applications", data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {applicant.token}")
    request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, json.loads(exc.read()))


def test_a_repeated_create_with_its_idempotency_key_creates_one_application(
    applicants: Any,
) -> None:
    applicant = applicants()
    applicant.sign_in()
    body = applicant.application_body()
    first = _create_with_key(applicant, "create-1", body)
    again = _create_with_key(applicant, "create-1", body)
    assert first.status == again.status == 201, (first.body, again.body)
    assert again.body["id"] == first.body["id"]
    mine = applicant._call("GET", "/v1/applications").body["applications"]
    assert [a["id"] for a in mine] == [first.body["id"]]
    # The same key with another body is a client bug, not a repeat.
    changed = _create_with_key(
        applicant, "create-1", {**body, "amount_fen": body["amount_fen"] + 100}
    )
    assert_error_reply(changed, 409)
    assert changed.body["code"] == "idempotency_key_reused"
    # Keys are per caller: another applicant's identical key creates their own.
    other = applicants()
    other.sign_in()
    theirs = _create_with_key(other, "create-1", other.application_body())
    assert theirs.status == 201 and theirs.body["id"] != first.body["id"]
    assert_error_reply(_create_with_key(applicant, "has space", body), 400)


def test_an_invalid_credit_code_is_refused(applicants: Any) -> None:
    applicant = applicants(business=True)
    applicant.sign_in()
    body = applicant.application_body()
    code = body["applicant"]["credit_code"]
    body["applicant"]["credit_code"] = code[:17] + ("0" if code[17] != "0" else "1")
    assert_error_reply(applicant._call("POST", "/v1/applications", body), 400)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2, 3]", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b'{"padding": "' + b"x" * (64 * 1024 + 1) + b'"}', "too_large"),
        (b'{"amount_fen": ' + b"9" * 5000 + b"}", "invalid_json"),
        (b"[" * 30_000 + b"]" * 30_000, "invalid_json"),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "invalid_json"),
    ],
    ids=[
        "invalid-json",
        "json-array",
        "not-utf8",
        "body-over-64KiB",
        "integer-of-5000-digits",
        "arrays-nested-30000-deep",
        "objects-nested-10000-deep",
    ],
)
def test_malformed_bodies_are_refused(
    signed_in: Applicant, raw: Any, cloud: LocalCloud, data: bytes, code: str
) -> None:
    reply = raw("POST", f"{cloud.api_url}/v1/applications", data, token=signed_in.token)
    assert_error_reply(reply, 400, 413, 422)
    assert reply.body["code"] == code


@pytest.mark.parametrize(
    "data",
    [b'{"code": ' + b"9" * 5000 + b"}", b"[" * 30_000 + b"]" * 30_000],
    ids=["integer-of-5000-digits", "arrays-nested-30000-deep"],
)
def test_malformed_login_bodies_are_refused(raw: Any, cloud: LocalCloud, data: bytes) -> None:
    reply = raw("POST", f"{cloud.api_url}/v1/sessions", data)
    assert_error_reply(reply, 400)
    assert reply.body["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "anyone", "role": "admin"}, 403, "role_not_offered"),
        ({"code": "anyone", "role": "bank", "funder_id": "no-such-bank"}, 403, "unknown_funder"),
        ({"code": "anyone", "role": "bank"}, 400, "funder_required"),
        ({"code": "anyone", "role": "root"}, 422, "validation_error"),
    ],
    ids=["admin", "bank-of-unknown-funder", "bank-without-funder", "unknown-role"],
)
def test_the_sandbox_login_issues_only_the_offered_roles(
    cloud: LocalCloud, body: dict[str, str], status: int, code: str
) -> None:
    reply = call("POST", f"{cloud.api_url}/v1/sessions", body)
    assert_error_reply(reply, status)
    assert reply.body["code"] == code


@pytest.mark.parametrize("role", ["applicant", "reviewer", "finance"])
def test_the_sandbox_login_offers_the_listed_roles(cloud: LocalCloud, role: str) -> None:
    reply = call("POST", f"{cloud.api_url}/v1/sessions", {"code": "someone", "role": role})
    assert reply.status == 201, reply.body
    assert reply.body["role"] == role
    bank = {"code": "someone", "role": "bank", "funder_id": next(iter(cloud.banks))}
    assert call("POST", f"{cloud.api_url}/v1/sessions", bank).status == 201


def test_replies_are_never_cached_or_sniffed(signed_in: Applicant, cloud: LocalCloud) -> None:
    for reply in (
        signed_in._call("GET", "/v1/applications"),
        signed_in._call("GET", "/v1/applications/A-nope"),
        call("GET", f"{cloud.api_url}/v1/products"),
        call("GET", f"{cloud.api_url}/v1/nowhere"),
    ):
        assert reply.headers.get("cache-control") == "no-store", reply
        assert reply.headers.get("x-content-type-options") == "nosniff", reply


@pytest.mark.parametrize(
    # ("/" is the front ends' landing page on the local cloud's one address)
    "path",
    ["/v1/nowhere", "/v1", "/v1/applications/A1/nothing", "/v2/products"],
)
def test_unknown_routes_answer_404_in_the_one_error_shape(
    signed_in: Applicant, raw: Any, cloud: LocalCloud, path: str
) -> None:
    reply = raw("GET", f"{cloud.api_url}{path}", token=signed_in.token)
    assert_error_reply(reply, 404)
    assert reply.body["code"] == "not_found"


def test_chalices_own_errors_have_the_same_shape(
    signed_in: Applicant, raw: Any, cloud: LocalCloud
) -> None:
    reply = raw("DELETE", f"{cloud.api_url}/v1/products", token=signed_in.token)
    assert_error_reply(reply, 405)
    assert reply.body["code"] == "method_not_allowed"
    reply = raw("POST", f"{cloud.api_url}/v1/applications", b"{}", signed_in.token, "text/plain")
    assert_error_reply(reply, 415)
    assert reply.body["code"] == "unsupported_media_type"


UPLOAD_CASES: dict[str, tuple[dict[str, Any], tuple[int, ...]]] = {
    "unknown document kind": (
        {"kind": "passport", "content_type": "image/jpeg", "size": 1000},
        (400, 422),
    ),
    "content type not allowed": (
        {"kind": "id_front", "content_type": "application/pdf", "size": 1000},
        (400, 415, 422),
    ),
    "size over 5 MiB": (
        {"kind": "id_front", "content_type": "image/jpeg", "size": 5 * 1024 * 1024 + 1},
        (400, 413, 422),
    ),
    "size zero": ({"kind": "id_front", "content_type": "image/jpeg", "size": 0}, (400, 422)),
    "size is a string": ({"kind": "id_front", "content_type": "image/jpeg", "size": "big"}, (422,)),
    "document the product does not take": (
        {"kind": "business_licence", "content_type": "image/png", "size": 1000},
        (400,),
    ),
}


@pytest.mark.parametrize("case", sorted(UPLOAD_CASES))
def test_invalid_uploads_are_refused_with_a_json_error(draft_app: Applicant, case: str) -> None:
    body, statuses = UPLOAD_CASES[case]
    reply = draft_app._call("POST", f"/v1/applications/{draft_app.application_id}/documents", body)
    assert_error_reply(reply, *statuses)


def test_the_largest_allowed_document_gets_an_upload_url(draft_app: Applicant) -> None:
    reply = draft_app._call(
        "POST",
        f"/v1/applications/{draft_app.application_id}/documents",
        {"kind": "id_front", "content_type": "image/png", "size": 5 * 1024 * 1024},
    )
    assert reply.status == 201, reply.body
    assert reply.body["url"]
    assert reply.body["fields"]


def test_submitting_without_documents_is_refused(draft_app: Applicant, cloud: LocalCloud) -> None:
    reply = draft_app.submit()
    assert_error_reply(reply, 400)
    assert reply.body["code"] == "documents_missing"
    assert executions_named(cloud, draft_app.application_id) == []


def _forged_tokens(token: str) -> dict[str, str]:
    claims_part, mac_part = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))

    def encode(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return {
        "role raised to admin": f"{encode({**claims, 'role': 'admin'})}.{mac_part}",
        "another subject": f"{encode({**claims, 'subject': 'U0000000000000000000'})}.{mac_part}",
        "truncated mac": f"{claims_part}.{mac_part[:-4]}",
        "no mac": claims_part,
        "garbage": "not-a-token",
        "empty parts": ".",
    }


AUTH_ROUTES = [
    ("GET", "/v1/applications", None),
    ("POST", "/v1/applications", {}),
    ("GET", "/v1/reviews", None),
    ("POST", "/v1/reviews/A1", {"decision": "approve"}),
    ("GET", "/v1/loans/L1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), AUTH_ROUTES)
def test_missing_or_forged_tokens_are_unauthorized(
    signed_in: Applicant, cloud: LocalCloud, method: str, path: str, body: Any
) -> None:
    url = f"{cloud.api_url}{path}"
    assert_error_reply(call(method, url, body), 401)
    for label, token in _forged_tokens(signed_in.token).items():
        reply = call(method, url, body, token=token)
        assert reply.status == 401, (label, reply.status, reply.body)
        assert_error_reply(reply, 401)


def test_an_applicant_cannot_use_the_reviewer_queue(signed_in: Applicant) -> None:
    assert_error_reply(signed_in._call("GET", "/v1/reviews"), 403)


# -- uniformity ----------------------------------------------------------------------------


def test_no_reply_was_a_server_error(journeys: Journeys, http_log: Any) -> None:
    """Every reply seen by the tests, the mini-program client and the banks: never a 500."""
    journeys.wait_all()
    assert len(http_log) > 0
    errors = [(e.method, e.url, e.status, e.body) for e in http_log.server_errors()]
    assert errors == []
