"""Least privilege, proved: every AWS call a function made in this session is allowed by its
role as SAM translates template.yaml, and everything a role grants is used by some call.

moto enforces no IAM, so the local cloud records each function's calls (infra/localcloud/
iam.py) and this module checks them. It runs last (tests/conftest.py), so it checks the
calls of every test of the session (the e2e journeys included), and first drives its own
representative journeys, the review sweep, the PSI check and a retraining, so that run
alone it still exercises every function and every grant.
"""

from __future__ import annotations

import io
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import boto3
import pytest
from PIL import Image

from infra.localcloud import iam
from infra.localcloud.cloud import REGION, ROOT, LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import Applicant, Reviewer
from lending.aws import wiring
from lending.documents.kinds import DocumentKind
from lending.sandbox.documents import render_document
from lending.scoring.registry import ModelRecord, sha256_hex
from lending.scoring.scorecard import DEFAULT_ARTEFACT

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]

WAIT_SECONDS = 240.0  # generous: the machine is shared; never a timing assertion


def _invoke(cloud: LocalCloud, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """As the scheduler would: the function runs (and is recorded) under its own role."""
    out = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=cloud.deployment.functions[logical_id].name, Payload=json.dumps(event)
    )
    body: dict[str, Any] = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, body
    return body


def _disbursed(applicant: Applicant, cloud: LocalCloud) -> dict[str, Any]:
    """Apply, get the offer, accept, wait for the payout; then read the loan and contract."""
    applicant.sign_in()
    applicant.apply()
    applicant.upload_documents()
    applicant.submit()
    view = applicant.wait_for("offered", timeout=WAIT_SECONDS)
    assert view["status"] == "offered", view.get("outcome")
    assert applicant.answer_offer(True).status == 202
    view = applicant.wait_for(timeout=WAIT_SECONDS)
    assert view["status"] == "disbursed", view.get("outcome")
    assert applicant._call("GET", f"/v1/loans/{view['loan_id']}").status == 200
    assert (
        applicant._call("GET", f"/v1/applications/{applicant.application_id}/contract").status
        == 200
    )
    # The signed PDF by a presigned GET (S3 reads it with the API's role); the messages.
    link = applicant._call("GET", f"/v1/applications/{applicant.application_id}/contract/pdf")
    assert link.status == 200, link.body
    with urllib.request.urlopen(link.body["url"], timeout=30) as pdf:
        assert pdf.read().startswith(b"%PDF")
    assert applicant._call("GET", "/v1/messages").status == 200
    # A repayment: the order goes to the payment channel's queue, its callback is applied.
    paying = applicant._call("POST", f"/v1/loans/{view['loan_id']}/repayments", {"amount_fen": 100})
    assert paying.status == 202, paying.body
    order = f"/v1/loans/{view['loan_id']}/repayments/{paying.body['id']}"
    deadline = time.monotonic() + WAIT_SECONDS
    while applicant._call("GET", order).body["status"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return view


def _to_status(applicant: Applicant, status: str, idempotency_key: str) -> dict[str, Any]:
    applicant.sign_in()
    _create_with_key(applicant, idempotency_key)
    applicant.upload_documents()
    applicant.submit()
    return applicant.wait_for(status, timeout=WAIT_SECONDS)


def _create_with_key(applicant: Applicant, key: str) -> None:
    """A create the mini-program may repeat (its Idempotency-Key header): sent twice here."""
    for _ in range(2):
        request = urllib.request.Request(
            f"{applicant.api_url}/v1/applications",
            data=json.dumps(applicant.application_body()).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {applicant.token}",
                "Idempotency-Key": key,
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            created = json.loads(response.read())
        assert applicant.application_id in ("", created["id"])  # the same one, twice
        applicant.application_id = created["id"]


def _blank_photo() -> bytes:
    """A valid JPEG no OCR can read a field from."""
    buffer = io.BytesIO()
    Image.new("RGB", (1000, 630), (236, 236, 230)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _to_review_after_a_reupload(applicant: Applicant, cloud: LocalCloud) -> dict[str, Any]:
    """An unreadable ID card is asked for again (the upload function holds the wait); the
    review then outlives its one-second timeout and the state machine escalates it."""
    applicant.sign_in()
    applicant.apply()
    applicant.upload_documents()
    applicant.upload("id_front", _blank_photo(), "image/jpeg")
    with cloud.wait_timeouts(review=1):
        applicant.submit()
    view = applicant.wait_for("awaiting_documents", timeout=WAIT_SECONDS)
    assert view["status"] == "awaiting_documents", view.get("outcome")
    good = render_document(DocumentKind.ID_FRONT, applicant.identity)
    applicant.upload("id_front", good, "image/jpeg")
    applicant.submit()
    return applicant.wait_for_event("review_escalated", timeout=WAIT_SECONDS)


@pytest.fixture(scope="module")
def rewind(cloud: LocalCloud) -> Iterator[None]:
    """Put the shared cloud's clock back afterwards: other tests' sessions must not expire."""
    before = cloud.clock.now()
    yield
    cloud.clock.advance(before - cloud.clock.now())


@pytest.fixture(scope="module")
def exercised(
    cloud: LocalCloud,
    applicants: Callable[..., Applicant],
    cast: Callable[..., int],
    rewind: None,
) -> LocalCloud:
    """Every function at work: the paths through the state machine and the schedules."""
    approved, refused_by_a, declined, review = (applicants() for _ in range(4))
    cast(approved, "approve", pick=11)
    cast(refused_by_a, "approve", pick=12)
    cast(declined, "decline", pick=13)
    cast(review, "review", pick=14)
    with ThreadPoolExecutor(4) as pool:
        paid = pool.submit(_disbursed, approved, cloud)
        # The first bank refuses: the fund request goes to the second funder's queue.
        refused_by_a.sign_in()
        refused_by_a.apply()
        cloud.banks["bank-a"].declines.add(refused_by_a.application_id)
        refused = pool.submit(_finish_refused_by_a, refused_by_a)
        rejected = pool.submit(_to_status, declined, "declined", "least-privilege-create")
        waiting = pool.submit(_to_review_after_a_reupload, review, cloud)
        assert paid.result()["status"] == "disbursed"
        assert refused.result()["status"] == "disbursed"
        assert rejected.result()["status"] == "declined"
        assert waiting.result()["status"] == "in_review"
    assert call("GET", f"{cloud.api_url}/v1/keys/signing").status == 200

    # The sweep looks at the reviews waiting past the limit (this one is escalated already);
    # a reviewer then approves, and the applicant refuses the offer (Finalize gives any
    # reserved quota back). Invoked as its schedule would: another test may have rewound
    # the clock past a tick.
    cloud.clock.advance(timedelta(hours=5))
    _invoke(cloud, "ReviewSweeperFunction", {"source": "least-privilege"})
    reviewer = Reviewer(cloud.api_url, code="least-privilege-reviewer")
    reviewer.sign_in()
    queued = {c["application_id"]: c for c in reviewer.queue()}
    assert queued[review.application_id]["escalated"] is True
    assert reviewer.decide(review.application_id, "approve", []).status == 202
    review.sign_in()
    assert review.wait_for("offered", timeout=WAIT_SECONDS)["status"] == "offered"
    assert review.answer_offer(False).status == 202
    assert review.wait_for(timeout=WAIT_SECONDS)["status"] == "withdrawn"

    _invoke(cloud, "PsiCheckFunction", {"source": "least-privilege"})
    _retrain(cloud)
    return cloud


def _finish_refused_by_a(applicant: Applicant) -> dict[str, Any]:
    applicant.upload_documents()
    applicant.submit()
    view = applicant.wait_for("offered", timeout=WAIT_SECONDS)
    assert view["status"] == "offered", view.get("outcome")
    assert applicant.answer_offer(True).status == 202
    return applicant.wait_for(timeout=WAIT_SECONDS)


def _retrain(cloud: LocalCloud) -> None:
    """A retraining that is due (its own family: the live champion is untouched)."""
    family = "admission-least-privilege"
    blob = DEFAULT_ARTEFACT.read_bytes()
    old = (cloud.clock.now() - timedelta(days=120)).isoformat()
    record = ModelRecord(family, "v-old", "scorecard", "champion", sha256_hex(blob), old)
    wiring.model_registry().register(record, blob)
    body = _invoke(cloud, "RetrainFunction", {"family": family, "dataset": "german"})
    assert body["trained"], body


def _explain(findings: list[iam.Finding], cloud: LocalCloud) -> str:
    assert cloud.calls is not None
    calls = cloud.calls.snapshot()
    roles = iam.role_policies(cloud.deployment, ROOT, cloud.parameters)
    lines = [str(f) for f in findings]
    lines += ["", "recorded:"]
    lines += [f"  {fn}: {needs}" for fn, needs in iam.summary(calls, cloud.calls.resources).items()]
    lines += ["", "granted, never needed (advice):"]
    lines += [f"  {fn}: {idle}" for fn, idle in iam.unused_actions(calls, roles).items()]
    return "\n".join(lines)


def test_every_function_ran_and_was_recorded(exercised: LocalCloud) -> None:
    assert exercised.calls is not None
    assert exercised.calls.functions() == set(exercised.deployment.functions)


def test_no_call_is_denied_by_its_functions_role(exercised: LocalCloud) -> None:
    findings = [f for f in exercised.iam_findings() if "unused" not in f.kind]
    assert findings == [], _explain(findings, exercised)


def test_every_grant_is_used(exercised: LocalCloud) -> None:
    findings = [f for f in exercised.iam_findings() if "unused" in f.kind]
    assert findings == [], _explain(findings, exercised)
