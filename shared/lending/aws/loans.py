"""DynamoDB adapter of the loan repository.

Loans table: pk = LOAN#<id>, sk = META | INST#<nn> | TXN#<seq> (the ledger, see ledger.py).
GSI dueDate (keys only): due_key = <due date>#<shard> + loan_inst, on every instalment:
the nightly jobs page through a day's shards (never a scan).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from lending.aws.ledger import entry_puts
from lending.loans.model import InstalmentRecord, Loan
from lending.servicing.ledger import Entry
from lending.servicing.nightly import due_key, shard_of


class DynamoLoanRepository:
    def __init__(self, client: Any, table: str, funders_table: str = "") -> None:
        self._db = client
        self._table = table
        self._funders_table = funders_table

    def book(self, loan: Loan, opening: Sequence[Entry]) -> bool:
        pk = {"S": f"LOAN#{loan.id}"}
        meta = loan.model_dump_json(exclude={"instalments"})
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {"pk": pk, "sk": {"S": "META"}, "doc": {"S": meta}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        for inst in loan.instalments:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": pk,
                            "sk": {"S": f"INST#{inst.number:03d}"},
                            "doc": {"S": inst.model_dump_json()},
                            "due_key": {"S": due_key(inst.due_date, shard_of(loan.id))},
                            # Projected into the index: finance's due and inflow figures.
                            "funder_id": {"S": loan.funder_id},
                            "product_id": {"S": loan.product_id},
                            "unpaid_fen": {"N": str(inst.total_fen)},
                            "loan_inst": {"S": f"{loan.id}#{inst.number:03d}"},
                        },
                    }
                }
            )
        items += [put for entry in opening for put in entry_puts(self._table, loan.id, entry)]
        if self._funders_table:
            # The funder's principal outstanding grows once, with the booking.
            items.append(
                {
                    "Update": {
                        "TableName": self._funders_table,
                        "Key": {"pk": {"S": f"FUNDER#{loan.funder_id}"}},
                        "UpdateExpression": "ADD lent_fen :p",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":p": {"N": str(loan.principal_fen)}},
                    }
                }
            )
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    def get(self, loan_id: str) -> Loan | None:
        # The loan and its instalments only (INST#nnn .. META sort together), not the
        # ledger, orders, reminders and history that grow with the loan's age.
        out = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :meta",
            ExpressionAttributeValues={
                ":pk": {"S": f"LOAN#{loan_id}"},
                ":first": {"S": "INST#"},
                ":meta": {"S": "META"},
            },
            ConsistentRead=True,
        )
        meta = next((i for i in out["Items"] if i["sk"]["S"] == "META"), None)
        if meta is None:
            return None
        instalments = [
            InstalmentRecord.model_validate_json(i["doc"]["S"])
            for i in out["Items"]
            if i["sk"]["S"].startswith("INST#")
        ]
        data = json.loads(meta["doc"]["S"])
        data["instalments"] = [i.model_dump() for i in instalments]
        return Loan.model_validate(data)
