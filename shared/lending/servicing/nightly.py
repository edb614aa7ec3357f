"""The servicing jobs: what each loan needs on a business day, and how the work over the
whole portfolio is cut into shards and pages.

Two jobs, each a run of a servicing state machine (a Map over shards; each shard pages
through one index partition and checkpoints after every page):

* night (00:30 China time): instalments falling due are posted, a credit held is used,
  overdue interest accrues, days past due, bucket and tier are recomputed and stored
  (the tier with its history), and the bound card is debited: on the due date, then on
  each of the next `debit_retry_days` days while something is unpaid (for everything
  due, arrears included) and no earlier debit is still waiting for the channel's answer;
* reminders (09:00): the borrower's reminders of the day (T-3, T-1, T0, T+1, T+3, T+7).

Which loans: those with an instalment due on the days the job is about (an index on due
date, sharded) and those on the watch list (overdue, classified worse than 正常, or
holding a credit: a sparse index), never a scan, so the work grows with the loans due
and overdue, not with the portfolio. Every piece is idempotent (the ledger posts and
accrues once per day, a debit order is one per loan and day, a reminder one per
instalment and kind), so a page done twice, after a crash before its checkpoint, changes
nothing twice.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel

from lending.errors import Conflict, NotFound
from lending.loans.model import Loan
from lending.ports import Clock
from lending.servicing.account import LoanAccount, LoanStatus, account_of, business_day
from lending.servicing.collections import Collections, payment_row
from lending.servicing.delinquency import Tier, TierThresholds, bucket, classify, npl_ratio
from lending.servicing.digest import FailedDebit
from lending.servicing.ledger import Entry
from lending.servicing.reminders import Reminder, next_allowed, reminders_for
from lending.servicing.repayments import PaymentChannel, PaymentOrder

# Partitions of the due-date and watch indexes (in their keys, so fixed at booking:
# changing it means re-keying); the state machine pages through them in parallel.
SHARDS = 8
CATCH_UP_DAYS = 31  # a night that did not run is made up by the next, this far back
REMINDER_DAYS_AHEAD = (3, 1, 0)  # T-3, T-1, T0 (the overdue ones come from the watch list)


class Job(StrEnum):
    NIGHT = "night"
    REMINDERS = "reminders"


Source = Literal["due", "watch"]


class ShardTask(BaseModel):
    """One index partition a job pages through (a Map item of the state machine)."""

    job: Job
    day: date
    source: Source
    key: str  # due: "<due date>#<shard>", watch: "W#<shard>"

    @property
    def id(self) -> str:
        return f"{self.source}:{self.key}"


class Checkpoint(BaseModel):
    after: str | None = None  # the index's opaque position after the last page done
    done: bool = False
    pages: int = 0
    loans: int = 0


class PageResult(BaseModel):
    task: ShardTask
    done: bool
    loans: int  # serviced by this call


def shard_of(loan_id: str, shards: int = SHARDS) -> int:
    """A loan's shard: stable across processes (not Python's salted hash)."""
    return zlib.crc32(loan_id.encode()) % shards


def due_key(due_date: date, shard: int) -> str:
    return f"{due_date.isoformat()}#{shard:02d}"


def watch_key(shard: int) -> str:
    return f"W#{shard:02d}"


def plan(job: Job, day: date, last_night: date | None, shards: int = SHARDS) -> list[ShardTask]:
    """The shards a job pages through on `day`.

    The night reads the instalments due from the day after the last night that finished
    (at least yesterday's: they become overdue tonight), so missed nights are made up;
    the reminders read T-3, T-1 and T0. Both read the watch list."""
    if job is Job.NIGHT:
        first = day - timedelta(days=1)
        if last_night is not None and last_night < first:
            first = max(last_night, day - timedelta(days=CATCH_UP_DAYS))
        days = [first + timedelta(days=n) for n in range((day - first).days + 1)]
    else:
        days = [day + timedelta(days=n) for n in REMINDER_DAYS_AHEAD]
    tasks = [
        ShardTask(job=job, day=day, source="due", key=due_key(d, s))
        for d in days
        for s in range(shards)
    ]
    tasks += [ShardTask(job=job, day=day, source="watch", key=watch_key(s)) for s in range(shards)]
    return tasks


# -- ports --------------------------------------------------------------------------------


class WorkIndex(Protocol):
    def page(self, task: ShardTask, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """Loan ids of the next page of the task's partition, and the position after it
        (None at the end)."""


class Checkpoints(Protocol):
    def get(self, task: ShardTask) -> Checkpoint: ...

    def save(self, task: ShardTask, checkpoint: Checkpoint) -> None: ...


class LoanReader(Protocol):
    def get(self, loan_id: str) -> Loan | None: ...


class Ledger(Protocol):
    def entries(self, loan_id: str) -> list[Entry]: ...

    def append(self, loan_id: str, entries: Sequence[Entry]) -> None: ...


class Owed(BaseModel):
    """What is unpaid of an instalment (its plan before it falls due)."""

    number: int
    due_date: date
    unpaid_fen: int


class LoanState(BaseModel):
    """A loan's servicing state on a day, as computed from its ledger (stored per loan,
    indexed while watched)."""

    loan_id: str
    funder_id: str
    product_id: str
    as_of: date
    ledger_seq: int  # how many ledger entries it was computed from
    status: LoanStatus
    days_past_due: int
    bucket: str
    tier: Tier
    judged_tier: Tier | None = None  # a person's classification, worse than the floor
    principal_outstanding_fen: int
    due_now_fen: int
    credit_fen: int
    owed: list[Owed] = []  # every instalment of the plan in force, and any fallen due
    tier_changes: int = 0  # how many times the tier changed (numbers its history)

    @property
    def watched(self) -> bool:
        return self.days_past_due > 0 or self.tier > Tier.NORMAL or self.credit_fen > 0


class LoanStates(Protocol):
    def get(self, loan_id: str) -> LoanState | None: ...

    def save(self, state: LoanState, previous: LoanState | None, changed: Sequence[Owed]) -> bool:
        """Store the state unless a newer one (more ledger entries, or a later day with
        as many) is stored, with the instalments whose unpaid amount changed (a paid one
        leaves the due-date index) and the tier's history when it changed; all or
        nothing. False if not stored."""


class DebitOrders(Protocol):
    def create(self, order: PaymentOrder) -> None:
        """Conflict if the order exists already."""

    def get(self, loan_id: str, order_id: str) -> PaymentOrder | None: ...

    def debits(self, loan_id: str) -> list[PaymentOrder]: ...

    def settle(self, order: PaymentOrder) -> bool: ...


class ReminderLog(Protocol):
    def claim(self, reminder: Reminder) -> bool:
        """True once per reminder key: whoever claims it sends it."""

    def release(self, reminder: Reminder) -> None:
        """Give a claim back: the reminder was not sent."""


class Notifier(Protocol):
    def send(self, loan: Loan, reminder: Reminder) -> object: ...


# -- the night of one loan ----------------------------------------------------------------


@dataclass(frozen=True)
class ServicingPolicy:
    debit_retry_days: int = 3  # debit again on each of this many days after the due date
    debit_answer_days: int = 2  # a debit unanswered this long is expired (money that
    # comes later is still applied: the ledger takes any payment once per reference)
    # Stricter five-tier thresholds per product id (the regulatory floors otherwise).
    thresholds: Mapping[str, TierThresholds] = field(default_factory=dict)


class Keep:
    """The judged tier stays as stored."""


KEEP = Keep()


def debit_order_id(loan_id: str, day: date) -> str:
    """One auto-debit per loan and day: D<loan id without its L>.<yyyymmdd>."""
    return f"D{loan_id[1:]}.{day:%Y%m%d}"


@dataclass(frozen=True)
class NightOutcome:
    loan_id: str
    entries: int  # ledger entries written
    state: LoanState | None
    debit: PaymentOrder | None = None


@dataclass
class Servicing:
    loans: LoanReader
    ledger: Ledger
    states: LoanStates
    orders: DebitOrders
    channel: PaymentChannel
    clock: Clock
    collections: Collections | None = None
    policy: ServicingPolicy = ServicingPolicy()

    # -- after a channel's answer (PaymentHooks) ---------------------------------------------

    def applied(
        self, loan: Loan, account: LoanAccount, order: PaymentOrder, payment: Entry, day: date
    ) -> None:
        self.refresh(loan, account, day)
        if self.collections is not None:
            row = payment_row(loan, order, payment, day)
            self.collections.record_payment(row, loan.payout_reference)

    def failed(self, loan: Loan, order: PaymentOrder, day: date) -> None:
        if self.collections is not None:
            code = order.failure_code or "failed"
            self.collections.record_failure(
                FailedDebit(day, loan.id, order.id, order.amount_fen, code)
            )

    def night(self, loan_id: str, day: date) -> NightOutcome:
        loan = self.loans.get(loan_id)
        if loan is None:
            return NightOutcome(loan_id, 0, None)
        for _attempt in range(3):
            account = LoanAccount.restore(account_of(loan), self.ledger.entries(loan_id))
            before = len(account.entries)
            if account.status(day) not in (LoanStatus.SETTLED, LoanStatus.WRITTEN_OFF):
                # Due first, then the credit against it, then the day's overdue interest.
                account.post_due(day)
                account.apply_credit(day)
                account.accrue_overdue_interest(day)
            new = account.entries[before:]
            try:
                self.ledger.append(loan_id, new)
            except Conflict:
                continue  # a payment landed meanwhile: read again, decide again
            break
        else:
            raise Conflict("the ledger kept changing; run the page again", "retry")
        state = self.refresh(loan, account, day)
        return NightOutcome(loan_id, len(new), state, self._debit(loan, account, day))

    def judge(self, loan_id: str, tier: Tier, day: date) -> LoanState:
        """A person's classification: the tier in force is the worse of it and the floor
        (正常 withdraws a judgement; a loan is never classified better than its floor)."""
        loan = self.loans.get(loan_id)
        if loan is None:
            raise NotFound("no such loan")
        account = LoanAccount.restore(account_of(loan), self.ledger.entries(loan_id))
        return self.refresh(loan, account, day, judged=None if tier is Tier.NORMAL else tier)

    def refresh(
        self, loan: Loan, account: LoanAccount, day: date, judged: Tier | Keep | None = KEEP
    ) -> LoanState:
        """Recompute and store the loan's state (nightly, and after every payment)."""
        previous = self.states.get(loan.id)
        if isinstance(judged, Keep):
            judged = previous.judged_tier if previous else None
        balances = account.balances()
        dpd = account.days_past_due(day)
        thresholds = self.policy.thresholds.get(loan.product_id, TierThresholds())
        state = LoanState(
            loan_id=loan.id,
            funder_id=loan.funder_id,
            product_id=loan.product_id,
            as_of=day,
            ledger_seq=len(account.entries),
            status=account.status(day),
            days_past_due=dpd,
            bucket=bucket(dpd),
            tier=classify(dpd, judged, thresholds),
            judged_tier=judged,
            principal_outstanding_fen=balances.principal_outstanding,
            due_now_fen=balances.due_now,
            credit_fen=balances.credit_fen,
            owed=owed(account),
        )
        if previous is not None:
            moved = previous.tier != state.tier
            state.tier_changes = previous.tier_changes + int(moved)
        if previous is None or _changed(previous, state):
            before = previous.owed if previous else booked(loan)
            self.states.save(state, previous, owed_changes(before, state.owed))
        return state

    def _debit(self, loan: Loan, account: LoanAccount, day: date) -> PaymentOrder | None:
        """Ask the channel to debit what is due: on the due date and the retry days."""
        balances = account.balances()
        owed = balances.due_now - balances.credit_fen
        if owed <= 0 or account.status(day) is LoanStatus.WRITTEN_OFF:
            return None
        unpaid = [account.due_date(n) for n in balances.instalments if balances.instalment_total(n)]
        if not unpaid or (day - max(unpaid)).days > self.policy.debit_retry_days:
            # Beyond the retries of the newest instalment due: collection's work. Each
            # instalment's own due date is debited (for all that is due), as the
            # reminders before it say.
            return None
        today = debit_order_id(loan.id, day)
        for earlier in self.orders.debits(loan.id):
            if earlier.status != "pending" or earlier.id == today:
                continue
            waited = day - business_day(earlier.created_at)
            if waited.days < self.policy.debit_answer_days:
                return None  # never two debits in flight: its answer may still come
            self.orders.settle(
                earlier.model_copy(update={"status": "expired", "failure_code": "no_answer"})
            )
        order = PaymentOrder(
            id=today,
            loan_id=loan.id,
            amount_fen=owed,
            purpose="auto_debit",
            created_at=self.clock.now(),
        )
        try:
            self.orders.create(order)
        except Conflict:
            existing = self.orders.get(loan.id, today)
            if existing is None or existing.status != "pending":
                return existing  # answered already: nothing to ask again
            order = existing
        self.channel.collect(order)  # again after a crash: the channel dedupes by order id
        return order


