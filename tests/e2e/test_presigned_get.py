"""Presigned GETs are held to their signature and expiry, as S3 holds them: the local
cloud is never more lenient than AWS. Each test presigns a download the way the API does
(S3DocumentStore.presign_download) and tampers with what a browser would send."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from infra.localcloud.cloud import REGION, LocalCloud
from infra.localcloud.s3_post_policy import Rejection
from infra.localcloud.s3_presigned_get import PresignedGetChecker
from lending.aws import wiring

pytestmark = [pytest.mark.localcloud]
PDF = b"%PDF-1.4 a contract"


def get(url: str, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read(), {k.lower(): v for k, v in reply.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()}


def code(body: bytes) -> str:
    return body.split(b"<Code>")[1].split(b"</Code>")[0].decode()


@pytest.fixture
def stored(cloud: LocalCloud) -> str:
    key = f"contracts/A{uuid.uuid4().hex}/contract.pdf"
    wiring.documents().put(key, PDF, "application/pdf")
    return key


def with_query(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def test_a_presigned_get_reads_the_object_as_signed(stored: str) -> None:
    url = wiring.documents().presign_download(stored, 60, "application/pdf", "c.pdf")
    status, body, headers = get(url)
    assert (status, body) == (200, PDF)
    assert headers["content-disposition"] == 'attachment; filename="c.pdf"'
    # The method is signed too: a GET's link is no HEAD's (S3: SignatureDoesNotMatch).
    assert get(url, "HEAD")[0] == 403


def test_tampering_with_the_key_or_the_query_is_refused(stored: str) -> None:
    store = wiring.documents()
    url = store.presign_download(stored, 60, "application/pdf", "c.pdf")
    other = stored.replace("contract.pdf", "other.pdf")
    store.put(other, b"another file", "application/pdf")
    for tampered in (
        url.replace("contract.pdf", "other.pdf"),
        with_query(url, **{"response-content-disposition": "inline"}),
        with_query(url, **{"X-Amz-Expires": "3600"}),
        with_query(url, **{"X-Amz-Signature": "0" * 64}),
    ):
        status, body, _ = get(tampered)
        assert (status, code(body)) == (403, "SignatureDoesNotMatch"), tampered
    status, body, _ = get(with_query(url, **{"X-Amz-Expires": "700000"}))
    assert (status, code(body)) == (400, "AuthorizationQueryParametersError")


def test_without_a_signature_the_private_bucket_says_no(stored: str) -> None:
    url = wiring.documents().presign_download(stored, 60)
    bare = url.split("?")[0]
    status, body, _ = get(bare)
    assert (status, code(body)) == (403, "AccessDenied")
    assert get(bare, "HEAD")[0] == 403


def test_an_expired_link_is_refused(stored: str) -> None:
    url = wiring.documents().presign_download(stored, 1)
    time.sleep(2.1)
    status, body, _ = get(url)
    assert (status, code(body)) == (403, "AccessDenied")
    assert b"Request has expired" in body


def test_expiry_is_to_the_second_by_the_checker() -> None:
    signed = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)
    # A URL signed for 120 s, checked at its last second and the one after.
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261201%2F"
        f"{REGION}%2Fs3%2Faws4_request&X-Amz-Date=20261201T080000Z&X-Amz-Expires=120"
        "&X-Amz-SignedHeaders=host"
    )
    import hashlib
    import hmac

    from infra.localcloud.s3_post_policy import signing_key
    from infra.localcloud.s3_presigned_get import string_to_sign

    params = dict(urllib.parse.parse_qsl(query))
    headers = {"host": "127.0.0.1:1"}
    to_sign = string_to_sign("GET", "/b/k", query, headers, params)
    signature = hmac.new(
        signing_key("SECRET", "20261201", REGION), to_sign.encode(), hashlib.sha256
    )
    full = f"{query}&X-Amz-Signature={signature.hexdigest()}"
    for after, refused in ((120, False), (121, True)):
        checker = PresignedGetChecker(
            {"AK": "SECRET"}, REGION, now=lambda after=after: signed + timedelta(seconds=after)
        )
        if refused:
            with pytest.raises(Rejection, match="expired"):
                checker.check("GET", "/b/k", full, headers)
        else:
            checker.check("GET", "/b/k", full, headers)
