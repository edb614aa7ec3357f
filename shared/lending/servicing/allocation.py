"""How a payment is applied, written down once.

Oldest instalment first; within an instalment: overdue interest (罚息), then fees, then
interest, then principal. What is left after every instalment that fell due prepays
principal not yet due together with that principal's interest to the day (the most
principal whose interest the money also covers; the schedule is then recomputed, see
`LoanAccount.repay`), and what is left after that is held as a credit for the borrower,
never swallowed.
Partial payments are allowed: a payment settles what it can in that order.
"""

from __future__ import annotations

from collections.abc import Callable

from lending.servicing.ledger import Balances, Component, Posting

ALLOCATION_ORDER = (
    Component.OVERDUE_INTEREST,
    Component.FEE,
    Component.INTEREST,
    Component.PRINCIPAL,
)


def no_interest(principal_fen: int) -> int:
    return 0


def allocate(
    balances: Balances,
    amount_fen: int,
    *,
    prepay: bool = True,
    interest_to_day: Callable[[int], int] = no_interest,
) -> tuple[Posting, ...]:
    """The postings of a payment of `amount_fen` against what is owed (all negative).

    `interest_to_day(p)` is the interest owed with a prepayment of principal p; the
    prepayment pays it (instalment None, INTEREST) before the principal, so the caller
    charges it just before the payment."""
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
        principal = prepayable(left, balances.principal_not_due, interest_to_day)
        interest = interest_to_day(principal) if principal else 0
        if interest:
            postings.append(Posting(None, Component.INTEREST, -interest))
            left -= interest
        take(None, Component.PRINCIPAL, principal)
    if left:
        postings.append(Posting(None, Component.CREDIT, -left))
    return tuple(postings)


def prepayable(money_fen: int, not_due_fen: int, interest_to_day: Callable[[int], int]) -> int:
    """The most principal (at most `not_due_fen`) that `money_fen` prepays with its
    interest to the day; a fen or so the interest's rounding leaves over is a credit."""
    low, high = 0, min(money_fen, not_due_fen)
    while low < high:
        middle = (low + high + 1) // 2
        if middle + interest_to_day(middle) <= money_fen:
            low = middle
        else:
            high = middle - 1
    return low
