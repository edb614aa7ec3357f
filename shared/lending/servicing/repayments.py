"""Money coming in: a borrower's repayment order, and the payment channel's answer.

The borrower asks to pay an amount (or to settle in full); an order is recorded and
sent to the payment channel, which debits the bound card and answers with a signed
callback. The callback is applied exactly once per channel reference: the ledger's
conditional append (one payment per reference across all loans) makes a callback
delivered twice, or a debit that answers after its timeout, count once; a payment
larger than what is owed is held as a credit. Principal that comes back frees the
funder's quota (a revolving quota), once per payment.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from lending.auth import Principal, Role, canonical_json, require
from lending.errors import Conflict, InvalidRequest, NotFound
from lending.loans.model import Loan
from lending.ports import Clock
from lending.servicing.account import LoanAccount, Reschedule, account_of, business_day
from lending.servicing.ledger import Component, Entry, EntryKind
from lending.signatures import verify_signature

OrderStatus = Literal["pending", "succeeded", "failed", "expired"]
# A borrower's own payment may prepay (they chose the amount); an auto-debit never does.
Purpose = Literal["repayment", "auto_debit"]


class PaymentOrder(BaseModel):
    id: str
    loan_id: str
    amount_fen: int = Field(gt=0)
    settle: bool = False
    reschedule: Reschedule = "lower_instalment"
    purpose: Purpose = "repayment"
    status: OrderStatus = "pending"
    created_at: datetime
    channel_reference: str | None = None
    failure_code: str | None = None


class ChannelCallback(BaseModel):
    """The payment channel's signed answer to an order (schema `payment-callback/v1`)."""

    order_id: str = Field(min_length=1, max_length=64)
    channel_reference: str = Field(min_length=1, max_length=64)
    status: Literal["succeeded", "failed"]
    amount_fen: int = Field(gt=0, le=100_000_000_00)
    at: datetime
    failure_code: str | None = Field(default=None, max_length=40)  # e.g. insufficient_funds


class LoanReader(Protocol):
    def get(self, loan_id: str) -> Loan | None: ...


class Ledger(Protocol):
    def entries(self, loan_id: str) -> list[Entry]: ...

    def append(self, loan_id: str, entries: Sequence[Entry]) -> None:
        """Conflict if another writer appended first (nothing written then)."""


class Orders(Protocol):
    def create(self, order: PaymentOrder) -> None: ...

    def get(self, loan_id: str, order_id: str) -> PaymentOrder | None: ...

    def settle(self, order: PaymentOrder) -> bool:
        """Record the order's final status once (an expired one may still succeed);
        False if it already had one."""


class PaymentChannel(Protocol):
    def collect(self, order: PaymentOrder) -> None:
        """Ask the channel to debit the borrower's bound card; it answers by callback."""


class FunderQuota(Protocol):
    def repaid(self, funder_id: str, reference: str, principal_fen: int) -> bool:
        """Give `principal_fen` of quota back to the funder, once per reference."""


class PaymentHooks(Protocol):
    """What follows a channel's answer: the loan's state recomputed, the payment recorded
    for finance and the funder (each idempotent: a callback may come twice)."""

    def applied(
        self, loan: Loan, account: LoanAccount, order: PaymentOrder, payment: Entry, day: date
    ) -> None: ...

    def failed(self, loan: Loan, order: PaymentOrder, day: date) -> None: ...


class _NoHooks:
    def applied(
        self, loan: Loan, account: LoanAccount, order: PaymentOrder, payment: Entry, day: date
    ) -> None:
        return None

    def failed(self, loan: Loan, order: PaymentOrder, day: date) -> None:
        return None


NO_HOOKS = _NoHooks()


@dataclass(frozen=True)
class Applied:
    order: PaymentOrder
    applied: Literal["applied", "already_applied", "failed"]
    principal_fen: int = 0  # principal this payment repaid (the funder's share back)


def verify_callback(body: Mapping[str, Any], signature_b64: str, public_key_pem: str) -> bool:
    """The channel signs SHA-256 of the body's canonical JSON (RSA PKCS#1 v1.5, SHA-256),
    as we sign fund requests; a callback whose signature does not verify is refused."""
    if not public_key_pem or not signature_b64:
        return False
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError:
        return False
    digest = hashlib.sha256(canonical_json(dict(body))).digest()
    try:
        return verify_signature(public_key_pem.encode(), digest, signature)
    except ValueError:  # a key that is not PEM
        return False


def order_id_for(loan_id: str) -> str:
    """Unguessable, and naming its loan: P<loan id without its L>.<random>."""
    return f"P{loan_id[1:]}.{secrets.token_hex(6)}"


