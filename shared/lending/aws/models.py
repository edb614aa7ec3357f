"""Model registry adapter: artefacts in S3 (documents bucket, ``models/`` prefix, KMS-encrypted
by the bucket), one DynamoDB item per version (pk = family, sk = version; Query, no scans)."""

from __future__ import annotations

import json
from typing import Any

from lending.scoring.registry import ModelRecord, Role, sha256_hex

PREFIX = "models/"


class S3DynamoModelRegistry:
    def __init__(self, dynamodb: Any, table: str, s3: Any, bucket: str) -> None:
        self._db = dynamodb
        self._table = table
        self._s3 = s3
        self._bucket = bucket

    @staticmethod
    def key(family: str, version: str) -> str:
        return f"{PREFIX}{family}/{version}.json"

    def register(self, record: ModelRecord, artefact: bytes) -> None:
        if sha256_hex(artefact) != record.sha256:
            raise ValueError("sha256 does not match the artefact")
        self._s3.put_object(
            Bucket=self._bucket,
            Key=self.key(record.family, record.version),
            Body=artefact,
            ContentType="application/json",
        )
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": record.family},
                "sk": {"S": record.version},
                "record": {"S": json.dumps(record.to_json())},
                "role": {"S": record.role},
            },
        )

    def records(self, family: str) -> list[ModelRecord]:
        out: list[ModelRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :f",
            "ExpressionAttributeValues": {":f": {"S": family}},
        }
        while True:
            page = self._db.query(**kwargs)
            for item in page.get("Items", []):
                raw = json.loads(item["record"]["S"])
                raw["role"] = item["role"]["S"]
                out.append(ModelRecord.from_json(raw))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def artefact(self, family: str, version: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self._bucket, Key=self.key(family, version))[
            "Body"
        ].read()
        return body

    def set_role(self, family: str, version: str, role: Role) -> None:
        self._db.update_item(
            TableName=self._table,
            Key={"pk": {"S": family}, "sk": {"S": version}},
            UpdateExpression="SET #r = :r",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#r": "role"},
            ExpressionAttributeValues={":r": {"S": role}},
        )
