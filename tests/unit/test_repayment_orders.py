"""Repayment orders and the channel's callbacks, on fakes: applied once, never lost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from lending.auth import Principal, Role
from lending.errors import Conflict, InvalidRequest, NotFound
from lending.loans.model import InstalmentRecord, Loan
from lending.servicing.account import LoanStatus, account_of, business_day
from lending.servicing.ledger import Entry
from lending.servicing.repayments import ChannelCallback, PaymentOrder, Repayments, loan_of
from tests.fakes import FakeClock, FakeLoans, plan_of

T0 = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 in China
LATER = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class FakeLedger:
    by_loan: dict[str, list[Entry]] = field(default_factory=dict)
    references: set[str] = field(default_factory=set)
    conflicts: int = 0  # the next appends that lose to another writer

    def entries(self, loan_id: str) -> list[Entry]:
        return list(self.by_loan.get(loan_id, []))

    def append(self, loan_id: str, entries: Sequence[Entry]) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict("another writer", "ledger_changed")
        have = self.by_loan.setdefault(loan_id, [])
        refs = {e.reference for e in entries if e.kind.value == "repayment" and e.reference}
        if {e.seq for e in have} & {e.seq for e in entries} or refs & self.references:
            raise Conflict("taken", "ledger_changed")
        self.references |= refs
        have.extend(entries)


@dataclass
class FakeOrders:
    orders: dict[str, PaymentOrder] = field(default_factory=dict)

    def create(self, order: PaymentOrder) -> None:
        self.orders[order.id] = order

    def get(self, loan_id: str, order_id: str) -> PaymentOrder | None:
        order = self.orders.get(order_id)
        return order if order is not None and order.loan_id == loan_id else None

    def settle(self, order: PaymentOrder) -> bool:
        if self.orders[order.id].status != "pending":
            return False
        self.orders[order.id] = order
        return True


@dataclass
class FakeChannel:
    asked: list[PaymentOrder] = field(default_factory=list)

    def collect(self, order: PaymentOrder) -> None:
        self.asked.append(order)


@dataclass
class FakeQuota:
    back: dict[str, int] = field(default_factory=dict)

    def repaid(self, funder_id: str, reference: str, principal_fen: int) -> bool:
        if reference in self.back:
            return False
        self.back[reference] = principal_fen
        return True


def booked_loan() -> Loan:
    plan = plan_of("equal_instalment", 3_000_00, Decimal("0.12"), 3, business_day(T0))
    return Loan(
        id="L20260131abcdef",
        application_id="A20260131abcdef",
        applicant_id="U1",
        product_id="consumer-flex",
        funder_id="bank-a",
        principal_fen=3_000_00,
        annual_rate="0.12",
        apr="0.1200",
        term_months=3,
        repayment_method="equal_instalment",
        disbursed_at=T0,
        payout_reference="BANKA-1",
        contract_sha256="00",
        instalments=[
            InstalmentRecord(
                number=p.number,
                due_date=p.due_date,
                principal_fen=p.principal_fen,
                interest_fen=p.interest_fen,
                total_fen=p.principal_fen + p.interest_fen,
            )
            for p in plan
        ],
    )


@dataclass
class World:
    ledger: FakeLedger = field(default_factory=FakeLedger)
    channel: FakeChannel = field(default_factory=FakeChannel)
    quota: FakeQuota = field(default_factory=FakeQuota)
    clock: FakeClock = field(default_factory=lambda: FakeClock(T0 + timedelta(days=31)))

    def __post_init__(self) -> None:
        loan, loans = booked_loan(), FakeLoans()
        loans.book(loan, account_of(loan).entries)
        self.ledger.by_loan[loan.id] = list(loans.ledgers[loan.id])
        self.service = Repayments(
            loans, self.ledger, FakeOrders(), self.channel, self.quota, self.clock
        )


@pytest.fixture
def world() -> World:
    return World()


def borrower(subject: str = "U1") -> Principal:
    return Principal(subject=subject, role=Role.APPLICANT, expires_at=LATER)


def paid(
    order: PaymentOrder, reference: str, at: datetime, amount: int | None = None
) -> ChannelCallback:
    return ChannelCallback(
        order_id=order.id,
        channel_reference=reference,
        status="succeeded",
        amount_fen=amount or order.amount_fen,
        at=at,
    )


def test_an_order_goes_to_the_channel_and_its_callback_is_applied_once(world: World) -> None:
    service, clock = world.service, world.clock
    order = service.request(borrower(), booked_loan().id, 500_00)
    assert world.channel.asked == [order] and order.status == "pending"
    assert loan_of(order.id) == order.loan_id
    first = service.on_callback(paid(order, "CH-1", clock.now()))
    assert first.applied == "applied" and first.order.status == "succeeded"
    assert first.principal_fen > 0 and world.quota.back == {"CH-1": first.principal_fen}
    again = service.on_callback(paid(order, "CH-1", clock.now()))
    assert again.applied == "already_applied"
    assert world.quota.back == {"CH-1": first.principal_fen}  # quota freed once
    repayments = [e for e in world.ledger.entries(order.loan_id) if e.kind.value == "repayment"]
    assert len(repayments) == 1


def test_a_failed_debit_records_why_and_moves_no_money(world: World) -> None:
    service, clock = world.service, world.clock
    order = service.request(borrower(), booked_loan().id, 500_00)
    before = world.ledger.entries(order.loan_id)
    result = service.on_callback(
        ChannelCallback(
            order_id=order.id,
            channel_reference="CH-F",
            status="failed",
            amount_fen=order.amount_fen,
            at=clock.now(),
            failure_code="insufficient_funds",
        )
    )
    assert result.applied == "failed" and result.order.failure_code == "insufficient_funds"
    assert world.ledger.entries(order.loan_id) == before and world.quota.back == {}


def test_settling_in_full_pays_the_quote_and_closes_the_loan(world: World) -> None:
    service, clock = world.service, world.clock
    order = service.request(borrower(), booked_loan().id, None, settle=True)
    service.on_callback(paid(order, "CH-S", clock.now()))
    account = service.account(booked_loan())
    assert account.status(business_day(clock.now())) is LoanStatus.SETTLED
    assert world.quota.back == {"CH-S": 3_000_00}  # all the principal came back to the funder


def test_a_callback_that_loses_a_race_is_decided_again(world: World) -> None:
    service, clock = world.service, world.clock
    order = service.request(borrower(), booked_loan().id, 500_00)
    world.ledger.conflicts = 1  # the nightly job wrote first
    assert service.on_callback(paid(order, "CH-R", clock.now())).applied == "applied"


def test_orders_are_refused_for_strangers_and_wrong_amounts(world: World) -> None:
    service = world.service
    loan_id = booked_loan().id
    with pytest.raises(NotFound):
        service.request(borrower("U2"), loan_id, 100)
    for amount, settle in ((0, False), (10**9, False), (None, False), (100, True)):
        with pytest.raises(InvalidRequest):
            service.request(borrower(), loan_id, amount, settle=settle)
    with pytest.raises(NotFound):
        service.on_callback(
            paid(PaymentOrder(id="P1.x", loan_id="L1", amount_fen=1, created_at=T0), "CH", T0)
        )
