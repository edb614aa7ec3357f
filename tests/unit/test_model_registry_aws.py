"""S3 + DynamoDB model registry adapter on moto: register, query, promote, load champion."""

from __future__ import annotations

import uuid

import boto3
import pytest
from moto import mock_aws

from lending.aws.models import S3DynamoModelRegistry
from lending.scoring.registry import (
    ChampionChanged,
    ModelRecord,
    Promotion,
    load_champion,
    promote,
    sha256_hex,
)
from lending.scoring.scorecard import DEFAULT_ARTEFACT, Scorecard

EVIDENCE = {
    "holdout_auc": 0.75,
    "holdout_auc_lo": 0.68,
    "holdout_auc_hi": 0.82,
    "holdout_ece": 0.05,
    "holdout_ece_limit": 0.10,
    "calibration_slope": 0.9,
    "calibration_slope_lo": 0.6,
    "calibration_slope_hi": 1.2,
    "score_psi": 0.02,
}


@pytest.fixture
def registry() -> S3DynamoModelRegistry:
    # Unique names: under the session's local cloud a nested mock shares its backends.
    table, bucket = f"models-{uuid.uuid4().hex[:8]}", f"docs-{uuid.uuid4().hex[:8]}"
    with mock_aws():
        db = boto3.client("dynamodb", region_name="cn-north-1")
        db.create_table(
            TableName=table,
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
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "cn-north-1"}
        )
        yield S3DynamoModelRegistry(db, table, s3, bucket)


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
        EVIDENCE,
    )
    registry.register(record, blob)
    assert [r.version for r in registry.records("admission-german")] == ["v1"]
    assert promote(registry, "admission-german", "v1").passed
    assert registry.records("admission-german")[0].role == "champion"
    card = load_champion(registry, "admission-german", fallback)
    assert card is not fallback and card.version == fallback.version


def test_the_champion_swap_is_one_transaction_with_its_record(
    registry: S3DynamoModelRegistry,
) -> None:
    blob = DEFAULT_ARTEFACT.read_bytes()
    for v in ("v1", "v2"):
        registry.register(
            ModelRecord(
                "admission-german", v, "scorecard", "challenger", sha256_hex(blob), "x", EVIDENCE
            ),
            blob,
        )
    db = registry._db
    calls: list[str] = []
    real_transact, real_update = db.transact_write_items, db.update_item

    def transact(**kw: object) -> object:
        calls.append("transact")
        return real_transact(**kw)

    def update(**kw: object) -> object:
        calls.append("update")
        return real_update(**kw)

    db.transact_write_items, db.update_item = transact, update
    assert promote(registry, "admission-german", "v1", actor="risk:li", reason="first").passed
    assert promote(registry, "admission-german", "v2", actor="risk:li", reason="better").passed
    assert calls == ["transact", "transact"]  # no separate role writes
    roles = {r.version: r.role for r in registry.records("admission-german")}
    assert roles == {"v1": "challenger", "v2": "champion"}  # promotions are not versions
    first, second = registry.promotions("admission-german")
    assert (first.version, first.previous, second.version, second.previous) == (
        "v1",
        None,
        "v2",
        "v1",
    )
    assert second.actor == "risk:li" and second.reason == "better" and second.gate_passed
    # A swap against a champion that changed meanwhile fails whole: no role, no record.
    stale = Promotion("admission-german", "v1", "v1-gone", "2031-01-02", "x", "y", False, True, ())
    with pytest.raises(ChampionChanged):
        registry.swap_champion(stale)
    roles = {r.version: r.role for r in registry.records("admission-german")}
    assert roles == {"v1": "challenger", "v2": "champion"}
    assert len(registry.promotions("admission-german")) == 2
