"""A loan's ledger: append-only entries, from which every balance is rebuilt.

Each entry is a list of postings on what the borrower owes, one per (instalment,
component), signed in integer fen: a charge is positive, a payment or a waiver negative.
Instalment `None` is the loan itself: its PRINCIPAL is the principal not yet due, its
CREDIT what the borrower paid beyond what was owed (negative: the lender owes it back).

| entry            | postings                                                            |
|------------------|---------------------------------------------------------------------|
| disbursement     | loan PRINCIPAL +P                                                   |
| instalment_due   | loan PRINCIPAL −p, instalment PRINCIPAL +p, instalment INTEREST +i  |
| overdue_interest | instalment OVERDUE_INTEREST +x (daily accrual, capped)              |
| fee              | instalment FEE +x                                                   |
| interest_to_day  | loan INTEREST +i: a prepayment's interest to the day on the         |
|                  | principal it prepays, just before that repayment (same reference)    |
| repayment        | what the payment settled (allocation order), each −; any excess: CREDIT − |
| waiver           | the waived amount, −                                                |
| reversal         | the reversed entry's postings, negated                              |
| write_off        | none: the loan is written off (what is owed stays, for recovery)     |
| reschedule       | none: the plan in force from now on (after a prepayment)             |

Nothing is ever updated or deleted: a mistake is reversed by a new entry. A balance is the
sum of its postings (`Balances.of`), so any state of the loan can be rebuilt from the
entries alone, and a test does so after random sequences of events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


class Component(StrEnum):
    OVERDUE_INTEREST = "overdue_interest"  # 罚息: on overdue principal, daily
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"
    CREDIT = "credit"  # loan-level only: overpayment held for the borrower


class EntryKind(StrEnum):
    DISBURSEMENT = "disbursement"
    INSTALMENT_DUE = "instalment_due"
    OVERDUE_INTEREST = "overdue_interest"
    FEE = "fee"
    INTEREST_TO_DAY = "interest_to_day"  # with a prepayment: its principal's interest to the day
    REPAYMENT = "repayment"
    WAIVER = "waiver"
    REVERSAL = "reversal"
    WRITE_OFF = "write_off"
    RESCHEDULE = "reschedule"  # a new plan for the principal not yet due (after a prepayment)


# Charges the borrower bears: what the 24% a year cap on the total cost counts.
CHARGES = (Component.INTEREST, Component.OVERDUE_INTEREST, Component.FEE)


@dataclass(frozen=True, slots=True)
class Posting:
    instalment: int | None  # None: the loan itself (principal not yet due, credit)
    component: Component
    amount_fen: int  # + the borrower owes more, − less

    def negated(self) -> Posting:
        return Posting(self.instalment, self.component, -self.amount_fen)


@dataclass(frozen=True, slots=True)
class Planned:
    """One instalment of the plan in force."""

    number: int
    due_date: date
    principal_fen: int
    interest_fen: int


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int  # position in the ledger (1, 2, ...): the order entries happened in
    kind: EntryKind
    on: date  # the business day it belongs to
    postings: tuple[Posting, ...]
    reference: str = ""  # a payment's channel serial, the entry a reversal undoes, ...
    plan: tuple[Planned, ...] = ()  # a reschedule's new plan


@dataclass
class Balances:
    """What the borrower owes, per instalment and component, rebuilt from the entries."""

    owed: dict[tuple[int | None, Component], int] = field(default_factory=lambda: defaultdict(int))
    written_off: bool = False

    @classmethod
    def of(cls, entries: Iterable[Entry]) -> Balances:
        balances = cls()
        for entry in entries:
            balances.apply(entry)
        return balances

    def apply(self, entry: Entry) -> None:
        for p in entry.postings:
            self.owed[(p.instalment, p.component)] += p.amount_fen
        if entry.kind is EntryKind.WRITE_OFF:
            self.written_off = True

    def get(self, instalment: int | None, component: Component) -> int:
        return self.owed.get((instalment, component), 0)

    def instalment(self, number: int) -> dict[Component, int]:
        return {c: self.get(number, c) for c in Component if c is not Component.CREDIT}

    def instalment_total(self, number: int) -> int:
        return sum(self.instalment(number).values())

    @property
    def instalments(self) -> list[int]:
        """The instalments that fell due, oldest first."""
        return sorted({n for n, _ in self.owed if n is not None})

    @property
    def principal_not_due(self) -> int:
        return self.get(None, Component.PRINCIPAL)

    @property
    def principal_outstanding(self) -> int:
        """All principal still owed, due or not (what the funder's quota carries)."""
        return self.principal_not_due + sum(
            self.get(n, Component.PRINCIPAL) for n in self.instalments
        )

    @property
    def credit_fen(self) -> int:
        """Paid beyond what was owed, held for the borrower (never negative)."""
        return -self.get(None, Component.CREDIT)

    def total(self, component: Component) -> int:
        return sum(v for (_, c), v in self.owed.items() if c is component)

    @property
    def due_now(self) -> int:
        """What has fallen due and is unpaid (everything owed but the principal not due)."""
        return self.total_owed - self.principal_not_due

    @property
    def total_owed(self) -> int:
        """Everything owed now: due and not yet due principal, interest due, charges."""
        return sum(v for (_, c), v in self.owed.items() if c is not Component.CREDIT)


def charges_by_entry(entries: Iterable[Entry]) -> dict[int, int]:
    """Interest, overdue interest and fees each entry charges, by seq (negative: a waiver,
    or the reversal of a charge). A repayment pays charges and charges none, so reversing
    it charges none either: a reversal charges what its target did, negated."""
    charged: dict[int, int] = {}
    for entry in entries:
        if entry.kind is EntryKind.REPAYMENT:
            charged[entry.seq] = 0
        elif entry.kind is EntryKind.REVERSAL:
            charged[entry.seq] = -charged.get(int(entry.reference), 0)
        else:
            charged[entry.seq] = sum(p.amount_fen for p in entry.postings if p.component in CHARGES)
    return charged


def charged_to_date(entries: Iterable[Entry]) -> int:
    """Interest, overdue interest and fees charged, net of waivers and reversals."""
    return sum(charges_by_entry(entries).values())


def check(balances: Balances) -> list[str]:
    """The ledger's invariants; empty when they hold."""
    problems = [
        f"instalment {n} {c.value} is {v} fen"
        for (n, c), v in balances.owed.items()
        if c is not Component.CREDIT and v < 0
    ]
    if balances.credit_fen < 0:
        problems.append(f"credit is {balances.credit_fen} fen")
    return problems


def entry_to_dict(entry: Entry) -> dict[str, Any]:
    """The stored form of an entry (JSON-ready; integers and ISO dates only)."""
    return {
        "seq": entry.seq,
        "kind": entry.kind.value,
        "on": entry.on.isoformat(),
        "postings": [[p.instalment, p.component.value, p.amount_fen] for p in entry.postings],
        "reference": entry.reference,
        "plan": [
            [p.number, p.due_date.isoformat(), p.principal_fen, p.interest_fen] for p in entry.plan
        ],
    }


def entry_from_dict(data: Mapping[str, Any]) -> Entry:
    return Entry(
        seq=int(data["seq"]),
        kind=EntryKind(data["kind"]),
        on=date.fromisoformat(data["on"]),
        postings=tuple(
            Posting(None if n is None else int(n), Component(c), int(v))
            for n, c, v in data["postings"]
        ),
        reference=str(data.get("reference", "")),
        plan=tuple(
            Planned(int(n), date.fromisoformat(d), int(p), int(i))
            for n, d, p, i in data.get("plan", [])
        ),
    )
