"""How a payment is applied, written down once.

Oldest instalment first; within an instalment: overdue interest (罚息), then fees, then
interest, then principal. What is left after every instalment that fell due prepays
principal not yet due (the schedule is then recomputed, see `LoanAccount.repay`), and
what is left after that is held as a credit for the borrower, never swallowed.
Partial payments are allowed: a payment settles what it can in that order.
"""

from __future__ import annotations

from lending.servicing.ledger import Balances, Component, Posting

ALLOCATION_ORDER = (
    Component.OVERDUE_INTEREST,
    Component.FEE,
    Component.INTEREST,
    Component.PRINCIPAL,
)


def allocate(balances: Balances, amount_fen: int, *, prepay: bool = True) -> tuple[Posting, ...]:
    """The postings of a payment of `amount_fen` against what is owed (all negative)."""
    if amount_fen <= 0:
        raise ValueError("a payment is a positive amount of fen")
    left = amount_fen
    postings: list[Posting] = []

    def take(instalment: int | None, component: Component, owed: int) -> None:
        nonlocal left
        paid = min(left, owed)
        if paid > 0:
            postings.append(Posting(instalment, component, -paid))
            left -= paid

    for number in balances.instalments:
        for component in ALLOCATION_ORDER:
            take(number, component, balances.get(number, component))
    if prepay:
        take(None, Component.PRINCIPAL, balances.principal_not_due)
    if left:
        postings.append(Posting(None, Component.CREDIT, -left))
    return tuple(postings)
