"""Finance's portfolio page: the five-tier mix and NPL ratio, overdue principal by bucket
and the overdue loans of each bucket, what falls due day by day; the figures are the
API's, read from the indexes the night keeps (the night is not run here: a few watched
loan states and a night's report are written through the servicing adapters, and
removed again so that later tests see the tables as they were)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from infra.localcloud.cloud import LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import Applicant, login
from lending.aws import wiring
from lending.servicing.account import LoanStatus, business_day
from lending.servicing.delinquency import Tier, bucket
from lending.servicing.nightly import LoanState, night_report
from tests.browser.conftest import Screen, yuan
from tests.browser.test_console import sign_in

pytestmark = [pytest.mark.localcloud]
WAIT_SECONDS = 240.0
NIGHT = date(2020, 1, 2)  # a day no real night has: the newest night, if any, still wins
# (loan id, days past due, principal outstanding, tier)
WATCHED = (
    ("LBROWSER-M1-A", 5, 8_000_00, Tier.SPECIAL_MENTION),
    ("LBROWSER-M1-B", 21, 12_500_00, Tier.SPECIAL_MENTION),
    ("LBROWSER-M2", 45, 20_000_00, Tier.SPECIAL_MENTION),
    ("LBROWSER-M3P", 120, 30_000_00, Tier.SUBSTANDARD),
)


def _state(loan_id: str, dpd: int, principal: int, tier: Tier) -> LoanState:
    return LoanState(
        loan_id=loan_id,
        funder_id="browser-bank",
        product_id="consumer-flex",
        as_of=NIGHT,
        ledger_seq=1,
        status=LoanStatus.OVERDUE,
        days_past_due=dpd,
        bucket=bucket(dpd),
        tier=tier,
        principal_outstanding_fen=principal,
        due_now_fen=principal // 12,
        credit_fen=0,
    )


def _remove(loan_ids: list[str]) -> None:
    db, table = wiring.client("dynamodb"), wiring.settings().loans_table
    for loan_id in loan_ids:
        items = db.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"LOAN#{loan_id}"}},
        )["Items"]
        for item in items:
            db.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    db.delete_item(TableName=table, Key={"pk": {"S": "NIGHT"}, "sk": {"S": NIGHT.isoformat()}})


@pytest.fixture
def watched(cloud: LocalCloud) -> Iterator[list[LoanState]]:
    states = [_state(*w) for w in WATCHED]
    for s in states:
        assert wiring.loan_states().save(s, None, [])
    wiring.nights().close(night_report(NIGHT, states, 400_000_00))
    try:
        yield states
    finally:
        _remove([s.loan_id for s in states])


@pytest.fixture
def borrowed(borrowers: Callable[..., Applicant]) -> dict[str, Any]:
    """A loan booked through the whole flow: its instalments are in the due-date index."""
    applicant = borrowers(33, WAIT_SECONDS)
    return applicant.loan(str(applicant.status()["loan_id"]))


def test_finance_sees_the_tiers_the_buckets_and_what_falls_due(
    desk: Screen, cloud: LocalCloud, watched: list[LoanState], borrowed: dict[str, Any]
) -> None:
    token = login(cloud.api_url, "browser-finance-portfolio", "finance")
    mix = call("GET", f"{cloud.api_url}/v1/finance/portfolio", token=token).body
    overdue = call("GET", f"{cloud.api_url}/v1/finance/overdue", token=token).body
    first = borrowed["instalments"][0]
    due_day = date.fromisoformat(first["due_date"])
    start, end = due_day - timedelta(days=2), due_day + timedelta(days=4)

    sign_in(desk, "finance", "browser-finance-portfolio")
    desk.page.get_by_test_id("menu-portfolio").click()
    desk.page.get_by_test_id("tiers").wait_for()
    # The five tiers with the API's principal, and the NPL ratio.
    for tier in mix["tiers"]:
        row = desk.page.get_by_test_id(f"tier-{tier['tier']}").inner_text()
        assert yuan(tier["principal_fen"]) in row
    npl = desk.page.get_by_test_id("npl").inner_text()
    assert npl.startswith("NPL ") and npl != "NPL —"
    # Each bucket's overdue principal, and its loans longest overdue first.
    by_bucket = {b["bucket"]: b for b in overdue["buckets"]}
    for name, b in by_bucket.items():
        assert (
            yuan(b["principal_fen"]) in desk.page.get_by_test_id(f"bucket-bar-{name}").inner_text()
        )
    m1 = desk.page.get_by_test_id("overdue-M1")
    m1.wait_for()
    rows = m1.locator("tbody tr")
    assert rows.count() == by_bucket["M1"]["loans"] >= 2
    assert "LBROWSER-M1-B" in rows.nth(0).inner_text()  # 21 days before 5 days
    desk.page.get_by_role("tab", name=f"M3+ ({by_bucket['M3+']['loans']})").click()
    m3 = desk.page.get_by_test_id("overdue-M3+")
    m3.wait_for()
    assert "次级" in m3.inner_text() and yuan(30_000_00) in m3.inner_text()
    desk.shoot("console-portfolio")

    # What falls due around the borrower's first due date: the API's instalments.
    picker = desk.page.get_by_test_id("due").locator("input")
    picker.nth(0).fill(start.isoformat())
    picker.nth(1).fill(end.isoformat())
    picker.nth(1).press("Enter")
    desk.page.get_by_test_id("due-load").click()
    bar = desk.page.get_by_test_id(f"due-bar-{due_day.isoformat()}")
    bar.wait_for()
    due = call(
        "GET",
        f"{cloud.api_url}/v1/finance/due?from={start.isoformat()}&to={end.isoformat()}",
        token=token,
    ).body
    day = next(d for d in due["days"] if d["day"] == due_day.isoformat())
    assert yuan(day["amount_fen"]) in bar.inner_text()
    listed = desk.page.get_by_test_id("due-rows").inner_text()
    assert borrowed["id"] in listed and yuan(first["total_fen"]) in listed
    desk.shoot("console-portfolio-due")


def test_a_due_list_longer_than_a_week_is_refused_with_a_reason(cloud: LocalCloud) -> None:
    token = login(cloud.api_url, "browser-finance-portfolio", "finance")
    today = business_day(cloud.clock.now())
    reply = call(
        "GET",
        f"{cloud.api_url}/v1/finance/due?from={today}&to={today + timedelta(days=7)}",
        token=token,
    )
    assert reply.status == 400 and reply.body["code"] == "invalid_window"
    reviewer = login(cloud.api_url, "browser-reviewer-portfolio", "reviewer")
    assert call("GET", f"{cloud.api_url}/v1/finance/overdue", token=reviewer).status == 403
