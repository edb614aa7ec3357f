"""The local cloud's IAM model: what each call needs, and how a role's statements decide."""

from __future__ import annotations

from infra.localcloud.iam import Call, Need, Resources, Role, Statement, check

P = "arn:aws-cn"
ACCOUNT = "123456789012"
TABLE = f"{P}:dynamodb:cn-north-1:{ACCOUNT}:table/apps"
FUNDERS = f"{P}:dynamodb:cn-north-1:{ACCOUNT}:table/funders"
KEY = f"{P}:kms:cn-north-1:{ACCOUNT}:key/k-1"
BUCKET = f"{P}:s3:::docs"
QUEUE_URL = f"https://sqs.cn-north-1.amazonaws.com.cn/{ACCOUNT}/bank.fifo"
QUEUE = f"{P}:sqs:cn-north-1:{ACCOUNT}:bank.fifo"


def resources() -> Resources:
    r = Resources(partition="aws-cn", region="cn-north-1")
    r.by_arn.update({TABLE: "AppsTable", FUNDERS: "FundersTable", KEY: "DataKey"})
    r.by_arn.update({BUCKET: "DocsBucket", QUEUE: "BankQueue"})
    r.sse_keys.update({TABLE: KEY, BUCKET: KEY, QUEUE: KEY})
    r.queues[QUEUE_URL] = QUEUE
    r.aliases["alias/data"] = KEY
    return r


def allow(actions: list[str], resources: list[str], source: str = "P0") -> Statement:
    return Statement("Allow", tuple(actions), tuple(resources), source)


def test_a_transaction_needs_each_items_action_on_its_table_and_the_table_key() -> None:
    needs = resources().needs(
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "apps"}},
                {"Update": {"TableName": "funders"}},
                {"ConditionCheck": {"TableName": "funders"}},
            ]
        },
    )
    actions = {(n.action, n.resource) for n in needs}
    assert ("dynamodb:PutItem", TABLE) in actions
    assert ("dynamodb:UpdateItem", FUNDERS) in actions
    assert ("dynamodb:ConditionCheckItem", FUNDERS) in actions
    assert ("kms:Decrypt", KEY) in actions  # apps is SSE-KMS under a customer key


def test_an_index_query_names_the_index() -> None:
    (query, _) = resources().needs(
        "dynamodb", "Query", {"TableName": "apps", "IndexName": "byApplicant"}
    )
    assert query == Need("dynamodb:Query", f"{TABLE}/index/byApplicant")


def test_sse_kms_objects_and_queues_need_the_callers_key_permissions() -> None:
    r = resources()
    put = r.needs("s3", "PutObject", {"Bucket": "docs", "Key": "contracts/a.pdf"})
    assert {n.action for n in put} == {"s3:PutObject", "kms:GenerateDataKey"}
    head = r.needs("s3", "HeadObject", {"Bucket": "docs", "Key": "a"})
    assert [n.action for n in head] == ["s3:GetObject"]  # metadata only: no key
    send = r.needs("sqs", "SendMessage", {"QueueUrl": QUEUE_URL})
    assert {(n.action, n.resource) for n in send} == {
        ("sqs:SendMessage", QUEUE),
        ("kms:GenerateDataKey", KEY),
        ("kms:Decrypt", KEY),
    }
    assert r.needs("kms", "Sign", {"KeyId": "alias/data"}) == [Need("kms:Sign", KEY)]


def test_statements_use_iam_wildcards_and_an_explicit_deny_wins() -> None:
    role = Role(
        "Fn",
        (
            allow(["dynamodb:*Item"], [f"{TABLE}*"]),
            Statement("Deny", ("dynamodb:DeleteItem",), ("*",), "P1"),
            allow(["S3:GetObject"], [f"{BUCKET}/models/*"]),
        ),
        (),
    )
    assert role.decide(Need("dynamodb:GetItem", TABLE)) is not None
    assert role.decide(Need("dynamodb:Query", TABLE)) is None
    assert role.decide(Need("dynamodb:DeleteItem", TABLE)) is None
    assert role.decide(Need("s3:getobject", f"{BUCKET}/models/a.json")) is not None
    assert role.decide(Need("s3:GetObject", f"{BUCKET}/applications/a")) is None


def test_the_check_reports_denied_calls_and_unused_grants() -> None:
    role = Role(
        "Fn",
        (
            allow(["dynamodb:GetItem"], [TABLE]),
            allow(["sqs:SendMessage*"], [QUEUE], "P1"),
            allow(["kms:Encrypt"], [KEY], "P2"),
        ),
        ("arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",),
    )
    calls = [
        Call("Fn", "dynamodb.GetItem", (Need("dynamodb:GetItem", TABLE),)),
        Call("Fn", "kms.GenerateDataKey", (Need("kms:GenerateDataKey", KEY),)),
    ]
    found = {(f.kind, f.detail.split(" ")[0]) for f in check(calls, {"Fn": role}, resources())}
    assert found == {
        ("denied", "kms.GenerateDataKey"),
        ("unused statement", "P1:"),
        ("unused resource", "BankQueue"),
        ("unused statement", "P2:"),
    }
