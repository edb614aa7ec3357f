"""Document uploads are held to their presigned-POST policy, as S3 holds them.

Each test asks the API for a presigned POST like the mini-program does, tampers with the
form a browser would send to the local cloud's S3, and checks S3's refusal and that
nothing was stored.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from infra.localcloud.cloud import REGION, LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import Applicant
from lending.aws import wiring

pytestmark = [pytest.mark.localcloud]

Stored = Callable[[str], bytes | None]
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4  # the bytes need not be a real JPEG


def presign(applicant: Applicant, size: int = len(PHOTO), kind: str = "id_front") -> Any:
    reply = call(
        "POST",
        f"{applicant.api_url}/v1/applications/{applicant.application_id}/documents",
        {"kind": kind, "content_type": "image/jpeg", "size": size},
        token=applicant.token,
    )
    assert reply.status == 201, reply.body
    return reply.body


def send(
    url: str, fields: dict[str, str], data: bytes = PHOTO, content_type: str = "image/jpeg"
) -> tuple[int, str]:
    """What a browser sends for the upload form; returns S3's status and body."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    body += (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="doc.jpg"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def code(body: str) -> str | None:
    match = re.search(r"<Code>(\w+)</Code>", body)
    return match.group(1) if match else None


@pytest.fixture
def stored(cloud: LocalCloud) -> Stored:
    """The stored object at a key of the documents bucket, or None."""
    s3 = boto3.client("s3", region_name=REGION)
    bucket = cloud.deployment.environment["LENDING_DOCUMENTS_BUCKET"]

    def get(key: str) -> bytes | None:
        try:
            body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.ClientError:
            return None
        return body

    return get


def test_an_honest_upload_is_stored(cloud: LocalCloud, draft: Applicant, stored: Stored) -> None:
    upload = presign(draft)
    assert send(upload["url"], upload["fields"]) == (204, "")
    assert stored(upload["key"]) == PHOTO
    head = boto3.client("s3", region_name=REGION).head_object(
        Bucket=cloud.deployment.environment["LENDING_DOCUMENTS_BUCKET"], Key=upload["key"]
    )
    assert head["ContentType"] == "image/jpeg"


def test_a_body_larger_than_declared_is_entity_too_large(draft: Applicant, stored: Stored) -> None:
    upload = presign(draft, size=len(PHOTO))
    status, body = send(upload["url"], upload["fields"], PHOTO + b"more")
    assert (status, code(body)) == (400, "EntityTooLarge")
    assert stored(upload["key"]) is None


def test_another_content_type_fails_the_policy(draft: Applicant, stored: Stored) -> None:
    upload = presign(draft)
    fields = {**upload["fields"], "Content-Type": "text/html"}
    status, body = send(upload["url"], fields, b"<script>alert(1)</script>", "text/html")
    assert (status, code(body)) == (403, "AccessDenied")
    assert '["eq", "$Content-Type", "image/jpeg"]' in body
    assert stored(upload["key"]) is None


def test_a_key_rewritten_to_another_applicants_document_is_refused(
    draft: Applicant, applicants: Callable[..., Applicant], stored: Stored
) -> None:
    victim = applicants()
    victim.sign_in()
    victim.apply()
    theirs = presign(victim)
    assert send(theirs["url"], theirs["fields"])[0] == 204

    mine = presign(draft)
    fields = {**mine["fields"], "key": theirs["key"]}
    status, body = send(mine["url"], fields, b"\xff\xd8\xff\xe0 not theirs")
    assert (status, code(body)) == (403, "AccessDenied")
    assert "Policy Condition failed" in body
    assert stored(theirs["key"]) == PHOTO
    assert stored(mine["key"]) is None


def test_a_zeroed_signature_does_not_match(draft: Applicant, stored: Stored) -> None:
    upload = presign(draft)
    fields = {**upload["fields"], "x-amz-signature": "0" * 64}
    status, body = send(upload["url"], fields)
    assert (status, code(body)) == (403, "SignatureDoesNotMatch")
    assert stored(upload["key"]) is None


def test_an_expired_policy_is_refused(cloud: LocalCloud, draft: Applicant, stored: Stored) -> None:
    key = presign(draft)["key"]
    # The documents store's own presigned POST, made as the API makes it, expired a minute ago.
    upload = wiring.documents().presign_upload(key, "image/jpeg", len(PHOTO), -60)
    assert upload["url"].startswith(cloud.s3_url)
    status, body = send(upload["url"], upload["fields"])
    assert (status, code(body)) == (403, "AccessDenied")
    assert "Policy expired." in body
    assert stored(key) is None


def test_a_field_the_policy_does_not_cover_is_refused(draft: Applicant, stored: Stored) -> None:
    upload = presign(draft)
    fields = {**upload["fields"], "acl": "public-read"}
    status, body = send(upload["url"], fields)
    assert (status, code(body)) == (403, "AccessDenied")
    assert "Extra input fields: acl" in body
    assert stored(upload["key"]) is None
