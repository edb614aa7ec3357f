"""Money coming in, as finance and the funders are told of it: one record per payment
applied (keyed by its channel reference) and one per failed debit, by business day.

Recorded after the ledger took the payment; a callback delivered again records the same
record again (the same key), so a record lost to a crash in between comes with the
channel's redelivery, which goes on until the callback is acknowledged.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from lending.loans.model import Loan
from lending.servicing.digest import FailedDebit, PaymentRow
from lending.servicing.ledger import Component, Entry
from lending.servicing.repayments import PaymentOrder


class Collections(Protocol):
    def record_payment(self, row: PaymentRow, funder_reference: str) -> None: ...

    def record_failure(self, failure: FailedDebit) -> None: ...

    def payments(self, first: date, last: date) -> list[tuple[PaymentRow, str]]:
        """Payments of the days first..last, each with the funder's reference of its loan."""

    def failures(self, first: date, last: date) -> list[FailedDebit]: ...


def payment_row(loan: Loan, order: PaymentOrder, payment: Entry, day: date) -> PaymentRow:
    """A payment as the allocation applied it (its repayment entry's postings, which sum
    to the amount paid): each component paid, and what was held as a credit."""

    def paid(component: Component) -> int:
        return -sum(p.amount_fen for p in payment.postings if p.component is component)

    return PaymentRow(
        day=day,
        loan_id=loan.id,
        funder_id=loan.funder_id,
        product_id=loan.product_id,
        channel="auto_debit" if order.purpose == "auto_debit" else "borrower",
        reference=payment.reference,
        principal_fen=paid(Component.PRINCIPAL),
        interest_fen=paid(Component.INTEREST),
        overdue_interest_fen=paid(Component.OVERDUE_INTEREST),
        fee_fen=paid(Component.FEE),
        credit_fen=paid(Component.CREDIT),
    )
