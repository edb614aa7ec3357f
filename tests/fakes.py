"""In-memory fakes of the ports, for unit tests that need no AWS at all."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lending.applications.model import ApplicantDetails, Application, DocumentRef
from lending.applications.ports import Event
from lending.errors import Conflict, NotFound
from lending.finance.schedule import build_schedule
from lending.funding.model import Funder
from lending.loans.model import InstalmentRecord, Loan
from lending.sandbox.identities import make_identity
from lending.servicing.account import business_day
from lending.servicing.ledger import Entry, Planned
from lending.servicing.repayments import PaymentOrder

T0 = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 in China: a loan's disbursement


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.current += timedelta(milliseconds=1)
        return self.current


class FakeCipher:
    """Reversible and bound to its context, like the KMS envelope cipher."""

    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes:
        return json.dumps({"ctx": context, "data": plaintext[::-1].hex()}).encode()

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes:
        sealed = json.loads(blob)
        if sealed["ctx"] != context:
            raise ValueError("encryption context mismatch")
        return bytes.fromhex(sealed["data"])[::-1]


class FakeMac:
    def mac(self, message: bytes) -> bytes:
        return hmac.new(b"k", message, hashlib.sha256).digest()

    def verify(self, message: bytes, mac: bytes) -> bool:
        return hmac.compare_digest(self.mac(message), mac)


class FakeBlindIndex:
    def digest(self, value: str) -> str:
        return hmac.new(b"index", value.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeRepo:
    apps: dict[str, Application] = field(default_factory=dict)
    log: dict[str, list[Event]] = field(default_factory=dict)
    docs: dict[str, dict[str, DocumentRef]] = field(default_factory=dict)
    reports: dict[str, dict[str, str]] = field(default_factory=dict)

    def get(self, application_id: str) -> Application | None:
        app = self.apps.get(application_id)
        return app.model_copy(deep=True) if app else None

    def create(self, app: Application, event: Event) -> None:
        if app.id in self.apps:
            raise Conflict("exists")
        app.version = 1
        self.apps[app.id] = app.model_copy(deep=True)
        self.log[app.id] = [event]

    def save(self, app: Application, event: Event) -> Application:
        stored = self.apps.get(app.id)
        if stored is None:
            raise NotFound("missing")
        if stored.version != app.version:
            raise Conflict("stale")
        saved = app.model_copy(deep=True, update={"version": app.version + 1})
        self.apps[app.id] = saved
        self.log[app.id].append(event)
        return saved.model_copy(deep=True)

    def events(self, application_id: str) -> list[Event]:
        return list(self.log.get(application_id, []))

    def list_for_applicant(self, applicant_id: str, limit: int) -> list[Application]:
        mine = [a for a in self.apps.values() if a.applicant_id == applicant_id]
        return sorted(mine, key=lambda a: a.created_at, reverse=True)[:limit]

    def review_queue(self, limit: int) -> list[Application]:
        return [a for a in self.apps.values() if a.status.value == "in_review"][:limit]

    def count_by_id_hash(self, id_hash: str) -> int:
        return sum(a.id_hash == id_hash for a in self.apps.values())

    def put_document(self, application_id: str, doc: DocumentRef) -> None:
        self.docs.setdefault(application_id, {})[doc.kind] = doc

    def documents(self, application_id: str) -> dict[str, DocumentRef]:
        return dict(self.docs.get(application_id, {}))

    def put_source_report(self, application_id: str, source: str, blob: str) -> None:
        self.reports.setdefault(application_id, {})[source] = blob

    def source_reports(self, application_id: str) -> dict[str, str]:
        return dict(self.reports.get(application_id, {}))


@dataclass
class FakeDocuments:
    objects: dict[str, bytes] = field(default_factory=dict)

    def presign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_seconds: int
    ) -> dict[str, Any]:
        return {"url": "https://uploads.example/", "fields": {"key": key}}

    def get(self, key: str, max_bytes: int) -> bytes:
        return self.objects[key]

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = body


@dataclass
class FakeWorkflow:
    started: list[str] = field(default_factory=list)
    resumed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def start(self, application_id: str) -> bool:
        if application_id in self.started:
            return False
        self.started.append(application_id)
        return True

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        if any(t == token for t, _ in self.resumed):
            return False
        self.resumed.append((token, output))
        return True

    def fail(self, token: str, error: str) -> bool:
        self.failed.append((token, error))
        return True


@dataclass
class FakeFunders:
    funders: dict[str, Funder] = field(default_factory=dict)
    reservations: dict[str, tuple[str, int]] = field(default_factory=dict)  # → funder, fen
    released: set[str] = field(default_factory=set)

    def all(self) -> list[Funder]:
        return list(self.funders.values())

    def _use(self, funder_id: str, amount_fen: int) -> None:
        funder = self.funders[funder_id]
        self.funders[funder_id] = funder.model_copy(
            update={"used_fen": funder.used_fen + amount_fen}
        )

    def reserve(self, funder_id: str, application_id: str, amount_fen: int) -> bool:
        if (held := self.reservation_of(application_id)) is not None:
            return held == funder_id
        if self.funders[funder_id].remaining_fen < amount_fen:
            return False
        self._use(funder_id, amount_fen)
        self.reservations[application_id] = (funder_id, amount_fen)
        self.released.discard(application_id)
        return True

    def reservation_of(self, application_id: str) -> str | None:
        held = self.reservations.get(application_id)
        return None if held is None or application_id in self.released else held[0]

    def release(self, application_id: str) -> bool:
        if self.reservation_of(application_id) is None:
            return False
        funder_id, amount_fen = self.reservations[application_id]
        self._use(funder_id, -amount_fen)
        self.released.add(application_id)
        return True


@dataclass
class FakeLoans:
    loans: dict[str, Loan] = field(default_factory=dict)
    ledgers: dict[str, list[Entry]] = field(default_factory=dict)

    def book(self, loan: Loan, opening: Sequence[Entry]) -> bool:
        if loan.id in self.loans:
            return False
        self.loans[loan.id] = loan
        self.ledgers[loan.id] = list(opening)
        return True

    def get(self, loan_id: str) -> Loan | None:
        return self.loans.get(loan_id)


class FakeLinks:
    """Presigned GETs of a store: records each one asked (key, expiry, content type,
    file name) and answers a URL that carries the expiry and file name."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int, str | None, str | None]] = []

    def presign_download(
        self,
        key: str,
        expires_seconds: int,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> str:
        self.asked.append((key, expires_seconds, content_type, filename))
        return f"https://store.example/{key}?X-Amz-Expires={expires_seconds}&name={filename}"


@dataclass
class FakeQueue:
    sent: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def send(self, funder_id: str, message: dict[str, Any], dedup_id: str) -> None:
        self.sent.append((funder_id, message, dedup_id))


class FakeSigner:
    """An RSA key in memory, signing as KMS does with MessageType=RAW."""

    key_id = "test-key"

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def sign_digest(self, digest: bytes) -> bytes:
        # KMS hashes the message (our digest) and signs, PKCS#1 v1.5.
        return self._key.sign(digest, padding.PKCS1v15(), hashes.SHA256())

    def public_key_pem(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def applicant_details(seed: int = 1, **changes: object) -> ApplicantDetails:
    """What a synthetic applicant declares (with a company, for business products)."""
    person = make_identity(seed)
    return ApplicantDetails(
        name=person.name,
        id_number=person.id_number,
        phone=person.phone,
        address=person.address,
        bank_card_number=person.bank_card_number,
        monthly_income_fen=20_000_00,
        monthly_debt_fen=0,
        company_name=person.company_name,
        credit_code=person.credit_code,
    ).model_copy(update=changes)


# Settings of a production deployment (Sandbox=false), for tests that build the wiring.
PRODUCTION_SETTINGS = {
    "LENDING_SANDBOX": "false",
    "LENDING_APPLICATIONS_TABLE": "applications",
    "LENDING_DOCUMENTS_TABLE": "documents",
    "LENDING_LOANS_TABLE": "loans",
    "LENDING_FUNDERS_TABLE": "funders",
    "LENDING_IDEMPOTENCY_TABLE": "idempotency",
    "LENDING_DOCUMENTS_BUCKET": "bucket",
    "LENDING_DATA_KEY_ID": "data-key",
    "LENDING_SIGNING_KEY_ID": "signing-key",
    "LENDING_INDEX_KEY_ID": "index-key",
    "LENDING_SESSION_KEY_ID": "session-key",
    "LENDING_STATE_MACHINE_ARN": "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:x",
    "LENDING_MODEL_REGISTRY_TABLE": "models",
    "LENDING_FUNDER_QUEUES": "{}",
}


def plan_of(
    method: str, principal_fen: int, annual_rate: Decimal, term_months: int, disbursed_on: date
) -> list[Planned]:
    """A loan's contract plan, as booking writes it from the schedule."""
    schedule = build_schedule(method, principal_fen, annual_rate, term_months, disbursed_on)
    return [
        Planned(i.number, i.due_date, i.principal_fen, i.interest_fen) for i in schedule.instalments
    ]


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
        if order.id in self.orders:
            raise Conflict("this payment order exists already", "order_exists")
        self.orders[order.id] = order

    def debits(self, loan_id: str) -> list[PaymentOrder]:
        return [
            o for o in self.orders.values() if o.loan_id == loan_id and o.purpose == "auto_debit"
        ]

    def get(self, loan_id: str, order_id: str) -> PaymentOrder | None:
        order = self.orders.get(order_id)
        return order if order is not None and order.loan_id == loan_id else None

    def settle(self, order: PaymentOrder) -> bool:
        if self.orders[order.id].status not in ("pending", "expired"):
            return False
        self.orders[order.id] = order
        return True


@dataclass
class FakeChannel:
    asked: list[PaymentOrder] = field(default_factory=list)

    def collect(self, order: PaymentOrder) -> None:
        self.asked.append(order)


def booked_loan(disbursed_at: datetime = T0) -> Loan:
    plan = plan_of("equal_instalment", 3_000_00, Decimal("0.12"), 3, business_day(disbursed_at))
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
        disbursed_at=disbursed_at,
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
