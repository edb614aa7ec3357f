"""The loan ledger's money rules: allocation, overdue interest and its cap, prepayment,
exactly-once payments, and balances that always rebuild from the entries."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lending.finance.apr import compute_apr
from lending.finance.schedule import Instalment, RepaymentMethod, Schedule, round_half_up_fen
from lending.servicing.account import (
    DAY_BASIS,
    InstalmentStatus,
    LoanAccount,
    LoanStatus,
)
from lending.servicing.allocation import ALLOCATION_ORDER
from lending.servicing.ledger import (
    CHARGES,
    Balances,
    Component,
    EntryKind,
    charged_to_date,
    check,
)
from lending.servicing.statement import statement
from tests.fakes import plan_of

D0 = date(2025, 1, 31)
OVERDUE_RATE = Decimal("0.18")


def account(
    principal: int = 12_000_00,
    rate: str = "0.12",
    term: int = 12,
    method: str = "equal_instalment",
    fee: int = 0,
) -> LoanAccount:
    return LoanAccount.open(
        loan_id="L1",
        repayment_method=method,
        annual_rate=Decimal(rate),
        overdue_annual_rate=OVERDUE_RATE,
        disbursed_on=D0,
        principal_fen=principal,
        plan=plan_of(method, principal, Decimal(rate), term, D0),
        prepayment_fee_fen=fee,
    )


def total_paid(loan: LoanAccount) -> int:
    return -sum(
        p.amount_fen
        for e in loan.entries
        if e.kind is EntryKind.REPAYMENT
        for p in e.postings
        if p.component is not Component.CREDIT or p.amount_fen < 0
    )


def test_paid_on_time_every_month_the_loan_settles_with_no_overdue_interest() -> None:
    loan = account()
    for planned in list(loan.plan):
        loan.post_due(planned.due_date)
        loan.accrue_overdue_interest(planned.due_date)
        loan.repay(
            planned.principal_fen + planned.interest_fen, planned.due_date, f"R{planned.number}"
        )
        assert loan.instalment_status(planned.number, planned.due_date) is InstalmentStatus.PAID
    last = loan.plan[-1].due_date
    assert loan.status(last) is LoanStatus.SETTLED
    balances = loan.balances()
    assert balances.principal_outstanding == 0 and balances.total_owed == 0
    assert balances.total(Component.OVERDUE_INTEREST) == 0


def test_a_payment_settles_overdue_interest_then_interest_then_principal_oldest_first() -> None:
    assert ALLOCATION_ORDER == (
        Component.OVERDUE_INTEREST,
        Component.FEE,
        Component.INTEREST,
        Component.PRINCIPAL,
    )
    loan = account()
    first, second = loan.plan[0], loan.plan[1]
    loan.post_due(second.due_date)
    loan.accrue_overdue_interest(second.due_date + timedelta(days=5))
    balances = loan.balances()
    penalty_1 = balances.get(1, Component.OVERDUE_INTEREST)
    assert penalty_1 > 0
    # Enough for instalment 1's overdue interest and interest, and part of its principal.
    part = penalty_1 + first.interest_fen + 100
    entry = loan.repay(part, second.due_date + timedelta(days=5), "P1")
    assert [(p.instalment, p.component, -p.amount_fen) for p in entry.postings] == [
        (1, Component.OVERDUE_INTEREST, penalty_1),
        (1, Component.INTEREST, first.interest_fen),
        (1, Component.PRINCIPAL, 100),
    ]
    on = second.due_date + timedelta(days=5)
    assert loan.instalment_status(1, on) is InstalmentStatus.OVERDUE
    assert loan.status(on) is LoanStatus.OVERDUE
    assert loan.days_past_due(on) == (on - first.due_date).days


def test_a_partial_payment_before_the_due_date_is_partially_paid() -> None:
    loan = account()
    first = loan.plan[0]
    loan.post_due(first.due_date)
    loan.repay(500, first.due_date, "early-part")
    assert loan.instalment_status(1, first.due_date) is InstalmentStatus.PARTIALLY_PAID
    assert loan.instalment_status(2, first.due_date) is InstalmentStatus.DUE


def test_a_payment_is_applied_once_per_channel_reference() -> None:
    loan = account()
    loan.post_due(loan.plan[0].due_date)
    first = loan.repay(1_000_00, loan.plan[0].due_date, "CH-1")
    again = loan.repay(1_000_00, loan.plan[0].due_date, "CH-1")
    assert again is first
    assert sum(e.kind is EntryKind.REPAYMENT for e in loan.entries) == 1


def test_an_overpayment_is_held_as_credit_and_used_when_the_next_instalment_falls_due() -> None:
    loan = account(principal=1_200_00, term=2)
    first, second = loan.plan
    loan.post_due(first.due_date)
    loan.repay(loan.balances().due_now + 50_00, first.due_date, "big")  # prepays 50 yuan
    assert loan.plan[1].principal_fen == second.principal_fen - 50_00  # the plan follows
    loan.post_due(second.due_date)
    loan.repay(loan.balances().total_owed + 7, second.due_date, "last-plus")
    assert loan.balances().credit_fen == 7  # beyond everything owed: held, not swallowed
    assert loan.status(second.due_date) is LoanStatus.SETTLED


def test_overdue_interest_is_daily_on_overdue_principal_at_the_contract_rate() -> None:
    loan = account(rate="0.06")
    first = loan.plan[0]
    loan.post_due(first.due_date)
    loan.accrue_overdue_interest(first.due_date + timedelta(days=10))
    daily = round_half_up_fen(Decimal(first.principal_fen) * OVERDUE_RATE / DAY_BASIS)
    assert daily > 0
    assert loan.balances().get(1, Component.OVERDUE_INTEREST) == 10 * daily
    # A second run over the same days changes nothing; the next night adds one day.
    assert loan.accrue_overdue_interest(first.due_date + timedelta(days=10)) is None
    loan.accrue_overdue_interest(first.due_date + timedelta(days=11))
    assert loan.balances().get(1, Component.OVERDUE_INTEREST) == 11 * daily


def cap_allowance(loan: LoanAccount, through: date) -> Fraction:
    """The oracle: 24% / 360 of the principal outstanding at the start of each day."""
    allowance, day = Fraction(0), loan.disbursed_on
    while day < through:
        day += timedelta(days=1)
        before = Balances.of(e for e in loan.entries if e.on < day)
        allowance += Fraction(loan.cap_annual_rate) / DAY_BASIS * before.principal_outstanding
    return allowance


def test_overdue_interest_stops_at_the_24_percent_cap() -> None:
    # At 23.9% a year the contract interest alone is near the cap: the 18% overdue rate on
    # top would pass it, so the accrual stops where the total cost reaches 24% a year.
    loan = account(principal=10_000_00, rate="0.239", term=3, method="interest_first")
    last = loan.plan[-1].due_date
    loan.post_due(last)
    daily_uncapped = math.floor(Decimal(10_000_00) * OVERDUE_RATE / DAY_BASIS)
    checkpoints = [last + timedelta(days=d) for d in (1, 30, 90, 200)]
    accrued = []
    for day in checkpoints:
        loan.accrue_overdue_interest(day)
        charged = charged_to_date(loan.entries)
        assert charged <= math.floor(cap_allowance(loan, day)), day
        accrued.append(loan.balances().total(Component.OVERDUE_INTEREST))
    # It accrues (capped below the 18% rate), and keeps within the cap however long.
    assert 0 < accrued[-1] < daily_uncapped * (checkpoints[-1] - last).days


def test_a_quote_settles_the_loan_in_full() -> None:
    loan = account(fee=50_00)
    loan.post_due(loan.plan[2].due_date)
    on = loan.plan[2].due_date + timedelta(days=10)
    loan.repay(loan.balances().due_now, loan.plan[2].due_date, "catch-up")
    quote = loan.quote(on)
    not_due = loan.balances().principal_not_due
    assert quote.principal_fen == not_due
    assert quote.accrued_interest_fen == round_half_up_fen(
        Decimal(not_due) * Decimal("0.12") * 10 / 360
    )
    assert quote.fee_fen == 50_00
    before = total_paid(loan)
    loan.settle(on, "SETTLE")
    assert loan.status(on) is LoanStatus.SETTLED
    assert total_paid(loan) - before == quote.total_fen
    assert loan.settle(on, "SETTLE").reference == "SETTLE"  # a repeat changes nothing


@pytest.mark.parametrize("difference", [-1_00, 0, 3_21])
def test_a_settlement_applies_the_money_that_came_not_the_days_quote(difference: int) -> None:
    """The quote moves between the order and the channel's answer (a day's interest):
    what was paid is applied, short of the payoff it leaves that much owed, beyond it a
    credit; nothing is swallowed nor made up."""
    loan = account()
    on = loan.plan[0].due_date + timedelta(days=5)
    loan.post_due(loan.plan[0].due_date)
    paid = loan.quote(on).total_fen + difference
    before = total_paid(loan)
    loan.settle(on, "SETTLE", paid)
    assert total_paid(loan) - before == paid  # every fen that came, the credit included
    balances = loan.balances()
    assert balances.total_owed == max(0, -difference)
    assert balances.credit_fen == max(0, difference)


@pytest.mark.parametrize("method", ["equal_instalment", "equal_principal"])
def test_partial_prepayment_shortens_the_term_or_lowers_the_instalment(method: str) -> None:
    shorter, lower = account(method=method), account(method=method)
    for loan, mode in ((shorter, "shorten_term"), (lower, "lower_instalment")):
        first = loan.plan[0]
        loan.post_due(first.due_date)
        loan.repay(loan.balances().due_now + 3_000_00, first.due_date, "pre", mode)  # type: ignore[arg-type]
        future = [p for p in loan.plan if p.number > 1]
        assert sum(p.principal_fen for p in future) == loan.balances().principal_not_due
    assert len([p for p in shorter.plan if p.number > 1]) < 11
    assert len([p for p in lower.plan if p.number > 1]) == 11
    before = account(method=method).plan[1]
    after = next(p for p in lower.plan if p.number == 2)
    assert after.principal_fen + after.interest_fen < before.principal_fen + before.interest_fen
    # The new plan's APR is still the contract's rate: the disclosure stays true.
    rows = [p for p in lower.plan if p.number > 1]
    schedule = Schedule(
        RepaymentMethod(method),
        sum(p.principal_fen for p in rows),
        Decimal("0.12"),
        len(rows),
        lower.due_date(1),
        tuple(
            Instalment(
                i + 1,
                p.due_date,
                p.principal_fen,
                p.interest_fen,
                p.principal_fen + p.interest_fen,
                0,
            )
            for i, p in enumerate(rows)
        ),
    )
    assert compute_apr(schedule).nominal_apr == Decimal("0.1200")


@pytest.mark.parametrize("method", ["equal_instalment", "equal_principal", "interest_first"])
@pytest.mark.parametrize("days_held", [1, 10, 29])
def test_principal_prepaid_mid_period_pays_its_interest_for_the_days_held(
    method: str, days_held: int
) -> None:
    """Two borrowers prepay the same principal, one on the due date, one `days_held` days
    later: their new plans are the same, and the later one pays exactly the interest on
    that principal for the days held (the quote's convention), no more, no less."""
    on_time, later = account(method=method), account(method=method)
    due = on_time.plan[0].due_date
    for loan in (on_time, later):
        loan.post_due(due)
        loan.repay(loan.balances().due_now, due, "first")
    money = 3_000_00
    on_time.repay(money, due, "pre")
    prepaid = 3_000_00 - on_time.balances().credit_fen
    assert prepaid == money and on_time.balances().credit_fen == 0
    held = due + timedelta(days=days_held)
    interest = round_half_up_fen(Decimal(prepaid) * Decimal("0.12") * days_held / DAY_BASIS)
    later.repay(prepaid + interest, held, "pre")
    assert later.balances().principal_not_due == on_time.balances().principal_not_due
    assert later.balances().credit_fen == 0
    assert [p for p in later.plan if p.number > 1] == [p for p in on_time.plan if p.number > 1]
    assert total_paid(later) - total_paid(on_time) == interest
    # Paid to the end, the later borrower has paid that interest more in all, and the
    # ledger says what it was for.
    for loan in (on_time, later):
        for planned in [p for p in loan.plan if p.number > 1]:
            loan.post_due(planned.due_date)
            loan.repay(loan.balances().due_now, planned.due_date, f"R{planned.number}")
        assert loan.status(loan.plan[-1].due_date) is LoanStatus.SETTLED
    assert total_paid(later) - total_paid(on_time) == interest
    [charge] = [e for e in later.entries if e.kind is EntryKind.INTEREST_TO_DAY]
    assert charge.reference == "pre" and charge.postings[0].amount_fen == interest


def test_money_for_a_prepayment_covers_its_principal_and_that_principals_interest() -> None:
    loan = account()
    due = loan.plan[0].due_date
    loan.post_due(due)
    loan.repay(loan.balances().due_now, due, "first")
    not_due = loan.balances().principal_not_due
    on = due + timedelta(days=15)
    loan.repay(1_000_00, on, "pre")
    principal = not_due - loan.balances().principal_not_due
    interest = round_half_up_fen(Decimal(principal) * Decimal("0.12") * 15 / DAY_BASIS)
    # Every fen went to principal and its interest; what the rounding left is a credit.
    assert principal + interest + loan.balances().credit_fen == 1_000_00
    assert loan.balances().credit_fen <= 1
    more = principal + 1
    assert more + round_half_up_fen(Decimal(more) * Decimal("0.12") * 15 / DAY_BASIS) > 1_000_00


def test_reversing_a_prepayment_reverses_its_interest_and_charges_nothing_again() -> None:
    loan = account()
    due = loan.plan[0].due_date
    loan.post_due(due)
    before = charged_to_date(loan.entries)
    pay = loan.repay(loan.balances().due_now + 2_000_00, due + timedelta(days=12), "pre")
    assert charged_to_date(loan.entries) > before  # the prepaid principal's interest
    loan.reverse(pay.seq, due + timedelta(days=13))
    # The interest of instalment 1 it paid is owed again, not charged again; the interest
    # to the day is undone with the principal it came with.
    assert charged_to_date(loan.entries) == before
    assert loan.balances().get(None, Component.INTEREST) == 0
    assert loan.balances().due_now == loan.balances().instalment_total(1)
    with pytest.raises(ValueError, match="reverse the payment"):
        loan.reverse(pay.seq - 1, due + timedelta(days=13))


def test_a_reversal_restores_the_balances_once() -> None:
    loan = account()
    loan.post_due(loan.plan[0].due_date)
    owed = loan.balances().due_now
    payment = loan.repay(owed, loan.plan[0].due_date, "bounced")
    assert loan.balances().due_now == 0
    loan.reverse(payment.seq, loan.plan[0].due_date)
    assert loan.balances().due_now == owed
    with pytest.raises(ValueError, match="already reversed"):
        loan.reverse(payment.seq, loan.plan[0].due_date)


def test_a_waiver_cannot_exceed_what_is_owed() -> None:
    loan = account()
    loan.post_due(loan.plan[0].due_date)
    interest = loan.balances().get(1, Component.INTEREST)
    with pytest.raises(ValueError):
        loan.waive(loan.plan[0].due_date, 1, Component.INTEREST, interest + 1)
    loan.waive(loan.plan[0].due_date, 1, Component.INTEREST, interest)
    assert loan.balances().get(1, Component.INTEREST) == 0


# -- balances always rebuild from the entries -----------------------------------------------

events = st.lists(
    st.tuples(
        st.sampled_from(["time", "pay", "waive", "reverse", "settle"]),
        st.integers(min_value=1, max_value=60),  # days on, or a fraction for payments
        st.integers(min_value=1, max_value=5_000_00),  # an amount of fen
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    events,
    st.sampled_from(["equal_instalment", "equal_principal", "interest_first"]),
    st.sampled_from(["0.0360", "0.1200", "0.2399"]),
)
def test_any_sequence_of_events_keeps_the_ledger_whole(
    script: list[tuple[str, int, int]], method: str, rate: str
) -> None:
    loan = account(principal=6_000_00, rate=rate, term=6, method=method)
    today = D0
    payments: list[int] = []
    for n, (event, days, amount) in enumerate(script):
        if loan.status(today) in (LoanStatus.SETTLED, LoanStatus.WRITTEN_OFF):
            break
        if event == "time":
            today += timedelta(days=days)
            loan.post_due(today)
            loan.accrue_overdue_interest(today)
        elif event == "pay":
            payments.append(loan.repay(amount, today, f"R{n}").seq)
        elif event == "waive":
            balances = loan.balances()
            owed = [(i, c) for i in balances.instalments for c in CHARGES if balances.get(i, c)]
            if owed:
                i, c = owed[days % len(owed)]
                loan.waive(today, i, c, min(amount, balances.get(i, c)))
        elif event == "reverse" and payments:
            target = payments.pop(days % len(payments))
            loan.reverse(target, today)
        elif event == "settle":
            loan.settle(today, f"S{n}")

        # Rebuilt from the entries alone, every balance holds together.
        rebuilt = Balances.of(loan.entries)
        assert check(rebuilt) == []  # nothing owed below zero, no negative credit
        principal_paid = -sum(
            p.amount_fen
            for e in loan.entries
            if e.kind in (EntryKind.REPAYMENT, EntryKind.REVERSAL)
            for p in e.postings
            if p.component is Component.PRINCIPAL
        )
        assert rebuilt.principal_outstanding + principal_paid == loan.principal_fen
        posted = {i for i in rebuilt.instalments}
        future = [p for p in loan.plan if p.number not in posted]
        assert sum(p.principal_fen for p in future) == rebuilt.principal_not_due
        for number in rebuilt.instalments:
            status = loan.instalment_status(number, today)
            assert (status is InstalmentStatus.PAID) == (rebuilt.instalment_total(number) == 0)


def test_the_statement_shows_the_plan_then_what_is_owed() -> None:
    loan = account()
    first = loan.plan[0]
    loan.post_due(first.due_date)
    late = first.due_date + timedelta(days=3)
    loan.accrue_overdue_interest(late)
    shown = statement(loan, late)
    assert shown["status"] == "overdue" and shown["days_past_due"] == 3
    assert shown["bucket"] == "M1"
    one, two = shown["instalments"][:2]
    assert one["status"] == "overdue" and one["overdue_interest_fen"] > 0
    assert two == {
        "number": 2,
        "due_date": loan.plan[1].due_date.isoformat(),
        "status": "due",
        "principal_fen": loan.plan[1].principal_fen,
        "interest_fen": loan.plan[1].interest_fen,
        "overdue_interest_fen": 0,
        "fee_fen": 0,
    }