def loan_of(order_id: str) -> str:
    return "L" + order_id[1:].split(".", maxsplit=1)[0]


@dataclass
class Repayments:
    loans: LoanReader
    ledger: Ledger
    orders: Orders
    channel: PaymentChannel
    funders: FunderQuota
    clock: Clock
    hooks: PaymentHooks = field(default_factory=lambda: NO_HOOKS)

    def account(self, loan: Loan) -> LoanAccount:
        return LoanAccount.restore(account_of(loan), self.ledger.entries(loan.id))

    def loan_for(self, who: Principal, loan_id: str) -> Loan:
        """The loan, if `who` may see it: its borrower, finance or an admin."""
        loan = self.loans.get(loan_id)
        if loan is None or (who.role is Role.APPLICANT and loan.applicant_id != who.subject):
            raise NotFound("no such loan")  # the same answer: no one learns others' loan ids
        require(who, Role.APPLICANT, Role.FINANCE, Role.ADMIN)
        return loan

    def order(self, who: Principal, loan_id: str, order_id: str) -> PaymentOrder:
        self.loan_for(who, loan_id)
        order = self.orders.get(loan_id, order_id)
        if order is None:
            raise NotFound("no such payment order")
        return order

    def request(
        self,
        who: Principal,
        loan_id: str,
        amount_fen: int | None,
        settle: bool = False,
        reschedule: Reschedule = "lower_instalment",
    ) -> PaymentOrder:
        """An order for `amount_fen`, or for the settlement quote of today."""
        loan = self.loan_for(who, loan_id)
        require(who, Role.APPLICANT)  # only the borrower pays from their card
        today = business_day(self.clock.now())
        account = self.account(loan)
        quote = account.quote(today)
        if quote.total_fen == 0:
            raise Conflict("nothing is owed on this loan", "nothing_owed")
        if settle == (amount_fen is not None):
            raise InvalidRequest("give an amount, or settle in full", "amount_or_settle")
        amount = quote.total_fen if settle else int(amount_fen or 0)
        if not 0 < amount <= quote.total_fen:
            raise InvalidRequest(
                f"an amount between 0.01 and {quote.total_fen / 100:.2f} yuan (the payoff)",
                "amount_out_of_range",
            )
        order = PaymentOrder(
            id=order_id_for(loan_id),
            loan_id=loan_id,
            amount_fen=amount,
            settle=settle,
            reschedule=reschedule,
            created_at=self.clock.now(),
        )
        self.orders.create(order)
        self.channel.collect(order)
        return order

    def on_callback(self, callback: ChannelCallback) -> Applied:
        """Apply the channel's answer once; a repeat changes nothing."""
        loan_id = loan_of(callback.order_id)
        order = self.orders.get(loan_id, callback.order_id)
        loan = self.loans.get(loan_id)
        if order is None or loan is None:
            raise NotFound("no such payment order")
        if callback.status == "failed":
            failed = order.model_copy(
                update={"status": "failed", "failure_code": callback.failure_code or "failed"}
            )
            first = order.status in ("pending", "expired") and self.orders.settle(failed)
            self.hooks.failed(loan, failed, business_day(callback.at))  # again: the same record
            return Applied(failed if first else order, "failed")
        for _attempt in range(3):
            account = self.account(loan)
            before = len(account.entries)
            on = business_day(callback.at)
            if order.settle:
                entry = account.settle(on, callback.channel_reference, callback.amount_fen)
            else:
                entry = account.repay(
                    callback.amount_fen,
                    on,
                    callback.channel_reference,
                    order.reschedule,
                    prepay=order.purpose == "repayment",
                )
            new = account.entries[before:]
            try:
                self.ledger.append(loan_id, new)
            except Conflict:
                continue  # another payment or a nightly job wrote first: decide again
            break
        else:
            raise Conflict("the ledger kept changing; deliver the callback again", "retry")
        # The principal this payment repaid (with any credit it let us apply). A redelivery
        # writes nothing new: the recorded payment says, and the quota comes back once per
        # reference, also when a first delivery wrote the ledger and died before this.
        paid = [e for e in new if e.kind is EntryKind.REPAYMENT] or [entry]
        principal = -sum(
            p.amount_fen for e in paid for p in e.postings if p.component is Component.PRINCIPAL
        )
        if principal > 0:
            self.funders.repaid(loan.funder_id, callback.channel_reference, principal)
        self.hooks.applied(loan, account, order, entry, on)
        done = order.model_copy(
            update={"status": "succeeded", "channel_reference": callback.channel_reference}
        )
        self.orders.settle(done)
        return Applied(done, "applied" if new else "already_applied", principal)
