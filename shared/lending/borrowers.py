"""What a borrower sees of their loans: the list (from their applications, no index of its
own), and each loan's statement with what is due now, the next instalment and the payoff;
the contract of their offer (to read before accepting, and the signed PDF afterwards) and
the reminders they were sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from lending.applications.casefile import DocumentLinks
from lending.applications.service import ApplicationService
from lending.auth import Principal, Role, require
from lending.contracts import contract_document
from lending.errors import NotFound
from lending.loans.model import Loan
from lending.origination.signing import contract_terms
from lending.ports import Clock
from lending.servicing.account import LoanAccount
from lending.servicing.reminders import SentReminder, text
from lending.servicing.repayments import Repayments
from lending.servicing.statement import statement

_OPEN = ("due", "partially_paid", "overdue")


def loan_view(loan: Loan, account: LoanAccount, today: date) -> dict[str, Any]:
    """The loan, its statement on `today`, the next instalment still owed and the payoff
    (what settles it in full today)."""
    shown = statement(account, today)
    upcoming = next((i for i in shown["instalments"] if i["status"] in _OPEN), None)
    quote = account.quote(today)
    return {
        **loan.model_dump(mode="json"),
        "statement": shown,
        "next_instalment": (
            {
                "number": upcoming["number"],
                "due_date": upcoming["due_date"],
                "status": upcoming["status"],
                "amount_fen": upcoming["principal_fen"]
                + upcoming["interest_fen"]
                + upcoming["overdue_interest_fen"]
                + upcoming["fee_fen"],
            }
            if upcoming
            else None
        ),
        "payoff_fen": quote.total_fen,
    }


def _loans_of(
    who: Principal, applications: ApplicationService, repayments: Repayments
) -> Iterator[Loan]:
    """The applicant's own loans, in the order of their applications (newest first)."""
    require(who, Role.APPLICANT)
    for app in applications.list_mine(who):
        if app.loan_id is not None:
            yield repayments.loan_for(who, app.loan_id)


def my_loans(
    who: Principal, applications: ApplicationService, repayments: Repayments, today: date
) -> list[dict[str, Any]]:
    """The applicant's own loans, newest first, each with what is due and outstanding."""
    out = []
    for loan in _loans_of(who, applications, repayments):
        view = loan_view(loan, repayments.account(loan), today)
        shown = view["statement"]
        out.append(
            {
                "id": loan.id,
                "application_id": loan.application_id,
                "product_id": loan.product_id,
                "principal_fen": loan.principal_fen,
                "annual_rate": loan.annual_rate,
                "apr": loan.apr,
                "term_months": loan.term_months,
                "repayment_method": loan.repayment_method,
                "disbursed_at": loan.disbursed_at.isoformat(),
                "status": shown["status"],
                "days_past_due": shown["days_past_due"],
                "principal_outstanding_fen": shown["principal_outstanding_fen"],
                "due_now_fen": shown["due_now_fen"],
                "next_instalment": view["next_instalment"],
                "payoff_fen": view["payoff_fen"],
            }
        )
    return out


# The signed contract's download link is good this long: long enough to tap it.
CONTRACT_URL_SECONDS = 120


@dataclass
class BorrowerContracts:
    """The contract of an offer, for its applicant only (anyone else: 404, as for a
    missing application)."""

    applications: ApplicationService
    links: DocumentLinks
    clock: Clock

    def preview(self, who: Principal, application_id: str) -> dict[str, Any]:
        """The unsigned contract of the offer, built by the renderer that signs it (the
        same terms, rows and clauses; dated today, as it would be if signed now)."""
        require(who, Role.APPLICANT)
        app = self.applications.get_for(who, application_id)
        if app.offer is None:
            raise NotFound("no offer yet", "no_offer")
        terms = contract_terms(app, self.applications.decrypt_applicant(app), self.clock.now())
        return {
            "application_id": app.id,
            "signed": app.contract is not None,
            "document": contract_document(terms),
        }

    def signed_pdf(self, who: Principal, application_id: str) -> dict[str, Any]:
        """A short-lived presigned GET of the signed PDF, as an attachment."""
        require(who, Role.APPLICANT)
        app = self.applications.get_for(who, application_id)
        if app.contract is None:
            raise NotFound("no signed contract yet", "not_signed")
        url = self.links.presign_download(
            app.contract.key,
            CONTRACT_URL_SECONDS,
            content_type="application/pdf",
            filename=f"contract-C{app.id[1:]}.pdf",
        )
        return {
            "url": url,
            "expires_in": CONTRACT_URL_SECONDS,
            "sha256": app.contract.sha256_hex,
        }


class SentReminders(Protocol):
    def sent(self, loan_id: str) -> list[SentReminder]: ...


def messages(
    who: Principal,
    applications: ApplicationService,
    repayments: Repayments,
    log: SentReminders,
) -> list[dict[str, Any]]:
    """The borrower's reminders over all their loans, newest first, each with the text
    it was sent with (derived from its kind, amount and due date, as the SMS was)."""
    out = []
    for loan in _loans_of(who, applications, repayments):
        scheduled = {i.number: i for i in loan.instalments}
        for r in log.sent(loan.id):
            inst = scheduled.get(r.instalment)
            amount = r.amount_fen
            if amount is None and inst is not None:
                amount = inst.total_fen
            due = r.due_date or (inst.due_date if inst else None)
            if amount is None or due is None:
                continue  # an instalment the loan no longer has: nothing true to show
            out.append(
                {
                    "loan_id": loan.id,
                    "instalment": r.instalment,
                    "kind": r.kind.value,
                    "overdue": r.kind.offset_days > 0,
                    "sent_at": r.sent_at.isoformat(),
                    "amount_fen": amount,
                    "due_date": due.isoformat(),
                    "text": text(r.kind, amount, due),
                }
            )
    out.sort(key=lambda m: str(m["sent_at"]), reverse=True)
    return out
