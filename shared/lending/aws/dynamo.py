"""DynamoDB adapter of the application repository.

Applications table (one item collection per application):
  pk = APP#<id>  sk = META                the aggregate (JSON in `doc`), version-guarded
                 sk = EVT#<iso ts>#<n>    append-only audit events
                 sk = SRC#<source>        encrypted data-source reports
  GSI byApplicant : applicant_id, created_at      an applicant's applications, newest first
  GSI reviewQueue : review_status, queued_at      pending reviews, oldest first (sparse)
  GSI byIdHash    : id_hash, created_at           duplicate / blacklist checks (keyed hash)
  GSI byDecidedDay: decided_day, decided_at       decisions of a UTC day in time order (sparse:
                                                  only decided applications; the weekly PSI)
Documents table: pk = application_id, sk = kind.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from lending.applications.model import Application, DocumentRef, Status
from lending.applications.ports import Event
from lending.errors import Conflict
from lending.scoring.monitoring import LiveScore

_QUEUED = "PENDING"


def _pk(application_id: str) -> str:
    return f"APP#{application_id}"


def _is_condition_failure(exc: ClientError) -> bool:
    code = exc.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons", [])
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons
    return False


class DynamoApplicationRepository:
    def __init__(self, client: Any, table: str, documents_table: str) -> None:
        self._db = client
        self._table = table
        self._documents = documents_table

    # -- the aggregate -------------------------------------------------------------------

    def _meta_item(self, app: Application) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": {"S": _pk(app.id)},
            "sk": {"S": "META"},
            "doc": {"S": app.model_dump_json()},
            "version": {"N": str(app.version)},
            "status": {"S": app.status.value},
            "applicant_id": {"S": app.applicant_id},
            "created_at": {"S": app.created_at.isoformat()},
            "id_hash": {"S": app.id_hash},
        }
        if app.decision is not None:
            decided = app.decision.decided_at.astimezone(UTC)
            item["decided_day"] = {"S": decided.date().isoformat()}
            item["decided_at"] = {"S": decided.isoformat()}
        if app.status is Status.IN_REVIEW:
            item["review_status"] = {"S": _QUEUED}
            queued = app.review_queued_at or app.updated_at
            item["queued_at"] = {"S": queued.isoformat()}
        return item

    def _event_put(self, application_id: str, event: Event) -> dict[str, Any]:
        sk = f"EVT#{event.at.isoformat()}#{secrets.token_hex(3)}"
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    "pk": {"S": _pk(application_id)},
                    "sk": {"S": sk},
                    "event": {"S": event.model_dump_json()},
                },
            }
        }

    def get(self, application_id: str) -> Application | None:
        out = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(application_id)}, "sk": {"S": "META"}},
            ConsistentRead=True,
        )
        item = out.get("Item")
        return Application.model_validate_json(item["doc"]["S"]) if item else None

    def create(self, app: Application, event: Event) -> None:
        app.version = 1
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._meta_item(app),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    self._event_put(app.id, event),
                ]
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise Conflict("the application already exists") from exc
            raise

    def save(self, app: Application, event: Event) -> Application:
        expected = app.version
        updated = app.model_copy(update={"version": expected + 1, "updated_at": event.at})
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._meta_item(updated),
                            "ConditionExpression": "version = :v",
                            "ExpressionAttributeValues": {":v": {"N": str(expected)}},
                        }
                    },
                    self._event_put(app.id, event),
                ]
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise Conflict("the application was changed by another request") from exc
            raise
        return updated

    def events(self, application_id: str) -> list[Event]:
        items = self._query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
            ExpressionAttributeValues={":pk": {"S": _pk(application_id)}, ":e": {"S": "EVT#"}},
        )
        return [Event.model_validate_json(i["event"]["S"]) for i in items]

    def list_for_applicant(self, applicant_id: str, limit: int) -> list[Application]:
        out = self._db.query(
            TableName=self._table,
            IndexName="byApplicant",
            KeyConditionExpression="applicant_id = :a",
            ExpressionAttributeValues={":a": {"S": applicant_id}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [Application.model_validate_json(i["doc"]["S"]) for i in out["Items"]]

    def review_queue(self, limit: int) -> list[Application]:
        out = self._db.query(
            TableName=self._table,
            IndexName="reviewQueue",
            KeyConditionExpression="review_status = :s",
            ExpressionAttributeValues={":s": {"S": _QUEUED}},
            ScanIndexForward=True,
            Limit=limit,
        )
        return [Application.model_validate_json(i["doc"]["S"]) for i in out["Items"]]

    def decided_between(self, start: datetime, end: datetime) -> list[Application]:
        """Applications decided in [start, end): one Query per UTC day, never a scan."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        out: list[Application] = []
        day = start.date()
        while day <= end.date():
            items = self._query_index(
                TableName=self._table,
                IndexName="byDecidedDay",
                KeyConditionExpression="decided_day = :d AND decided_at BETWEEN :a AND :b",
                ExpressionAttributeValues={
                    ":d": {"S": day.isoformat()},
                    ":a": {"S": start.isoformat()},
                    ":b": {"S": end.isoformat()},
                },
            )
            out.extend(Application.model_validate_json(i["doc"]["S"]) for i in items)
            day += timedelta(days=1)
        return [a for a in out if a.decision is not None and a.decision.decided_at < end]

    def decided_scores(self, start: datetime, end: datetime) -> list[LiveScore]:
        """The champion's side of the weekly PSI check (lending.scoring.monitoring)."""
        return [
            LiveScore(a.decision.model_version, a.decision.probability_of_default, a.decision.bins)
            for a in self.decided_between(start, end)
            if a.decision is not None
        ]

    def count_by_id_hash(self, id_hash: str) -> int:
        out = self._db.query(
            TableName=self._table,
            IndexName="byIdHash",
            KeyConditionExpression="id_hash = :h",
            ExpressionAttributeValues={":h": {"S": id_hash}},
            Select="COUNT",
        )
        return int(out["Count"])

    # -- documents and source reports ------------------------------------------------------

    def put_document(self, application_id: str, doc: DocumentRef) -> None:
        self._db.put_item(
            TableName=self._documents,
            Item={
                "application_id": {"S": application_id},
                "kind": {"S": doc.kind},
                "doc": {"S": doc.model_dump_json()},
            },
        )

    def documents(self, application_id: str) -> dict[str, DocumentRef]:
        items = self._query(
            TableName=self._documents,
            KeyConditionExpression="application_id = :a",
            ExpressionAttributeValues={":a": {"S": application_id}},
        )
        return {i["kind"]["S"]: DocumentRef.model_validate_json(i["doc"]["S"]) for i in items}

    def put_source_report(self, application_id: str, source: str, blob: str) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": _pk(application_id)},
                "sk": {"S": f"SRC#{source}"},
                "blob": {"S": blob},
            },
        )

    def source_reports(self, application_id: str) -> dict[str, str]:
        items = self._query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :s)",
            ExpressionAttributeValues={":pk": {"S": _pk(application_id)}, ":s": {"S": "SRC#"}},
        )
        return {i["sk"]["S"][4:]: i["blob"]["S"] for i in items}

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            out = self._db.query(ConsistentRead=True, **kwargs)
            items.extend(out["Items"])
            if "LastEvaluatedKey" not in out:
                return items
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def _query_index(self, **kwargs: Any) -> list[dict[str, Any]]:
        # GSIs are eventually consistent only (ConsistentRead would be rejected).
        items: list[dict[str, Any]] = []
        while True:
            out = self._db.query(**kwargs)
            items.extend(out["Items"])
            if "LastEvaluatedKey" not in out:
                return items
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
