"""Finance's console (positions, digest days, settlement files) against fakes, and the
adapters it reads through in moto: the audit log's day partitions, a funder's repaid
principal, and S3's presigned GETs and existence probes."""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lending.audit import PersonalDataView
from lending.auth import Principal, Role
from lending.aws.audit import DynamoAuditLog
from lending.aws.funders import DynamoFunderRepository
from lending.aws.s3 import S3DocumentStore
from lending.errors import Forbidden, InvalidRequest, NotFound
from lending.finance_desk import (
    MAX_WINDOW_DAYS,
    FinanceDesk,
    check_funder_id,
    window,
)
from lending.funding.model import Funder
from tests.fakes import FakeLinks

REGION = "cn-north-1"


def who(role: Role) -> Principal:
    return Principal(subject="S", role=role, expires_at=datetime(2100, 1, 1, tzinfo=UTC))


FUNDER = Funder(
    id="bank-a",
    name="Bank A",
    kind="bank",
    products=["consumer-flex"],
    quota_fen=1_000_000_00,
    used_fen=300_000_00,
    lent_fen=250_000_00,
    cost_of_funds_bps=380,
)


class Book:
    def standing(self, funder_id: str) -> tuple[Funder, int] | None:
        return (FUNDER, 50_000_00) if funder_id == "bank-a" else None


class Shelf(FakeLinks):
    def __init__(self, keys: set[str]) -> None:
        super().__init__()
        self.keys = keys
        self.probed: list[str] = []

    def exists(self, key: str) -> bool:
        self.probed.append(key)
        return key in self.keys


def desk(keys: set[str]) -> FinanceDesk:
    return FinanceDesk(funders=Book(), funder_ids=["bank-a", "gone"], files=Shelf(keys))


def test_positions_add_up() -> None:
    (position,) = desk(set()).positions(who(Role.FINANCE))
    assert position["available_fen"] == 700_000_00
    assert position["outstanding_fen"] == 250_000_00
    assert position["repaid_fen"] == 50_000_00
    assert position["lent_fen"] == 300_000_00
    for role in (Role.APPLICANT, Role.REVIEWER, Role.BANK):
        with pytest.raises(Forbidden):
            desk(set()).positions(who(role))


def test_windows() -> None:
    today = date(2026, 12, 10)
    assert window(None, None, today) == (date(2026, 11, 10), today)
    assert window(date(2026, 12, 1), None, today) == (date(2026, 12, 1), today)
    with pytest.raises(InvalidRequest):
        window(date(2026, 12, 2), date(2026, 12, 1), today)
    with pytest.raises(InvalidRequest):
        window(today - timedelta(days=MAX_WINDOW_DAYS), today, today)
    assert window(today - timedelta(days=MAX_WINDOW_DAYS - 1), today, today)[0] < today
    assert check_funder_id("trust-b") == "trust-b"
    for bad in ("", "Bank-A", "a/b", "a" * 33, "-a"):
        with pytest.raises(InvalidRequest):
            check_funder_id(bad)


def test_digest_days_probe_working_days_only_newest_first() -> None:
    keys = {
        "reports/finance/2026-12-01/digest.json",
        "reports/finance/2026-12-03/digest.json",
    }
    d = desk(keys)
    days = d.digest_days(who(Role.FINANCE), date(2026, 11, 28), date(2026, 12, 4))
    assert days == [date(2026, 12, 3), date(2026, 12, 1)]
    shelf = d.files
    assert isinstance(shelf, Shelf)
    # 28-29 Nov 2026 is a weekend: never probed.
    assert not any("2026-11-28" in k or "2026-11-29" in k for k in shelf.probed)


