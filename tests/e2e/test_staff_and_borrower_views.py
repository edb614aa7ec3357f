"""Through the HTTP API: the reviewer's case page (masked fields, document images through
presigned GETs, OCR findings, scores; each view audited and visible to an admin), finance's
funder positions, digest days and settlement files (presigned GETs), and a borrower's
own loans."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from infra.localcloud.cloud import REGION, LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import TERMINAL, Applicant, Reviewer, login
from lending.auth import Role
from lending.aws import wiring
from lending.sandbox.documents import render_document
from lending.servicing.account import business_day
from lending.servicing.digest import is_working_day

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]
WAIT = 240.0


def admin_token(cloud: LocalCloud, subject: str = "Uadmin-e2e") -> str:
    """The sandbox login never issues admin: a session straight from the issuer, as the
    company IdP's sign-in would mint it."""
    return wiring.sessions().issue(subject, Role.ADMIN, cloud.clock.now())


def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read(), {k.lower(): v for k, v in response.headers.items()}


@pytest.fixture(scope="module")
def in_review(
    cloud: LocalCloud, applicants: Callable[..., Applicant], cast: Callable[..., int]
) -> Iterator[Applicant]:
    applicant = applicants()
    cast(applicant, "review", pick=3)
    applicant.sign_in()
    applicant.apply()
    applicant.upload_documents()
    assert applicant.submit().status == 202
    assert applicant.wait_for("in_review", timeout=WAIT)["status"] == "in_review"
    yield applicant
    if applicant.status()["status"] == "in_review":
        reviewer = Reviewer(cloud.api_url, code="e2e-cleanup")
        reviewer.sign_in()
        reviewer.decide(applicant.application_id, "decline", [{"code": "T00", "message": "end"}])


