"""A simulated partner bank: pulls its fund-request queue, verifies, pays once, confirms.

It keeps its own ledger keyed by fund_request_id, as a real bank's payment system
does, so a redelivered request is confirmed again but never paid twice. Applications
listed in `declines` are refused (the bank's own credit or KYC check), never paid.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.localcloud.http import call
from infra.localcloud.poller import QueuePuller
from lending.funding.model import verify_fund_request

log = logging.getLogger("localcloud.bank")


@dataclass
class Payment:
    fund_request_id: str
    application_id: str
    amount_fen: int
    reference: str
    paid_at: datetime


@dataclass
class SimulatedBank:
    funder_id: str
    queue_url: str
    api_url: str
    region: str
    ledger: dict[str, Payment] = field(default_factory=dict)
    # Every message as received, by fund request id (for redelivery drills).
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: int = 0
    rejected_signatures: int = 0
    paused: bool = False
    declines: set[str] = field(default_factory=set)  # application ids this bank refuses
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the cloud's clock
    _puller: QueuePuller | None = None
    _token: str | None = None
    _public_key: bytes | None = None

    def start(self) -> None:
        self._puller = QueuePuller(
            f"bank-{self.funder_id}", self.queue_url, self.region, self.handle, lambda: self.paused
        )
        self._puller.start()

    def stop(self) -> None:
        if self._puller is not None:
            self._puller.stop()

    def handle(self, message: dict[str, Any]) -> bool:
        """Verify, pay (once), confirm. True when the message may be deleted."""
        self.received += 1
        if not verify_fund_request(message, self.public_key()):
            self.rejected_signatures += 1
            log.warning("bank %s: bad signature, message dropped", self.funder_id)
            return True
        body = message["body"]
        self.messages[body["fund_request_id"]] = message
        if body["application_id"] in self.declines:
            return self._confirm(
                body["fund_request_id"],
                "rejected",
                body["amount_fen"],
                f"{self.funder_id.upper()}-DECLINED",
                self.now(),
            )
        payment = self.ledger.get(body["fund_request_id"])
        if payment is None:
            payment = Payment(
                fund_request_id=body["fund_request_id"],
                application_id=body["application_id"],
                amount_fen=body["amount_fen"],
                reference=f"{self.funder_id.upper()}-{secrets.token_hex(6)}",
                paid_at=self.now(),
            )
            self.ledger[payment.fund_request_id] = payment
        return self._confirm(
            payment.fund_request_id, "paid", payment.amount_fen, payment.reference, payment.paid_at
        )

    def _confirm(
        self, request_id: str, status: str, amount_fen: int, reference: str, at: datetime
    ) -> bool:
        body = {
            "fund_request_id": request_id,
            "status": status,
            "amount_fen": amount_fen,
            "payout_reference": reference,
            "paid_at": at.isoformat(),
        }
        url = f"{self.api_url}/v1/funders/{self.funder_id}/confirmations"
        reply = call("POST", url, body, token=self.token())
        if reply.status == 401:  # the session expired (the clock moved on): sign in again
            self._token = None
            reply = call("POST", url, body, token=self.token())
        # 2xx, or a 409 that says it was already confirmed: done. Anything else: redeliver.
        return reply.status < 300 or reply.status == 409

    def token(self) -> str:
        if self._token is None:
            reply = call(
                "POST",
                f"{self.api_url}/v1/sessions",
                {"code": f"bank-{self.funder_id}", "role": "bank", "funder_id": self.funder_id},
            )
            self._token = str(reply.body["token"])
        return self._token

    def public_key(self) -> bytes:
        if self._public_key is None:
            reply = call("GET", f"{self.api_url}/v1/keys/signing")
            self._public_key = str(reply.body["public_key_pem"]).encode()
        return self._public_key
