"""What a borrower sees of their loans: the list (from their applications, no index of its
own), and each loan's statement with what is due now, the next instalment and the payoff.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lending.applications.service import ApplicationService
from lending.auth import Principal, Role, require
from lending.loans.model import Loan
from lending.servicing.account import LoanAccount
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


def my_loans(
    who: Principal, applications: ApplicationService, repayments: Repayments, today: date
) -> list[dict[str, Any]]:
    """The applicant's own loans, newest first, each with what is due and outstanding."""
    require(who, Role.APPLICANT)
    out = []
    for app in applications.list_mine(who):
        if app.loan_id is None:
            continue
        loan = repayments.loan_for(who, app.loan_id)
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
