"""Book: the paid-out application becomes a loan with its repayment schedule, once.

`book_loan` is also how a payout confirmed after the funding wait gave up is booked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lending.applications.model import Application, Offer, Outcome, Status
from lending.errors import Conflict
from lending.finance import Schedule, build_schedule
from lending.loans.model import InstalmentRecord, Loan, LoanRepository, loan_id_for
from lending.origination.base import Step
from lending.origination.states import LoanBooked
from lending.servicing.account import account_of, business_day


@dataclass
class Booking(Step):
    loans: LoanRepository

    def book(self, application_id: str) -> LoanBooked:
        app = self._load(application_id)
        if app.status is Status.DISBURSED and app.loan_id:
            return LoanBooked(loan_id=app.loan_id)
        book_loan(app, self.loans, self.clock.now())
        self._save(app, "loan_booked", loan_id=app.loan_id)
        return LoanBooked(loan_id=app.loan_id or "")


def offer_schedule(offer: Offer, disbursed_on: date) -> Schedule:
    """The repayment plan of an offer: the contract shows it, the booked loan keeps it."""
    return build_schedule(
        offer.repayment_method,
        offer.amount_fen,
        Decimal(offer.annual_rate),
        offer.term_months,
        disbursed_on,
    )


def book_loan(app: Application, loans: LoanRepository, now: datetime) -> None:
    """Write the loan (once: a conditional write) and mark the application disbursed.

    The caller saves the application; booking again after a lost save is harmless."""
    offer, funding, contract = app.offer, app.funding, app.contract
    if offer is None or contract is None or funding is None or funding.paid_at is None:
        raise Conflict("the loan is not paid out yet", "not_paid")
    schedule = offer_schedule(offer, business_day(funding.paid_at))
    loan = Loan(
        id=loan_id_for(app.id),
        application_id=app.id,
        applicant_id=app.applicant_id,
        product_id=app.product_id,
        funder_id=funding.funder_id,
        principal_fen=offer.amount_fen,
        annual_rate=offer.annual_rate,
        apr=offer.apr,
        term_months=offer.term_months,
        repayment_method=offer.repayment_method,
        disbursed_at=funding.paid_at,
        payout_reference=funding.payout_reference or "",
        contract_sha256=contract.sha256_hex,
        instalments=[
            InstalmentRecord(
                number=i.number,
                due_date=i.due_date,
                principal_fen=i.principal_fen,
                interest_fen=i.interest_fen,
                total_fen=i.total_fen,
            )
            for i in schedule.instalments
        ],
    )
    opening = account_of(loan).entries  # the ledger opens with the disbursement
    loans.book(loan, opening)  # False on a retry: the loan is already there, booked once
    app.loan_id = loan.id
    app.status = Status.DISBURSED
    app.tokens.pop("funding", None)
    app.outcome = Outcome(status=Status.DISBURSED, at=now)
