"""The loan ledger in DynamoDB (moto): entries round-trip, appends never overwrite, and a
channel reference becomes one payment across all loans."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from lending.aws.ledger import DynamoLedgerRepository
from lending.errors import Conflict
from lending.servicing.account import LoanAccount
from lending.servicing.ledger import Balances
from tests.fakes import plan_of

D0 = date(2025, 1, 31)


@pytest.fixture
def store() -> Iterator[DynamoLedgerRepository]:
    # A table of its own: under the session's local cloud, mock_aws shares its backend.
    table = f"loans-{uuid.uuid4().hex}"
    with mock_aws():
        db = boto3.client("dynamodb", region_name="cn-north-1")
        db.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
        yield DynamoLedgerRepository(db, table)


def opened(loan_id: str) -> LoanAccount:
    return LoanAccount.open(
        loan_id=loan_id,
        repayment_method="equal_principal",
        annual_rate=Decimal("0.12"),
        overdue_annual_rate=Decimal("0.18"),
        disbursed_on=D0,
        principal_fen=6_000_00,
        plan=plan_of("equal_principal", 6_000_00, Decimal("0.12"), 6, D0),
    )


def test_an_account_is_restored_from_its_stored_entries(store: DynamoLedgerRepository) -> None:
    loan = opened("L1")
    loan.post_due(loan.plan[1].due_date)
    loan.accrue_overdue_interest(loan.plan[1].due_date)
    loan.repay(loan.balances().due_now + 1_000_00, loan.plan[1].due_date, "CH-1")
    store.append("L1", loan.entries)
    restored = LoanAccount.restore(opened("L1"), store.entries("L1"))
    assert restored.entries == loan.entries
    assert restored.plan == loan.plan  # the reschedule after the prepayment
    assert Balances.of(restored.entries).owed == loan.balances().owed


def test_two_writers_cannot_both_append_the_same_entry(store: DynamoLedgerRepository) -> None:
    loan = opened("L1")
    store.append("L1", loan.entries)
    first, second = (LoanAccount.restore(opened("L1"), store.entries("L1")) for _ in range(2))
    first.post_due(first.plan[0].due_date)
    second.post_due(second.plan[0].due_date)
    store.append("L1", first.entries[1:])
    with pytest.raises(Conflict):
        store.append("L1", second.entries[1:])
    assert len(store.entries("L1")) == 2


def test_a_channel_reference_is_one_payment_across_loans(store: DynamoLedgerRepository) -> None:
    one, other = opened("L1"), opened("L2")
    store.append("L1", one.entries)
    store.append("L2", other.entries)
    one.post_due(one.plan[0].due_date)
    other.post_due(other.plan[0].due_date)
    one.repay(100_00, one.plan[0].due_date, "CH-9")
    store.append("L1", one.entries[1:])
    other.repay(100_00, other.plan[0].due_date, "CH-9")
    with pytest.raises(Conflict):
        store.append("L2", other.entries[1:])
    assert [e.reference for e in store.entries("L2") if e.kind.value == "repayment"] == []
