"""The console's case page and finance's funder positions in a PC-sized Chromium: the
reviewer opens a case from the queue, sees the masked applicant, the document images
(presigned GETs from the document store, allowed by the CSP) beside the OCR checks, the
scores, and declines it with a reason code; finance reads the funder positions and
downloads a settlement file through a short-lived link."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest

from infra.localcloud.cloud import REGION, LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import TERMINAL, Applicant, Reviewer, login
from lending.servicing.account import business_day
from lending.servicing.digest import is_working_day
from tests.browser.conftest import Screen, yuan

pytestmark = [pytest.mark.localcloud]

WAIT_SECONDS = 240.0


def sign_in(screen: Screen, role: str, code: str) -> None:
    screen.open("/console/")
    code_input = screen.page.locator('input[data-testid="code"], [data-testid="code"] input')
    code_input.wait_for()
    screen.page.get_by_test_id(f"role-{role}").click()
    code_input.fill(code)
    screen.page.get_by_test_id("sign-in").click()
    screen.page.get_by_test_id("whoami").wait_for()


@pytest.fixture(scope="module")
def case_in_review(
    cloud: LocalCloud, applicants: Callable[..., Applicant], cast: Callable[..., int]
) -> Iterator[Applicant]:
    applicant = applicants()
    cast(applicant, "review", pick=5)
    applicant.sign_in()
    applicant.apply()
    applicant.upload_documents()
    applicant.submit()
    assert applicant.wait_for("in_review", timeout=WAIT_SECONDS)["status"] == "in_review"
    yield applicant
    if applicant.status()["status"] == "in_review":
        reviewer = Reviewer(cloud.api_url, code="browser-case-cleanup")
        reviewer.sign_in()
        reviewer.decide(applicant.application_id, "decline", [{"code": "T00", "message": "end"}])
    if applicant.status()["status"] not in TERMINAL:
        applicant.wait_for(timeout=60)


def test_a_reviewer_opens_a_case_sees_its_documents_and_declines_it(
    desk: Screen, cloud: LocalCloud, case_in_review: Applicant
) -> None:
    app_id = case_in_review.application_id
    sign_in(desk, "reviewer", "browser-case-1")
    desk.page.get_by_test_id(f"open-{app_id}").click()
    desk.page.get_by_test_id("case").wait_for()
    who = case_in_review.identity
    # 张*明 (first and last character); a two-character name keeps its first: 罗*
    masked_name = who.name[0] + "*" * max(1, len(who.name) - 2) + who.name[2:][-1:]
    assert desk.page.get_by_test_id("a-name").inner_text() == masked_name
    assert desk.page.get_by_test_id("a-id").inner_text() == (
        who.id_number[:3] + "*" * 11 + who.id_number[-4:]
    )
    text = desk.page.get_by_test_id("applicant").inner_text()
    assert who.phone[:3] + "****" + who.phone[-4:] in text
    assert who.bank_card_number[-4:] in desk.page.get_by_test_id("a-card").inner_text()
    assert yuan(case_in_review.monthly_income_fen) in text
    body = desk.page.inner_text("body")
    for value in (who.name, who.id_number, who.phone, who.bank_card_number):
        assert value not in body
    # Each document image is loaded from the document store through its presigned GET.
    for kind in ("id_front", "id_back", "bank_card"):
        image = desk.page.get_by_test_id(f"doc-{kind}").locator("img")
        image.wait_for()
        desk.page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        src = image.get_attribute("src") or ""
        assert src.startswith(cloud.s3_url + "/") and "X-Amz-Signature=" in src
        assert desk.page.get_by_test_id(f"doc-{kind}").get_by_test_id("doc-status").inner_text()
    reviewer = Reviewer(cloud.api_url, code="browser-case-1")
    reviewer.sign_in()
    case = reviewer.case(app_id).body
    assert desk.page.get_by_test_id("c-points").inner_text() == str(case["decision"]["points"])
    line = desk.page.get_by_test_id("c-line").inner_text()
    assert yuan(case["decision"]["credit_line_fen"]) in line
    for reason in case["decision"]["reasons"]:
        assert reason["code"] in desk.page.get_by_test_id("c-reasons").inner_text()
    for source in case["sources"]:
        assert source["name"] in desk.page.get_by_test_id("c-sources").inner_text()
    desk.shoot("console-reviewer-case")

    desk.page.get_by_test_id("decide-decline").click()
    desk.page.get_by_test_id("submit-decision").click()
    assert "至少选择一个原因码" in desk.page.inner_text("body")  # a decline needs a reason
    desk.page.get_by_test_id("reason-R_DTI").click()
    desk.page.get_by_test_id("submit-decision").click()
    desk.page.get_by_test_id("decided").wait_for()
    desk.shoot("console-reviewer-case-decided")
    view = case_in_review.wait_for(timeout=WAIT_SECONDS)
    assert view["status"] == "declined"
    after = reviewer.case(app_id).body
    assert [r["code"] for r in after["review_reasons"]] == ["R_DTI"]


def _last_working_day(before: date) -> date:
    day = before
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


@pytest.fixture(scope="module")
def files_day(cloud: LocalCloud) -> date:
    """Finance's morning run for a past working day writes the funders' files of the day
    before it (and the day's digest)."""
    day = _last_working_day(business_day(cloud.clock.now()) - timedelta(days=10))
    out = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=cloud.deployment.functions["FinanceMorningFunction"].name,
        Payload=json.dumps({"source": "local.scheduler", "day": day.isoformat()}),
    )
    assert "FunctionError" not in out, out["Payload"].read()
    return day - timedelta(days=1)


