"""The local cloud's S3 presigned-POST checks, without a server.

The middleware wraps a stand-in for moto that records the form as moto would parse it;
the presigned POSTs come from botocore, as the documents store makes them.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer
from werkzeug.test import Client
from werkzeug.wrappers import Request

from infra.localcloud.s3_post_policy import (
    PostPolicyChecker,
    PostPolicyMiddleware,
    install,
    sign_policy,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

REGION = "cn-north-1"
BUCKET = "documents"
KEY = "applications/app-1/documents/id_front"
ACCESS_KEY, SECRET_KEY = "testing", "testing"
JPEG = b"\xff\xd8\xff\xe0" + b"x" * 96


class FakeMoto:
    """Records each form it is handed, parsed as moto parses it (werkzeug's form parser)."""

    def __init__(self) -> None:
        self.forms: list[tuple[dict[str, str], dict[str, bytes]]] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        files = {name: upload.read() for name, upload in request.files.items()}
        self.forms.append((dict(request.form), files))
        start_response("204 No Content", [])
        return [b""]


def presigned(
    key: str = KEY, content_type: str = "image/jpeg", max_bytes: int = 100, expires: int = 600
) -> tuple[str, dict[str, str]]:
    """A presigned POST made as `S3DocumentStore.presign_upload` makes it."""
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token="token",
        config=Config(s3={"addressing_style": "path"}),
    )
    post = s3.generate_presigned_post(
        Bucket=BUCKET,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires,
    )
    return post["url"], post["fields"]


def self_signed(conditions: list[Any], fields: dict[str, str], **policy: Any) -> dict[str, str]:
    """Fields with a policy of our own, signed with the local cloud's secret."""
    date = datetime.now(UTC)
    credential = f"{ACCESS_KEY}/{date:%Y%m%d}/{REGION}/s3/aws4_request"
    auth = {
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": credential,
        "x-amz-date": f"{date:%Y%m%dT%H%M%SZ}",
    }
    document = {
        "expiration": f"{date + timedelta(minutes=10):%Y-%m-%dT%H:%M:%S.000Z}",
        "conditions": [*conditions, *({k: v} for k, v in auth.items())],
        **policy,
    }
    encoded = base64.b64encode(json.dumps(document).encode()).decode()
    signature = sign_policy(encoded, SECRET_KEY, f"{date:%Y%m%d}", REGION)
    return {**fields, **auth, "policy": encoded, "x-amz-signature": signature}


def multipart(
    fields: dict[str, str] | list[tuple[str, str]],
    data: bytes | None,
    content_type: str = "image/jpeg",
    after: list[tuple[str, str]] | None = None,
    filename: str | None = "doc.jpg",
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    pairs = list(fields.items()) if isinstance(fields, dict) else fields
    out = b""
    for name, value in pairs:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    if data is not None:
        named = "" if filename is None else f'; filename="{filename}"'
        out += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"{named}\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    for name, value in after or []:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def moto() -> FakeMoto:
    return FakeMoto()


def post(moto: FakeMoto, fields: Any, data: bytes | None = JPEG, **kwargs: Any) -> Any:
    app = PostPolicyMiddleware(moto, PostPolicyChecker({ACCESS_KEY: SECRET_KEY}, REGION))
    body, content_type = multipart(fields, data, **kwargs)
    return Client(app).post(f"/{BUCKET}", data=body, content_type=content_type)


def error_code(reply: Any) -> str:
    match = re.search(r"<Code>(\w+)</Code>", reply.get_data(as_text=True))
    assert match is not None
    return match.group(1)


# -- SigV4 --------------------------------------------------------------------------------


def test_the_signature_matches_the_aws_documentation_example() -> None:
    """AWS's SigV4 browser-upload example: its policy, secret and stated signature."""
    policy = (
        "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAg"
        "ICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAi"
        "dXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25f"
        "cmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxf"
        "dXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQog"
        "ICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRl"
        "LWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAi"
        "Il0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMt"
        "ZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEy"
        "NTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
    )
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert sign_policy(policy, secret, "20151229", "us-east-1") == (
        "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
    )


def test_an_honest_presigned_post_reaches_moto_as_checked(moto: FakeMoto) -> None:
    _, fields = presigned()
    reply = post(moto, fields)
    assert reply.status_code == 204
    (form, files), *_ = moto.forms
    assert form["key"] == KEY
    assert form["content-type"] == "image/jpeg"
    assert files == {"file": JPEG}


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        ({"x-amz-signature": "0" * 64}, 403, "SignatureDoesNotMatch"),
        ({"Content-Type": "text/html"}, 403, "AccessDenied"),
        ({"key": "applications/other/documents/id_front"}, 403, "AccessDenied"),
        ({"acl": "public-read"}, 403, "AccessDenied"),  # a field the policy does not cover
        (
            {"x-amz-credential": f"nobody/20260101/{REGION}/s3/aws4_request"},
            403,
            "InvalidAccessKeyId",
        ),
        (
            {"x-amz-credential": "testing/20260101/us-east-1/s3/aws4_request"},
            400,
            "InvalidArgument",
        ),
        ({"x-amz-algorithm": "AWS4-HMAC-SHA1"}, 400, "InvalidArgument"),
        ({"x-amz-date": "yesterday"}, 400, "InvalidArgument"),
    ],
)
def test_a_tampered_form_is_refused_as_s3_refuses_it(
    moto: FakeMoto, tamper: dict[str, str], status: int, code: str
) -> None:
    _, fields = presigned()
    reply = post(moto, {**fields, **tamper})
    assert (reply.status_code, error_code(reply)) == (status, code)
    assert reply.headers["Content-Type"] == "application/xml"
    assert moto.forms == []


