"""DynamoDB adapter of the funder repository.

Funders table: pk = FUNDER#<id> (quota, usage) | RES#<application id> (one reservation).
A reservation and the usage increase are one transaction, so a quota is never
overdrawn and an application never holds two reservations; a release and the usage
decrease are one too. A released reservation stays (marked `released`), so it is
never released twice, until the application reserves with the next funder over it.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lending.funding.model import Funder


class DynamoFunderRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def put(self, funder: Funder) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"FUNDER#{funder.id}"},
                "doc": {"S": funder.model_dump_json(exclude={"used_fen", "quota_fen", "lent_fen"})},
                "quota_fen": {"N": str(funder.quota_fen)},
                "used_fen": {"N": str(funder.used_fen)},
            },
        )

    def all(self) -> list[Funder]:
        # A handful of funder rows, read by the disbursement step only (never on an API
        # request path); reservations are filtered out.
        out = self._db.scan(
            TableName=self._table,
            FilterExpression="begins_with(pk, :f)",
            ExpressionAttributeValues={":f": {"S": "FUNDER#"}},
            ConsistentRead=True,
        )
        return [self._funder(i) for i in out["Items"]]

    def get(self, funder_id: str) -> Funder | None:
        out = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": f"FUNDER#{funder_id}"}}, ConsistentRead=True
        )
        return self._funder(out["Item"]) if "Item" in out else None

    def standing(self, funder_id: str) -> tuple[Funder, int] | None:
        """The funder, and the principal it has had back in all (finance's positions)."""
        out = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": f"FUNDER#{funder_id}"}}, ConsistentRead=True
        )
        if "Item" not in out:
            return None
        item = out["Item"]
        return self._funder(item), int(item.get("repaid_fen", {"N": "0"})["N"])

    @staticmethod
    def _funder(item: dict[str, Any]) -> Funder:
        data = json.loads(item["doc"]["S"])
        data["quota_fen"] = int(item["quota_fen"]["N"])
        data["used_fen"] = int(item["used_fen"]["N"])
        data["lent_fen"] = int(item.get("lent_fen", {"N": "0"})["N"])
        return Funder.model_validate(data)

    def _reservation(self, application_id: str) -> dict[str, Any] | None:
        out = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": f"RES#{application_id}"}}, ConsistentRead=True
        )
        item: dict[str, Any] | None = out.get("Item")
        return item

    def reservation_of(self, application_id: str) -> str | None:
        item = self._reservation(application_id)
        if item is None or "released" in item:
            return None
        return str(item["funder_id"]["S"])

    def release(self, application_id: str) -> bool:
        item = self._reservation(application_id)
        if item is None or "released" in item:
            return False
        # False when a condition fails: released meanwhile by a redelivered step.
        return self._transact(
            self._update(
                f"RES#{application_id}",
                "SET released = :t",
                "attribute_exists(pk) AND attribute_not_exists(released)",
                {":t": {"BOOL": True}},
            ),
            self._update(
                f"FUNDER#{item['funder_id']['S']}",
                "SET used_fen = used_fen - :a",
                "used_fen >= :a",
                {":a": item["amount_fen"]},
            ),
        )

    def repaid(self, funder_id: str, reference: str, principal_fen: int) -> bool:
        """Principal that came back frees the funder's quota, once per payment reference."""
        return self._transact(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": {"S": f"REPAID#{reference}"},
                        "funder_id": {"S": funder_id},
                        "principal_fen": {"N": str(principal_fen)},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._update(
                f"FUNDER#{funder_id}",
                # repaid_fen: the principal this funder has had back, in all (finance's view).
                "SET used_fen = used_fen - :a ADD lent_fen :back, repaid_fen :a",
                "used_fen >= :a",
                {":a": {"N": str(principal_fen)}, ":back": {"N": str(-principal_fen)}},
            ),
        )

    def reserve(self, funder_id: str, application_id: str, amount_fen: int) -> bool:
        funder = self.get(funder_id)
        if funder is None or funder.remaining_fen < amount_fen:
            return False
        written = self._transact(
            self._update(
                f"FUNDER#{funder_id}",
                "SET used_fen = used_fen + :a",
                # No arithmetic in conditions: compare with the precomputed limit.
                "quota_fen = :q AND used_fen <= :limit",
                {
                    ":a": {"N": str(amount_fen)},
                    ":q": {"N": str(funder.quota_fen)},
                    ":limit": {"N": str(funder.quota_fen - amount_fen)},
                },
            ),
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": {"S": f"RES#{application_id}"},
                        "funder_id": {"S": funder_id},
                        "amount_fen": {"N": str(amount_fen)},
                    },
                    "ConditionExpression": "attribute_not_exists(pk) OR attribute_exists(released)",
                }
            },
        )
        return written or self.reservation_of(application_id) == funder_id

    def _update(
        self, pk: str, expression: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": {"S": pk}},
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }

    def _transact(self, *items: dict[str, Any]) -> bool:
        """Written, or False when a condition failed (the transaction was cancelled)."""
        try:
            self._db.transact_write_items(TransactItems=list(items))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            return False
        return True
