"""Repayment orders and the channel's callbacks, on fakes: applied once, never lost."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from lending.auth import Principal, Role
from lending.errors import InvalidRequest, NotFound
from lending.servicing.account import LoanStatus, account_of, business_day
from lending.servicing.repayments import ChannelCallback, PaymentOrder, Repayments, loan_of
from tests.fakes import FakeChannel, FakeClock, FakeLedger, FakeLoans, FakeOrders, booked_loan

T0 = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 in China
LATER = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class FakeQuota:
    back: dict[str, int] = field(default_factory=dict)

    def repaid(self, funder_id: str, reference: str, principal_fen: int) -> bool:
        if reference in self.back:
            return False
        self.back[reference] = principal_fen
        return True


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
