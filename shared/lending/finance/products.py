"""Product catalogue and pre-contract cost disclosure (借款综合成本披露).

Every figure a borrower sees before signing comes from ``disclose``: the nominal contract rate
(年利率, simple), the IRR-method APR (年化利率) including all fees, first/last payment, totals,
a representative example and the risk warning. The comprehensive cost must not exceed
``APR_CAP`` (24%); ``disclose`` checks the *unrounded* IRR so rounding can never hide a breach.

Fee rounding: basis-point fees are ``principal × bps / 10000`` rounded half-up to the fen.
Upfront fees are paid by the borrower at drawdown and never withheld from the principal
(withholding, 砍头息, is forbidden by Civil Code art. 670); for the APR they reduce the money the
borrower actually has at t=0. Periodic fees are added to every instalment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lending.finance.apr import compute_apr
from lending.finance.schedule import (
    RepaymentMethod,
    build_schedule,
    format_yuan,
    round_half_up_fen,
)
from lending.servicing.delinquency import TierThresholds

__all__ = [
    "APR_CAP",
    "CATALOGUE",
    "Disclosure",
    "DocumentType",
    "Eligibility",
    "Fee",
    "FeeKind",
    "Product",
    "ProductError",
    "ProductType",
    "disclose",
    "format_rate",
    "get_product",
    "list_products",
]

APR_CAP = Decimal("0.24")  # regulatory ceiling on comprehensive financing cost (IRR APR)
_BPS = Decimal(10_000)
# Amounts and the IRR do not depend on calendar dates, so disclosure uses a fixed anchor.
_DISCLOSURE_ANCHOR = date(2000, 1, 1)


class ProductError(ValueError):
    """A request that the product does not allow; ``code`` is stable for API clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ProductType(StrEnum):
    CONSUMER = "consumer"
    BUSINESS = "business"


class DocumentType(StrEnum):
    ID_FRONT = "id_front"
    ID_BACK = "id_back"
    BANK_CARD = "bank_card"
    BUSINESS_LICENCE = "business_licence"


class FeeKind(StrEnum):
    UPFRONT_FLAT = "upfront_flat"  # value in fen, once, paid at drawdown
    UPFRONT_BPS = "upfront_bps"  # value in bps of principal, once, paid at drawdown
    PERIODIC_BPS = "periodic_bps"  # value in bps of principal, with every instalment


_FROZEN = ConfigDict(frozen=True, extra="forbid", strict=True)


class Fee(BaseModel):
    model_config = _FROZEN

    kind: FeeKind
    value: int = Field(ge=0)
    name_zh: str
    name_en: str

    def amount_fen(self, principal_fen: int) -> int:
        """Fee per occurrence in fen (bps fees rounded half-up to the fen)."""
        if self.kind is FeeKind.UPFRONT_FLAT:
            return self.value
        return round_half_up_fen(principal_fen * self.value / _BPS)


class Eligibility(BaseModel):
    model_config = _FROZEN

    min_age: int = Field(ge=18)  # never lend to minors
    max_age: int
    min_company_age_months: int | None = None  # business products only
    conditions_zh: tuple[str, ...]
    conditions_en: tuple[str, ...]


_BASE_DOCUMENTS = frozenset({DocumentType.ID_FRONT, DocumentType.ID_BACK, DocumentType.BANK_CARD})


