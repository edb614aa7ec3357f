"""Model registry adapter: artefacts in S3 (documents bucket, ``models/`` prefix, KMS-encrypted
by the bucket), one DynamoDB item per version (pk = family, sk = version; Query, no scans).

Promotions are items of their own partition (pk = family + "#promotions", sk = time +
version), written in the same TransactWriteItems as the two role changes of a champion
swap: the swap and its record happen together or not at all."""

from __future__ import annotations

import json
from typing import Any

from lending.scoring.registry import ChampionChanged, ModelRecord, Promotion, Role, sha256_hex

PREFIX = "models/"
PROMOTIONS = "#promotions"


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

    def swap_champion(self, promotion: Promotion) -> None:
        family = promotion.family
        role = "#r"
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": family}, "sk": {"S": promotion.version}},
                    "UpdateExpression": "SET #r = :champion",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeNames": {role: "role"},
                    "ExpressionAttributeValues": {":champion": {"S": "champion"}},
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": {"S": family + PROMOTIONS},
                        "sk": {"S": f"{promotion.at}#{promotion.version}"},
                        "promotion": {"S": json.dumps(promotion.to_json())},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        if promotion.previous is not None:
            # Still the champion we read: a concurrent promotion makes the whole swap fail.
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"pk": {"S": family}, "sk": {"S": promotion.previous}},
                        "UpdateExpression": "SET #r = :challenger",
                        "ConditionExpression": "#r = :champion",
                        "ExpressionAttributeNames": {role: "role"},
                        "ExpressionAttributeValues": {
                            ":challenger": {"S": "challenger"},
                            ":champion": {"S": "champion"},
                        },
                    }
                }
            )
        try:
            self._db.transact_write_items(TransactItems=items)
        except self._db.exceptions.TransactionCanceledException as e:
            raise ChampionChanged(f"{family}: champion swap to {promotion.version} refused") from e

    def promotions(self, family: str) -> list[Promotion]:
        out: list[Promotion] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :f",
            "ExpressionAttributeValues": {":f": {"S": family + PROMOTIONS}},
        }
        while True:
            page = self._db.query(**kwargs)
            out.extend(Promotion.from_json(json.loads(i["promotion"]["S"])) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
