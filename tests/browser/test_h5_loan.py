"""The borrower's loan in the H5 app (375x812): the list of their loans, the loan with its
schedule and what is due, and a repayment through the payment channel."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from infra.localcloud.cloud import LocalCloud
from infra.localcloud.miniprogram import Applicant
from tests.browser.conftest import Screen, yuan

pytestmark = [pytest.mark.localcloud]
WAIT_SECONDS = 240.0


@pytest.fixture(scope="module")
def borrower(borrowers: Callable[..., Applicant]) -> Applicant:
    return borrowers(27, WAIT_SECONDS)


def as_borrower(h5: Screen, borrower: Applicant) -> None:
    """The same WeChat user in the browser: the H5 app signs in with the kept code."""
    h5.open("/h5/")
    h5.page.evaluate(
        f"localStorage.setItem('lending.h5.code', {json.dumps(borrower.sandbox_code())});"
        "sessionStorage.clear();"
    )


def test_the_borrower_sees_the_loan_its_schedule_and_repays(
    h5: Screen, cloud: LocalCloud, borrower: Applicant
) -> None:
    loan_id = str(borrower.status()["loan_id"])
    before = borrower.loan(loan_id)
    as_borrower(h5, borrower)
    h5.open("/h5/#/loans")
    item = h5.page.get_by_test_id(f"loan-{loan_id}")
    item.wait_for()
    assert yuan(before["statement"]["principal_outstanding_fen"]) in item.inner_text()
    h5.shoot("h5-loans")

    item.click()
    h5.page.get_by_test_id("schedule").wait_for()
    statement = before["statement"]
    assert yuan(before["principal_fen"]) in h5.page.get_by_test_id("l-principal").inner_text()
    assert yuan(statement["due_now_fen"]) in h5.page.get_by_test_id("l-due-now").inner_text()
    assert yuan(before["payoff_fen"]) in h5.page.get_by_test_id("l-payoff").inner_text()
    upcoming = before["next_instalment"]
    assert upcoming["due_date"] in h5.page.get_by_test_id("l-next").inner_text()
    assert yuan(upcoming["amount_fen"]) in h5.page.get_by_test_id("l-next").inner_text()
    for inst in statement["instalments"]:
        row = h5.page.get_by_test_id(f"inst-{inst['number']}").inner_text()
        assert inst["due_date"] in row  # a calendar day in China, as the API gives it
        total = (
            inst["principal_fen"]
            + inst["interest_fen"]
            + inst["overdue_interest_fen"]
            + inst["fee_fen"]
        )
        assert yuan(total) in row
    h5.shoot("h5-loan")

    # An amount over the payoff is refused as it is typed.
    field = h5.page.get_by_test_id("pay-amount").locator("input")
    field.fill(yuan(before["payoff_fen"] + 100))
    assert "最多" in h5.page.get_by_test_id("pay").inner_text()
    field.fill("100.00")
    h5.page.get_by_test_id("pay-submit").click()
    result = h5.page.get_by_test_id("order-result")
    result.wait_for(timeout=60_000)
    assert "还款成功" in result.inner_text()
    after = borrower.loan(loan_id)["statement"]
    assert statement["principal_outstanding_fen"] - after["principal_outstanding_fen"] == 100_00
    h5.page.wait_for_function(
        "([el, text]) => el.innerText.includes(text)",
        arg=[
            h5.page.get_by_test_id("l-outstanding").element_handle(),
            yuan(after["principal_outstanding_fen"]),
        ],
    )
    h5.shoot("h5-loan-repaid")


def test_someone_without_a_loan_sees_none(h5: Screen) -> None:
    h5.open("/h5/#/loans")
    h5.page.get_by_test_id("no-loans").wait_for()
    assert "暂无借款" in h5.page.inner_text("body")
