"""A loan's statement on a day, as the borrower and finance see it (amounts in fen)."""

from __future__ import annotations

from datetime import date
from typing import Any

from lending.servicing.account import LoanAccount
from lending.servicing.delinquency import bucket
from lending.servicing.ledger import Component


def statement(account: LoanAccount, on: date) -> dict[str, Any]:
    balances = account.balances()
    posted = set(balances.instalments)
    dpd = account.days_past_due(on)
    return {
        "on": on.isoformat(),
        "status": account.status(on).value,
        "days_past_due": dpd,
        "bucket": bucket(dpd),
        "principal_outstanding_fen": balances.principal_outstanding,
        "due_now_fen": balances.due_now,
        "credit_fen": balances.credit_fen,
        "instalments": [
            {
                "number": planned.number,
                "due_date": account.due_date(planned.number).isoformat(),
                "status": account.instalment_status(planned.number, on).value,
                # Before it falls due: the plan; after: what is still owed of it.
                **(
                    {f"{c.value}_fen": balances.get(planned.number, c) for c in _SHOWN}
                    if planned.number in posted
                    else {
                        "principal_fen": planned.principal_fen,
                        "interest_fen": planned.interest_fen,
                        "overdue_interest_fen": 0,
                        "fee_fen": 0,
                    }
                ),
            }
            for planned in account.plan
        ],
    }


_SHOWN = (Component.PRINCIPAL, Component.INTEREST, Component.OVERDUE_INTEREST, Component.FEE)
