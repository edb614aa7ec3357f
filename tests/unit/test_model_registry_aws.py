"""S3 + DynamoDB model registry adapter on moto: register, query, promote, load champion."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from lending.aws.models import S3DynamoModelRegistry
from lending.scoring.registry import ModelRecord, load_champion, promote, sha256_hex
from lending.scoring.scorecard import DEFAULT_ARTEFACT, Scorecard


@pytest.fixture
def registry() -> S3DynamoModelRegistry:
    with mock_aws():
        db = boto3.client("dynamodb", region_name="cn-north-1")
        db.create_table(
            TableName="models",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
        s3 = boto3.client("s3", region_name="cn-north-1")
        s3.create_bucket(
            Bucket="docs", CreateBucketConfiguration={"LocationConstraint": "cn-north-1"}
        )
        yield S3DynamoModelRegistry(db, "models", s3, "docs")


def test_register_promote_and_load(registry: S3DynamoModelRegistry) -> None:
    blob = DEFAULT_ARTEFACT.read_bytes()
    fallback = Scorecard.load()
    assert load_champion(registry, "admission-german", fallback) is fallback
    record = ModelRecord(
        "admission-german",
        "v1",
        "scorecard",
        "challenger",
        sha256_hex(blob),
        "2026-01-01",
        {"holdout_auc": 0.75, "score_psi": 0.02},
    )
    registry.register(record, blob)
    assert [r.version for r in registry.records("admission-german")] == ["v1"]
    assert promote(registry, "admission-german", "v1").passed
    assert registry.records("admission-german")[0].role == "champion"
    card = load_champion(registry, "admission-german", fallback)
    assert card is not fallback and card.version == fallback.version
