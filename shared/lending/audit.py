"""Who saw whose personal data, and when: every staff view is recorded before it is shown.

A view names the member of staff (their opaque subject and role), the application, the
fields shown (names only: masked name, masked ID number, document images, ...) and the
instant. The record is written first: when it cannot be written the data is not shown.
Admins read the records of a day (China time), optionally for one application.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from pydantic import BaseModel, Field

from lending.auth import Principal, Role, require
from lending.ports import Clock

# How many records one read returns at most (the newest are the last ones kept).
MAX_VIEWS_PER_READ = 500


class PersonalDataView(BaseModel):
    """One view of an applicant's personal data by a member of staff. Holds no personal
    data itself: ids, the role, field names and the time."""

    at: datetime
    viewer: str
    role: Role
    application_id: str
    fields: list[str] = Field(default_factory=list)
    purpose: str


class AuditLog(Protocol):
    def record(self, view: PersonalDataView) -> None:
        """Write the record durably (raises if it could not)."""

    def views_on(self, day: date, application_id: str | None, limit: int) -> list[PersonalDataView]:
        """The records of a China-time day, oldest first."""


class PersonalDataAudit:
    def __init__(self, log: AuditLog, clock: Clock) -> None:
        self._log = log
        self._clock = clock

    def viewed(
        self, who: Principal, application_id: str, fields: list[str], purpose: str
    ) -> PersonalDataView:
        view = PersonalDataView(
            at=self._clock.now(),
            viewer=who.subject,
            role=who.role,
            application_id=application_id,
            fields=sorted(set(fields)),
            purpose=purpose,
        )
        self._log.record(view)
        return view

    def views(
        self, who: Principal, day: date, application_id: str | None = None
    ) -> list[PersonalDataView]:
        """For admins only: the staff's views of personal data on a day."""
        require(who, Role.ADMIN)
        return self._log.views_on(day, application_id, MAX_VIEWS_PER_READ)
