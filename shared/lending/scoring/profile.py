"""Merge source reports into one validated risk profile, and map it to model features.

Coverage is measured on valid values *before* defaults are filled, so a filled default can
never lift an applicant over the data-coverage bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from lending.scoring.sources import FieldValue, Product, SourceReport

Validator = Callable[[FieldValue], bool]


def _one_of(*allowed: str) -> Validator:
    options = frozenset(allowed)
    return lambda v: isinstance(v, str) and v in options


def _int_in(lo: int, hi: int) -> Validator:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


# Bureau field -> model column. The sandbox bureau speaks the German data set's vocabulary.
BUREAU_TO_MODEL: Final[Mapping[str, str]] = {
    "checking_status": "status_of_existing_checking_account",
    "credit_history": "credit_history",
    "savings": "savings_account_and_bonds",
    "employment_since": "present_employment_since",
    "instalment_burden_code": "installment_rate_in_percentage_of_disposable_income",
    "other_debtors": "other_debtors_or_guarantors",
    "residence_years_code": "present_residence_since",
    "property": "property",
    "age_years": "age_in_years",
    "other_instalment_plans": "other_installment_plans",
    "housing": "housing",
    "existing_credits": "number_of_existing_credits_at_this_bank",
    "job": "job",
    "dependants": "number_of_people_being_liable_to_provide_maintenance_for",
    "telephone": "telephone",
}

VALIDATORS: Final[Mapping[str, Validator]] = {
    "checking_status": _one_of(
        "... < 0 DM",
        "0 <= ... < 200 DM",
        "no checking account",
        "... >= 200 DM / salary assignments for at least 1 year",
    ),
    "credit_history": _one_of(
        "no credits taken/ all credits paid back duly",
        "all credits at this bank paid back duly",
        "existing credits paid back duly till now",
        "delay in paying off in the past",
        "critical account/ other credits existing (not at this bank)",
    ),
    "savings": _one_of(
        "... < 100 DM",
        "100 <= ... < 500 DM",
        "500 <= ... < 1000 DM",
        "... >= 1000 DM",
        "unknown/ no savings account",
    ),
    "employment_since": _one_of(
        "unemployed",
        "... < 1 year",
        "1 <= ... < 4 years",
        "4 <= ... < 7 years",
        "... >= 7 years",
    ),
    "instalment_burden_code": _int_in(1, 4),
    "other_debtors": _one_of("none", "co-applicant", "guarantor"),
    "residence_years_code": _int_in(1, 4),
    "property": _one_of(
        "real estate",
        "building society savings agreement/ life insurance",
        "car or other, not in attribute Savings account/bonds",
        "unknown / no property",
    ),
    "age_years": _int_in(18, 100),
    "other_instalment_plans": _one_of("bank", "stores", "none"),
    "housing": _one_of("rent", "own", "for free"),
    "existing_credits": _int_in(0, 50),
    "job": _one_of(
        "unemployed/ unskilled - non-resident",
        "unskilled - resident",
        "skilled employee / official",
        "management/ self-employed/ highly qualified employee/ officer",
    ),
    "dependants": _int_in(0, 20),
    "telephone": _one_of("none", "yes, registered under the customers name"),
    "enforcement_cases": _int_in(0, 100_000),
    "dishonest_debtor": _int_in(0, 1),
    "company_status": _one_of("存续", "在业", "吊销", "注销"),
    "years_established": _int_in(0, 200),
    "tax_grade": _one_of("A", "B", "C", "D", "M"),
    "annual_revenue_fen": _int_in(0, 10**15),
}

_CONSUMER = (*BUREAU_TO_MODEL, "enforcement_cases", "dishonest_debtor")
EXPECTED_FIELDS: Final[Mapping[Product, tuple[str, ...]]] = {
    "consumer": _CONSUMER,
    "business": (
        *_CONSUMER,
        "company_status",
        "years_established",
        "tax_grade",
        "annual_revenue_fen",
    ),
}

# Bureau semantics: no record of a guarantor / other plan / phone means "none".
FILL_DEFAULTS: Final[Mapping[str, str]] = {
    "other_debtors": "none",
    "other_instalment_plans": "none",
    "telephone": "none",
}

# Platform purpose codes -> the model's purpose vocabulary.
PURPOSE_TO_MODEL: Final[Mapping[str, str]] = {
    "car_new": "car (new)",
    "car_used": "car (used)",
    "furniture": "furniture/equipment",
    "electronics": "radio/television",
    "appliances": "domestic appliances",
    "repairs": "repairs",
    "education": "education",
    "retraining": "retraining",
    "business": "business",
    "other": "others",
}

# Requested amounts onto the training population (issue 12, point 3). The German card was
# fitted on 1970s Deutsche Mark (250-18,424 DM); read 1:1 as yuan, every loan of 9,271 yuan
# or more fell in its worst amount bin while our consumer products lend 500-200,000 yuan.
# Quantile mapping instead: an amount at percentile q of our consumer applicants' requests is
# scored as the German amount at percentile q, so "a large loan for this population" means
# the same in both. Piecewise linear between the 5% knots below, clamped at the ends.
AMOUNT_PERCENTILES: Final = tuple(range(0, 101, 5))
# German credit_amount (DM) at those percentiles (numpy's linear method; a test recomputes
# them from the data set).
GERMAN_AMOUNT_DM: Final = (
    250.0, 708.95, 932.0, 1157.55, 1262.0, 1365.5, 1479.4, 1602.65, 1906.8, 2100.55, 2319.5,
    2578.0, 2852.4, 3187.4, 3590.0, 3972.25, 4720.0, 5969.95, 7179.4, 9162.7, 18424.0,
)  # fmt: skip
# Our consumer applicants' requested amounts (yuan) at the same percentiles. Until enough of
# our own matured applications are counted (lending.scoring.profile.amount_knots recomputes
# this from observed requests), the assumption is log-uniform across the consumer products'
# limits, 500-200,000 yuan: equal shares of applicants per doubling of the amount, median
# 10,000 yuan (scored as the German median, 2,319.5 DM).
CONSUMER_AMOUNT_YUAN: Final = tuple(
    float(round(500 * 400 ** (q / 100))) for q in AMOUNT_PERCENTILES
)


def amount_knots(amounts_yuan: Iterable[float]) -> tuple[float, ...]:
    """Our applicants' amount percentiles (AMOUNT_PERCENTILES) from observed requests, to
    replace CONSUMER_AMOUNT_YUAN once enough applications are counted (linear method)."""
    xs = sorted(amounts_yuan)
    if len(xs) < 2:
        raise ValueError("need at least two amounts")
    out = []
    for q in AMOUNT_PERCENTILES:
        pos = (len(xs) - 1) * q / 100
        lo = int(pos)
        hi = min(lo + 1, len(xs) - 1)
        out.append(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))
    return tuple(out)


def _interpolate(x: Fraction, xs: Sequence[float], ys: Sequence[float]) -> Fraction:
    if x <= Fraction(xs[0]):
        return Fraction(ys[0])
    if x >= Fraction(xs[-1]):
        return Fraction(ys[-1])
    for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:], strict=False):
        a, b = Fraction(x0), Fraction(x1)
        if a <= x <= b:
            return Fraction(y0) + (Fraction(y1) - Fraction(y0)) * (x - a) / (b - a)
    raise AssertionError("knots are increasing")


def model_amount(requested_amount_fen: int) -> int:
    """The German-scale amount (whole DM, half up) the scorecard reads for a request."""
    dm = _interpolate(Fraction(requested_amount_fen, 100), CONSUMER_AMOUNT_YUAN, GERMAN_AMOUNT_DM)
    return math.floor(dm + Fraction(1, 2))


def amount_fen_for_model(amount_dm: int) -> int:
    """The request (fen) that model_amount maps to `amount_dm`: sandbox applicants ask for
    the amount whose mapped value is their German row's."""
    yuan = _interpolate(Fraction(amount_dm), GERMAN_AMOUNT_DM, CONSUMER_AMOUNT_YUAN)
    return math.floor(yuan * 100 + Fraction(1, 2))


