"""DynamoDB adapter of a loan's ledger, in the loans table.

Items: pk = LOAN#<id>, sk = TXN#<seq, 6 digits> (one entry each, never updated);
pk = PAYREF#<channel reference>, sk = PAYMENT (which loan and entry a payment became: its
conditional put makes a reference one payment).

Appends are conditional on each entry's sequence number being free, in one transaction
with the payment-reference items: two writers that read the same ledger cannot both
append entry n (the second gets Conflict, reads again and decides again), and a channel
reference is applied once across all loans, whatever is delivered twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from lending.errors import Conflict
from lending.servicing.ledger import Entry, EntryKind, entry_from_dict, entry_to_dict

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems


class DynamoLedgerRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def entries(self, loan_id: str) -> list[Entry]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :txn)",
            "ExpressionAttributeValues": {":pk": {"S": f"LOAN#{loan_id}"}, ":txn": {"S": "TXN#"}},
            "ConsistentRead": True,
        }
        while True:
            out = self._db.query(**kwargs)
            items += out["Items"]
            if "LastEvaluatedKey" not in out:
                break
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
        return [entry_from_dict(json.loads(i["doc"]["S"])) for i in items]

    def append(self, loan_id: str, entries: Sequence[Entry]) -> None:
        """Write new entries, each once; Conflict if another writer took a number or a
        payment reference first (nothing is written then)."""
        puts = [put for entry in entries for put in entry_puts(self._table, loan_id, entry)]
        if not puts:
            return
        if len(puts) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"at most {MAX_TRANSACTION_ITEMS} items in one append")
        try:
            self._db.transact_write_items(TransactItems=puts)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                raise Conflict("the ledger changed; read it again", "ledger_changed") from exc
            raise


def entry_puts(table: str, loan_id: str, entry: Entry) -> list[dict[str, Any]]:
    """The conditional puts that store one entry (and a payment's channel reference)."""
    puts: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table,
                "Item": {
                    "pk": {"S": f"LOAN#{loan_id}"},
                    "sk": {"S": f"TXN#{entry.seq:06d}"},
                    "kind": {"S": entry.kind.value},
                    "on": {"S": entry.on.isoformat()},
                    "doc": {"S": json.dumps(entry_to_dict(entry))},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
    ]
    if entry.kind is EntryKind.REPAYMENT and entry.reference:
        puts.append(
            {
                "Put": {
                    "TableName": table,
                    "Item": {
                        "pk": {"S": f"PAYREF#{entry.reference}"},
                        "sk": {"S": "PAYMENT"},
                        "loan_id": {"S": loan_id},
                        "seq": {"N": str(entry.seq)},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    return puts
