"""A simulated payment channel (代扣/快捷支付): pulls debit requests, answers signed.

It holds its own RSA key (the deployment is given the public half as the
`PaymentChannelPublicKey` parameter), debits the borrower's bound card and calls back
`POST /v1/payments/callbacks` with the outcome, dated by the local cloud's clock. A debit
for an order listed in `insufficient`, or of a loan in `broke`, fails with
`insufficient_funds`; `paused` holds requests back (for races and late answers); every
callback sent is kept, so a test can deliver it again. One debit per order id, as a real
channel's merchant order number.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from infra.localcloud import http
from infra.localcloud.poller import QueuePuller
from lending.auth import canonical_json
from lending.servicing.repayments import loan_of

log = logging.getLogger("localcloud.channel")


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(key: rsa.RSAPrivateKey, body: dict[str, Any]) -> str:
    """RSA PKCS#1 v1.5 / SHA-256 over SHA-256 of the canonical JSON, as our signer does."""
    digest = hashlib.sha256(canonical_json(body)).digest()
    return base64.b64encode(key.sign(digest, padding.PKCS1v15(), hashes.SHA256())).decode()


@dataclass
class SimulatedChannel:
    queue_url: str
    api_url: str
    region: str
    key: rsa.RSAPrivateKey
    insufficient: set[str] = field(default_factory=set)  # order ids whose debit fails
    broke: set[str] = field(default_factory=set)  # loan ids whose every debit fails
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    paused: bool = False
    # order id -> (callback body, signature) as sent
    sent: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    _puller: QueuePuller | None = None

    def start(self) -> None:
        self._puller = QueuePuller(
            "payment-channel", self.queue_url, self.region, self.debit, lambda: self.paused
        )
        self._puller.start()

    def stop(self) -> None:
        if self._puller is not None:
            self._puller.stop()

    def debit(self, request: dict[str, Any]) -> bool:
        """Debit once per order (a redelivered request gets the same answer again)."""
        order_id = request["order_id"]
        if order_id not in self.sent:
            failed = order_id in self.insufficient or loan_of(order_id) in self.broke
            body: dict[str, Any] = {
                "order_id": order_id,
                "channel_reference": "CH" + secrets.token_hex(8),
                "status": "failed" if failed else "succeeded",
                "amount_fen": request["amount_fen"],
                "at": self.now().isoformat(),
                "failure_code": "insufficient_funds" if failed else None,
            }
            self.sent[order_id] = (body, sign(self.key, body))
        return self.deliver(order_id).status < 300

    def drain(self, timeout: float = 60.0) -> None:
        """Wait until every debit asked for has been answered (the queue is empty)."""
        sqs = boto3.client("sqs", region_name=self.region)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            attributes = sqs.get_queue_attributes(
                QueueUrl=self.queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )
            if not any(int(v) for v in attributes["Attributes"].values()):
                return
            time.sleep(0.05)
        raise TimeoutError("the payment channel did not answer every debit")

    def deliver(self, order_id: str) -> http.Reply:
        """Send (again) the callback of an order."""
        body, signature = self.sent[order_id]
        return http.call(
            "POST",
            f"{self.api_url}/v1/payments/callbacks",
            body,
            headers={"X-Channel-Signature": signature},
        )