def test_the_case_page_masks_the_applicant_and_links_the_documents(
    cloud: LocalCloud, in_review: Applicant
) -> None:
    reviewer = Reviewer(cloud.api_url, code="e2e-case-1")
    reviewer.sign_in()
    reply = reviewer.case(in_review.application_id)
    assert reply.status == 200, reply.body
    case: dict[str, Any] = reply.body
    assert reply.headers["cache-control"] == "no-store"
    who = in_review.identity
    shown = case["applicant"]
    # 张*明 (first and last character); a two-character name keeps its first: 罗*
    assert shown["name"] == who.name[0] + "*" * max(1, len(who.name) - 2) + who.name[2:][-1:]
    assert shown["id_number"] == who.id_number[:3] + "*" * 11 + who.id_number[-4:]
    assert shown["phone"] == who.phone[:3] + "****" + who.phone[-4:]
    assert shown["bank_card_last_four"] == who.bank_card_number[-4:]
    assert shown["monthly_income_fen"] == in_review.monthly_income_fen
    # Nothing in the whole reply holds a full personal value.
    text = json.dumps(case, ensure_ascii=False)
    for value in (who.name, who.id_number, who.phone, who.bank_card_number, who.address):
        assert value not in text
    assert case["awaiting_decision"] and case["stage"] == "decision"
    decision = case["decision"]
    assert decision["outcome"] == "review" and decision["points"] > 0
    assert 0 < decision["probability_of_default"] < 1 and decision["reasons"]
    assert case["coverage"] is not None and case["sources"]
    assert {s["state"] for s in case["sources"]} <= {"ok", "unavailable"}
    assert case["ocr"]["outcome"] == "verified"
    # One short-lived presigned GET per document; each serves the image uploaded.
    kinds = {d["kind"] for d in case["documents"]}
    assert kinds == {"id_front", "id_back", "bank_card"}
    for document in case["documents"]:
        assert document["status"] == "ok" and document["findings"] == []
        url = urllib.parse.urlsplit(document["url"])
        params = urllib.parse.parse_qs(url.query)
        assert f"{url.scheme}://{url.netloc}" == cloud.s3_url
        assert params["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert params["X-Amz-Expires"] == ["300"] and document["expires_in"] == 300
        status, body, headers = fetch(document["url"])
        expected = render_document(document["kind"], who, noise="clean", seed=0)  # type: ignore[arg-type]
        assert status == 200 and body == expected
        assert headers["content-type"] == "image/jpeg"
        assert headers["cache-control"] == "private, no-store"  # the browser keeps no copy
        # Without the signature the object is not public (moto checks no signature, so
        # the proof is the bucket's public access block and the URL carrying one).
        assert params["X-Amz-Signature"][0]


def test_every_case_view_is_audited_and_only_an_admin_reads_the_log(
    cloud: LocalCloud, in_review: Applicant
) -> None:
    reviewer = Reviewer(cloud.api_url, code="e2e-case-2")
    reviewer.sign_in()
    assert reviewer.case(in_review.application_id).status == 200
    day = business_day(cloud.clock.now()).isoformat()
    url = (
        f"{cloud.api_url}/v1/audit/personal-data-views?day={day}"
        f"&application_id={in_review.application_id}"
    )
    reply = call("GET", url, token=admin_token(cloud))
    assert reply.status == 200, reply.body
    views = [v for v in reply.body["views"] if v["viewer"] == reviewer_subject(reviewer)]
    assert views, reply.body
    view = views[-1]
    assert view["application_id"] == in_review.application_id and view["role"] == "reviewer"
    assert {"name", "id_number", "phone", "document:id_front"} <= set(view["fields"])
    assert view["purpose"] == "manual_review"
    # The log names ids and field names, never a personal value.
    assert in_review.identity.name not in json.dumps(reply.body, ensure_ascii=False)
    # Reviewers, finance and applicants may not read it.
    for token in (
        reviewer.token,
        login(cloud.api_url, "e2e-fin-audit", "finance"),
        in_review.token,
    ):
        assert call("GET", url, token=token).status == 403
    assert call("GET", url).status == 401
    bad_day = f"{cloud.api_url}/v1/audit/personal-data-views?day=yesterday"
    bad = call("GET", bad_day, token=admin_token(cloud))
    assert bad.status == 400 and bad.body["code"] == "invalid_query"


def reviewer_subject(reviewer: Reviewer) -> str:
    from lending.auth import sandbox_subject

    return sandbox_subject(f"reviewer:{reviewer.code}")


def test_only_staff_who_review_open_a_case(cloud: LocalCloud, in_review: Applicant) -> None:
    path = f"{cloud.api_url}/v1/reviews/{in_review.application_id}"
    assert call("GET", path, token=in_review.token).status == 403
    assert call("GET", path, token=login(cloud.api_url, "e2e-fin-case", "finance")).status == 403
    assert call("GET", path).status == 401
    reviewer = Reviewer(cloud.api_url, code="e2e-case-3")
    reviewer.sign_in()
    bad = reviewer.case("not-an-id")
    assert bad.status == 400 and bad.body["code"] == "invalid_application_id"
    missing = reviewer.case("A20260101000000" + "0" * 16)
    assert missing.status == 404


def test_the_reviewer_decides_from_the_case_page(cloud: LocalCloud, in_review: Applicant) -> None:
    reviewer = Reviewer(cloud.api_url, code="e2e-case-4")
    reviewer.sign_in()
    reasons = [{"code": "R_DTI", "message": "debt to income too high"}]
    reply = reviewer.decide(in_review.application_id, "decline", reasons)
    assert reply.status == 202, reply.body
    view = in_review.wait_for(timeout=WAIT)
    assert view["status"] in TERMINAL
    case = reviewer.case(in_review.application_id).body
    assert not case["awaiting_decision"]
    assert case["review_reasons"] == reasons


# -- finance ----------------------------------------------------------------------------


def _last_working_day(before: date) -> date:
    day = before
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


@pytest.fixture(scope="module")
def morning(cloud: LocalCloud) -> date:
    """Finance's morning job for a past working day: the digest, and yesterday's files."""
    day = _last_working_day(business_day(cloud.clock.now()) - timedelta(days=20))
    out = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=cloud.deployment.functions["FinanceMorningFunction"].name,
        Payload=json.dumps({"source": "local.scheduler", "day": day.isoformat()}),
    )
    assert "FunctionError" not in out, out["Payload"].read()
    return day


def test_funder_positions_for_finance_only(cloud: LocalCloud) -> None:
    token = login(cloud.api_url, "e2e-fin-1", "finance")
    reply = call("GET", f"{cloud.api_url}/v1/finance/funders", token=token)
    assert reply.status == 200, reply.body
    positions = {p["funder_id"]: p for p in reply.body["funders"]}
    assert set(positions) == {"bank-a", "trust-b"}
    for funder_id, p in positions.items():
        funder = wiring.funders().get(funder_id)
        assert funder is not None
        assert p["quota_fen"] == funder.quota_fen
        assert p["available_fen"] == p["quota_fen"] - p["used_fen"]
        assert p["lent_fen"] == p["outstanding_fen"] + p["repaid_fen"]
        assert p["outstanding_fen"] == funder.lent_fen
    reviewer = login(cloud.api_url, "e2e-rev-fin", "reviewer")
    assert call("GET", f"{cloud.api_url}/v1/finance/funders", token=reviewer).status == 403