class Product(BaseModel):
    model_config = _FROZEN

    id: str
    name_zh: str
    name_en: str
    product_type: ProductType
    min_amount_fen: int = Field(gt=0)
    max_amount_fen: int
    terms_months: tuple[int, ...]
    repayment_methods: tuple[RepaymentMethod, ...]
    min_annual_rate: Decimal = Field(ge=0)
    max_annual_rate: Decimal
    fees: tuple[Fee, ...] = ()
    eligibility: Eligibility
    required_documents: tuple[DocumentType, ...]
    risk_warning_zh: str
    risk_warning_en: str
    # Days overdue beyond which a loan is at least each of the five tiers: the regulatory
    # floors, or stricter (TierThresholds refuses looser).
    tier_thresholds: TierThresholds = TierThresholds()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_amount_fen > self.max_amount_fen:
            raise ValueError("min_amount_fen > max_amount_fen")
        if not self.terms_months or any(t <= 0 for t in self.terms_months):
            raise ValueError("terms_months must be non-empty and positive")
        if not self.repayment_methods:
            raise ValueError("at least one repayment method")
        if not self.min_annual_rate <= self.max_annual_rate <= APR_CAP:
            raise ValueError("rate range must satisfy 0 <= min <= max <= APR_CAP")
        if self.eligibility.min_age > self.eligibility.max_age:
            raise ValueError("eligibility min_age > max_age")
        docs = set(self.required_documents)
        if not docs >= _BASE_DOCUMENTS:
            raise ValueError("ID (both sides) and bank card are always required")
        if self.product_type is ProductType.BUSINESS:
            if DocumentType.BUSINESS_LICENCE not in docs:
                raise ValueError("business products require the business licence")
            if (self.eligibility.min_company_age_months or 0) < 12:
                raise ValueError("business products require a company of at least 12 months")
        return self

    def upfront_fee_fen(self, principal_fen: int) -> int:
        return sum(
            f.amount_fen(principal_fen) for f in self.fees if f.kind is not FeeKind.PERIODIC_BPS
        )

    def periodic_fee_fen(self, principal_fen: int) -> int:
        return sum(f.amount_fen(principal_fen) for f in self.fees if f.kind is FeeKind.PERIODIC_BPS)


class Disclosure(BaseModel):
    """Pre-contract disclosure. Payments include any per-period fee; totals are in fen."""

    model_config = _FROZEN

    product_id: str
    product_name_zh: str
    product_name_en: str
    amount_fen: int
    term_months: int
    repayment_method: RepaymentMethod
    nominal_annual_rate: Decimal  # contract rate, simple (年利率/单利)
    apr: Decimal  # IRR method, 12 × monthly IRR, 4 dp (年化利率)
    effective_annual_rate: Decimal  # (1 + monthly IRR)^12 − 1, 4 dp
    first_payment_fen: int
    last_payment_fen: int
    total_interest_fen: int
    upfront_fee_fen: int
    total_fees_fen: int
    total_cost_fen: int  # interest + fees
    total_repayment_fen: int  # principal + interest + all fees
    representative_example_zh: str
    representative_example_en: str
    risk_warning_zh: str
    risk_warning_en: str


def format_rate(rate: Decimal) -> str:
    """Decimal rate as a percentage, 2 dp half-up, e.g. Decimal('0.1234') -> '12.34%'."""
    return f"{(rate * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


