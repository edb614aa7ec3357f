"""DynamoDB, S3 and SMTP adapters of finance's figures: the payments and failed debits by
day, the instalments due by day, and the delivery of the digest and the funders' files.

Loans table items: pk = COLLECT#<day>#<shard>, sk = OK#<channel reference> (a payment) |
FAIL#<order id> (a failed debit); put again by a redelivered callback, to the same key.
Instalments due come from the `dueDate` index (which projects funder, product and what
is unpaid), never from a scan.
"""

from __future__ import annotations

import dataclasses
import json
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

from lending.servicing.digest import DueRow, FailedDebit, FunderPosition, PaymentRow
from lending.servicing.nightly import SHARDS, due_key, shard_of


def _days(first: date, last: date) -> Iterator[date]:
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)


def _query_all(db: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        out = db.query(**kwargs)
        yield from out["Items"]
        if "LastEvaluatedKey" not in out:
            return
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def _jsonable(row: Any) -> str:
    return json.dumps(dataclasses.asdict(row), default=str, sort_keys=True)


class DynamoCollections:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def _pk(self, day: date, loan_id: str) -> dict[str, str]:
        return {"S": f"COLLECT#{day.isoformat()}#{shard_of(loan_id):02d}"}

    def record_payment(self, row: PaymentRow, funder_reference: str) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": self._pk(row.day, row.loan_id),
                "sk": {"S": f"OK#{row.reference}"},
                "doc": {"S": _jsonable(row)},
                "funder_reference": {"S": funder_reference},
            },
        )

    def record_failure(self, failure: FailedDebit) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": self._pk(failure.day, failure.loan_id),
                "sk": {"S": f"FAIL#{failure.order_id}"},
                "doc": {"S": _jsonable(failure)},
            },
        )

    def _items(self, first: date, last: date, kind: str) -> Iterator[dict[str, Any]]:
        for day in _days(first, last):
            for shard in range(SHARDS):
                yield from _query_all(
                    self._db,
                    TableName=self._table,
                    KeyConditionExpression="pk = :pk AND begins_with(sk, :k)",
                    ExpressionAttributeValues={
                        ":pk": {"S": f"COLLECT#{day.isoformat()}#{shard:02d}"},
                        ":k": {"S": kind},
                    },
                )

    def payments(self, first: date, last: date) -> list[tuple[PaymentRow, str]]:
        rows = []
        for item in self._items(first, last, "OK#"):
            data = json.loads(item["doc"]["S"])
            data["day"] = date.fromisoformat(data["day"])
            rows.append((PaymentRow(**data), item["funder_reference"]["S"]))
        return rows

    def failures(self, first: date, last: date) -> list[FailedDebit]:
        rows = []
        for item in self._items(first, last, "FAIL#"):
            data = json.loads(item["doc"]["S"])
            data["day"] = date.fromisoformat(data["day"])
            rows.append(FailedDebit(**data))
        return rows


class DynamoDueInstalments:
    """What falls due on the days asked, from the sparse due-date index."""

    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def due(self, first: date, last: date) -> list[DueRow]:
        rows = []
        for day in _days(first, last):
            for shard in range(SHARDS):
                for item in _query_all(
                    self._db,
                    TableName=self._table,
                    IndexName="dueDate",
                    KeyConditionExpression="due_key = :k",
                    ExpressionAttributeValues={":k": {"S": due_key(day, shard)}},
                ):
                    rows.append(
                        DueRow(
                            loan_id=item["pk"]["S"].removeprefix("LOAN#"),
                            instalment=int(item["sk"]["S"].removeprefix("INST#")),
                            funder_id=item["funder_id"]["S"],
                            product_id=item["product_id"]["S"],
                            due_date=day,
                            amount_fen=int(item["unpaid_fen"]["N"]),
                        )
                    )
        return rows


class FunderPositionsFromTable:
    """Each funder's quota, quota in use and principal outstanding (its table item)."""

    def __init__(self, funders: Any, funder_ids: list[str]) -> None:
        self._funders = funders
        self._ids = funder_ids

    def positions(self) -> list[FunderPosition]:
        found = [self._funders.get(funder_id) for funder_id in self._ids]
        return [
            FunderPosition(
                funder_id=f.id,
                quota_fen=f.quota_fen,
                used_fen=f.used_fen,
                outstanding_fen=f.lent_fen,
            )
            for f in found
            if f is not None
        ]


@dataclass(frozen=True)
class SmtpRelay:
    """The lender's mail relay. Amazon SES is not offered in the AWS China regions (nor
    can a China-partition role call it elsewhere), so mail leaves through SMTP."""

    host: str
    port: int = 25
    starttls: bool = False

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=15) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            smtp.send_message(message)


class S3MailDelivery:
    """Finance's files in the documents bucket (reports/, funders/), and the digest by
    email with its CSV attached."""

    def __init__(
        self, s3: Any, bucket: str, relay: SmtpRelay | None, sender: str, recipients: list[str]
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._relay = relay
        self._sender = sender
        self._recipients = recipients

    def put(self, key: str, body: str, content_type: str = "text/csv; charset=utf-8") -> None:
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=body.encode("utf-8"), ContentType=content_type
        )

    def get(self, key: str) -> str | None:
        try:
            out = self._s3.get_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            return None
        return str(out["Body"].read().decode("utf-8"))

    def email(self, subject: str, body: str, attachment_name: str, attachment: str) -> None:
        if self._relay is None or not self._recipients:
            return  # no relay or mailbox configured: the files in S3 are the delivery
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self._sender
        message["To"] = ", ".join(self._recipients)
        message.set_content(body, charset="utf-8")
        message.add_attachment(
            attachment.encode("utf-8"),
            maintype="text",
            subtype="csv",
            filename=attachment_name,
        )
        self._relay.send(message)
