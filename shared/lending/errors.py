"""Domain errors. Each maps to one HTTP status and one Step Functions error name."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: `code` is stable and machine-readable; `message` holds no personal data."""

    code = "domain_error"
    http_status = 400

    def __init__(
        self, message: str, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        # Extra fields of the error reply (e.g. the answer already recorded); no PII.
        self.details = details or {}
        if code is not None:
            self.code = code


class InvalidRequest(DomainError):
    code = "invalid_request"
    http_status = 400


class PayloadTooLarge(DomainError):
    code = "too_large"
    http_status = 413


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403


class Unauthorized(DomainError):
    code = "unauthorized"
    http_status = 401


class Conflict(DomainError):
    """The resource is not in a state that allows the request (or a concurrent write won)."""

    code = "conflict"
    http_status = 409