def test_a_failed_condition_is_named_as_s3_names_it(moto: FakeMoto) -> None:
    _, fields = presigned()
    reply = post(moto, {**fields, "Content-Type": "text/html"})
    assert (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", '
        '"image/jpeg"]' in reply.get_data(as_text=True)
    )
    reply = post(moto, {**fields, "acl": "public-read"})
    assert "Invalid according to Policy: Extra input fields: acl" in reply.get_data(as_text=True)


def test_sizes_outside_the_range_are_entity_errors(moto: FakeMoto) -> None:
    _, fields = presigned(max_bytes=len(JPEG))
    assert post(moto, fields, JPEG).status_code == 204
    too_large = post(moto, fields, JPEG + b"x")
    assert (too_large.status_code, error_code(too_large)) == (400, "EntityTooLarge")
    assert "<MaxSizeAllowed>100</MaxSizeAllowed>" in too_large.get_data(as_text=True)
    too_small = post(moto, fields, b"")
    assert (too_small.status_code, error_code(too_small)) == (400, "EntityTooSmall")
    assert len(moto.forms) == 1


def test_an_expired_policy_is_refused(moto: FakeMoto) -> None:
    _, fields = presigned(expires=-1)
    reply = post(moto, fields)
    assert (reply.status_code, error_code(reply)) == (403, "AccessDenied")
    assert "Policy expired." in reply.get_data(as_text=True)
    checker = PostPolicyChecker(
        {ACCESS_KEY: SECRET_KEY}, REGION, now=lambda: datetime.now(UTC) + timedelta(hours=1)
    )
    app = PostPolicyMiddleware(moto, checker)
    body, content_type = multipart(presigned()[1], JPEG)
    late = Client(app).post(f"/{BUCKET}", data=body, content_type=content_type)
    assert late.status_code == 403
    assert moto.forms == []


def test_a_form_without_a_policy_is_anonymous_and_the_bucket_is_private(moto: FakeMoto) -> None:
    reply = post(moto, {"key": KEY, "Content-Type": "image/jpeg"})
    assert (reply.status_code, error_code(reply)) == (403, "AccessDenied")
    _, fields = presigned()
    del fields["x-amz-signature"]
    reply = post(moto, fields)
    assert (reply.status_code, error_code(reply)) == (400, "InvalidArgument")
    assert "'X-Amz-Signature'" in reply.get_data(as_text=True)
    assert moto.forms == []


def test_a_form_needs_a_key_and_a_file(moto: FakeMoto) -> None:
    _, fields = presigned()
    no_key = {k: v for k, v in fields.items() if k != "key"}
    assert error_code(post(moto, no_key)) == "InvalidArgument"
    no_file = post(moto, fields, None)
    assert (no_file.status_code, error_code(no_file)) == (400, "InvalidArgument")
    assert "exactly one file" in no_file.get_data(as_text=True)
    assert moto.forms == []


def test_fields_after_the_file_are_ignored_and_never_reach_moto(moto: FakeMoto) -> None:
    _, fields = presigned()
    reply = post(moto, fields, after=[("key", "applications/other/documents/id_front")])
    assert reply.status_code == 204
    (form, _), *_ = moto.forms
    assert form["key"] == KEY


def test_a_repeated_field_is_checked_with_its_values_joined(moto: FakeMoto) -> None:
    _, fields = presigned()
    pairs = [*fields.items(), ("key", "applications/other/documents/id_front")]
    reply = post(moto, pairs)
    assert reply.status_code == 403
    assert moto.forms == []


