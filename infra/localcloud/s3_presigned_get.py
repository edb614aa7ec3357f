"""S3's checks of presigned GETs in front of moto's S3 on loopback.

The reviewer's document images, the funders' settlement files and the borrower's signed
contract leave the private bucket only through presigned GETs (query-string SigV4,
`S3DocumentStore.presign_download`). moto serves any GET of an object, signed or not,
expired or not, with its query string rewritten or not; S3 refuses all of those, so the
local cloud does what S3 does before moto is asked:

- an object GET or HEAD without credentials is 403 `AccessDenied` (the bucket is private);
- the query's SigV4 signature is recomputed from the request as received (method, path as
  sent, every query parameter but the signature, the signed headers, UNSIGNED-PAYLOAD)
  under the signing key of `X-Amz-Credential`: any difference (a rewritten key, response
  header override or expiry, another host) is 403 `SignatureDoesNotMatch`;
- `X-Amz-Date` + `X-Amz-Expires` past is 403 `AccessDenied` "Request has expired";
  an `X-Amz-Expires` above 604800 (7 days) is 400 `AuthorizationQueryParametersError`.

The codes and messages are S3's (AWS "Authenticating Requests: Using Query Parameters").
Requests signed with an Authorization header (boto3 clients) are left to moto.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, NoReturn

from infra.localcloud.s3_post_policy import ALGORITHM, Rejection, signing_key

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MAX_EXPIRES_SECONDS = 604_800
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
# An object of a bucket, path-style: /<bucket>/<key...>.
_OBJECT_PATH = re.compile(r"/[^/]+/.+")
_REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~")


def canonical_query(raw_query: str) -> str:
    """Every parameter but the signature, names and values URI-encoded, sorted."""
    pairs = [
        (urllib.parse.unquote_plus(name), urllib.parse.unquote_plus(value))
        for name, _, value in (p.partition("=") for p in raw_query.split("&") if p)
    ]
    kept = sorted((_quote(n), _quote(v)) for n, v in pairs if n != "X-Amz-Signature")
    return "&".join(f"{n}={v}" for n, v in kept)


def string_to_sign(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    params: Mapping[str, str],
) -> str:
    signed = params["X-Amz-SignedHeaders"].lower().split(";")
    canonical_headers = "".join(
        f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed
    )
    canonical = "\n".join(
        [
            method,
            raw_path,
            canonical_query(raw_query),
            canonical_headers,
            ";".join(signed),
            params.get("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ]
    )
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return "\n".join([ALGORITHM, params["X-Amz-Date"], scope, digest])


def _query_error(message: str) -> NoReturn:
    raise Rejection(400, "AuthorizationQueryParametersError", message)


@dataclass(frozen=True)
class PresignedGetChecker:
    credentials: Mapping[str, str]  # access key id -> secret access key
    region: str
    # Real time, as botocore presigns with it (not the local cloud's controllable clock).
    now: Callable[[], datetime] = field(default=_utcnow)

    def check(self, method: str, raw_path: str, raw_query: str, headers: Mapping[str, str]) -> None:
        params = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        if "X-Amz-Signature" not in params:
            if "authorization" in headers:
                return  # signed in the header: a boto3 client, moto's business
            raise Rejection(403, "AccessDenied", "Access Denied")
        for name in (*_REQUIRED, "X-Amz-SignedHeaders"):
            if name not in params:
                _query_error(
                    "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                    "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                    "and X-Amz-Expires parameters."
                )
        if params["X-Amz-Algorithm"] != ALGORITHM:
            _query_error(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
        scope = params["X-Amz-Credential"].split("/")
        if len(scope) != 5 or scope[2] != self.region or scope[3:] != ["s3", "aws4_request"]:
            _query_error("Error parsing the X-Amz-Credential parameter")
        if not _AMZ_DATE.fullmatch(params["X-Amz-Date"]):
            _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        if not params["X-Amz-Expires"].isdigit():
            _query_error("X-Amz-Expires should be a number")
        expires = int(params["X-Amz-Expires"])
        if expires > MAX_EXPIRES_SECONDS:
            _query_error("X-Amz-Expires must be less than a week (in seconds) that is 604800")
        secret = self.credentials.get(scope[0])
        if secret is None:
            raise Rejection(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                AWSAccessKeyId=scope[0],
            )
        to_sign = string_to_sign(method, raw_path, raw_query, headers, params)
        key = signing_key(secret, scope[1], self.region)
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), params["X-Amz-Signature"].encode()):
            raise Rejection(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method.",
                AWSAccessKeyId=scope[0],
                StringToSign=to_sign,
                SignatureProvided=params["X-Amz-Signature"],
            )
        signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        now = self.now()
        if now > signed_at + timedelta(seconds=expires):
            raise Rejection(
                403,
                "AccessDenied",
                "Request has expired",
                **{
                    "X-Amz-Expires": str(expires),
                    "Expires": (signed_at + timedelta(seconds=expires)).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                    "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    found = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            found[key.replace("_", "-").lower()] = str(environ[key])
    return found


class PresignedGetMiddleware:
    """WSGI middleware: object GETs and HEADs are checked before moto serves them."""

    def __init__(self, app: WSGIApplication, checker: PresignedGetChecker) -> None:
        self.app = app
        self.checker = checker

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", ""))
        path = str(environ.get("PATH_INFO", ""))
        if method not in ("GET", "HEAD") or _OBJECT_PATH.fullmatch(path) is None:
            return self.app(environ, start_response)
        # The path as the client sent it (what was signed), not werkzeug's decoded one.
        raw_path = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or path).split("?")[0]
        try:
            self.checker.check(
                method, raw_path, str(environ.get("QUERY_STRING", "")), _headers(environ)
            )
        except Rejection as rejection:
            reply = rejection.xml()
            start_response(
                f"{rejection.status} {HTTPStatus(rejection.status).phrase}",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(reply)))],
            )
            return [] if method == "HEAD" else [reply]
        # Checked as addressed: moto must read the bucket from the path, not a host name.
        environ["HTTP_HOST"] = f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        return self.app(environ, start_response)
