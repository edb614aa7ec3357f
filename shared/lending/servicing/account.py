"""A loan account: its schedule and its ledger, and everything that moves money on it.

Conventions (the contract states them; change them together):

* Instalment n falls due on its due date: its principal moves from "not yet due" to the
  instalment and its interest is charged (`post_due`).
* Overdue interest (罚息) accrues for each day an instalment's principal is overdue, from
  the day after its due date, on the overdue principal at the start of that day, at the
  contract's overdue rate a year, daily rate = annual rate / 360; each day's amount is
  rounded half-up to the fen.
* The total cost the borrower bears (interest, overdue interest and fees) never exceeds
  the legal cap (24% a year) of the principal outstanding, day by day since disbursement:
  the overdue-interest accrual stops where it would pass it.
* A payment is applied in the allocation order (`allocation.py`); principal it prepays
  carries its interest to the day (principal × rate × days since the last due date / 360,
  as in the settlement quote) and recomputes the schedule, shortening the term or lowering
  the instalment as the borrower chose; the new plan charges the rest of the period on the
  principal that remains. An excess is held as a credit.
* A payment is applied once per channel reference: the same reference again changes
  nothing and returns the entry already recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Literal
from zoneinfo import ZoneInfo

from lending.finance.products import APR_CAP
from lending.finance.schedule import annuity_payment_fen, build_schedule, round_half_up_fen
from lending.loans.model import Loan
from lending.servicing.allocation import allocate
from lending.servicing.ledger import (
    CHARGES,
    Balances,
    Component,
    Entry,
    EntryKind,
    Planned,
    Posting,
    charges_by_entry,
)

DAY_BASIS = 360  # 日利率 = 年利率 / 360
CHINA = ZoneInfo("Asia/Shanghai")  # business days are China's
Reschedule = Literal["shorten_term", "lower_instalment"]


class LoanStatus(StrEnum):
    CURRENT = "current"
    OVERDUE = "overdue"
    SETTLED = "settled"
    WRITTEN_OFF = "written_off"


class InstalmentStatus(StrEnum):
    DUE = "due"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Quote:
    """What settles the loan in full on a day."""

    on: date
    principal_fen: int
    charges_due_fen: int  # interest, overdue interest and fees already due
    accrued_interest_fen: int  # interest of the current period, to the day
    fee_fen: int
    credit_fen: int  # held for the borrower, counted against the total

    @property
    def total_fen(self) -> int:
        return max(
            0,
            self.principal_fen
            + self.charges_due_fen
            + self.accrued_interest_fen
            + self.fee_fen
            - self.credit_fen,
        )


@dataclass
class LoanAccount:
    loan_id: str
    repayment_method: str
    annual_rate: Decimal
    overdue_annual_rate: Decimal
    disbursed_on: date
    principal_fen: int
    plan: list[Planned]
    entries: list[Entry] = field(default_factory=list)
    cap_annual_rate: Decimal = APR_CAP
    prepayment_fee_fen: int = 0
    # The contract's plan: its due dates stay the dates of any later plan.
    contract_plan: list[Planned] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.contract_plan:
            self.contract_plan = list(self.plan)

    @classmethod
    def open(
        cls,
        *,
        loan_id: str,
        repayment_method: str,
        annual_rate: Decimal,
        overdue_annual_rate: Decimal,
        disbursed_on: date,
        principal_fen: int,
        plan: Iterable[Planned],
        prepayment_fee_fen: int = 0,
    ) -> LoanAccount:
        account = cls(
            loan_id=loan_id,
            repayment_method=repayment_method,
            annual_rate=annual_rate,
            overdue_annual_rate=overdue_annual_rate,
            disbursed_on=disbursed_on,
            principal_fen=principal_fen,
            plan=list(plan),
            prepayment_fee_fen=prepayment_fee_fen,
        )
        account._append(
            EntryKind.DISBURSEMENT,
            disbursed_on,
            (Posting(None, Component.PRINCIPAL, principal_fen),),
        )
        return account

    @classmethod
    def restore(cls, terms: LoanAccount, entries: Iterable[Entry]) -> LoanAccount:
        """The account as its entries left it: `terms` gives the contract (its plan the
        contract plan), the entries everything since, the last reschedule the plan."""
        account = replace(terms, entries=list(entries), plan=list(terms.contract_plan))
        for entry in account.entries:
            if entry.kind is EntryKind.RESCHEDULE:
                account.plan = list(entry.plan)
        return account

    # -- reading ---------------------------------------------------------------------------

    def balances(self) -> Balances:
        return Balances.of(self.entries)

    def _append(
        self,
        kind: EntryKind,
        on: date,
        postings: tuple[Posting, ...],
        reference: str = "",
        plan: tuple[Planned, ...] = (),
    ) -> Entry:
        entry = Entry(len(self.entries) + 1, kind, on, postings, reference, plan)
        self.entries.append(entry)
        return entry

    def _due_dates(self) -> dict[int, date]:
        """When each instalment that fell due did (one pass over the ledger)."""
        dates: dict[int, date] = {}
        for e in self.entries:
            if e.kind is EntryKind.INSTALMENT_DUE:
                dates.setdefault(e.postings[1].instalment or 0, e.on)
        return dates

    def _posted(self) -> set[int]:
        return set(self._due_dates())

    def due_date(self, number: int) -> date:
        fell_due = self._due_dates().get(number)
        if fell_due is not None:
            return fell_due
        return next(p.due_date for p in self.plan if p.number == number)

    def days_past_due(self, on: date) -> int:
        """Days since the oldest instalment with anything unpaid fell due (0 if none)."""
        balances, due = self.balances(), self._due_dates()
        late = [
            (on - due[n]).days
            for n in balances.instalments
            if balances.instalment_total(n) > 0 and on > due[n]
        ]
        return max(late, default=0)

    def instalment_status(self, number: int, on: date) -> InstalmentStatus:
        if number not in self._posted():
            return InstalmentStatus.DUE
        balances = self.balances()
        owed = balances.instalment_total(number)
        if owed == 0:
            return InstalmentStatus.PAID
        if on > self.due_date(number):
            return InstalmentStatus.OVERDUE
        charged = sum(
            p.amount_fen
            for e in self.entries
            if e.kind is not EntryKind.REPAYMENT
            for p in e.postings
            if p.instalment == number and p.amount_fen > 0
        )
        return InstalmentStatus.PARTIALLY_PAID if owed < charged else InstalmentStatus.DUE

    def status(self, on: date) -> LoanStatus:
        balances = self.balances()
        if balances.written_off:
            return LoanStatus.WRITTEN_OFF
        if balances.total_owed == 0:
            return LoanStatus.SETTLED
        if self.days_past_due(on) > 0:
            return LoanStatus.OVERDUE
        return LoanStatus.CURRENT

    # -- time passing ------------------------------------------------------------------------

    def post_due(self, on: date) -> list[Entry]:
        """Instalments whose due date has come (once each, oldest first)."""
        posted = self._posted()
        balances = self.balances()
        entries = []
        for planned in self.plan:
            if planned.number in posted or planned.due_date > on:
                continue
            principal = min(planned.principal_fen, balances.principal_not_due)
            entry = self._append(
                EntryKind.INSTALMENT_DUE,
                planned.due_date,
                (
                    Posting(None, Component.PRINCIPAL, -principal),
                    Posting(planned.number, Component.PRINCIPAL, principal),
                    Posting(planned.number, Component.INTEREST, planned.interest_fen),
                ),
            )
            balances.apply(entry)
            entries.append(entry)
        return entries

    def accrued_through(self) -> date:
        """The last day overdue interest was computed for (the disbursement day at first)."""
        days = [e.on for e in self.entries if e.kind is EntryKind.OVERDUE_INTEREST]
        return max(days, default=self.disbursed_on)

    def accrue_overdue_interest(self, through: date) -> Entry | None:
        """Overdue interest for each day after `accrued_through()` up to `through`, capped.

        Run nightly (and again after a missed night: the same days give the same amount);
        one entry covers the days it accrued, dated the last of them; None if none did."""
        start = self.accrued_through()
        if through <= start:
            return None
        totals: dict[int, int] = {}
        due = self._due_dates()
        for day, balances, charged, allowance in self._days(start, through):
            room = max(0, math.floor(allowance) - charged - sum(totals.values()))
            for number in balances.instalments:
                if day <= due[number]:
                    continue
                overdue = balances.get(number, Component.PRINCIPAL)
                amount = round_half_up_fen(Decimal(overdue) * self.overdue_annual_rate / DAY_BASIS)
                amount = min(amount, room)
                if amount > 0:
                    totals[number] = totals.get(number, 0) + amount
                    room -= amount
        if not totals:
            # Nothing accrued (nothing overdue, or the cap reached): no entry, so a night
            # writes only for loans that owe; the same days give nothing again next time.
            return None
        return self._append(
            EntryKind.OVERDUE_INTEREST,
            through,
            tuple(Posting(n, Component.OVERDUE_INTEREST, v) for n, v in sorted(totals.items())),
        )

    def _days(self, after: date, through: date) -> Iterator[tuple[date, Balances, int, Fraction]]:
        """For each day in (after, through]: the balances at its start, the charges so far
        (through that day's postings already in the ledger), and the cap's allowance
        (cap × principal outstanding at the start of each day since disbursement / 360)."""
        ordered = sorted(self.entries, key=lambda e: (e.on, e.seq))
        charges = charges_by_entry(self.entries)
        balances, charged, allowance = Balances(), 0, Fraction(0)
        daily_cap = Fraction(self.cap_annual_rate) / DAY_BASIS
        i = 0
        day = self.disbursed_on
        while day < through:
            while i < len(ordered) and ordered[i].on < day + timedelta(days=1):
                entry = ordered[i]
                balances.apply(entry)
                charged += charges[entry.seq]
                i += 1
            day += timedelta(days=1)
            # Entries dated `day` itself (a payment that day) come after its accrual.
            allowance += daily_cap * balances.principal_outstanding
            if day > after:
                yield day, _copy(balances), charged, allowance

    # -- money in ------------------------------------------------------------------------

    def repay(
        self,
        amount_fen: int,
        on: date,
        reference: str,
        reschedule: Reschedule = "lower_instalment",
        *,
        prepay: bool = True,
    ) -> Entry:
        """Apply a payment once per channel reference; principal prepaid recomputes the plan.

        `prepay=False` (an auto-debit: the borrower did not choose to prepay) holds what
        is left after everything due as a credit instead."""
        for entry in self.entries:
            if entry.kind is EntryKind.REPAYMENT and entry.reference == reference:
                return entry
        postings = allocate(
            self.balances(), amount_fen, prepay=prepay, interest_to_day=self._interest_to_day(on)
        )
        interest = -sum(
            p.amount_fen
            for p in postings
            if p.instalment is None and p.component is Component.INTEREST
        )
        if interest:
            charge = (Posting(None, Component.INTEREST, interest),)
            self._append(EntryKind.INTEREST_TO_DAY, on, charge, reference)
        entry = self._append(EntryKind.REPAYMENT, on, postings, reference)
        prepaid = -sum(
            p.amount_fen
            for p in postings
            if p.instalment is None and p.component is Component.PRINCIPAL
        )
        if prepaid:
            self._reschedule(on, reschedule)
        return entry

    def quote(self, on: date) -> Quote:
        """What settles everything on `on`: principal, charges due, this period's interest
        to the day (principal not yet due × rate × days since the last due date / 360), the
        product's prepayment fee, less any credit held."""
        balances = self.balances()
        return Quote(
            on=on,
            principal_fen=balances.principal_outstanding,
            charges_due_fen=sum(balances.total(c) for c in CHARGES),
            accrued_interest_fen=self._interest_to_day(on)(balances.principal_not_due),
            fee_fen=self.prepayment_fee_fen if balances.principal_not_due else 0,
            credit_fen=balances.credit_fen,
        )

    def _interest_to_day(self, on: date) -> Callable[[int], int]:
        """Interest on principal not yet due, from the last due date (or disbursement) to
        `on`: what prepaying it on `on` costs, and the quote's interest of the period."""
        last = max(self._due_dates().values(), default=self.disbursed_on)
        days = max(0, (on - last).days)

        def interest(principal_fen: int) -> int:
            return round_half_up_fen(Decimal(principal_fen) * self.annual_rate * days / DAY_BASIS)

        return interest

    def settle(self, on: date, reference: str, amount_fen: int | None = None) -> Entry:
        """Full settlement at the quote of the day: the current period falls due now with
        all the principal not yet due and its interest to the day, then is paid."""
        for entry in self.entries:
            if entry.kind is EntryKind.REPAYMENT and entry.reference == reference:
                return entry
        quote = self.quote(on)
        balances = self.balances()
        if balances.principal_not_due:
            number = min(p.number for p in self.plan if p.number not in self._posted())
            charges = [
                Posting(None, Component.PRINCIPAL, -balances.principal_not_due),
                Posting(number, Component.PRINCIPAL, balances.principal_not_due),
                Posting(number, Component.INTEREST, quote.accrued_interest_fen),
            ]
            if quote.fee_fen:
                charges.append(Posting(number, Component.FEE, quote.fee_fen))
            self._append(EntryKind.INSTALMENT_DUE, on, tuple(charges), "settlement")
            self._replan(on, ())
        self.apply_credit(on)
        owed = self.balances().total_owed
        paid = owed if amount_fen is None else amount_fen
        if paid == 0:
            return self._append(EntryKind.REPAYMENT, on, (), reference)
        # The money that came is what is applied: short of the day's payoff (the quote
        # moved since the order) it leaves that much owed; beyond it, a credit.
        return self.repay(paid, on, reference)

    def apply_credit(self, on: date) -> Entry | None:
        """Use a credit held for the borrower against what has fallen due since."""
        balances = self.balances()
        usable = min(balances.credit_fen, balances.due_now)
        if usable <= 0:
            return None
        postings = allocate(balances, usable, prepay=False)
        return self._append(
            EntryKind.REPAYMENT,
            on,
            (Posting(None, Component.CREDIT, usable), *postings),
            f"credit:{len(self.entries) + 1}",
        )

    # -- corrections ---------------------------------------------------------------------

    def waive(self, on: date, instalment: int, component: Component, amount_fen: int) -> Entry:
        owed = self.balances().get(instalment, component)
        if not 0 < amount_fen <= owed:
            raise ValueError(f"can waive 1..{owed} fen of {component.value}")
        return self._append(EntryKind.WAIVER, on, (Posting(instalment, component, -amount_fen),))

    def reverse(self, seq: int, on: date) -> Entry:
        """Undo an entry (a payment that bounced, a fee charged in error), once."""
        target = self.entries[seq - 1]
        if target.kind in (EntryKind.DISBURSEMENT, EntryKind.REVERSAL):
            raise ValueError(f"a {target.kind.value} cannot be reversed")
        if target.kind is EntryKind.INTEREST_TO_DAY:
            raise ValueError("interest to the day goes with its payment: reverse the payment")
        if any(e.kind is EntryKind.REVERSAL and e.reference == str(seq) for e in self.entries):
            raise ValueError(f"entry {seq} is already reversed")
        reversal = self._append(
            EntryKind.REVERSAL, on, tuple(p.negated() for p in target.postings), str(seq)
        )
        if target.kind is EntryKind.REPAYMENT:
            # The interest to the day it paid was charged for it alone: undo that too.
            for charge in self.entries[seq - 2 : seq - 1]:
                ours = charge.reference == target.reference
                if charge.kind is EntryKind.INTEREST_TO_DAY and ours:
                    self._append(
                        EntryKind.REVERSAL,
                        on,
                        tuple(p.negated() for p in charge.postings),
                        str(charge.seq),
                    )
        if any(
            p.instalment is None and p.component is Component.PRINCIPAL for p in target.postings
        ):
            # The principal it prepaid is owed again: plan it over the contract's dates.
            self._reschedule(on, "lower_instalment", self.contract_plan)
        return reversal

    def write_off(self, on: date) -> Entry:
        return self._append(EntryKind.WRITE_OFF, on, ())

    # -- the plan ------------------------------------------------------------------------

    def _replan(self, on: date, plan: tuple[Planned, ...]) -> None:
        posted = self._posted()
        self.plan = [p for p in self.plan if p.number in posted] + list(plan)
        self._append(EntryKind.RESCHEDULE, on, (), plan=tuple(self.plan))

    def _reschedule(
        self, on: date, mode: Reschedule, dates_from: list[Planned] | None = None
    ) -> None:
        """A new plan for the principal not yet due, on the unposted dates of the plan in
        force (or of `dates_from`)."""
        posted = self._posted()
        remaining = [p for p in (dates_from or self.plan) if p.number not in posted]
        principal = self.balances().principal_not_due
        if not principal:
            self._replan(on, ())
            return
        if not remaining:
            # No date left to plan on (a prepayment reversed after maturity): due now.
            last = max(posted)
            self._append(
                EntryKind.INSTALMENT_DUE,
                on,
                (
                    Posting(None, Component.PRINCIPAL, -principal),
                    Posting(last, Component.PRINCIPAL, principal),
                    Posting(last, Component.INTEREST, 0),
                ),
                "reinstated",
            )
            return
        first = remaining[0].number
        anchor = self.disbursed_on if first == 1 else self.due_date(first - 1)
        term = len(remaining)
        if mode == "shorten_term":
            term = self._shortened_term(principal, remaining)
        schedule = build_schedule(self.repayment_method, principal, self.annual_rate, term, anchor)
        self._replan(
            on,
            tuple(
                Planned(first + i, remaining[i].due_date, row.principal_fen, row.interest_fen)
                for i, row in enumerate(schedule.instalments)
            ),
        )

    def _shortened_term(self, principal: int, remaining: list[Planned]) -> int:
        """The fewest instalments that keep each one no larger than before."""
        if self.repayment_method == "interest_first":
            return len(remaining)
        if self.repayment_method == "equal_principal":
            per_month = max(1, remaining[0].principal_fen)
            return min(len(remaining), -(-principal // per_month))
        payment = remaining[0].principal_fen + remaining[0].interest_fen
        for term in range(1, len(remaining) + 1):
            if annuity_payment_fen(principal, self.annual_rate, term) <= payment:
                return term
        return len(remaining)


def _copy(balances: Balances) -> Balances:
    copy = Balances()
    copy.owed.update(balances.owed)
    copy.written_off = balances.written_off
    return copy


def business_day(moment: datetime) -> date:
    """The day in China a moment falls on (an aware datetime)."""
    return moment.astimezone(CHINA).date()


def account_of(loan: Loan) -> LoanAccount:
    """A booked loan's account as it opened: its contract plan and the disbursement."""
    return LoanAccount.open(
        loan_id=loan.id,
        repayment_method=loan.repayment_method,
        annual_rate=Decimal(loan.annual_rate),
        overdue_annual_rate=Decimal(loan.overdue_annual_rate),
        disbursed_on=business_day(loan.disbursed_at),
        principal_fen=loan.principal_fen,
        plan=[
            Planned(i.number, i.due_date, i.principal_fen, i.interest_fen) for i in loan.instalments
        ],
    )