@dataclass(frozen=True, slots=True)
class Application:
    requested_amount_fen: int
    term_months: int
    purpose: str  # a PURPOSE_TO_MODEL key
    monthly_income_fen: int
    existing_monthly_debt_fen: int


@dataclass(frozen=True, slots=True)
class RiskProfile:
    product: Product
    fields: dict[str, FieldValue]
    coverage: float
    missing: tuple[str, ...]  # expected fields with no valid value (before defaults)
    invalid: tuple[str, ...]  # fields whose reported value was dropped
    filled: tuple[str, ...]  # fields set from FILL_DEFAULTS
    sources: tuple[str, ...]
    incomplete_sources: tuple[str, ...]  # reported complete=False, or unavailable

    @property
    def judicial_blacklisted(self) -> bool:
        return self.fields.get("dishonest_debtor") == 1


def clean_and_merge(
    reports: Iterable[SourceReport],
    product: Product = "consumer",
    unavailable: Iterable[str] = (),
) -> RiskProfile:
    merged: dict[str, FieldValue] = {}
    invalid: list[str] = []
    sources: list[str] = []
    incomplete = list(unavailable)
    for report in reports:
        sources.append(report.source)
        if not report.complete:
            incomplete.append(report.source)
        for name, value in report.fields.items():
            if value is None or merged.get(name) is not None:
                continue  # first valid value wins; None is "not reported"
            check = VALIDATORS.get(name)
            if check is None or check(value):
                merged[name] = value
            else:
                invalid.append(name)
    expected = EXPECTED_FIELDS[product]
    missing = tuple(f for f in expected if merged.get(f) is None)
    coverage = (len(expected) - len(missing)) / len(expected)
    filled = tuple(f for f in missing if f in FILL_DEFAULTS)
    for name in filled:
        merged[name] = FILL_DEFAULTS[name]
    return RiskProfile(
        product,
        merged,
        coverage,
        missing,
        tuple(invalid),
        filled,
        tuple(sources),
        tuple(incomplete),
    )


def features_for_model(profile: RiskProfile, application: Application) -> dict[str, str | int]:
    """Model inputs; absent values are left out so the scorecard uses its missing bin."""
    features: dict[str, str | int] = {}
    for source_name, model_name in BUREAU_TO_MODEL.items():
        value = profile.fields.get(source_name)
        if value is not None:
            features[model_name] = value
    features["duration_in_month"] = application.term_months
    # Term in months means the same in both populations; the amount is quantile-mapped.
    features["credit_amount"] = model_amount(application.requested_amount_fen)
    purpose = PURPOSE_TO_MODEL.get(application.purpose)
    if purpose is not None:
        features["purpose"] = purpose
    return features
