"""DynamoDB adapter of the personal-data audit log (lending.audit), in the applications table.

  pk = PDVIEW#<China-time day>  sk = <UTC instant>#<random>   one item per staff view
      doc (the record as JSON: ids, role, field names, time; no personal data)
      application_id (to narrow an admin's read to one application)

A day is one partition, read in time order with one Query (never a scan); a read for one
application filters that day's partition. Records are only ever put, never updated.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date
from typing import Any
from zoneinfo import ZoneInfo

from lending.audit import PersonalDataView

CHINA = ZoneInfo("Asia/Shanghai")


def _pk(day: date) -> str:
    return f"PDVIEW#{day.isoformat()}"


class DynamoAuditLog:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def record(self, view: PersonalDataView) -> None:
        day = view.at.astimezone(CHINA).date()
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": _pk(day)},
                "sk": {"S": f"{view.at.astimezone(UTC).isoformat()}#{secrets.token_hex(4)}"},
                "doc": {"S": view.model_dump_json()},
                "application_id": {"S": view.application_id},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def views_on(self, day: date, application_id: str | None, limit: int) -> list[PersonalDataView]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": _pk(day)}},
            "ScanIndexForward": True,
        }
        if application_id is not None:
            query["FilterExpression"] = "application_id = :a"
            query["ExpressionAttributeValues"][":a"] = {"S": application_id}
        views: list[PersonalDataView] = []
        while len(views) < limit:
            out = self._db.query(**query)
            views.extend(PersonalDataView.model_validate_json(i["doc"]["S"]) for i in out["Items"])
            if "LastEvaluatedKey" not in out:
                break
            query["ExclusiveStartKey"] = out["LastEvaluatedKey"]
        return views[:limit]