def test_names_are_case_insensitive_and_x_ignore_fields_need_no_condition(
    moto: FakeMoto,
) -> None:
    _, fields = presigned()
    renamed = {("X-Amz-Signature" if k == "x-amz-signature" else k): v for k, v in fields.items()}
    renamed["Policy"] = renamed.pop("policy")
    renamed["x-ignore-tracking"] = "anything"
    assert post(moto, renamed).status_code == 204


def test_starts_with_and_content_type_lists(moto: FakeMoto) -> None:
    conditions = [
        {"bucket": BUCKET},
        ["starts-with", "$key", "applications/app-1/"],
        ["starts-with", "$Content-Type", "image/"],
        ["content-length-range", "1", "1000"],  # S3 takes numbers as strings
    ]
    ok = self_signed(conditions, {"key": KEY + "-${filename}", "Content-Type": "image/jpeg"})
    assert post(moto, ok).status_code == 204
    assert moto.forms[-1][0]["key"] == KEY + "-doc.jpg"  # ${filename} expanded, as checked
    listed = self_signed(conditions, {"key": KEY, "Content-Type": "image/jpeg,image/png"})
    assert post(moto, listed).status_code == 204
    mixed = self_signed(conditions, {"key": KEY, "Content-Type": "image/jpeg,text/html"})
    assert post(moto, mixed).status_code == 403
    elsewhere = self_signed(
        conditions, {"key": "applications/app-2/x", "Content-Type": "image/png"}
    )
    assert post(moto, elsewhere).status_code == 403
    assert len(moto.forms) == 2


def test_a_condition_on_an_absent_field_fails(moto: FakeMoto) -> None:
    fields = self_signed(
        [{"bucket": BUCKET}, {"key": KEY}, ["starts-with", "$x-amz-meta-owner", ""]], {"key": KEY}
    )
    assert post(moto, fields).status_code == 403


def test_another_bucket_fails_the_bucket_condition(moto: FakeMoto) -> None:
    _, fields = presigned()
    app = PostPolicyMiddleware(moto, PostPolicyChecker({ACCESS_KEY: SECRET_KEY}, REGION))
    body, content_type = multipart(fields, JPEG)
    reply = Client(app).post("/another-bucket", data=body, content_type=content_type)
    assert reply.status_code == 403
    assert moto.forms == []


@pytest.mark.parametrize(
    "policy",
    [
        {"conditions": []},
        {"expiration": "2030-01-01 00:00:00", "conditions": []},
        {"expiration": "2030-01-01T00:00:00Z"},
        {"expiration": "2030-01-01T00:00:00Z", "conditions": [["matches", "$key", ".*"]]},
        {"expiration": "2030-01-01T00:00:00Z", "conditions": [{"key": KEY, "acl": "private"}]},
        {"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", -1, 9]]},
        {"expiration": "2030-01-01T00:00:00Z", "conditions": [], "Statement": []},
    ],
)
def test_a_malformed_policy_is_an_invalid_policy_document(
    moto: FakeMoto, policy: dict[str, Any]
) -> None:
    date = datetime.now(UTC)
    encoded = base64.b64encode(json.dumps(policy).encode()).decode()
    fields = {
        "key": KEY,
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": f"{ACCESS_KEY}/{date:%Y%m%d}/{REGION}/s3/aws4_request",
        "x-amz-date": f"{date:%Y%m%dT%H%M%SZ}",
        "policy": encoded,
        "x-amz-signature": sign_policy(encoded, SECRET_KEY, f"{date:%Y%m%d}", REGION),
    }
    reply = post(moto, fields)
    assert (reply.status_code, error_code(reply)) == (400, "InvalidPolicyDocument")


def test_other_requests_pass_through_untouched(moto: FakeMoto) -> None:
    app = PostPolicyMiddleware(moto, PostPolicyChecker({ACCESS_KEY: SECRET_KEY}, REGION))
    reply = Client(app).post("/", data="Action=ListQueues", content_type="application/x-amz-json")
    assert reply.status_code == 204
    assert len(moto.forms) == 1


def test_install_puts_the_checks_in_front_of_a_moto_server() -> None:
    """Smoke test of the private patch point: moto's werkzeug server behind `_server`."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        install(server, REGION, {ACCESS_KEY: SECRET_KEY})
        host, port = server.get_host_and_port()
        body, content_type = multipart({"key": KEY}, JPEG)
        request = urllib.request.Request(f"http://{host}:{port}/{BUCKET}", data=body)
        request.add_header("Content-Type", content_type)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
        assert b"<Code>AccessDenied</Code>" in refused.value.read()
    finally:
        server.stop()
