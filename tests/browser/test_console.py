"""The staff console on a PC-sized Chromium: sandbox staff sign-in, each role's own area
only, the reviewer's queue with a real case, finance's daily digest with its figures."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from infra.localcloud.cloud import REGION, LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import TERMINAL, Applicant, Reviewer, login
from lending.servicing.account import business_day
from lending.servicing.digest import is_working_day
from tests.browser.conftest import Screen, percent, yuan

pytestmark = [pytest.mark.localcloud]

WAIT_SECONDS = 240.0  # OCR and scoring on a shared machine; never a timing assertion
CONSOLE_SESSION = "lending.console.session"


def sign_in(screen: Screen, role: str, code: str) -> None:
    screen.open("/console/")
    # Element Plus puts the attribute on the <input> itself.
    code_input = screen.page.locator('input[data-testid="code"], [data-testid="code"] input')
    code_input.wait_for()
    screen.page.get_by_test_id(f"role-{role}").click()
    code_input.fill(code)
    screen.page.get_by_test_id("sign-in").click()
    screen.page.get_by_test_id("whoami").wait_for()


def test_staff_sign_in_first(desk: Screen) -> None:
    desk.open("/console/#/reviewer/queue")
    desk.page.get_by_test_id("sign-in").wait_for()
    assert "员工登录" in desk.page.inner_text("body")
    assert desk.page.get_by_test_id("queue").count() == 0
    desk.shoot("console-login")


def test_finance_cannot_open_the_reviewer_area(desk: Screen, cloud: LocalCloud) -> None:
    sign_in(desk, "finance", "browser-finance-1")
    desk.page.get_by_test_id("menu-digest").wait_for()
    assert desk.page.get_by_test_id("menu-queue").count() == 0
    desk.open("/console/#/reviewer/queue")
    desk.page.get_by_test_id("forbidden").wait_for()
    assert "无权访问" in desk.page.inner_text("body")
    assert desk.page.get_by_test_id("queue").count() == 0
    desk.shoot("console-finance-forbidden-reviewer")
    # The API says the same to this session's token.
    token = desk.session_token(CONSOLE_SESSION)
    assert call("GET", f"{cloud.api_url}/v1/reviews", token=token).status == 403


def test_a_reviewer_cannot_open_the_finance_area(desk: Screen, cloud: LocalCloud) -> None:
    sign_in(desk, "reviewer", "browser-reviewer-1")
    desk.page.get_by_test_id("menu-queue").wait_for()
    assert desk.page.get_by_test_id("menu-digest").count() == 0
    desk.open("/console/#/finance/digest/2026-12-01")
    desk.page.get_by_test_id("forbidden").wait_for()
    assert desk.page.get_by_test_id("digest").count() == 0
    token = desk.session_token(CONSOLE_SESSION)
    reply = call("GET", f"{cloud.api_url}/v1/finance/digests/2026-12-01", token=token)
    assert reply.status == 403


@pytest.fixture(scope="module")
def in_review(
    cloud: LocalCloud, applicants: Callable[..., Applicant], cast: Callable[..., int]
) -> Iterator[Applicant]:
    """An applicant driven to manual review over the API, as tests/e2e do; declined after."""
    applicant = applicants()
    cast(applicant, "review")
    applicant.sign_in()
    applicant.apply()
    applicant.upload_documents()
    applicant.submit()
    view = applicant.wait_for("in_review", timeout=WAIT_SECONDS)
    assert view["status"] == "in_review", view["status"]
    yield applicant
    if applicant.status()["status"] == "in_review":
        reviewer = Reviewer(cloud.api_url, code="browser-cleanup")
        reviewer.sign_in()
        reviewer.decide(
            applicant.application_id, "decline", [{"code": "T00", "message": "test clean-up"}]
        )
    if applicant.status()["status"] not in TERMINAL:
        applicant.wait_for(timeout=60)


def test_the_reviewer_queue_lists_the_case(
    desk: Screen, cloud: LocalCloud, in_review: Applicant
) -> None:
    sign_in(desk, "reviewer", "browser-reviewer-2")
    table = desk.page.get_by_test_id("queue")
    row = table.locator("tr", has_text=in_review.application_id)
    row.wait_for()
    token = login(cloud.api_url, "browser-reviewer-2", "reviewer")
    cases = call("GET", f"{cloud.api_url}/v1/reviews", token=token).body["cases"]
    case = next(c for c in cases if c["application_id"] == in_review.application_id)
    text = row.inner_text()
    assert yuan(case["amount_fen"]) in text
    assert case["product_id"] in text
    assert str(case["decision"]["points"]) in text
    # Oldest first (escalated ones before all): the rows are in the order of their age.
    ids = [c["application_id"] for c in sorted(cases, key=lambda c: c["queued_at"])]
    escalated = [c["application_id"] for c in cases if c["escalated"]]
    expected = escalated + [i for i in ids if i not in escalated]
    shown = [
        t.strip() for t in table.locator("tbody tr td:first-child").all_inner_texts() if t.strip()
    ]
    assert shown == expected
    desk.shoot("console-reviewer-queue")


def _last_working_day(before: date) -> date:
    day = before
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


@pytest.fixture(scope="module")
def digest_day(cloud: LocalCloud) -> date:
    """Finance's morning job run for a past working day (as its schedule would at 08:30),
    far enough back not to meet the days other tests run the clock through."""
    day = _last_working_day(business_day(cloud.clock.now()) - timedelta(days=40))
    out = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=cloud.deployment.functions["FinanceMorningFunction"].name,
        Payload=json.dumps({"source": "local.scheduler", "day": day.isoformat()}),
    )
    assert "FunctionError" not in out, out["Payload"].read()
    return day


def test_the_finance_digest_shows_its_figures(
    desk: Screen, cloud: LocalCloud, digest_day: date
) -> None:
    token = login(cloud.api_url, "browser-finance-2", "finance")
    reply = call("GET", f"{cloud.api_url}/v1/finance/digests/{digest_day}", token=token)
    assert reply.status == 200, reply.body
    digest: dict[str, Any] = reply.body
    assert digest["funders"], "the seeded funders have positions"

    sign_in(desk, "finance", "browser-finance-2")
    desk.open(f"/console/#/finance/digest/{digest_day}")
    desk.page.get_by_test_id("digest").wait_for()
    figures = {
        "f-due-today": yuan(digest["due_today"]["amount_fen"]),
        "f-due-tomorrow": yuan(digest["due_tomorrow"]["amount_fen"]),
        "f-collected": yuan(digest["collected"]["total"]["amount_fen"]),
        "f-failed": yuan(digest["failed_debits"]["amount_fen"]),
        "f-overdue": yuan(digest["overdue"]["principal_fen"]),
        "f-npl": percent(digest["tiers"]["npl_ratio"]),
        "f-outstanding": yuan(digest["tiers"]["outstanding_fen"]),
        "f-credits": yuan(digest["credits_held_fen"]),
    }
    for testid, expected in figures.items():
        shown = desk.page.get_by_test_id(testid).inner_text()
        assert expected in shown, (testid, expected, shown)
    funders = desk.page.get_by_test_id("funders")
    for position in digest["funders"]:
        row = funders.locator("tr", has_text=position["funder_id"]).inner_text()
        for key in ("quota_fen", "used_fen", "outstanding_fen", "available_fen"):
            assert yuan(position[key]) in row, (position["funder_id"], key, row)
    desk.shoot("console-finance-digest")


def test_a_day_without_a_digest_says_so(desk: Screen, digest_day: date) -> None:
    sunday = digest_day - timedelta(days=(digest_day.weekday() + 1) % 7 or 7)
    assert not is_working_day(sunday)
    sign_in(desk, "finance", "browser-finance-3")
    desk.open(f"/console/#/finance/digest/{sunday}")
    desk.page.get_by_test_id("no-digest").wait_for()
    assert sunday.isoformat() in desk.page.get_by_test_id("no-digest").inner_text()
