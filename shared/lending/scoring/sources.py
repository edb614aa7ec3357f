"""The contract every external data source honours (one Step Functions Parallel branch each)."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Product = Literal["consumer", "business"]
FieldValue = str | int | None

_HEX = frozenset(string.hexdigits)


def _require_hash(value: str, what: str) -> None:
    # Guard against a raw ID number / credit code slipping through: only keyed-hash hex is allowed.
    if len(value) < 32 or not set(value) <= _HEX:
        raise ValueError(f"{what} must be a keyed-hash hex string (>= 32 hex chars)")


@dataclass(frozen=True, slots=True)
class Subject:
    """Who is being assessed; identifiers are keyed hashes, never the raw numbers."""

    id_number_hash: str
    credit_code_hash: str | None
    product: Product

    def __post_init__(self) -> None:
        _require_hash(self.id_number_hash, "id_number_hash")
        if self.credit_code_hash is not None:
            _require_hash(self.credit_code_hash, "credit_code_hash")


@dataclass(frozen=True, slots=True)
class SourceReport:
    source: str
    fetched_at: datetime
    fields: dict[str, FieldValue]
    complete: bool


class DataSourcesNotContracted(RuntimeError):
    """A deployment without the sandbox (Sandbox=false) has no contracted adapter for a data
    source the step needs: data collection marks that source unavailable, and scoring
    refuses (the application fails with this reason) rather than score on sandbox data or
    on none."""


class SourceUnavailable(Exception):
    """The source is down or timed out; the pipeline records it and carries on with less data."""

    def __init__(self, source: str, detail: str = "unavailable") -> None:
        super().__init__(f"{source}: {detail}")
        self.source = source
        self.detail = detail


class DataSource(Protocol):
    name: str

    def fetch(self, subject: Subject) -> SourceReport: ...


class FaultSwitch(Protocol):
    """Lets tests and demos simulate an outage of a named source."""

    def is_down(self, source_name: str) -> bool: ...
