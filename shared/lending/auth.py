"""Session tokens and roles.

A token is `base64url(claims).base64url(mac)`; the MAC comes from a `Mac` port (a KMS
HMAC key in AWS), so only the platform can mint one. Claims hold an opaque subject
id, never personal data.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ValidationError

from lending.errors import Forbidden, Unauthorized


class Role(StrEnum):
    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    BANK = "bank"
    FINANCE = "finance"
    ADMIN = "admin"


class Principal(BaseModel):
    subject: str
    role: Role
    funder_id: str | None = None
    expires_at: datetime


class Mac(Protocol):
    def mac(self, message: bytes) -> bytes: ...

    def verify(self, message: bytes, mac: bytes) -> bool: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


SESSION_LIFETIME = timedelta(hours=2)
# Tokens whose MAC a container has already checked: a page polling its application
# sends the same token every few seconds, and each check is a KMS request.
VERIFIED_TOKENS_KEPT = 4096


class SessionIssuer:
    def __init__(self, mac: Mac, ttl: timedelta = SESSION_LIFETIME) -> None:
        self._mac = mac
        self._ttl = ttl
        # token -> its claims, once the MAC checked out (a token is immutable: the same
        # bytes verify the same way; expiry is still checked on every use).
        self._verified: OrderedDict[str, Principal] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def lifetime_seconds(self) -> int:
        return int(self._ttl.total_seconds())

    def issue(self, subject: str, role: Role, now: datetime, funder_id: str | None = None) -> str:
        principal = Principal(
            subject=subject, role=role, funder_id=funder_id, expires_at=now + self._ttl
        )
        claims = principal.model_dump_json().encode()
        return f"{_b64(claims)}.{_b64(self._mac.mac(claims))}"

    def verify(self, token: str, now: datetime) -> Principal:
        with self._lock:
            principal = self._verified.get(token)
            if principal is not None:
                self._verified.move_to_end(token)
        if principal is None:
            principal = self._check(token)
            with self._lock:
                self._verified[token] = principal
                while len(self._verified) > VERIFIED_TOKENS_KEPT:
                    self._verified.popitem(last=False)
        if principal.expires_at <= now:
            raise Unauthorized("session expired")
        return principal

    def _check(self, token: str) -> Principal:
        try:
            claims_part, mac_part = token.split(".")
            claims, mac = _unb64(claims_part), _unb64(mac_part)
        except ValueError as exc:
            raise Unauthorized("malformed session token") from exc
        if not self._mac.verify(claims, mac):
            raise Unauthorized("invalid session token")
        try:
            return Principal.model_validate_json(claims)
        except ValidationError as exc:
            raise Unauthorized("invalid session token") from exc


def sandbox_subject(login_code: str) -> str:
    """The sandbox mini-program login: a code maps to a stable opaque user id (like an openid)."""
    return "U" + hashlib.sha256(("wx-sandbox:" + login_code).encode()).hexdigest()[:20]


def require(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden("this action needs the role " + " or ".join(r.value for r in roles))


def canonical_json(payload: object) -> bytes:
    """The bytes a signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
