"""Merge source reports into one validated risk profile, and map it to model features.

Coverage is measured on valid values *before* defaults are filled, so a filled default can
never lift an applicant over the data-coverage bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
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

# The German baseline was fitted on DM amounts; yuan are used 1:1 as the model's amount
# unit until the model is retrained on local data.
FEN_PER_MODEL_AMOUNT_UNIT: Final = 100


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
    features["credit_amount"] = application.requested_amount_fen // FEN_PER_MODEL_AMOUNT_UNIT
    purpose = PURPOSE_TO_MODEL.get(application.purpose)
    if purpose is not None:
        features["purpose"] = purpose
    return features
