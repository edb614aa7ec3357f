"""DynamoDB adapters of the servicing jobs, in the loans table.

Items:
* pk = LOAN#<id>, sk = STATE: the loan's servicing state; while watched (overdue,
  classified worse than 正常, holding a credit) it carries `watch` = W#<shard>, the sparse
  `watch` index's key; sk = TIER#<n>: the tier's history, one item per change (the
  n-th, with its day);
  sk = REMIND#<nnn>#<kind>: a reminder sent (written conditionally: once).
* INST items carry `due_key` = <due date>#<shard> (the `dueDate` index) while something
  of them is unpaid, and `unpaid_fen` once the loan's state has been computed.
* pk = JOB#<job>#<day>, sk = SHARD#<source>:<key>: a job's checkpoint per shard.
* pk = NIGHT, sk = <day>: the report of a night that finished (the newest is the last).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from lending.servicing.nightly import (
    Checkpoint,
    LoanState,
    NightReport,
    Owed,
    ShardTask,
    due_key,
    shard_of,
)
from lending.servicing.nightly import watch_key as _watch_key
from lending.servicing.reminders import Reminder, ReminderKind, SentReminder


class DynamoWorkIndex:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def page(self, task: ShardTask, after: str | None, limit: int) -> tuple[list[str], str | None]:
        index, attribute = ("dueDate", "due_key") if task.source == "due" else ("watch", "watch")
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": attribute},
            "ExpressionAttributeValues": {":k": {"S": task.key}},
            "ProjectionExpression": "pk",
            "Limit": limit,
        }
        if after:
            kwargs["ExclusiveStartKey"] = json.loads(after)
        out = self._db.query(**kwargs)
        ids = [item["pk"]["S"].removeprefix("LOAN#") for item in out["Items"]]
        last = out.get("LastEvaluatedKey")
        return ids, json.dumps(last, sort_keys=True) if last else None

    def watched(self, shard: int) -> list[LoanState]:
        """Every watched loan's state in a shard (the night's report reads them all)."""
        states: list[LoanState] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "watch",
            "KeyConditionExpression": "watch = :k",
            "ExpressionAttributeValues": {":k": {"S": _watch_key(shard)}},
        }
        while True:
            out = self._db.query(**kwargs)
            states += [LoanState.model_validate_json(i["doc"]["S"]) for i in out["Items"]]
            if "LastEvaluatedKey" not in out:
                return states
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


class DynamoCheckpoints:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def _key(self, task: ShardTask) -> dict[str, Any]:
        return {
            "pk": {"S": f"JOB#{task.job.value}#{task.day.isoformat()}"},
            "sk": {"S": f"SHARD#{task.id}"},
        }

    def get(self, task: ShardTask) -> Checkpoint:
        item = self._db.get_item(
            TableName=self._table, Key=self._key(task), ConsistentRead=True
        ).get("Item")
        return Checkpoint.model_validate_json(item["doc"]["S"]) if item else Checkpoint()

    def save(self, task: ShardTask, checkpoint: Checkpoint) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={**self._key(task), "doc": {"S": checkpoint.model_dump_json()}},
        )


class DynamoLoanStates:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def get(self, loan_id: str) -> LoanState | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"LOAN#{loan_id}"}, "sk": {"S": "STATE"}},
            ConsistentRead=True,
        ).get("Item")
        return LoanState.model_validate_json(item["doc"]["S"]) if item else None

    def save(self, state: LoanState, previous: LoanState | None, changed: Sequence[Owed]) -> bool:
        pk = {"S": f"LOAN#{state.loan_id}"}
        item: dict[str, Any] = {
            "pk": pk,
            "sk": {"S": "STATE"},
            "loan_id": {"S": state.loan_id},
            "ledger_seq": {"N": str(state.ledger_seq)},
            "as_of": {"S": state.as_of.isoformat()},
            "doc": {"S": state.model_dump_json()},
        }
        if state.watched:
            item["watch"] = {"S": _watch_key(shard_of(state.loan_id))}
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": item,
            # Never over a state computed from more of the ledger, or later with as much.
            "ConditionExpression": "attribute_not_exists(pk) OR ledger_seq < :n "
            "OR (ledger_seq = :n AND as_of <= :d)",
            "ExpressionAttributeValues": {":n": item["ledger_seq"], ":d": item["as_of"]},
        }
        writes: list[dict[str, Any]] = [{"Put": put}]
        if previous is None or previous.tier != state.tier:
            tier = {
                "pk": pk,
                "sk": {"S": f"TIER#{state.tier_changes:05d}"},
                "day": {"S": state.as_of.isoformat()},
                "tier": {"N": str(int(state.tier))},
                "days_past_due": {"N": str(state.days_past_due)},
            }
            writes.append({"Put": {"TableName": self._table, "Item": tier}})
        writes += [{"Update": self._instalment(state.loan_id, owed)} for owed in changed]
        try:
            if len(writes) == 1:
                self._db.put_item(**put)
            else:
                self._db.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                return False
            raise
        return True

    def _instalment(self, loan_id: str, owed: Owed) -> dict[str, Any]:
        """An instalment's unpaid amount; a paid one leaves the due-date index (sparse)."""
        values: dict[str, Any] = {":u": {"N": str(owed.unpaid_fen)}}
        if owed.unpaid_fen:
            expression = "SET unpaid_fen = :u, due_key = :k"
            values[":k"] = {"S": due_key(owed.due_date, shard_of(loan_id))}
        else:
            expression = "SET unpaid_fen = :u REMOVE due_key"
        return {
            "TableName": self._table,
            "Key": {"pk": {"S": f"LOAN#{loan_id}"}, "sk": {"S": f"INST#{owed.number:03d}"}},
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }

    def tier_history(self, loan_id: str) -> list[tuple[date, int, int]]:
        """(day, tier, days past due) of each change, oldest first."""
        out = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :t)",
            ExpressionAttributeValues={":pk": {"S": f"LOAN#{loan_id}"}, ":t": {"S": "TIER#"}},
        )
        return [
            (
                date.fromisoformat(i["day"]["S"]),
                int(i["tier"]["N"]),
                int(i["days_past_due"]["N"]),
            )
            for i in out["Items"]
        ]