def owed(account: LoanAccount) -> list[Owed]:
    balances = account.balances()
    posted = set(balances.instalments)
    numbers = sorted(posted | {p.number for p in account.plan})
    planned = {p.number: p.principal_fen + p.interest_fen for p in account.plan}
    return [
        Owed(
            number=n,
            due_date=account.due_date(n),
            unpaid_fen=balances.instalment_total(n) if n in posted else planned[n],
        )
        for n in numbers
    ]


def booked(loan: Loan) -> list[Owed]:
    """The instalments as booking wrote them (what the index holds before any state)."""
    return [
        Owed(number=i.number, due_date=i.due_date, unpaid_fen=i.total_fen) for i in loan.instalments
    ]


def owed_changes(before: Sequence[Owed], after: Sequence[Owed]) -> list[Owed]:
    """The instalments whose unpaid amount or date changed; one no longer planned (a
    shortened term) is owed 0."""
    was = {o.number: o for o in before}
    now = {o.number: o for o in after}
    changed = [o for n, o in now.items() if was.get(n) != o]
    changed += [
        o.model_copy(update={"unpaid_fen": 0})
        for n, o in was.items()
        if n not in now and o.unpaid_fen
    ]
    return sorted(changed, key=lambda o: o.number)


def _changed(previous: LoanState, state: LoanState) -> bool:
    """Worth a write: anything but the day it was computed on (an unchanged current loan
    costs no write a night)."""
    return previous.model_dump(exclude={"as_of"}) != state.model_dump(exclude={"as_of"})