def test_settlement_files() -> None:
    d = desk({"funders/bank-a/repayments/2026-12-01.csv"})
    f = who(Role.FINANCE)
    assert d.settlement_days(f, "bank-a", date(2026, 11, 30), date(2026, 12, 2)) == [
        date(2026, 12, 1)
    ]
    link = d.settlement_link(f, "bank-a", date(2026, 12, 1))
    assert link["filename"] == "bank-a-repayments-2026-12-01.csv"
    assert link["expires_in"] == 300 and "Expires=300" in link["url"]
    with pytest.raises(NotFound):
        d.settlement_link(f, "bank-a", date(2026, 12, 2))
    with pytest.raises(NotFound):
        d.settlement_days(f, "nobody", date(2026, 12, 1), date(2026, 12, 1))
    with pytest.raises(Forbidden):
        d.settlement_link(who(Role.REVIEWER), "bank-a", date(2026, 12, 1))


# -- adapters in moto ---------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    # Tables and a bucket of their own: under the session's local cloud, mock_aws shares it.
    suffix = uuid.uuid4().hex[:12]
    with mock_aws():
        db = boto3.client("dynamodb", region_name=REGION)
        table = f"apps-{suffix}"
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
        funders = f"funders-{suffix}"
        db.create_table(
            TableName=funders,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        s3 = boto3.client("s3", region_name=REGION)
        bucket = f"docs-{suffix}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield {"db": db, "table": table, "funders": funders, "s3": s3, "bucket": bucket}


def test_the_audit_log_keeps_a_china_day_per_partition(aws: dict[str, Any]) -> None:
    log = DynamoAuditLog(aws["db"], aws["table"])
    # 23:30 UTC on 1 Dec is 07:30 on 2 Dec in China.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    for n, at in enumerate((late, late + timedelta(seconds=1), late - timedelta(hours=9))):
        log.record(
            PersonalDataView(
                at=at,
                viewer=f"R{n}",
                role=Role.REVIEWER,
                application_id="A1" if n != 1 else "A2",
                fields=["name"],
                purpose="manual_review",
            )
        )
    second = log.views_on(date(2026, 12, 2), None, 10)
    assert [v.viewer for v in second] == ["R0", "R1"]
    assert [v.viewer for v in log.views_on(date(2026, 12, 2), "A2", 10)] == ["R1"]
    assert [v.viewer for v in log.views_on(date(2026, 12, 1), None, 10)] == ["R2"]
    assert len(log.views_on(date(2026, 12, 2), None, 1)) == 1


def test_a_funders_repaid_principal_is_counted(aws: dict[str, Any]) -> None:
    repo = DynamoFunderRepository(aws["db"], aws["funders"])
    repo.put(FUNDER.model_copy(update={"used_fen": 0, "lent_fen": 0}))
    assert repo.reserve("bank-a", "A1", 100_00)
    aws["db"].update_item(  # booked: the loan's principal is the funder's outstanding
        TableName=aws["funders"],
        Key={"pk": {"S": "FUNDER#bank-a"}},
        UpdateExpression="ADD lent_fen :p",
        ExpressionAttributeValues={":p": {"N": "10000"}},
    )
    standing = repo.standing("bank-a")
    assert standing is not None and standing[1] == 0
    assert repo.repaid("bank-a", "CH-1", 40_00)
    assert not repo.repaid("bank-a", "CH-1", 40_00)  # once per reference
    standing = repo.standing("bank-a")
    assert standing is not None
    funder, repaid = standing
    assert repaid == 40_00 and funder.used_fen == 60_00
    assert repo.standing("nobody") is None


def test_presigned_gets_expire_and_missing_objects_do_not_exist(aws: dict[str, Any]) -> None:
    store = S3DocumentStore(aws["s3"], aws["bucket"])
    aws["s3"].put_object(Bucket=aws["bucket"], Key="funders/x/repayments/d.csv", Body=b"a,b\n")
    assert store.exists("funders/x/repayments/d.csv")
    assert not store.exists("funders/x/repayments/none.csv")
    url = store.presign_download(
        "funders/x/repayments/d.csv", 300, content_type="text/csv", filename="x.csv"
    )
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert params["X-Amz-Expires"] == ["300"]
    assert params["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert params["response-content-disposition"] == ['attachment; filename="x.csv"']
    assert params["response-cache-control"] == ["private, no-store"]