def test_finance_reads_the_funder_positions_and_downloads_a_settlement_file(
    desk: Screen, cloud: LocalCloud, files_day: date, tmp_path: Path
) -> None:
    token = login(cloud.api_url, "browser-funders", "finance")
    positions = call("GET", f"{cloud.api_url}/v1/finance/funders", token=token).body["funders"]
    sign_in(desk, "finance", "browser-funders")
    desk.page.get_by_test_id("menu-funders").click()
    table = desk.page.get_by_test_id("positions")
    for p in positions:
        row = table.locator("tr", has_text=p["funder_id"]).first
        row.wait_for()
        text = row.inner_text()
        for key in ("quota_fen", "used_fen", "available_fen", "lent_fen", "outstanding_fen"):
            assert yuan(p[key]) in text, (p["funder_id"], key, text)
        assert yuan(p["repaid_fen"]) in text
    desk.shoot("console-finance-funders")

    desk.page.get_by_test_id("files-bank-a").click()
    desk.page.get_by_test_id("settlements").wait_for()
    button = desk.page.get_by_test_id(f"download-{files_day.isoformat()}")
    button.wait_for()
    with desk.page.expect_download() as info:
        button.click()
    download = info.value
    saved = tmp_path / "file.csv"
    download.save_as(str(saved))
    stored = (
        boto3.client("s3", region_name=REGION)
        .get_object(
            Bucket=cloud.deployment.environment["LENDING_DOCUMENTS_BUCKET"],
            Key=f"funders/bank-a/repayments/{files_day.isoformat()}.csv",
        )["Body"]
        .read()
    )
    assert saved.read_bytes() == stored
    assert download.url.startswith(cloud.s3_url + "/") and "X-Amz-Expires=300" in download.url
    # Chromium reports a navigation that became a download as aborted: that one is not
    # the page's failure (anything else the browser reported still fails the test).
    aborted = f"request failed: {download.url} net::ERR_ABORTED"
    desk.problems[:] = [p for p in desk.problems if p != aborted]
    desk.shoot("console-finance-settlements")


def test_the_digest_page_lists_the_days_with_a_digest(
    desk: Screen, cloud: LocalCloud, files_day: date
) -> None:
    morning = files_day + timedelta(days=1)
    sign_in(desk, "finance", "browser-digest-days")
    desk.open(f"/console/#/finance/digest/{morning.isoformat()}")
    desk.page.get_by_test_id("digest").wait_for()
    desk.page.get_by_test_id(f"day-{morning.isoformat()}").wait_for()