# -- the reminders of one loan ------------------------------------------------------------


@dataclass
class Reminding:
    loans: LoanReader
    ledger: Ledger
    log: ReminderLog
    notifier: Notifier
    clock: Clock

    def remind(self, loan_id: str, day: date) -> list[Reminder]:
        """The day's reminders of the loan, each sent once; none in the quiet hours."""
        now = self.clock.now()
        if next_allowed(now) != now or business_day(now) != day:
            return []  # a late run in the quiet hours, or another day's: nothing to send
        loan = self.loans.get(loan_id)
        if loan is None:
            return []
        account = LoanAccount.restore(account_of(loan), self.ledger.entries(loan_id))
        if account.status(day) in (LoanStatus.SETTLED, LoanStatus.WRITTEN_OFF):
            return []
        balances = account.balances()
        posted = set(balances.instalments)
        sent = []
        for planned in account.plan:
            n = planned.number
            unpaid = (
                balances.instalment_total(n)
                if n in posted
                else planned.principal_fen + planned.interest_fen - balances.credit_fen
            )
            for reminder in reminders_for(loan_id, n, account.due_date(n), unpaid, now):
                if self.log.claim(reminder):
                    try:
                        self.notifier.send(loan, reminder)
                    except Exception:
                        self.log.release(reminder)  # not sent: a retry of the page sends it
                        raise
                    sent.append(reminder)
        return sent


