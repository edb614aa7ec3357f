"""Small ports shared across domains (clock, encryption, hashing, signing).

Adapters live in `lending.aws`; in-memory fakes live in tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Cipher(Protocol):
    """Envelope encryption of personal data; `context` is bound to the ciphertext."""

    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes: ...

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes: ...


class BlindIndex(Protocol):
    """Keyed hash so a personal field can be looked up without being stored."""

    def digest(self, value: str) -> str: ...


class Signer(Protocol):
    key_id: str

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a SHA-256 digest; verify with `lending.signatures.verify_signature(digest)`."""

    def public_key_pem(self) -> bytes: ...