_CONSUMER_WARNING_ZH = (
    "风险提示：请理性借款，量入为出，根据自身收入和还款能力合理确定借款金额与期限，避免过度负债。"
    "本产品不向在校学生发放。借款不得用于购房、股票、期货、理财等投资及任何违法用途。"
    "请按期足额还款：逾期将按合同计收逾期利息并可能被依法催收，逾期信息将依法报送"
    "中国人民银行征信系统，影响您的个人信用记录以及今后办理贷款、信用卡等金融业务。"
    "我司不会以任何名义要求您向个人账户转账或提前支付费用，谨防诈骗。"
)
_CONSUMER_WARNING_EN = (
    "Risk warning: borrow within your means. Choose an amount and term you can repay from your "
    "income and avoid over-indebtedness. Not available to students. Loan proceeds may not be used "
    "to buy property, securities, futures or other investments, or for any unlawful purpose. "
    "Repay in full and on time: overdue amounts accrue penalty interest under the contract and may "
    "be collected in accordance with the law, and overdue records are reported to the PBoC Credit "
    "Reference Center, which will damage your credit report and your future access to loans and "
    "credit cards. We never ask you to pay fees in advance or transfer money to a personal "
    "account; beware of fraud."
)
_BUSINESS_WARNING_ZH = (
    "风险提示：请根据企业真实经营需要和现金流合理借款，量入为出，避免过度负债。借款仅可用于企业"
    "日常生产经营，不得用于购房、股票、期货等投资或任何违法用途，我司可对资金用途进行核查。"
    "请按期足额还款：逾期将按合同计收逾期利息并可能被依法催收，逾期信息将依法报送中国人民银行"
    "征信系统，影响企业及其法定代表人、经营者的信用记录和今后的融资。"
    "我司不会以任何名义要求向个人账户转账或提前支付费用，谨防诈骗。"
)
_BUSINESS_WARNING_EN = (
    "Risk warning: borrow only what the business genuinely needs and its cash flow can repay; "
    "avoid over-indebtedness. Proceeds may be used only for day-to-day business operations, not "
    "for property, securities, futures or other investments or any unlawful purpose, and we may "
    "verify their use. Repay in full and on time: overdue amounts accrue penalty interest under "
    "the contract and may be collected in accordance with the law, and overdue records are "
    "reported to the PBoC Credit Reference Center, affecting the credit reports of the business "
    "and its legal representative or operator and their future financing. We never ask for "
    "advance fees or transfers to a personal account; beware of fraud."
)
_CONSUMER_DOCS = (DocumentType.ID_FRONT, DocumentType.ID_BACK, DocumentType.BANK_CARD)
_BUSINESS_DOCS = (*_CONSUMER_DOCS, DocumentType.BUSINESS_LICENCE)
_CONSUMER_ELIGIBILITY = Eligibility(
    min_age=18,
    max_age=60,
    conditions_zh=(
        "年满18周岁且不超过60周岁的中国大陆居民，持有效居民身份证",
        "非在校学生，有稳定收入来源",
        "本人名下借记卡用于放款和还款",
        "征信无严重不良记录",
    ),
    conditions_en=(
        "Mainland China resident aged 18 to 60 with a valid resident ID card",
        "Not a student; stable source of income",
        "A debit card in the applicant's own name for disbursement and repayment",
        "No serious adverse credit record",
    ),
)


def _business_eligibility(min_company_months: int, extra_zh: str, extra_en: str) -> Eligibility:
    years = min_company_months // 12
    return Eligibility(
        min_age=18,
        max_age=65,
        min_company_age_months=min_company_months,
        conditions_zh=(
            "申请人为企业法定代表人或个体工商户经营者，年满18周岁且不超过65周岁",
            f"营业执照有效，持续经营满{years}年",
            "企业及申请人征信无严重不良记录，无重大涉诉",
            extra_zh,
        ),
        conditions_en=(
            "Applicant is the legal representative of the company or the operator of the "
            "individual business, aged 18 to 65",
            f"Valid business licence; in continuous operation for at least {years} year(s)",
            "No serious adverse credit record or material litigation for the business or applicant",
            extra_en,
        ),
    )