# -- pages and the night's report ---------------------------------------------------------


@dataclass
class PageRunner:
    index: WorkIndex
    checkpoints: Checkpoints
    page_size: int = 100

    def run(self, task: ShardTask, service: Callable[[str], object]) -> PageResult:
        """Service the next page of the task's partition, then move its checkpoint."""
        checkpoint = self.checkpoints.get(task)
        if checkpoint.done:
            return PageResult(task=task, done=True, loans=0)
        loan_ids, after = self.index.page(task, checkpoint.after, self.page_size)
        unique = list(dict.fromkeys(loan_ids))  # two instalments of a loan on one page
        for loan_id in unique:
            service(loan_id)
        self.checkpoints.save(
            task,
            Checkpoint(
                after=after,
                done=after is None,
                pages=checkpoint.pages + 1,
                loans=checkpoint.loans + len(unique),
            ),
        )
        return PageResult(task=task, done=after is None, loans=len(unique))


class Bucketed(BaseModel):
    loans: int = 0
    principal_fen: int = 0


class NightReport(BaseModel):
    """The portfolio after a night: what finance's digest and the NPL alarm read."""

    day: date
    outstanding_fen: int  # all principal outstanding
    buckets: dict[str, Bucketed]  # M1, M2, M3, M3+
    tiers: dict[str, Bucketed]  # 关注 .. 损失 (正常 is the rest of the outstanding)
    npl_ratio: Decimal
    credits_held_fen: int
    watched_loans: int


def night_report(day: date, watched: Iterable[LoanState], outstanding_fen: int) -> NightReport:
    buckets: dict[str, Bucketed] = {b: Bucketed() for b in ("M1", "M2", "M3", "M3+")}
    tiers: dict[str, Bucketed] = {t.label_zh: Bucketed() for t in Tier if t > Tier.NORMAL}
    credits = count = 0
    for state in watched:
        count += 1
        credits += state.credit_fen
        if state.days_past_due > 0:
            _add(buckets[state.bucket], state.principal_outstanding_fen)
        if state.tier > Tier.NORMAL:
            _add(tiers[state.tier.label_zh], state.principal_outstanding_fen)
    bad = sum(tiers[t.label_zh].principal_fen for t in Tier if t.non_performing)
    ratio = npl_ratio([(Tier.SUBSTANDARD, bad), (Tier.NORMAL, max(0, outstanding_fen - bad))])
    return NightReport(
        day=day,
        outstanding_fen=outstanding_fen,
        buckets=buckets,
        tiers=tiers,
        npl_ratio=ratio,
        credits_held_fen=credits,
        watched_loans=count,
    )


def _add(total: Bucketed, principal_fen: int) -> None:
    total.loans += 1
    total.principal_fen += principal_fen
