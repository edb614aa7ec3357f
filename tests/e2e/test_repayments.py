"""A borrower repays through the API; the payment channel debits and calls back, signed.

Each payment is applied once per channel reference (a callback delivered twice counts
once), a failed debit moves no money, a forged callback is refused, and the principal
that comes back frees the funder's quota.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from infra.localcloud.cloud import LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import Applicant
from lending.aws import wiring

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]
WAIT = 120.0


@pytest.fixture(scope="module")
def borrower(borrowers: Callable[..., Applicant]) -> Applicant:
    return borrowers(15, WAIT)


def loan_id(borrower: Applicant) -> str:
    return str(borrower.status()["loan_id"])


def loan(borrower: Applicant) -> dict[str, Any]:
    reply = borrower._call("GET", f"/v1/loans/{loan_id(borrower)}")
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


def finished(borrower: Applicant, order_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while True:
        reply = borrower._call("GET", f"/v1/loans/{loan_id(borrower)}/repayments/{order_id}")
        assert reply.status == 200, reply.body
        if reply.body["status"] != "pending" or time.monotonic() > deadline:
            body: dict[str, Any] = reply.body
            return body
        time.sleep(0.05)


def used(funder_id: str) -> int:
    funder = wiring.funders().get(funder_id)
    assert funder is not None
    return funder.used_fen


def test_a_payment_is_applied_once_and_frees_the_funders_quota(
    borrower: Applicant, cloud: LocalCloud
) -> None:
    before = loan(borrower)
    funder_id = before["funder_id"]
    quota_before = used(funder_id)
    reply = borrower._call(
        "POST", f"/v1/loans/{loan_id(borrower)}/repayments", {"amount_fen": 500_00}
    )
    assert reply.status == 202, reply.body
    order = finished(borrower, reply.body["id"])
    assert order["status"] == "succeeded" and order["channel_reference"]
    after = loan(borrower)["statement"]
    repaid = before["statement"]["principal_outstanding_fen"] - after["principal_outstanding_fen"]
    assert repaid == 500_00  # nothing was due yet: it all prepaid principal
    assert used(funder_id) == quota_before - repaid
    # The channel delivers the same callback again: acknowledged, nothing moves.
    assert cloud.channel is not None
    again = cloud.channel.deliver(order["id"])
    assert again.status == 200 and again.body["status"] == "already_applied"
    assert loan(borrower)["statement"] == after
    assert used(funder_id) == quota_before - repaid


def test_a_failed_debit_says_why_and_moves_no_money(borrower: Applicant, cloud: LocalCloud) -> None:
    assert cloud.channel is not None
    before = loan(borrower)["statement"]
    cloud.channel.paused = True
    try:
        reply = borrower._call(
            "POST", f"/v1/loans/{loan_id(borrower)}/repayments", {"amount_fen": 300_00}
        )
        assert reply.status == 202, reply.body
        cloud.channel.insufficient.add(reply.body["id"])
    finally:
        cloud.channel.paused = False
    order = finished(borrower, reply.body["id"])
    assert order["status"] == "failed" and order["failure_code"] == "insufficient_funds"
    assert loan(borrower)["statement"] == before


def test_a_forged_callback_is_refused(borrower: Applicant, cloud: LocalCloud) -> None:
    forged = {
        "order_id": f"P{loan_id(borrower)[1:]}.000000000000",
        "channel_reference": "CH-FORGED",
        "status": "succeeded",
        "amount_fen": 1_000_00,
        "at": "2026-11-30T10:00:00+08:00",
    }
    for signature in ("", "AAAA", "bm90IGEgc2lnbmF0dXJl"):
        reply = call(
            "POST",
            f"{cloud.api_url}/v1/payments/callbacks",
            forged,
            headers={"X-Channel-Signature": signature},
        )
        assert reply.status == 401, reply.body


def test_orders_are_refused_for_strangers_and_wrong_amounts(
    borrower: Applicant, applicants: Callable[..., Applicant]
) -> None:
    path = f"/v1/loans/{loan_id(borrower)}/repayments"
    stranger = applicants()
    stranger.sign_in()
    assert stranger._call("POST", path, {"amount_fen": 100}).status == 404
    for body, status in (
        ({"amount_fen": 0}, 422),
        ({}, 400),
        ({"amount_fen": 100, "settle": True}, 400),
        ({"amount_fen": 10**10}, 400),
        ({"amount_fen": 100, "reschedule": "never"}, 422),
    ):
        reply = borrower._call("POST", path, body)
        assert reply.status == status, (body, reply.body)


def test_settling_in_full_closes_the_loan_and_gives_all_the_quota_back(
    borrower: Applicant,
) -> None:
    before = loan(borrower)
    funder_id = before["funder_id"]
    quota_before = used(funder_id)
    outstanding = before["statement"]["principal_outstanding_fen"]
    reply = borrower._call("POST", f"/v1/loans/{loan_id(borrower)}/repayments", {"settle": True})
    assert reply.status == 202, reply.body
    assert finished(borrower, reply.body["id"])["status"] == "succeeded"
    statement = loan(borrower)["statement"]
    assert statement["status"] == "settled" and statement["principal_outstanding_fen"] == 0
    assert used(funder_id) == quota_before - outstanding
    nothing = borrower._call("POST", f"/v1/loans/{loan_id(borrower)}/repayments", {"settle": True})
    assert nothing.status == 409 and nothing.body["code"] == "nothing_owed"