_PRODUCTS = (
    Product(
        id="consumer-flex",
        name_zh="信用贷",
        name_en="Flexible Consumer Credit",
        product_type=ProductType.CONSUMER,
        min_amount_fen=1_000_00,
        max_amount_fen=200_000_00,
        terms_months=(3, 6, 9, 12, 18, 24),
        repayment_methods=(RepaymentMethod.EQUAL_INSTALMENT,),
        min_annual_rate=Decimal("0.072"),
        max_annual_rate=Decimal("0.18"),
        eligibility=_CONSUMER_ELIGIBILITY,
        required_documents=_CONSUMER_DOCS,
        risk_warning_zh=_CONSUMER_WARNING_ZH,
        risk_warning_en=_CONSUMER_WARNING_EN,
    ),
    Product(
        id="consumer-instalment",
        name_zh="消费分期",
        name_en="Purchase Instalment Plan",
        product_type=ProductType.CONSUMER,
        min_amount_fen=500_00,
        max_amount_fen=50_000_00,
        terms_months=(6, 12),
        repayment_methods=(RepaymentMethod.EQUAL_INSTALMENT,),
        min_annual_rate=Decimal("0"),
        max_annual_rate=Decimal("0.10"),
        # A flat monthly fee on the original principal: the APR is roughly double 12 × 0.30%,
        # which is exactly why the IRR figure must be disclosed next to it.
        fees=(
            Fee(
                kind=FeeKind.PERIODIC_BPS,
                value=30,
                name_zh="分期服务费(每期, 按借款本金0.30%)",
                name_en="Instalment service fee (per instalment, 0.30% of principal)",
            ),
        ),
        eligibility=_CONSUMER_ELIGIBILITY,
        required_documents=_CONSUMER_DOCS,
        risk_warning_zh=_CONSUMER_WARNING_ZH,
        risk_warning_en=_CONSUMER_WARNING_EN,
    ),
    Product(
        id="business-operating",
        name_zh="经营贷",
        name_en="Small Business Operating Loan",
        product_type=ProductType.BUSINESS,
        min_amount_fen=50_000_00,
        max_amount_fen=3_000_000_00,
        terms_months=(12, 24, 36),
        repayment_methods=(RepaymentMethod.EQUAL_PRINCIPAL, RepaymentMethod.INTEREST_FIRST),
        min_annual_rate=Decimal("0.06"),
        max_annual_rate=Decimal("0.15"),
        fees=(
            Fee(
                kind=FeeKind.UPFRONT_BPS,
                value=100,
                name_zh="一次性服务费(按借款本金1.00%, 放款时支付)",
                name_en="One-off service fee (1.00% of principal, paid at drawdown)",
            ),
        ),
        eligibility=_business_eligibility(
            12,
            "近12个月经营流水真实稳定",
            "Genuine, stable operating cash flow in the last 12 months",
        ),
        required_documents=_BUSINESS_DOCS,
        risk_warning_zh=_BUSINESS_WARNING_ZH,
        risk_warning_en=_BUSINESS_WARNING_EN,
        # A business loan 60 days late is already 次级 (stricter than the 90-day floor).
        tier_thresholds=TierThresholds(substandard=60),
    ),
    Product(
        id="business-tax",
        name_zh="税易贷",
        name_en="Tax-record Micro-business Loan",
        product_type=ProductType.BUSINESS,
        min_amount_fen=20_000_00,
        max_amount_fen=1_000_000_00,
        terms_months=(6, 12, 24),
        repayment_methods=(
            RepaymentMethod.EQUAL_INSTALMENT,
            RepaymentMethod.EQUAL_PRINCIPAL,
            RepaymentMethod.INTEREST_FIRST,
        ),
        min_annual_rate=Decimal("0.072"),
        max_annual_rate=Decimal("0.18"),
        fees=(
            Fee(
                kind=FeeKind.UPFRONT_FLAT,
                value=100_00,
                name_zh="账户开立费(100元, 放款时支付)",
                name_en="Account set-up fee (CNY 100, paid at drawdown)",
            ),
        ),
        eligibility=_business_eligibility(
            24,
            "近24个月按时纳税，纳税信用等级A、B或M级",
            "Taxes filed on time for the last 24 months; tax credit rating A, B or M",
        ),
        required_documents=_BUSINESS_DOCS,
        risk_warning_zh=_BUSINESS_WARNING_ZH,
        risk_warning_en=_BUSINESS_WARNING_EN,
    ),
)

CATALOGUE: Mapping[str, Product] = MappingProxyType({p.id: p for p in _PRODUCTS})


def get_product(product_id: str) -> Product:
    try:
        return CATALOGUE[product_id]
    except KeyError:
        raise ProductError("unknown_product", f"unknown product {product_id!r}") from None


def list_products(product_type: ProductType | None = None) -> list[Product]:
    return [p for p in _PRODUCTS if product_type is None or p.product_type is product_type]


def _check_request(
    product: Product,
    amount_fen: int,
    term_months: int,
    method: RepaymentMethod | str,
    annual_rate: Decimal,
) -> RepaymentMethod:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise ProductError("invalid_amount", "amount must be an integer number of fen")
    if not product.min_amount_fen <= amount_fen <= product.max_amount_fen:
        raise ProductError(
            "amount_out_of_range",
            f"amount must be between {format_yuan(product.min_amount_fen)} and "
            f"{format_yuan(product.max_amount_fen)} yuan",
        )
    if term_months not in product.terms_months:
        allowed = ", ".join(str(t) for t in product.terms_months)
        raise ProductError("term_not_allowed", f"term must be one of {allowed} months")
    try:
        parsed = RepaymentMethod(method)
    except ValueError:
        parsed = None
    if parsed is None or parsed not in product.repayment_methods:
        allowed = ", ".join(m.value for m in product.repayment_methods)
        raise ProductError("method_not_allowed", f"repayment method must be one of {allowed}")
    if not isinstance(annual_rate, Decimal) or not annual_rate.is_finite():
        raise ProductError("invalid_rate", "annual_rate must be a finite Decimal")
    if not product.min_annual_rate <= annual_rate <= product.max_annual_rate:
        raise ProductError(
            "rate_out_of_range",
            f"annual rate must be between {format_rate(product.min_annual_rate)} and "
            f"{format_rate(product.max_annual_rate)}",
        )
    return parsed


