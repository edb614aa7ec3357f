"""Adapters of money coming in: payment orders (in the loans table) and the payment
channel's request queue.

Orders: pk = LOAN#<loan id>, sk = ORDER#<order id>; created once, their final status
written once (conditional on `pending`). The channel pulls its FIFO queue (one message
per order, deduplicated by the order id) and answers with a signed callback.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lending.errors import Conflict
from lending.servicing.repayments import PaymentOrder


class DynamoOrders:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def _key(self, loan_id: str, order_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"LOAN#{loan_id}"}, "sk": {"S": f"ORDER#{order_id}"}}

    def create(self, order: PaymentOrder) -> None:
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    **self._key(order.loan_id, order.id),
                    "status": {"S": order.status},
                    "doc": {"S": order.model_dump_json()},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Conflict("this payment order exists already", "order_exists") from exc
            raise

    def get(self, loan_id: str, order_id: str) -> PaymentOrder | None:
        item = self._db.get_item(
            TableName=self._table, Key=self._key(loan_id, order_id), ConsistentRead=True
        ).get("Item")
        return None if item is None else PaymentOrder.model_validate_json(item["doc"]["S"])

    def debits(self, loan_id: str) -> list[PaymentOrder]:
        """The loan's auto-debit orders (few: one per day tried)."""
        out = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
            ExpressionAttributeValues={
                ":pk": {"S": f"LOAN#{loan_id}"},
                ":d": {"S": "ORDER#D"},
            },
            ConsistentRead=True,
        )
        return [PaymentOrder.model_validate_json(i["doc"]["S"]) for i in out["Items"]]

    def settle(self, order: PaymentOrder) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(order.loan_id, order.id),
                UpdateExpression="SET #s = :s, doc = :d",
                # Final once; an expired debit whose money came after all still succeeds.
                ConditionExpression="#s = :pending OR #s = :expired",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":s": {"S": order.status},
                    ":d": {"S": order.model_dump_json()},
                    ":pending": {"S": "pending"},
                    ":expired": {"S": "expired"},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


class SqsPaymentChannel:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._url = queue_url

    def collect(self, order: PaymentOrder) -> None:
        # Only what the channel needs: it holds the borrower's card binding itself.
        message = {
            "order_id": order.id,
            "amount_fen": order.amount_fen,
            "requested_at": order.created_at.isoformat(),
        }
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps(message, sort_keys=True),
            MessageGroupId=order.loan_id,  # one loan's orders in order
            MessageDeduplicationId=order.id,
        )
