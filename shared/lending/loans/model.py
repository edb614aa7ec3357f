"""A booked loan: the terms, the schedule, and where the money came from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

if TYPE_CHECKING:
    from lending.servicing.ledger import Entry

# The contract's penalty rate on overdue principal, a year (daily: / 360).
OVERDUE_ANNUAL_RATE = Decimal("0.18")


class InstalmentRecord(BaseModel):
    number: int
    due_date: date
    principal_fen: int
    interest_fen: int
    total_fen: int
    status: str = "due"


class Loan(BaseModel):
    id: str
    application_id: str
    applicant_id: str
    product_id: str
    funder_id: str
    principal_fen: int
    annual_rate: str
    apr: str
    term_months: int
    repayment_method: str
    overdue_annual_rate: str = str(OVERDUE_ANNUAL_RATE)
    disbursed_at: datetime
    payout_reference: str
    contract_sha256: str
    status: str = "current"
    instalments: list[InstalmentRecord]


class LoanRepository(Protocol):
    def book(self, loan: Loan, opening: Sequence[Entry]) -> bool:
        """Write the loan, its instalments and its ledger's opening entries, once (one
        transaction); False if it was already booked."""

    def get(self, loan_id: str) -> Loan | None: ...


def loan_id_for(application_id: str) -> str:
    """One application, one loan: the id is derived, so a retried booking finds it."""
    return "L" + application_id[1:]
