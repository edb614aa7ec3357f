"""Ports the application service needs. DynamoDB/S3/Step Functions adapters implement them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from lending.applications.model import Application, DocumentRef


class Event(BaseModel):
    """An append-only audit record of one state change. Never holds personal data."""

    type: str
    at: datetime
    data: dict[str, Any] = {}


class ApplicationRepository(Protocol):
    def get(self, application_id: str) -> Application | None: ...

    def create(self, app: Application, event: Event) -> None:
        """Insert; raises Conflict if the id exists."""

    def save(self, app: Application, event: Event) -> Application:
        """Write `app` if its stored version is still `app.version`; returns it bumped.

        Raises Conflict when another writer got there first.
        """

    def events(self, application_id: str) -> list[Event]: ...

    def list_for_applicant(self, applicant_id: str, limit: int) -> list[Application]: ...

    def review_queue(self, limit: int) -> list[Application]: ...

    def count_by_id_hash(self, id_hash: str) -> int: ...

    def put_document(self, application_id: str, doc: DocumentRef) -> None: ...

    def documents(self, application_id: str) -> dict[str, DocumentRef]: ...

    def put_source_report(self, application_id: str, source: str, blob: str) -> None: ...

    def source_reports(self, application_id: str) -> dict[str, str]: ...


class DocumentStore(Protocol):
    def presign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_seconds: int
    ) -> dict[str, Any]: ...

    def get(self, key: str, max_bytes: int) -> bytes: ...

    def put(self, key: str, body: bytes, content_type: str) -> None: ...


class Workflow(Protocol):
    def start(self, application_id: str) -> bool:
        """Start the origination execution named by the application id; False if it exists."""

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        """Resume a waiting task; False if the token is no longer waiting (already resumed)."""

    def fail(self, token: str, error: str) -> bool:
        """Fail a waiting task with an error name the state machine catches."""