class DynamoReminderLog:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def claim(self, reminder: Reminder) -> bool:
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    **self._key(reminder),
                    "send_at": {"S": reminder.send_at.isoformat()},
                    # What the text was made of, for the borrower's messages page.
                    "amount_fen": {"N": str(reminder.amount_fen)},
                    "due_date": {"S": reminder.due_date.isoformat()},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, reminder: Reminder) -> None:
        self._db.delete_item(TableName=self._table, Key=self._key(reminder))

    def sent(self, loan_id: str) -> list[SentReminder]:
        """The loan's logged reminders: its partition's REMIND# items (at most six per
        instalment), read with one paged query, never a scan."""
        found: list[SentReminder] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :remind)",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"LOAN#{loan_id}"},
                ":remind": {"S": "REMIND#"},
            },
        }
        while True:
            out = self._db.query(**kwargs)
            for item in out["Items"]:
                _, number, kind = item["sk"]["S"].split("#")
                found.append(
                    SentReminder(
                        loan_id=loan_id,
                        instalment=int(number),
                        kind=ReminderKind(kind),
                        sent_at=datetime.fromisoformat(item["send_at"]["S"]),
                        amount_fen=int(item["amount_fen"]["N"]) if "amount_fen" in item else None,
                        due_date=(
                            date.fromisoformat(item["due_date"]["S"])
                            if "due_date" in item
                            else None
                        ),
                    )
                )
            if "LastEvaluatedKey" not in out:
                return found
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    @staticmethod
    def _key(reminder: Reminder) -> dict[str, Any]:
        return {
            "pk": {"S": f"LOAN#{reminder.loan_id}"},
            "sk": {"S": f"REMIND#{reminder.instalment:03d}#{reminder.kind.value}"},
        }


class DynamoNights:
    """The nights that finished, with their reports."""

    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def last(self) -> date | None:
        out = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "NIGHT"}},
            ScanIndexForward=False,
            Limit=1,
        )
        return date.fromisoformat(out["Items"][0]["sk"]["S"]) if out["Items"] else None

    def report(self, day: date) -> NightReport | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": "NIGHT"}, "sk": {"S": day.isoformat()}},
            ConsistentRead=True,
        ).get("Item")
        return NightReport.model_validate_json(item["doc"]["S"]) if item else None

    def close(self, report: NightReport) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": "NIGHT"},
                "sk": {"S": report.day.isoformat()},
                "doc": {"S": report.model_dump_json()},
            },
        )
