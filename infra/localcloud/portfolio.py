"""A synthetic loan portfolio booked straight into the local cloud's tables.

For the servicing jobs' tests and benchmark: loans as booking writes them (the loan, its
instalments, the ledger's opening entry, through the same adapters) with an application
whose sealed details hold the borrower's phone (the reminders open it), without running
each loan through origination. Disbursement days are spread over `spread_days`, so about
1/spread_days of the loans fall due on any day.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from lending.applications.model import ApplicantDetails, Application, Status
from lending.applications.ports import Event
from lending.applications.privacy import seal_applicant
from lending.aws import wiring
from lending.aws.dynamo import DynamoApplicationRepository
from lending.aws.loans import DynamoLoanRepository
from lending.finance.schedule import build_schedule
from lending.loans.model import InstalmentRecord, Loan, loan_id_for
from lending.sandbox.identities import make_identity
from lending.servicing.account import CHINA, account_of

FUNDERS = ("bank-a", "trust-b")
PRODUCT = "consumer-flex"


def synthetic_loans(
    count: int, first_day: date, spread_days: int = 28, seed: int = 7
) -> Iterator[tuple[Loan, ApplicantDetails]]:
    rng = random.Random(seed)
    for n in range(count):
        day = first_day + timedelta(days=n % spread_days)
        paid_at = datetime.combine(day, time(10, 0), CHINA).astimezone(UTC)
        application_id = f"A{day:%Y%m%d}{rng.getrandbits(64):016x}"
        principal = rng.randrange(1_000_00, 50_000_00, 100)
        term = rng.choice((3, 6, 12))
        method = rng.choice(("equal_instalment", "equal_instalment", "equal_principal"))
        rate = Decimal(rng.choice(("0.0720", "0.1080", "0.1440", "0.1800")))
        schedule = build_schedule(method, principal, rate, term, day)
        loan = Loan(
            id=loan_id_for(application_id),
            application_id=application_id,
            applicant_id=f"U{n:08d}",
            product_id=PRODUCT,
            funder_id=FUNDERS[n % len(FUNDERS)],
            principal_fen=principal,
            annual_rate=str(rate),
            apr=str(rate),
            term_months=term,
            repayment_method=method,
            disbursed_at=paid_at,
            payout_reference=f"PAYOUT-{n:08d}",
            contract_sha256="0" * 64,
            instalments=[
                InstalmentRecord(
                    number=i.number,
                    due_date=i.due_date,
                    principal_fen=i.principal_fen,
                    interest_fen=i.interest_fen,
                    total_fen=i.total_fen,
                )
                for i in schedule.instalments
            ],
        )
        person = make_identity(seed * 1_000_003 + n)
        details = ApplicantDetails(
            name=person.name,
            id_number=person.id_number,
            phone=person.phone,
            address=person.address,
            bank_card_number=person.bank_card_number,
            monthly_income_fen=20_000_00,
            monthly_debt_fen=0,
        )
        yield loan, details


def book(loan: Loan, details: ApplicantDetails) -> None:
    """The loan and its (disbursed) application, as origination would have left them."""
    app = application_for(loan, details)
    wiring.applications().create(app, Event(type="seeded", at=loan.disbursed_at))
    wiring.loans().book(loan, account_of(loan).entries)
    hold_quota(loan)


def hold_quota(loan: Loan) -> None:
    """The funder's quota in use carries the loan, as its reservation did at disbursement
    (repayments give it back)."""
    wiring.client("dynamodb").update_item(
        TableName=wiring.config().funders_table,
        Key={"pk": {"S": f"FUNDER#{loan.funder_id}"}},
        UpdateExpression="ADD used_fen :p",
        ExpressionAttributeValues={":p": {"N": str(loan.principal_fen)}},
    )


def seed(count: int, first_day: date, spread_days: int = 28, seed: int = 7) -> list[Loan]:
    loans = []
    for loan, details in synthetic_loans(count, first_day, spread_days, seed):
        book(loan, details)
        loans.append(loan)
    return loans


# -- a faster path for large portfolios (the servicing benchmark) --------------------------

BATCH_WRITE_ITEMS = 25  # DynamoDB's limit per BatchWriteItem
_ADD = re.compile(r"ADD (\w+) (:\w+)")


def application_for(loan: Loan, details: ApplicantDetails) -> Application:
    """The disbursed application behind a seeded loan (as `book` creates it)."""
    return Application(
        id=loan.application_id,
        applicant_id=loan.applicant_id,
        product_id=loan.product_id,
        product_type="consumer",
        amount_fen=loan.principal_fen,
        term_months=loan.term_months,
        repayment_method=loan.repayment_method,
        status=Status.DISBURSED,
        created_at=loan.disbursed_at,
        updated_at=loan.disbursed_at,
        applicant_blob=seal_applicant(wiring.cipher(), loan.application_id, details),
        id_hash=wiring.blind_index().digest("id:" + details.id_number),
        loan_id=loan.id,
    )


class _Captured:
    """A DynamoDB client for the adapters that keeps their transactions' writes instead of
    sending them: the puts (written later 25 to a BatchWriteItem) and the counters'
    `ADD` updates (summed, written once at the end)."""

    def __init__(self) -> None:
        self.puts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # (table, key as JSON, attribute) -> the sum of the deltas added
        self.adds: dict[tuple[str, str, str], int] = defaultdict(int)

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        for entry in TransactItems:
            ((kind, op),) = entry.items()
            added = _ADD.fullmatch(op.get("UpdateExpression", "")) if kind == "Update" else None
            if kind == "Put":
                self.puts[op["TableName"]].append(op["Item"])
            elif added is not None:
                attribute, value = added.groups()
                key = json.dumps(op["Key"], sort_keys=True)
                self.adds[(op["TableName"], key, attribute)] += int(
                    op["ExpressionAttributeValues"][value]["N"]
                )
            else:
                raise ValueError(f"seed_fast cannot batch a {kind} ({op.get('UpdateExpression')})")
        return {}


def _flush(db: Any, captured: _Captured, everything: bool) -> None:
    """Write the captured puts, in full batches (and the rest too when `everything`)."""
    for table, items in captured.puts.items():
        while len(items) >= BATCH_WRITE_ITEMS or (everything and items):
            batch, items[:] = items[:BATCH_WRITE_ITEMS], items[BATCH_WRITE_ITEMS:]
            requests: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in batch]}
            while requests:
                requests = db.batch_write_item(RequestItems=requests).get("UnprocessedItems")


def seed_fast(
    count: int,
    first_day: date,
    spread_days: int = 28,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
) -> list[Loan]:
    """`seed`'s loans and applications, the same items, into tables that hold none of them
    yet: the adapters' own transactions are captured (`_Captured`) and their items
    written 25 to a BatchWriteItem; the funders' counters (principal lent, and the quota
    in use that `hold_quota` moves) are summed and written once at the end. No condition
    is checked (a loan seeded twice is written twice). The sealed details and the blind
    index still cost their KMS calls per loan. `progress(n)` after each loan."""
    settings = wiring.config()
    db = wiring.client("dynamodb")
    captured = _Captured()
    applications = DynamoApplicationRepository(
        captured, settings.applications_table, settings.documents_table
    )
    loans_repository = DynamoLoanRepository(captured, settings.loans_table, settings.funders_table)
    loans = []
    for n, (loan, details) in enumerate(synthetic_loans(count, first_day, spread_days, seed), 1):
        application = application_for(loan, details)
        applications.create(application, Event(type="seeded", at=loan.disbursed_at))
        loans_repository.book(loan, account_of(loan).entries)
        # `hold_quota`'s update, summed per funder.
        funder = json.dumps({"pk": {"S": f"FUNDER#{loan.funder_id}"}}, sort_keys=True)
        captured.adds[(settings.funders_table, funder, "used_fen")] += loan.principal_fen
        loans.append(loan)
        _flush(db, captured, everything=False)
        if progress is not None:
            progress(n)
    _flush(db, captured, everything=True)
    for (table, key, attribute), delta in captured.adds.items():
        db.update_item(
            TableName=table,
            Key=json.loads(key),
            UpdateExpression=f"ADD {attribute} :d",
            ExpressionAttributeValues={":d": {"N": str(delta)}},
        )
    return loans