def disclose(
    product_id: str,
    amount_fen: int,
    term_months: int,
    method: RepaymentMethod | str,
    annual_rate: Decimal,
) -> Disclosure:
    """Validate a loan request against the product and compute its cost disclosure.

    Raises ``ProductError`` (codes: unknown_product, invalid_amount, amount_out_of_range,
    term_not_allowed, method_not_allowed, invalid_rate, rate_out_of_range, apr_above_cap).
    """
    product = get_product(product_id)
    parsed = _check_request(product, amount_fen, term_months, method, annual_rate)
    schedule = build_schedule(parsed, amount_fen, annual_rate, term_months, _DISCLOSURE_ANCHOR)
    upfront = product.upfront_fee_fen(amount_fen)
    periodic = product.periodic_fee_fen(amount_fen)
    apr = compute_apr(schedule, upfront_fee_fen=upfront, periodic_fee_fen=periodic)
    if apr.nominal_apr_unrounded > APR_CAP:
        raise ProductError(
            "apr_above_cap",
            f"APR {format_rate(apr.nominal_apr)} exceeds the {format_rate(APR_CAP)} cap",
        )

    first = schedule.instalments[0].total_fen + periodic
    last = schedule.instalments[-1].total_fen + periodic
    total_repayment = schedule.total_repayment_fen + apr.total_fees_fen
    facts_zh = (
        f"示例：借款{format_yuan(amount_fen)}元，期限{term_months}个月，{parsed.label_zh}，"
        f"借款年利率{format_rate(annual_rate)}，年化利率(单利){format_rate(apr.nominal_apr)}"
        f"（按内部收益率法计算，含全部费用；复利{format_rate(apr.effective_apr)}），"
        f"首期应还{format_yuan(first)}元，末期应还{format_yuan(last)}元，"
        f"利息合计{format_yuan(apr.total_interest_fen)}元，费用合计{format_yuan(apr.total_fees_fen)}元，"
        f"还款总额{format_yuan(total_repayment)}元。"
    )
    facts_en = (
        f"Example: borrowing CNY {format_yuan(amount_fen)} over {term_months} months, "
        f"{parsed.label_en.lower()}, at a nominal annual rate of {format_rate(annual_rate)} "
        f"(annualised rate {format_rate(apr.nominal_apr)} simple, "
        f"{format_rate(apr.effective_apr)} compounded; IRR method, all fees included): "
        f"first payment "
        f"CNY {format_yuan(first)}, last payment CNY {format_yuan(last)}, total interest "
        f"CNY {format_yuan(apr.total_interest_fen)}, "
        f"total fees CNY {format_yuan(apr.total_fees_fen)}, "
        f"total repayable CNY {format_yuan(total_repayment)}."
    )
    return Disclosure(
        product_id=product.id,
        product_name_zh=product.name_zh,
        product_name_en=product.name_en,
        amount_fen=amount_fen,
        term_months=term_months,
        repayment_method=parsed,
        nominal_annual_rate=annual_rate,
        apr=apr.nominal_apr,
        effective_annual_rate=apr.effective_apr,
        first_payment_fen=first,
        last_payment_fen=last,
        total_interest_fen=apr.total_interest_fen,
        upfront_fee_fen=upfront,
        total_fees_fen=apr.total_fees_fen,
        total_cost_fen=apr.total_cost_fen,
        total_repayment_fen=total_repayment,
        representative_example_zh=facts_zh,
        representative_example_en=facts_en,
        risk_warning_zh=product.risk_warning_zh,
        risk_warning_en=product.risk_warning_en,
    )
