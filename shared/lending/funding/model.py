"""Funders, matching and the signed fund-request contract (schema `fund-request/v1`)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from lending.auth import canonical_json
from lending.ports import Signer
from lending.signatures import verify_signature

FUND_REQUEST_SCHEMA = "fund-request/v1"
CONFIRMATION_SCHEMA = "fund-confirmation/v1"


class Funder(BaseModel):
    id: str
    name: str
    kind: Literal["bank", "trust", "consumer_finance"]
    products: list[str]
    quota_fen: int = Field(ge=0)
    used_fen: int = Field(ge=0, default=0)
    lent_fen: int = Field(ge=0, default=0)  # principal outstanding on its booked loans
    cost_of_funds_bps: int = Field(ge=0)

    @property
    def remaining_fen(self) -> int:
        return self.quota_fen - self.used_fen


class FunderRepository(Protocol):
    def all(self) -> list[Funder]: ...

    def reserve(self, funder_id: str, application_id: str, amount_fen: int) -> bool:
        """Atomically take `amount_fen` of quota for this application, once (again
        after a release, from the funder asked next).

        True if reserved now or already reserved for this application; False if the
        quota would be overdrawn.
        """

    def reservation_of(self, application_id: str) -> str | None:
        """The funder holding this application's quota (None once released)."""

    def release(self, application_id: str) -> bool:
        """Atomically give this application's reserved quota back, once.

        True if released now; False if there was nothing (left) to release.
        """


class NoFunderAvailable(Exception):
    """No funder takes this product with enough quota left."""


# A funder that has not answered a fund request in time is asked again this many times
# (never another funder meanwhile: it may still pay), then the application fails with a
# funding_unconfirmed incident that finance settles with the funder.
MAX_FUNDING_ENQUIRIES = 2


class FundingRejected(Exception):
    """The funder refused the fund request: the funding wait fails with this error's name
    (sent with SendTaskFailure; moto drops the cause, so the name carries it) and the
    state machine asks the next funder."""


class FundingUnconfirmed(Exception):
    """The funder asked never answered, however often asked: nobody knows if it paid."""


def candidates(funders: Sequence[Funder], product_id: str, amount_fen: int) -> list[Funder]:
    """Funders that fit, cheapest cost of funds first (ties: most quota left)."""
    fitting = [f for f in funders if product_id in f.products and f.remaining_fen >= amount_fen]
    return sorted(fitting, key=lambda f: (f.cost_of_funds_bps, -f.remaining_fen, f.id))


def reserve_funder(
    repo: FunderRepository,
    application_id: str,
    product_id: str,
    amount_fen: int,
    refused_by: frozenset[str] | set[str] = frozenset(),
) -> str:
    """Pick and reserve a funder, never one that refused this loan already; a retried
    step finds the reservation it already made."""
    existing = repo.reservation_of(application_id)
    if existing is not None and existing not in refused_by:
        return existing
    for funder in candidates(repo.all(), product_id, amount_fen):
        if funder.id not in refused_by and repo.reserve(funder.id, application_id, amount_fen):
            return funder.id
    raise NoFunderAvailable("no funder that has not refused it has quota for this loan")


def fund_request_id(application_id: str, attempt: int) -> str:
    """The request to the attempt-th funder asked (0: the first). Stable per attempt, so
    a retried step sends the same request and the bank pays it once."""
    base = "F" + application_id[1:]
    return base if attempt == 0 else f"{base}.{attempt}"


def application_of(request_id: str) -> str:
    return "A" + request_id[1:].split(".", maxsplit=1)[0]


class FundRequestBody(BaseModel):
    """Only what the bank needs to pay out and book its share."""

    schema_: str = Field(default=FUND_REQUEST_SCHEMA, alias="schema")
    fund_request_id: str
    application_id: str
    funder_id: str
    amount_fen: int
    currency: Literal["CNY"] = "CNY"
    term_months: int
    annual_rate: str
    repayment_method: str
    payee_name: str
    payee_account: str
    contract_sha256: str
    requested_at: datetime

    model_config = {"populate_by_name": True}


def sign_fund_request(body: FundRequestBody, signer: Signer) -> dict[str, Any]:
    payload = body.model_dump(mode="json", by_alias=True)
    digest = hashlib.sha256(canonical_json(payload)).digest()
    return {
        "body": payload,
        "signature": base64.b64encode(signer.sign_digest(digest)).decode(),
        "key_id": signer.key_id,
        "algorithm": "RSASSA_PKCS1_V1_5_SHA_256",
    }


def verify_fund_request(message: dict[str, Any], public_key_pem: bytes) -> bool:
    """What a bank runs on each message, with our public key only."""
    try:
        signature = base64.b64decode(message["signature"])
        payload = canonical_json(message["body"])
    except (KeyError, ValueError, TypeError):
        return False
    return verify_signature(public_key_pem, hashlib.sha256(payload).digest(), signature)


class Confirmation(BaseModel):
    """A bank's payout confirmation (schema `fund-confirmation/v1`)."""

    fund_request_id: str = Field(min_length=1, max_length=64)
    status: Literal["paid", "rejected"]
    amount_fen: int = Field(ge=0)
    payout_reference: str = Field(min_length=1, max_length=64)
    paid_at: datetime
