"""The local cloud itself and the AWS adapters on it: no OCR, no state-machine run.

Covers the private moto patch point, that template.yaml is deployed as written, KMS
envelope encryption and signatures, optimistic locking, funder quota races and that no
personal data is stored in clear.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from moto.awslambda.models import LambdaFunction

from infra.localcloud import lambdas
from infra.localcloud.cloud import REGION, ROOT, LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import Applicant
from infra.localcloud.template import load_template
from lending.applications.ports import Event
from lending.aws import wiring
from lending.errors import Conflict
from lending.funding.model import Funder, reserve_funder
from lending.signatures import verify_signature

pytestmark = [pytest.mark.localcloud, pytest.mark.usefixtures("http_log")]

TEMPLATE = load_template(ROOT / "template.yaml")


def resources_of(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in TEMPLATE["Resources"].items() if v["Type"] == kind}


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def scan_all(table: str) -> list[dict[str, Any]]:
    db = client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        out = db.scan(**kwargs)
        items.extend(out["Items"])
        if "LastEvaluatedKey" not in out:
            return items
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


# -- the private moto patch point ------------------------------------------------------


def test_lambda_patch_point_is_installed(cloud: LocalCloud) -> None:
    assert LambdaFunction._invoke_lambda is not lambdas._original_invoke
    assert lambdas._active is cloud.registry


def test_invoking_a_deployed_function_runs_its_real_handler(
    cloud: LocalCloud, draft: Applicant
) -> None:
    fn = cloud.deployment.functions["FinalizeFunction"]
    before = cloud.registry.invocations.get("FinalizeFunction", 0)
    out = client("lambda").invoke(
        FunctionName=fn.name,
        Payload=json.dumps(
            {"application_id": draft.application_id, "status": "withdrawn", "code": "offer_refused"}
        ),
    )
    assert "FunctionError" not in out
    assert json.loads(out["Payload"].read()) == {"status": "withdrawn", "incident": None}
    assert cloud.registry.invocations["FinalizeFunction"] > before
    # The handler's effect is visible through the API: it really ran, against the cloud.
    view = draft.status()
    assert view["status"] == "withdrawn"
    assert [r["code"] for r in view["outcome"]["reasons"]] == ["offer_refused"]


def test_a_raised_exception_comes_back_as_function_error(cloud: LocalCloud) -> None:
    fn = cloud.deployment.functions["FinalizeFunction"]
    out = client("lambda").invoke(
        FunctionName=fn.name,
        Payload=json.dumps(
            {"application_id": "A-no-such-application", "status": "declined", "code": "score"}
        ),
    )
    assert out.get("FunctionError")
    error = json.loads(out["Payload"].read())
    assert error["errorType"] == "NotFound"


# -- the template, deployed ------------------------------------------------------------


def test_every_resource_of_the_template_is_deployed(cloud: LocalCloud) -> None:
    """Every resource whose Condition holds here (cn-north-1, no web domain: no CloudFront
    distribution, as in CloudFormation), and at least all the unconditional ones."""
    conditions = cloud.deployment.resolver.conditions
    expected = [
        name
        for name, spec in TEMPLATE["Resources"].items()
        if conditions.get(spec.get("Condition", ""), True)
    ]
    assert sorted(cloud.deployment.created) == sorted(expected)
    assert "WebDistribution" not in cloud.deployment.created  # China without an ICP alias


def test_every_function_of_the_template_is_registered_in_process(cloud: LocalCloud) -> None:
    declared = set(resources_of("AWS::Serverless::Function"))
    assert set(cloud.deployment.functions) == declared
    names = {f["FunctionName"] for f in client("lambda").list_functions()["Functions"]}
    assert {spec.name for spec in cloud.deployment.functions.values()} <= names


@pytest.mark.parametrize("logical_id", sorted(resources_of("AWS::DynamoDB::Table")))
def test_tables_have_the_declared_keys_and_indexes(cloud: LocalCloud, logical_id: str) -> None:
    props = TEMPLATE["Resources"][logical_id]["Properties"]
    table = client("dynamodb").describe_table(TableName=cloud.deployment.ref(logical_id))["Table"]
    assert table["KeySchema"] == props["KeySchema"]
    declared = {
        g["IndexName"]: (g["KeySchema"], g["Projection"]["ProjectionType"])
        for g in props.get("GlobalSecondaryIndexes", [])
    }
    deployed = {
        g["IndexName"]: (g["KeySchema"], g["Projection"]["ProjectionType"])
        for g in table.get("GlobalSecondaryIndexes", [])
    }
    assert deployed == declared


def test_the_access_pattern_indexes_exist(cloud: LocalCloud) -> None:
    db = client("dynamodb")
    apps = db.describe_table(TableName=cloud.deployment.ref("ApplicationsTable"))["Table"]
    loans = db.describe_table(TableName=cloud.deployment.ref("LoansTable"))["Table"]
    assert {g["IndexName"] for g in apps["GlobalSecondaryIndexes"]} == {
        "byApplicant",
        "reviewQueue",
        "byIdHash",
        "byDecidedDay",
    }
    assert {g["IndexName"] for g in loans["GlobalSecondaryIndexes"]} == {"dueDate", "watch"}


def test_funder_queues_are_fifo_with_a_fifo_dead_letter_queue(cloud: LocalCloud) -> None:
    sqs = client("sqs")
    funder_queues = json.loads(cloud.deployment.environment["LENDING_FUNDER_QUEUES"])
    assert set(funder_queues) == set(cloud.banks)
    for url in funder_queues.values():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["FifoQueue"] == "true"
        assert attributes.get("ContentBasedDeduplication", "false") == "false"
        redrive = json.loads(attributes["RedrivePolicy"])
        assert int(redrive["maxReceiveCount"]) == 5
        dlq_name = redrive["deadLetterTargetArn"].rsplit(":", 1)[1]
        dlq_url = sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
        dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
        assert dlq["FifoQueue"] == "true"
        assert dlq["QueueArn"] == redrive["deadLetterTargetArn"]
        assert dlq_url != url


def test_every_declared_queue_is_deployed_as_declared(cloud: LocalCloud) -> None:
    sqs = client("sqs")
    for logical_id, spec in resources_of("AWS::SQS::Queue").items():
        props = spec["Properties"]
        url = cloud.deployment.ref(logical_id)
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["FifoQueue"] == str(props.get("FifoQueue", False)).lower()
        if "RedrivePolicy" in props:
            dlq_logical_id = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            redrive = json.loads(attributes["RedrivePolicy"])
            expected = cloud.deployment.resolver.attributes[(dlq_logical_id, "Arn")]
            assert redrive["deadLetterTargetArn"] == expected


def test_the_deployed_state_machine_has_every_substitution_resolved(cloud: LocalCloud) -> None:
    arn = cloud.deployment.state_machines["OriginationStateMachine"]
    definition = client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
    assert "${" not in definition
    functions: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("FunctionName"), str):
                functions.add(node["FunctionName"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(definition))
    deployed = {spec.arn for spec in cloud.deployment.functions.values()}
    assert functions, "the state machine invokes no function"
    assert functions <= deployed
    assert arn == cloud.deployment.environment["LENDING_STATE_MACHINE_ARN"]


# -- KMS ---------------------------------------------------------------------------------


def test_envelope_encryption_round_trips_under_its_context(cloud: LocalCloud) -> None:
    cipher = wiring.cipher()
    secret = "张三 110105194912310021 6222020200112233445".encode()
    context = {"application_id": "A-itest-envelope", "purpose": "applicant"}
    blob = cipher.encrypt(secret, context)
    assert secret not in blob
    assert cipher.decrypt(blob, context) == secret
    # Two encryptions use two data keys and nonces: equal clear texts do not match.
    assert cipher.encrypt(secret, context) != blob


@pytest.mark.parametrize(
    "wrong",
    [
        {"application_id": "A-itest-other", "purpose": "applicant"},
        {"application_id": "A-itest-envelope", "purpose": "source:credit_bureau"},
        {"application_id": "A-itest-envelope"},
    ],
)
def test_envelope_decryption_fails_under_another_context(
    cloud: LocalCloud, wrong: dict[str, str]
) -> None:
    cipher = wiring.cipher()
    blob = cipher.encrypt(b"secret", {"application_id": "A-itest-envelope", "purpose": "applicant"})
    with pytest.raises((ClientError, InvalidTag)):
        cipher.decrypt(blob, wrong)


def test_a_tampered_ciphertext_does_not_decrypt(cloud: LocalCloud) -> None:
    cipher = wiring.cipher()
    context = {"application_id": "A-itest-tamper", "purpose": "applicant"}
    blob = bytearray(cipher.encrypt(b"secret", context))
    blob[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        cipher.decrypt(bytes(blob), context)


def test_signatures_verify_with_the_public_key_alone(cloud: LocalCloud) -> None:
    signer = wiring.signer()
    digest = hashlib.sha256(b"contract bytes").digest()
    signature = signer.sign_digest(digest)
    public_pem = signer.public_key_pem()
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert verify_signature(public_pem, digest, signature)
    assert not verify_signature(public_pem, hashlib.sha256(b"contract bytez").digest(), signature)
    tampered = bytearray(signature)
    tampered[0] ^= 0x01
    assert not verify_signature(public_pem, digest, bytes(tampered))


def test_the_published_signing_key_is_the_signers_key(cloud: LocalCloud) -> None:
    reply = call("GET", f"{cloud.api_url}/v1/keys/signing")
    assert reply.status == 200
    assert reply.body["public_key_pem"].encode() == wiring.signer().public_key_pem()
    assert reply.body["algorithm"] == "RSASSA_PKCS1_V1_5_SHA_256"


# -- DynamoDB repositories -------------------------------------------------------------


def test_a_stale_save_raises_conflict(cloud: LocalCloud, draft: Applicant) -> None:
    repo = wiring.applications()
    now = wiring.clock().now()
    first = repo.get(draft.application_id)
    stale = repo.get(draft.application_id)
    assert first is not None
    assert stale is not None
    saved = repo.save(first, Event(type="itest_touched", at=now))
    assert saved.version == first.version + 1
    with pytest.raises(Conflict):
        repo.save(stale, Event(type="itest_touched_stale", at=now))
    # The winner's write stands and the loser left no audit event.
    current = repo.get(draft.application_id)
    assert current is not None
    assert current.version == saved.version
    types = [e.type for e in repo.events(draft.application_id)]
    assert "itest_touched" in types
    assert "itest_touched_stale" not in types


def _test_funder(quota_fen: int) -> Funder:
    # A product no real application uses, so origination never matches this funder.
    return Funder(
        id=f"itest-{uuid.uuid4().hex[:8]}",
        name="integration-test funder",
        kind="bank",
        products=["itest-only-product"],
        quota_fen=quota_fen,
        cost_of_funds_bps=100,
    )


def test_funder_quota_is_never_overdrawn_by_racing_reservations(cloud: LocalCloud) -> None:
    repo = wiring.funders()
    funder = _test_funder(quota_fen=10 * 100_00)
    repo.put(funder)
    applications = [f"A-itest-race-{i:02d}" for i in range(24)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda app: repo.reserve(funder.id, app, 100_00), applications))

    stored = repo.get(funder.id)
    assert stored is not None
    assert stored.used_fen <= stored.quota_fen
    assert stored.used_fen == sum(results) * 100_00
    # 24 asks for 10 slots: the quota is used up, and only by the winners.
    assert sum(results) == 10
    for app, won in zip(applications, results, strict=True):
        assert repo.reservation_of(app) == (funder.id if won else None)


def test_a_reservation_is_released_once_however_often_asked(cloud: LocalCloud) -> None:
    repo = wiring.funders()
    funder = _test_funder(quota_fen=1_000_00)
    repo.put(funder)
    assert repo.reserve(funder.id, "A-itest-release", 800_00)
    assert repo.reserve(funder.id, "A-itest-other", 300_00) is False  # quota taken

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: repo.release("A-itest-release"), range(6)))

    assert sum(results) == 1
    stored = repo.get(funder.id)
    assert stored is not None and stored.used_fen == 0
    assert repo.reservation_of("A-itest-release") is None
    assert repo.release("A-itest-never-reserved") is False
    assert repo.reserve(funder.id, "A-itest-other", 300_00)  # the quota is free again
    # The application can reserve again (from the funder asked next), and release again.
    other = _test_funder(quota_fen=1_000_00)
    repo.put(other)
    assert repo.reserve(other.id, "A-itest-release", 800_00)
    assert repo.reservation_of("A-itest-release") == other.id
    assert repo.release("A-itest-release")
    assert repo.release("A-itest-release") is False
    stored = repo.get(other.id)
    assert stored is not None and stored.used_fen == 0


def test_a_repeated_reservation_for_one_application_is_idempotent(cloud: LocalCloud) -> None:
    repo = wiring.funders()
    funder = _test_funder(quota_fen=1_000_000_00)
    repo.put(funder)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda _: repo.reserve(funder.id, "A-itest-once", 500_00), range(6))
        )
    assert all(results)
    assert repo.reserve(funder.id, "A-itest-once", 500_00)
    stored = repo.get(funder.id)
    assert stored is not None
    assert stored.used_fen == 500_00
    # The matching step finds the reservation it already made instead of taking more.
    assert reserve_funder(repo, "A-itest-once", "itest-only-product", 500_00) == funder.id
    stored = repo.get(funder.id)
    assert stored is not None
    assert stored.used_fen == 500_00


# -- personal data is never stored in clear ---------------------------------------------


def _clear_forms(value: str) -> list[str]:
    """The value as is and as ASCII-escaped JSON would store it."""
    return [value, json.dumps(value)[1:-1]]


def _stored_strings(cloud: LocalCloud) -> list[str]:
    tables = [cloud.deployment.ref(t) for t in resources_of("AWS::DynamoDB::Table")]
    return [json.dumps(item, ensure_ascii=False) for t in tables for item in scan_all(t)]


def test_the_blind_index_never_stores_the_raw_id_number(
    cloud: LocalCloud, draft: Applicant
) -> None:
    who = draft.identity
    items = scan_all(cloud.deployment.ref("ApplicationsTable"))
    meta = [
        i for i in items if i["pk"]["S"] == f"APP#{draft.application_id}" and i["sk"]["S"] == "META"
    ]
    assert len(meta) == 1
    expected_hash = wiring.blind_index().digest("id:" + who.id_number)
    assert meta[0]["id_hash"]["S"] == expected_hash
    assert who.id_number not in expected_hash
    for item in items:
        text = json.dumps(item, ensure_ascii=False)
        assert who.id_number not in text


def test_no_personal_data_appears_in_clear_in_any_table(
    cloud: LocalCloud, draft: Applicant
) -> None:
    who = draft.identity
    stored = _stored_strings(cloud)
    assert any(draft.application_id in s for s in stored)
    personal = {
        "ID number": who.id_number,
        "bank card number": who.bank_card_number,
        "name": who.name,
        "phone": who.phone,
        "address": who.address,
    }
    for label, value in personal.items():
        for form in _clear_forms(value):
            leaks = [s for s in stored if form in s]
            assert not leaks, f"the {label} is stored in clear"


def test_the_applicant_details_decrypt_only_with_their_application_context(
    cloud: LocalCloud, draft: Applicant
) -> None:
    service = wiring.application_service()
    stored = wiring.applications().get(draft.application_id)
    assert stored is not None
    details = service.decrypt_applicant(stored)
    assert details.id_number == draft.identity.id_number
    assert details.bank_card_number == draft.identity.bank_card_number
    moved = stored.model_copy(update={"id": "A-itest-moved"})
    with pytest.raises((ClientError, InvalidTag)):
        service.decrypt_applicant(moved)


def test_applicant_ids_and_views_hide_secrets(draft: Applicant, cloud: LocalCloud) -> None:
    view = draft.status()
    for hidden in ("tokens", "applicant_blob", "id_hash", "credit_code_hash", "version"):
        assert hidden not in view
    assert draft.identity.id_number not in json.dumps(view, ensure_ascii=False)