def test_digest_days_and_settlement_files(cloud: LocalCloud, morning: date) -> None:
    token = login(cloud.api_url, "e2e-fin-2", "finance")
    first, last = morning - timedelta(days=3), morning + timedelta(days=1)
    days = call("GET", f"{cloud.api_url}/v1/finance/digests?from={first}&to={last}", token=token)
    assert days.status == 200, days.body
    assert morning.isoformat() in days.body["days"]
    assert days.body["days"] == sorted(days.body["days"], reverse=True)

    yesterday = morning - timedelta(days=1)
    listed = call(
        "GET",
        f"{cloud.api_url}/v1/finance/funders/bank-a/settlements?from={first}&to={last}",
        token=token,
    )
    assert listed.status == 200, listed.body
    assert yesterday.isoformat() in listed.body["days"]
    link = call(
        "GET", f"{cloud.api_url}/v1/finance/funders/bank-a/settlements/{yesterday}", token=token
    )
    assert link.status == 200, link.body
    assert link.body["expires_in"] == 300
    status, body, headers = fetch(link.body["url"])
    assert status == 200
    stored = (
        boto3.client("s3", region_name=REGION)
        .get_object(
            Bucket=cloud.deployment.environment["LENDING_DOCUMENTS_BUCKET"],
            Key=f"funders/bank-a/repayments/{yesterday}.csv",
        )["Body"]
        .read()
    )
    assert body == stored
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0][0] == "business_day"
    assert headers["content-disposition"] == (
        f'attachment; filename="bank-a-repayments-{yesterday.isoformat()}.csv"'
    )
    assert headers["cache-control"] == "private, no-store"


def test_finance_windows_and_paths_are_checked(cloud: LocalCloud) -> None:
    token = login(cloud.api_url, "e2e-fin-3", "finance")
    base = f"{cloud.api_url}/v1/finance"
    cases = {
        f"{base}/digests?from=2026-01-10&to=2026-01-01": (400, "invalid_window"),
        f"{base}/digests?from=2026-01-01&to=2026-06-01": (400, "invalid_window"),
        f"{base}/digests?from=soon": (400, "invalid_query"),
        f"{base}/funders/bank-a/settlements/2026-13-01": (400, "invalid_day"),
        f"{base}/funders/Bank_A!/settlements": (400, "invalid_funder_id"),
        f"{base}/funders/nobody/settlements": (404, "not_found"),
        f"{base}/funders/bank-a/settlements/2001-01-01": (404, "not_found"),
    }
    for url, (status, code) in cases.items():
        reply = call("GET", url, token=token)
        assert (reply.status, reply.body["code"]) == (status, code), (url, reply.body)
    applicant = login(cloud.api_url, "e2e-app-fin", "applicant")
    assert call("GET", f"{base}/digests", token=applicant).status == 403
    assert call("GET", f"{base}/funders/bank-a/settlements", token=applicant).status == 403


# -- borrowers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def borrower(borrowers: Callable[..., Applicant]) -> Applicant:
    return borrowers(21, WAIT)


def test_a_borrower_lists_their_own_loans_only(
    cloud: LocalCloud, borrower: Applicant, applicants: Callable[..., Applicant]
) -> None:
    loan_id = borrower.status()["loan_id"]
    loans = borrower.loans()
    assert [loan["id"] for loan in loans] == [loan_id]
    listed = loans[0]
    full = borrower.loan(loan_id)
    assert listed["principal_fen"] == full["principal_fen"] == borrower.amount_fen
    assert listed["principal_outstanding_fen"] == full["statement"]["principal_outstanding_fen"]
    assert listed["due_now_fen"] == full["statement"]["due_now_fen"]
    assert listed["payoff_fen"] == full["payoff_fen"] > listed["principal_outstanding_fen"] - 1
    upcoming = full["next_instalment"]
    assert upcoming["number"] == 1 and upcoming["status"] == "due"
    first = full["statement"]["instalments"][0]
    assert upcoming["amount_fen"] == first["principal_fen"] + first["interest_fen"]
    # Someone else sees none of it; staff do not list borrowers' loans here.
    stranger = applicants()
    stranger.sign_in()
    assert stranger.loans() == []
    finance = login(cloud.api_url, "e2e-fin-loans", "finance")
    assert call("GET", f"{cloud.api_url}/v1/loans", token=finance).status == 403
