"""The applicants' H5 app in a phone-sized Chromium: products with their disclosure,
the application form (consents, field checks as you type) and the applications list."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.localcloud.cloud import LocalCloud
from infra.localcloud.http import call
from tests.browser.conftest import Screen, percent, yuan
from tests.conftest import People

pytestmark = [pytest.mark.localcloud]

SHANGHAI = ZoneInfo("Asia/Shanghai")
H5_SESSION = "lending.h5.session"


def _text(screen: Screen, testid: str) -> str:
    return str(screen.page.get_by_test_id(testid).inner_text())


def _disclosure(cloud: LocalCloud, product_id: str, amount_fen: int, term: int, method: str) -> Any:
    reply = call(
        "GET",
        f"{cloud.api_url}/v1/products/{product_id}/disclosure"
        f"?amount_fen={amount_fen}&term_months={term}&repayment_method={method}",
    )
    assert reply.status == 200, reply.body
    return reply.body


def _assert_disclosed(screen: Screen, d: dict[str, Any]) -> None:
    figures = {
        "d-amount": yuan(d["amount_fen"]),
        "d-first": yuan(d["first_payment_fen"]),
        "d-interest": yuan(d["total_interest_fen"]),
        "d-fees": yuan(d["total_fees_fen"]),
        "d-cost": yuan(d["total_cost_fen"]),
        "d-repayment": yuan(d["total_repayment_fen"]),
        "d-rate": percent(d["nominal_annual_rate"]),
        "d-apr": percent(d["apr"]),
    }
    for testid, expected in figures.items():
        assert expected in _text(screen, testid), (testid, expected, _text(screen, testid))


def test_the_disclosure_shows_the_apis_figures_in_yuan(h5: Screen, cloud: LocalCloud) -> None:
    products = {p["id"]: p for p in call("GET", f"{cloud.api_url}/v1/products").body["products"]}
    flex = products["consumer-flex"]
    example = flex["representative_example"]

    h5.open("/h5/")
    card = h5.page.get_by_test_id("product-consumer-flex")
    card.wait_for()
    listed = card.inner_text()
    assert flex["name_zh"] in listed
    assert yuan(flex["min_amount_fen"]) in listed and yuan(flex["max_amount_fen"]) in listed
    assert percent(example["apr"]) in listed
    # Every product of the API is listed.
    for product_id in products:
        assert h5.page.get_by_test_id(f"product-{product_id}").count() == 1
    h5.shoot("h5-products")

    card.get_by_test_id("product-details").click()
    h5.page.get_by_test_id("d-apr").wait_for()
    d = _disclosure(
        cloud, "consumer-flex", example["amount_fen"], example["term_months"], "equal_instalment"
    )
    _assert_disclosed(h5, d)
    page_text = h5.page.inner_text("body")
    assert "年化利率(单利)" in page_text
    assert _text(h5, "d-example") == d["representative_example_zh"]
    assert _text(h5, "d-risk") == d["risk_warning_zh"]
    h5.shoot("h5-disclosure")

    # Another term: the figures are the API's for that term, not computed in the page.
    h5.page.get_by_test_id("terms").get_by_text("12个月").click()
    d12 = _disclosure(cloud, "consumer-flex", example["amount_fen"], 12, "equal_instalment")
    h5.page.get_by_test_id("d-first").get_by_text(yuan(d12["first_payment_fen"])).wait_for()
    _assert_disclosed(h5, d12)


def test_a_product_with_fees_discloses_them(h5: Screen, cloud: LocalCloud) -> None:
    products = {p["id"]: p for p in call("GET", f"{cloud.api_url}/v1/products").body["products"]}
    instalment = products["consumer-instalment"]
    example = instalment["representative_example"]
    h5.open("/h5/#/products/consumer-instalment")
    h5.page.get_by_test_id("d-apr").wait_for()
    d = _disclosure(
        cloud,
        "consumer-instalment",
        example["amount_fen"],
        example["term_months"],
        "equal_instalment",
    )
    assert d["total_fees_fen"] > 0
    _assert_disclosed(h5, d)
    assert instalment["fees"][0]["name_zh"] in h5.page.inner_text("body")


def _fill(screen: Screen, testid: str, value: str) -> None:
    field = screen.page.get_by_test_id(testid).locator("input")
    field.fill("")
    field.press_sequentially(value)


def _checked(screen: Screen, testid: str) -> bool:
    return bool(screen.page.get_by_test_id(testid).get_attribute("aria-checked") == "true")


def test_an_invalid_id_number_is_flagged_as_it_is_typed(h5: Screen) -> None:
    h5.open("/h5/#/apply/consumer-flex")
    h5.page.get_by_test_id("apply-form").wait_for()
    id_field = h5.page.get_by_test_id("f-id")
    # The standard's example with a wrong check digit: flagged before leaving the field.
    _fill(h5, "f-id", "110105194912310021")
    id_field.get_by_text("身份证号校验位不正确").wait_for()
    assert id_field.locator("input").evaluate("el => el === document.activeElement")
    _fill(h5, "f-phone", "12345678901")
    _fill(h5, "f-card", "6222")
    _fill(h5, "f-name", "Zhang")
    h5.page.get_by_test_id("f-phone").get_by_text("请输入11位手机号").wait_for()
    h5.page.get_by_test_id("f-card").get_by_text("16–19位数字").wait_for()
    h5.page.get_by_test_id("f-name").get_by_text("请填写中文姓名").wait_for()
    h5.shoot("h5-apply-errors")
    # Corrected: the message goes away as the last character is typed.
    _fill(h5, "f-id", "11010519491231002X")
    id_field.get_by_text("身份证号校验位不正确").wait_for(state="detached")
    assert "身份证号" in id_field.inner_text()


def test_an_application_needs_both_consents_then_appears_in_the_list(
    h5: Screen, cloud: LocalCloud, people: People
) -> None:
    who = people.next()
    posts: list[str] = []
    h5.page.on(
        "request",
        lambda r: (
            posts.append(r.url)
            if r.method == "POST" and r.url.endswith("/v1/applications")
            else None
        ),
    )
    h5.open("/h5/#/apply/consumer-flex")
    h5.page.get_by_test_id("apply-form").wait_for()
    _fill(h5, "f-amount", "20000")
    h5.page.get_by_test_id("f-term").select_option("12")
    h5.page.get_by_test_id("f-purpose").select_option("electronics")
    _fill(h5, "f-name", who.name)
    _fill(h5, "f-id", who.id_number)
    _fill(h5, "f-phone", who.phone)
    _fill(h5, "f-address", who.address)
    _fill(h5, "f-card", who.bank_card_number)
    _fill(h5, "f-income", "18000")
    _fill(h5, "f-debt", "2000")
    # The synthetic person passes every check as typed.
    assert h5.page.locator(".van-field__error-message").count() == 0

    # Both consents start unticked, and each one is needed.
    assert not _checked(h5, "consent-personal")
    assert not _checked(h5, "consent-credit")
    submit = h5.page.get_by_test_id("submit")
    submit.click()
    h5.page.get_by_test_id("consent-error").wait_for()
    h5.shoot("h5-apply-consents-refused")
    h5.page.get_by_test_id("consent-personal").click()
    assert _checked(h5, "consent-personal") and not _checked(h5, "consent-credit")
    submit.click()
    h5.page.get_by_test_id("consent-error").wait_for()
    assert posts == [], "the form was sent without both consents"

    h5.page.get_by_test_id("consent-credit").click()
    assert _checked(h5, "consent-credit")
    submit.click()
    h5.page.get_by_test_id("draft-hint").wait_for()
    assert len(posts) == 1
    application_id = h5.page.url.rsplit("/", 1)[-1]
    assert "20,000.00" in _text(h5, "a-amount")
    assert "草稿" in _text(h5, "status")
    h5.shoot("h5-application")

    # The API has it, for this browser's applicant, with what was typed.
    token = h5.session_token(H5_SESSION)
    mine = call("GET", f"{cloud.api_url}/v1/applications", token=token).body["applications"]
    assert [a["id"] for a in mine] == [application_id]
    created = mine[0]
    assert created["amount_fen"] == 20_000_00 and created["term_months"] == 12
    assert created["purpose"] == "electronics" and created["status"] == "draft"

    # And the list shows it, dated in China time although the browser is in New York.
    h5.page.get_by_test_id("tab-applications").click()
    row = h5.page.get_by_test_id(f"application-{application_id}")
    row.wait_for()
    listed = row.inner_text()
    assert "信用贷" in listed and "20,000.00" in listed and "草稿" in listed
    at = datetime.fromisoformat(created["created_at"]).astimezone(SHANGHAI)
    assert at.strftime("%Y-%m-%d %H:%M") in listed
    h5.shoot("h5-applications")


def test_the_english_switch(h5: Screen) -> None:
    h5.open("/h5/")
    h5.page.get_by_test_id("product-consumer-flex").wait_for()
    h5.page.get_by_test_id("lang-switch").click()
    h5.page.get_by_text("Loan products").wait_for()
    assert "Flexible Consumer Credit" in h5.page.inner_text("body")
    assert h5.page.evaluate("document.documentElement.lang") == "en"
    h5.shoot("h5-products-en")
    h5.page.get_by_test_id("lang-switch").click()
    h5.page.get_by_text("贷款产品").wait_for()
