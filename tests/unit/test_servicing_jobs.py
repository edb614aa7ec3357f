"""The servicing jobs on fakes: a loan's night and morning, pages and their checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest

from lending.servicing.account import CHINA, LoanStatus, business_day
from lending.servicing.delinquency import Tier
from lending.servicing.ledger import EntryKind
from lending.servicing.nightly import (
    Checkpoint,
    Job,
    LoanState,
    PageRunner,
    Reminding,
    Servicing,
    ServicingPolicy,
    ShardTask,
    debit_order_id,
    night_report,
    plan,
)
from lending.servicing.reminders import Reminder, ReminderKind
from lending.servicing.repayments import ChannelCallback, PaymentOrder, Repayments
from tests.fakes import (
    FakeChannel,
    FakeClock,
    FakeLedger,
    FakeLoans,
    FakeOrders,
    booked_loan,
)

LOAN = booked_loan()
FIRST = LOAN.instalments[0]


def at(day: date, hour: int = 0, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), CHINA).astimezone(UTC)


@dataclass
class FakeStates:
    states: dict[str, LoanState] = field(default_factory=dict)
    history: list[tuple[str, date, Tier]] = field(default_factory=list)

    def get(self, loan_id: str) -> LoanState | None:
        return self.states.get(loan_id)

    def save(self, state: LoanState, previous: LoanState | None, changed: object = ()) -> bool:
        stored = self.states.get(state.loan_id)
        if stored is not None and (stored.ledger_seq, stored.as_of) > (
            state.ledger_seq,
            state.as_of,
        ):
            return False
        self.states[state.loan_id] = state
        if previous is None or previous.tier != state.tier:
            self.history.append((state.loan_id, state.as_of, state.tier))
        return True


@dataclass
class FakeLog:
    keys: set[str] = field(default_factory=set)

    def claim(self, reminder: Reminder) -> bool:
        if reminder.key in self.keys:
            return False
        self.keys.add(reminder.key)
        return True

    def release(self, reminder: Reminder) -> None:
        self.keys.discard(reminder.key)


@dataclass
class FakeNotifier:
    sent: list[Reminder] = field(default_factory=list)
    down: bool = False

    def send(self, loan: object, reminder: Reminder) -> None:
        if self.down:
            raise ConnectionError("no channel answers")
        self.sent.append(reminder)


@dataclass
class World:
    clock: FakeClock = field(default_factory=lambda: FakeClock(at(FIRST.due_date)))
    ledger: FakeLedger = field(default_factory=FakeLedger)
    orders: FakeOrders = field(default_factory=FakeOrders)
    channel: FakeChannel = field(default_factory=FakeChannel)
    states: FakeStates = field(default_factory=FakeStates)
    log: FakeLog = field(default_factory=FakeLog)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)

    def __post_init__(self) -> None:
        loans = FakeLoans()
        from lending.servicing.account import account_of

        loans.book(LOAN, account_of(LOAN).entries)
        self.ledger.by_loan[LOAN.id] = list(loans.ledgers[LOAN.id])
        self.servicing = Servicing(
            loans, self.ledger, self.states, self.orders, self.channel, self.clock
        )
        self.reminding = Reminding(loans, self.ledger, self.log, self.notifier, self.clock)
        self.repayments = Repayments(
            loans,
            self.ledger,
            self.orders,
            self.channel,
            _NoQuota(),
            self.clock,
            hooks=self.servicing,
        )

    def night(self, day: date) -> None:
        self.clock.current = at(day)
        self.servicing.night(LOAN.id, day)

    def answer(self, order: PaymentOrder, reference: str, ok: bool = True) -> None:
        self.repayments.on_callback(
            ChannelCallback(
                order_id=order.id,
                channel_reference=reference,
                status="succeeded" if ok else "failed",
                amount_fen=order.amount_fen,
                at=self.clock.now(),
                failure_code=None if ok else "insufficient_funds",
            )
        )

    def kinds(self, entries_kind: EntryKind) -> int:
        return sum(1 for e in self.ledger.entries(LOAN.id) if e.kind is entries_kind)


class _NoQuota:
    def repaid(self, funder_id: str, reference: str, principal_fen: int) -> bool:
        return True


@pytest.fixture
def world() -> World:
    return World()


def test_the_due_date_posts_the_instalment_and_debits_it_once(world: World) -> None:
    world.night(FIRST.due_date)
    world.night(FIRST.due_date)  # the night run again (a retried page)
    assert world.kinds(EntryKind.INSTALMENT_DUE) == 1
    orders = world.orders.debits(LOAN.id)
    assert [o.id for o in orders] == [debit_order_id(LOAN.id, FIRST.due_date)]
    assert orders[0].amount_fen == FIRST.total_fen
    # Asked again after the rerun: the channel dedupes by order id, never debits twice.
    assert {o.id for o in world.channel.asked} == {orders[0].id}
    world.answer(orders[0], "CH1")
    state = world.states.get(LOAN.id)
    assert state is not None and state.status is LoanStatus.CURRENT and not state.watched


def test_a_failed_debit_is_retried_on_the_next_days_within_the_limit(world: World) -> None:
    day = FIRST.due_date
    for n in range(6):
        world.night(day + timedelta(days=n))
        today = world.orders.orders.get(debit_order_id(LOAN.id, day + timedelta(days=n)))
        if today is not None:
            world.answer(today, f"CH{n}", ok=False)
    tried = sorted(o.id for o in world.orders.debits(LOAN.id))
    # The due date and the 3 retry days; then collection's work, not the card's.
    assert tried == [debit_order_id(LOAN.id, day + timedelta(days=n)) for n in range(4)]


def test_a_debit_waiting_for_its_answer_blocks_another_until_it_expires(world: World) -> None:
    day = FIRST.due_date
    world.night(day)
    world.night(day + timedelta(days=1))  # no answer yet: no second debit in flight
    assert len(world.orders.debits(LOAN.id)) == 1
    world.night(day + timedelta(days=2))  # waited 2 days: expired, a new one is asked
    orders = {o.id: o for o in world.orders.debits(LOAN.id)}
    first = orders[debit_order_id(LOAN.id, day)]
    assert first.status == "expired" and len(orders) == 2
    # The first debit's money comes after all: applied, not lost; the second one's
    # money then is more than owed and is held as a credit, never prepaid nor swallowed.
    world.answer(first, "CH-late")
    world.answer(orders[debit_order_id(LOAN.id, day + timedelta(days=2))], "CH-second")
    account = world.servicing.loans.get(LOAN.id)
    assert account is not None
    state = world.states.get(LOAN.id)
    assert state is not None and state.credit_fen > 0 and state.watched
    assert world.orders.orders[first.id].status == "succeeded"
    balances_plan = world.repayments.account(LOAN).plan
    assert [p.principal_fen for p in balances_plan] == [i.principal_fen for i in LOAN.instalments]


def test_overdue_loans_accrue_age_and_classify_with_history(world: World) -> None:
    day = FIRST.due_date
    for n in range(0, 100):
        world.night(day + timedelta(days=n))
        for order in world.orders.debits(LOAN.id):
            if order.status == "pending":
                world.answer(order, f"CH-{order.id}", ok=False)
    state = world.states.get(LOAN.id)
    assert state is not None
    assert state.days_past_due == 99 and state.bucket == "M3+" and state.tier is Tier.SUBSTANDARD
    tiers = [tier for _, _, tier in world.states.history]
    assert tiers == [Tier.NORMAL, Tier.SPECIAL_MENTION, Tier.SUBSTANDARD]
    # One accrual entry a night with overdue principal (none the due date itself).
    assert world.kinds(EntryKind.OVERDUE_INTEREST) == 99
    # Paid in full: current again, off the watch list.
    owed = world.repayments.account(LOAN).quote(day + timedelta(days=99)).total_fen
    order = PaymentOrder(
        id="P" + LOAN.id[1:] + ".x",
        loan_id=LOAN.id,
        amount_fen=owed,
        settle=True,
        created_at=world.clock.now(),
    )
    world.orders.create(order)
    world.answer(order, "CH-settle")
    state = world.states.get(LOAN.id)
    assert state is not None and state.status is LoanStatus.SETTLED and not state.watched


def test_reminders_go_once_per_kind_in_the_day_and_never_in_quiet_hours(world: World) -> None:
    due = FIRST.due_date
    sent: list[ReminderKind] = []
    for offset in range(-4, 9):
        day = due + timedelta(days=offset)
        world.clock.current = at(day, 22, 0)  # quiet hours: nothing
        assert world.reminding.remind(LOAN.id, day) == []
        world.night(day)
        world.clock.current = at(day, 9, 0)
        sent += [r.kind for r in world.reminding.remind(LOAN.id, day)]
        assert world.reminding.remind(LOAN.id, day) == []  # run again: sent once
    assert sent == list(ReminderKind)
    texts = [r.text for r in world.notifier.sent]
    assert all(f"{due.month}月{due.day}日" in t for t in texts)
    assert all(r.instalment == 1 for r in world.notifier.sent)


def test_a_reminder_no_channel_could_send_is_sent_by_the_retry(world: World) -> None:
    day = FIRST.due_date - timedelta(days=3)
    world.clock.current = at(day, 9, 0)
    world.notifier.down = True
    with pytest.raises(ConnectionError):
        world.reminding.remind(LOAN.id, day)
    world.notifier.down = False  # Step Functions retries the page
    assert [r.kind for r in world.reminding.remind(LOAN.id, day)] == [ReminderKind.BEFORE_3]
    assert len(world.notifier.sent) == 1


def test_no_reminder_for_a_paid_instalment(world: World) -> None:
    world.night(FIRST.due_date)
    world.answer(world.orders.debits(LOAN.id)[0], "CH1")
    day = FIRST.due_date + timedelta(days=1)
    world.night(day)
    world.clock.current = at(day, 9, 0)
    assert world.reminding.remind(LOAN.id, day) == []


@dataclass
class ListIndex:
    ids: list[str]

    def page(self, task: ShardTask, after: str | None, limit: int) -> tuple[list[str], str | None]:
        start = int(after or 0)
        end = start + limit
        return self.ids[start:end], (str(end) if end < len(self.ids) else None)


@dataclass
class MemoryCheckpoints:
    saved: dict[str, Checkpoint] = field(default_factory=dict)

    def get(self, task: ShardTask) -> Checkpoint:
        return self.saved.get(task.id, Checkpoint())

    def save(self, task: ShardTask, checkpoint: Checkpoint) -> None:
        self.saved[task.id] = checkpoint


def test_a_page_killed_midway_resumes_from_its_checkpoint_and_does_nothing_twice() -> None:
    ids = [f"L{n:03d}" for n in range(25)]
    runner = PageRunner(ListIndex(ids), MemoryCheckpoints(), page_size=10)
    task = ShardTask(job=Job.NIGHT, day=date(2026, 3, 1), source="due", key="2026-03-01#00")
    effects: dict[str, int] = {}
    crash_at = {"L013"}

    def service(loan_id: str) -> None:
        if loan_id in crash_at:
            crash_at.clear()
            raise RuntimeError("the function died")
        effects[loan_id] = effects.get(loan_id, 0) + 1  # an idempotent step would dedupe

    assert runner.run(task, service).done is False
    with pytest.raises(RuntimeError):
        runner.run(task, service)
    while not runner.run(task, service).done:
        pass
    assert runner.run(task, service).loans == 0  # a finished shard is not read again
    assert sorted(effects) == ids
    # Only the page that died is serviced again (10..12 twice), the rest once.
    assert {k for k, v in effects.items() if v == 2} == {"L010", "L011", "L012"}


def test_the_night_makes_up_missed_nights_and_the_morning_reads_ahead() -> None:
    day = date(2026, 3, 10)
    due_days = lambda tasks: sorted({t.key.split("#")[0] for t in tasks if t.source == "due"})  # noqa: E731
    assert due_days(plan(Job.NIGHT, day, day - timedelta(days=1))) == ["2026-03-09", "2026-03-10"]
    assert due_days(plan(Job.NIGHT, day, date(2026, 3, 6)))[0] == "2026-03-06"
    assert due_days(plan(Job.NIGHT, day, date(2025, 1, 1)))[0] == "2026-02-07"  # 31 days
    assert due_days(plan(Job.REMINDERS, day, None)) == ["2026-03-10", "2026-03-11", "2026-03-13"]
    assert sum(t.source == "watch" for t in plan(Job.NIGHT, day, None)) == 8


def state(dpd: int, tier: Tier, principal: int, credit: int = 0) -> LoanState:
    return LoanState(
        loan_id=f"L{dpd}{tier}",
        funder_id="bank-a",
        product_id="consumer-flex",
        as_of=date(2026, 3, 1),
        ledger_seq=3,
        status=LoanStatus.OVERDUE if dpd else LoanStatus.CURRENT,
        days_past_due=dpd,
        bucket="M0",
        tier=tier,
        principal_outstanding_fen=principal,
        due_now_fen=0,
        credit_fen=credit,
    ).model_copy(update={"bucket": _bucket(dpd)})


def _bucket(dpd: int) -> str:
    from lending.servicing.delinquency import bucket

    return bucket(dpd)


def test_the_night_report_sums_buckets_tiers_and_the_npl_ratio() -> None:
    watched = [
        state(5, Tier.SPECIAL_MENTION, 1_000_00),
        state(95, Tier.SUBSTANDARD, 2_000_00),
        state(400, Tier.LOSS, 1_000_00),
        state(0, Tier.NORMAL, 500_00, credit=12_34),
    ]
    report = night_report(date(2026, 3, 1), watched, outstanding_fen=100_000_00)
    assert report.buckets["M1"].principal_fen == 1_000_00
    assert report.buckets["M3+"].loans == 2
    assert report.tiers["次级"].principal_fen == 2_000_00
    assert str(report.npl_ratio) == "0.03"
    assert report.credits_held_fen == 12_34 and report.watched_loans == 4


def test_a_product_may_classify_stricter(world: World) -> None:
    from lending.servicing.delinquency import TierThresholds

    world.servicing.policy = ServicingPolicy(
        thresholds={LOAN.product_id: TierThresholds(substandard=60)}
    )
    day = FIRST.due_date
    world.night(day)
    world.answer(world.orders.debits(LOAN.id)[0], "CH0", ok=False)
    world.night(day + timedelta(days=61))
    state_ = world.states.get(LOAN.id)
    assert state_ is not None and state_.tier is Tier.SUBSTANDARD
    assert business_day(world.clock.now()) == day + timedelta(days=61)


def test_a_loan_in_arrears_is_debited_again_when_its_next_instalment_falls_due(
    world: World,
) -> None:
    second = LOAN.instalments[1].due_date
    day = FIRST.due_date
    while day <= second:
        world.night(day)
        for order in world.orders.debits(LOAN.id):
            if order.status == "pending":
                world.answer(order, f"CH-{order.id}", ok=False)
        day += timedelta(days=1)
    latest = world.orders.orders[debit_order_id(LOAN.id, second)]
    # Everything due: the first instalment with its overdue interest, and the second.
    assert latest.amount_fen > FIRST.total_fen + LOAN.instalments[1].total_fen
