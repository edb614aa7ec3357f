"""Loan maths: repayment schedules, IRR-method APR and the product catalogue.

Money is integer fen, rates are Decimal; see each module's docstring for its rounding rules.
"""

from lending.finance.apr import AprResult, compute_apr, monthly_irr, round_rate
from lending.finance.products import (
    APR_CAP,
    CATALOGUE,
    Disclosure,
    DocumentType,
    Eligibility,
    Fee,
    FeeKind,
    Product,
    ProductError,
    ProductType,
    disclose,
    format_rate,
    get_product,
    list_products,
)
from lending.finance.schedule import (
    Instalment,
    RepaymentMethod,
    Schedule,
    add_months,
    annuity_payment_fen,
    build_schedule,
    equal_instalment,
    equal_principal,
    format_yuan,
    interest_first,
    round_half_up_fen,
)

__all__ = [
    "APR_CAP",
    "CATALOGUE",
    "AprResult",
    "Disclosure",
    "DocumentType",
    "Eligibility",
    "Fee",
    "FeeKind",
    "Instalment",
    "Product",
    "ProductError",
    "ProductType",
    "RepaymentMethod",
    "Schedule",
    "add_months",
    "annuity_payment_fen",
    "build_schedule",
    "compute_apr",
    "disclose",
    "equal_instalment",
    "equal_principal",
    "format_rate",
    "format_yuan",
    "get_product",
    "interest_first",
    "list_products",
    "monthly_irr",
    "round_half_up_fen",
    "round_rate",
]
