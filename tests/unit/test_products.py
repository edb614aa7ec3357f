"""Product catalogue and cost disclosure."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from lending.finance import (
    APR_CAP,
    CATALOGUE,
    DocumentType,
    ProductError,
    ProductType,
    RepaymentMethod,
    disclose,
    format_rate,
    get_product,
    list_products,
)


def test_catalogue_shape() -> None:
    assert len(list_products(ProductType.CONSUMER)) >= 2
    assert len(list_products(ProductType.BUSINESS)) >= 2
    for p in CATALOGUE.values():
        assert p.name_zh and p.name_en
        assert "征信" in p.risk_warning_zh and "credit" in p.risk_warning_en.lower()
        assert {DocumentType.ID_FRONT, DocumentType.ID_BACK, DocumentType.BANK_CARD} <= set(
            p.required_documents
        )
        if p.product_type is ProductType.BUSINESS:
            assert DocumentType.BUSINESS_LICENCE in p.required_documents
            assert (p.eligibility.min_company_age_months or 0) >= 12
        else:
            assert (p.eligibility.min_age, p.eligibility.max_age) == (18, 60)


@pytest.mark.parametrize("product_id", list(CATALOGUE))
def test_every_product_corner_stays_under_cap(product_id: str) -> None:
    p = CATALOGUE[product_id]
    for term in p.terms_months:
        for method in p.repayment_methods:
            for amount in (p.min_amount_fen, p.max_amount_fen):
                d = disclose(product_id, amount, term, method, p.max_annual_rate)
                assert d.apr <= APR_CAP


def test_disclosure_numbers_no_fee() -> None:
    # Textbook: 100,000 yuan, 12 months, 12% equal instalment -> 8,884.88 a month.
    d = disclose("consumer-flex", 100_000_00, 12, RepaymentMethod.EQUAL_INSTALMENT, Decimal("0.12"))
    assert d.nominal_annual_rate == Decimal("0.12")
    assert d.apr == Decimal("0.1200")
    assert d.effective_annual_rate == Decimal("0.1268")
    assert d.first_payment_fen == 8_884_88
    assert d.last_payment_fen == 8_884_85
    assert d.total_interest_fen == 6_618_53
    assert d.total_fees_fen == 0
    assert d.total_cost_fen == 6_618_53
    assert d.total_repayment_fen == 106_618_53
    assert "首期应还8,884.88元" in d.representative_example_zh
    # The regulator's wording: the ×12 IRR figure is 年化利率(单利); the compounded one 复利.
    assert "年化利率(单利)12.00%" in d.representative_example_zh
    assert f"复利{format_rate(d.effective_annual_rate)}" in d.representative_example_zh
    assert "annualised rate 12.00% simple, 12.68% compounded" in d.representative_example_en
    assert d.risk_warning_zh == get_product("consumer-flex").risk_warning_zh


def test_disclosure_with_periodic_fee() -> None:
    d = disclose("consumer-instalment", 10_000_00, 12, "equal_instalment", Decimal(0))
    assert d.total_interest_fen == 0
    assert d.total_fees_fen == 12 * 30_00
    assert d.first_payment_fen == 833_33 + 30_00
    assert d.total_repayment_fen == 10_000_00 + 360_00
    assert d.apr == Decimal("0.0658")  # well above the "3.6% a year" the fee might suggest


def test_disclosure_with_upfront_fee() -> None:
    d = disclose("business-operating", 100_000_00, 12, "interest_first", Decimal("0.12"))
    assert d.upfront_fee_fen == 1_000_00
    assert d.total_fees_fen == 1_000_00
    assert d.first_payment_fen == 1_000_00  # interest only
    assert d.last_payment_fen == 101_000_00
    assert d.total_cost_fen == 12_000_00 + 1_000_00
    assert d.apr > d.nominal_annual_rate


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("nope", 10_000_00, 12, "equal_instalment", Decimal("0.1")), "unknown_product"),
        (("consumer-flex", 999_99, 12, "equal_instalment", Decimal("0.1")), "amount_out_of_range"),
        (
            ("consumer-flex", 200_000_01, 12, "equal_instalment", Decimal("0.1")),
            "amount_out_of_range",
        ),
        (("consumer-flex", 10_000.0, 12, "equal_instalment", Decimal("0.1")), "invalid_amount"),
        (("consumer-flex", 10_000_00, 7, "equal_instalment", Decimal("0.1")), "term_not_allowed"),
        (("consumer-flex", 10_000_00, 12, "interest_first", Decimal("0.1")), "method_not_allowed"),
        (("consumer-flex", 10_000_00, 12, "balloon", Decimal("0.1")), "method_not_allowed"),
        (("consumer-flex", 10_000_00, 12, "equal_instalment", 0.1), "invalid_rate"),
        (
            ("consumer-flex", 10_000_00, 12, "equal_instalment", Decimal("0.19")),
            "rate_out_of_range",
        ),
        (
            ("consumer-flex", 10_000_00, 12, "equal_instalment", Decimal("0.05")),
            "rate_out_of_range",
        ),
    ],
)
def test_disclose_errors(args: tuple[object, ...], code: str) -> None:
    with pytest.raises(ProductError) as exc:
        disclose(*args)  # type: ignore[arg-type]
    assert exc.value.code == code
    assert isinstance(exc.value, ValueError)


def test_apr_cap_is_enforced_on_fees() -> None:
    # A product whose fee pushes the comprehensive cost over 24% must be refused.
    base = get_product("business-tax")
    fee = base.fees[0].model_copy(update={"value": 2_000_00})
    greedy = base.model_copy(update={"id": "greedy", "fees": (fee,)})
    from lending.finance import products as mod

    patched = dict(mod.CATALOGUE)
    patched["greedy"] = greedy
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mod, "CATALOGUE", patched)
        with pytest.raises(ProductError) as exc:
            disclose("greedy", 20_000_00, 6, "equal_principal", Decimal("0.18"))
    assert exc.value.code == "apr_above_cap"


def test_product_model_rejects_inconsistent_definitions() -> None:
    data = get_product("business-operating").model_dump()
    with pytest.raises(ValidationError):
        type(get_product("business-operating")).model_validate(
            {**data, "required_documents": (DocumentType.ID_FRONT,)}
        )
    with pytest.raises(ValidationError):
        type(get_product("business-operating")).model_validate(
            {**data, "max_annual_rate": Decimal("0.30")}
        )
    with pytest.raises(ValidationError):  # floats never accepted for money/rates
        type(get_product("business-operating")).model_validate({**data, "max_annual_rate": 0.15})
