"""S3's presigned-POST checks in front of moto's S3 on loopback.

Browsers upload documents with a presigned POST (`S3DocumentStore.presign_upload`). moto
stores whatever is posted to a bucket: it checks neither the SigV4 signature of the policy
nor its expiry nor any of its conditions, so a forged signature, a rewritten key or content
type and an oversized body were all stored (204). S3 refuses them, so the local cloud wraps
moto's server in `PostPolicyMiddleware`, which does what S3 does first:

- reads the multipart form as S3 does: the fields up to the part named `file`, which is the
  object; anything after it is ignored (AWS: "The file or text content must be the last
  field in the form");
- checks the SigV4 POST signature (`x-amz-signature` = hex HMAC-SHA256 of the base64 policy,
  as sent, under the signing key of `x-amz-credential`), then the policy's `expiration`,
  every condition, and that every field but `x-amz-signature`, `file`, `policy` and
  `x-ignore-*` is covered by a condition;
- answers S3's XML error when a check fails, and otherwise hands moto a re-encoded form
  holding exactly what was checked, so moto cannot store anything else.

The codes and messages are S3's as it answers them (AWS docs, and recordings against S3
such as LocalStack's validated presigned-POST tests): 403 `SignatureDoesNotMatch`, 403
`AccessDenied` "Invalid according to Policy: ...", 400 `EntityTooLarge` / `EntityTooSmall`,
400 `InvalidArgument` / `InvalidPolicyDocument` for a malformed request or policy.
Only SigV4 is spoken (botocore presigns POSTs with it); a session token is held to the
policy like any field but not checked against the credentials, as moto issues none.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from typing import TYPE_CHECKING, Any, NoReturn
from xml.sax.saxutils import escape

import boto3
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder
from werkzeug.wsgi import get_input_stream

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from moto.server import ThreadedMotoServer

ALGORITHM = "AWS4-HMAC-SHA256"
# Fields the policy need not cover (AWS "POST Policy": "except x-amz-signature, file, policy,
# and field names that have an x-ignore- prefix").
EXEMPT_FIELDS = frozenset({"x-amz-signature", "file", "policy"})
IGNORED_PREFIX = "x-ignore-"
AUTH_FIELDS = ("policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
_EXPIRATION = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
# A path-style bucket URL; presigned POSTs go to http://127.0.0.1:<port>/<bucket>.
_BUCKET_PATH = re.compile(r"/([^/]+)/?")


class Rejection(Exception):
    """S3's refusal: the status, its error code, message and extra XML elements."""

    def __init__(self, status: int, code: str, message: str, **details: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def xml(self) -> bytes:
        extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in self.details.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{extra}"
            f"<RequestId>{secrets.token_hex(8).upper()}</RequestId>"
            f"<HostId>{base64.b64encode(secrets.token_bytes(32)).decode()}</HostId></Error>"
        ).encode()


def _policy_denied(reason: str) -> NoReturn:
    raise Rejection(403, "AccessDenied", f"Invalid according to Policy: {reason}")


def _invalid_policy(reason: str) -> NoReturn:
    raise Rejection(400, "InvalidPolicyDocument", f"Invalid Policy: {reason}")


def _missing_field(name: str) -> NoReturn:
    raise Rejection(
        400,
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  "
        "If it is specified, please check the order of the fields.",
        ArgumentName=name,
        ArgumentValue="",
    )


# -- the form --------------------------------------------------------------------------


@dataclass(frozen=True)
class PostForm:
    """A POST Object form as S3 reads it: the fields before `file`, then the object."""

    fields: list[tuple[str, str]]  # (name as sent, value), in order
    file: bytes
    filename: str | None = None  # None: the file part had no filename parameter
    file_content_type: str = "application/octet-stream"

    def values(self) -> dict[str, str]:
        """Lower-cased name -> value; repeated fields joined by commas (as S3 documents)
        and ${filename} expanded in every field before matching (AWS "POST Policy")."""
        out: dict[str, str] = {}
        basename = None if self.filename is None else re.split(r"[/\\]", self.filename)[-1]
        for name, sent in self.fields:
            value = sent if basename is None else sent.replace("${filename}", basename)
            key = name.lower()
            out[key] = f"{out[key]},{value}" if key in out else value
        return out

    def names(self) -> dict[str, str]:
        """Lower-cased name -> the name as first sent (S3 names extra fields as sent)."""
        out: dict[str, str] = {}
        for name, _ in self.fields:
            out.setdefault(name.lower(), name)
        return out


def parse_form(body: bytes, boundary: str) -> PostForm:
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    decoder.receive_data(body)
    decoder.receive_data(None)
    fields: list[tuple[str, str]] = []
    part: Field | File | None = None
    data = bytearray()
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, Epilogue):
                break
            if isinstance(event, (Field, File)):  # File: a part with a filename
                part, data = event, bytearray()
            elif isinstance(event, Data) and part is not None:
                data += event.data
                if event.more_data:
                    continue
                if part.name is None:
                    raise ValueError("a part without a name")
                if part.name.lower() == "file":
                    # The first part named `file` is the object, with or without a filename.
                    return PostForm(
                        fields,
                        bytes(data),
                        part.filename if isinstance(part, File) else None,
                        part.headers.get("Content-Type", "application/octet-stream"),
                    )
                fields.append((part.name, data.decode("utf-8")))
                part = None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise Rejection(
            400,
            "MalformedPOSTRequest",
            "The body of your POST request is not well-formed multipart/form-data.",
        ) from exc
    raise Rejection(
        400,
        "InvalidArgument",
        "POST requires exactly one file upload per request.",
        ArgumentName="file",
        ArgumentValue="0",
    )


def encode_form(form: PostForm, values: Mapping[str, str]) -> tuple[bytes, str]:
    """The checked form re-encoded for moto: (body, Content-Type).

    One field per name with the value that was checked; moto looks its fields up by
    lower-case name. The file part's filename is `${filename}`, so that moto's own
    expansion of ${filename} in the key is the identity and moto stores the checked key.
    """
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in values.items()
    ]
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="${{filename}}"\r\nContent-Type: {form.file_content_type}\r\n\r\n'
        ).encode()
        + form.file
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


# -- the policy ------------------------------------------------------------------------


def signing_key(secret_key: str, date: str, region: str, service: str = "s3") -> bytes:
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign_policy(policy_b64: str, secret_key: str, date: str, region: str) -> str:
    """The SigV4 POST signature: hex HMAC-SHA256 of the base64 policy text as sent."""
    key = signing_key(secret_key, date, region)
    return hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PostPolicyChecker:
    """S3's checks of a POST Object form; `check` raises `Rejection` or returns."""

    credentials: Mapping[str, str]  # access key id -> secret access key
    region: str
    # Real time, not the local cloud's controllable clock: botocore presigns with real time.
    now: Callable[[], datetime] = field(default=_utcnow)

    def check(self, bucket: str, form: PostForm) -> None:
        values = form.values()
        if "key" not in values:
            _missing_field("key")
        if not any(name in values for name in AUTH_FIELDS):
            # No policy: an anonymous upload, which only a publicly writable bucket takes.
            raise Rejection(403, "AccessDenied", "Access Denied")
        for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature"):
            if name.lower() not in values:
                _missing_field(name)
        if "policy" not in values:
            _missing_field("Policy")
        self._check_signature(values)
        expiration, conditions = _parse_policy(values["policy"])
        if self.now() > expiration:
            _policy_denied("Policy expired.")
        covered: set[str] = set()
        for condition in conditions:
            covered.update(_check_condition(condition, bucket, values, len(form.file)))
        names = form.names()
        for name in values:
            exempt = name in EXEMPT_FIELDS or name.startswith(IGNORED_PREFIX)
            if name not in covered and not exempt:
                _policy_denied(f"Extra input fields: {names[name]}")

    def _check_signature(self, values: Mapping[str, str]) -> None:
        if values["x-amz-algorithm"] != ALGORITHM:
            _argument("X-Amz-Algorithm", values, f'X-Amz-Algorithm only supports "{ALGORITHM}"')
        credential = values["x-amz-credential"]
        scope = credential.split("/")
        if len(scope) != 5 or not scope[0] or not re.fullmatch(r"\d{8}", scope[1]):
            _argument(
                "X-Amz-Credential",
                values,
                "the Credential is mal-formed; expecting "
                '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            )
        access_key, date, region, service, terminal = scope
        if region != self.region:
            _argument(
                "X-Amz-Credential",
                values,
                f"the region '{region}' is wrong; expecting '{self.region}'",
                Region=self.region,
            )
        if service != "s3":
            message = f'incorrect service "{service}". This endpoint belongs to "s3".'
            _argument("X-Amz-Credential", values, message)
        if terminal != "aws4_request":
            message = f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".'
            _argument("X-Amz-Credential", values, message)
        if not _AMZ_DATE.fullmatch(values["x-amz-date"]):
            # "formated": S3's own spelling.
            message = "X-Amz-Date must be formated via ISO8601 Long format"
            _argument("X-Amz-Date", values, message)
        secret = self.credentials.get(access_key)
        if secret is None:
            raise Rejection(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                AWSAccessKeyId=access_key,
            )
        policy, provided = values["policy"], values["x-amz-signature"]
        expected = sign_policy(policy, secret, date, region)
        if not hmac.compare_digest(expected.encode(), provided.encode()):
            raise Rejection(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method.",
                AWSAccessKeyId=access_key,
                StringToSign=policy,
                SignatureProvided=provided,
                StringToSignBytes=" ".join(f"{b:02x}" for b in policy.encode()),
            )


def _argument(name: str, values: Mapping[str, str], message: str, **details: str) -> NoReturn:
    raise Rejection(
        400,
        "InvalidArgument",
        message,
        ArgumentName=name,
        ArgumentValue=values[name.lower()],
        **details,
    )


def _no_floats(text: str) -> Any:
    raise ValueError(f"not an integer: {text}")


def _parse_policy(policy_b64: str) -> tuple[datetime, list[Any]]:
    try:
        text = base64.b64decode(policy_b64, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        _invalid_policy("invalid Base64 encoding.")
    try:
        # S3 answers "Invalid JSON." to a float bound as to broken JSON.
        policy = json.loads(text, parse_float=_no_floats, parse_constant=_no_floats)
    except ValueError:
        _invalid_policy("Invalid JSON.")
    if not isinstance(policy, dict):
        _invalid_policy("Invalid JSON.")
    for name in policy:
        if name not in ("expiration", "conditions"):  # case-sensitive in S3
            _invalid_policy(f"Unexpected: '{name.lower()}'")
    if "expiration" not in policy:
        _invalid_policy("Policy missing expiration.")
    if "conditions" not in policy:
        _invalid_policy("Policy missing conditions.")
    raw = policy["expiration"]
    match = _EXPIRATION.fullmatch(raw) if isinstance(raw, str) else None
    try:
        if match is None:
            raise ValueError(raw)
        expiration = datetime.fromisoformat(match.group(1)).replace(
            tzinfo=UTC, microsecond=int((match.group(2) or "0").ljust(6, "0")[:6])
        )
    except ValueError:
        _invalid_policy(f"Invalid 'expiration' value: '{raw}'")
    if not isinstance(policy["conditions"], list):
        _invalid_policy("Invalid 'conditions' value: must be a List.")
    return expiration, policy["conditions"]


def _condition(condition: Any) -> list[Any]:
    """A condition as [operation, operand, operand] (a simple one as its `eq`), or 400."""
    if isinstance(condition, dict):
        if len(condition) != 1:
            _invalid_policy(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property "
                "specified."
            )
        ((name, expected),) = condition.items()
        if not isinstance(expected, str):
            _invalid_policy("Invalid Simple-Condition: value must be a string.")
        # S3 reports a simple condition as the `eq` it stands for.
        return ["eq", f"${name}", expected]
    if not isinstance(condition, list):
        _invalid_policy("Invalid condition test: must be a List or Object.")
    if not condition:
        _invalid_policy("Invalid Condition: missing operation identifier.")
    if not isinstance(condition[0], str):
        _invalid_policy("Invalid JSON.")
    operation = condition[0].lower()
    if operation not in ("eq", "starts-with", "content-length-range"):
        _invalid_policy(f"Invalid Condition: unknown operation '{operation}'.")
    if len(condition) != 3:
        _invalid_policy(f"Invalid {operation}: wrong number of arguments.")
    if operation != "content-length-range" and not all(isinstance(x, str) for x in condition):
        _invalid_policy("Invalid JSON.")
    return condition


def _check_condition(raw: Any, bucket: str, values: Mapping[str, str], size: int) -> set[str]:
    """Check one condition; return the (lower-cased) form fields it covers."""
    condition = _condition(raw)
    operation, name, expected = condition[0].lower(), condition[1], condition[2]
    failed = f"Policy Condition failed: {json.dumps(condition, ensure_ascii=False)}"
    if operation == "content-length-range":
        _check_length(name, expected, size, failed)
        return set()
    if not name.startswith("$"):
        _policy_denied(failed)  # S3 fails a field named without its `$`
    field_name = name[1:].lower()
    actual = bucket if field_name == "bucket" else values.get(field_name)
    if actual is None:
        _policy_denied(failed)  # a condition on an absent field fails, even starts-with ""
    if operation == "eq":
        ok = actual == expected
    elif field_name == "content-type":
        # AWS: a Content-Type with commas is a list, each of whose values must match.
        ok = all(item.strip().startswith(expected) for item in actual.split(","))
    else:
        ok = actual.startswith(expected)
    if not ok:
        _policy_denied(failed)
    return {field_name}


def _check_length(low: Any, high: Any, size: int, failed: str) -> None:
    bounds: list[int] = []
    for bound in (low, high):
        if isinstance(bound, int) and not isinstance(bound, bool):
            bounds.append(bound)
        elif isinstance(bound, str) and bound.isdigit():  # S3 takes "5" as 5
            bounds.append(int(bound))
        else:
            _policy_denied(failed)
    minimum, maximum = bounds
    if minimum < 0 or maximum < 0:
        _invalid_policy("Invalid content-length-range: the bounds must not be negative.")
    if size > maximum:
        raise Rejection(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            ProposedSize=str(size),
            MaxSizeAllowed=str(maximum),
        )
    if size < minimum:
        raise Rejection(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            ProposedSize=str(size),
            MinSizeAllowed=str(minimum),
        )


# -- the middleware ----------------------------------------------------------------------


class PostPolicyMiddleware:
    """WSGI middleware: POST Object forms are checked before moto sees them."""

    def __init__(self, app: WSGIApplication, checker: PostPolicyChecker) -> None:
        self.app = app
        self.checker = checker

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        mimetype, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        if environ.get("REQUEST_METHOD") != "POST" or mimetype != "multipart/form-data":
            return self.app(environ, start_response)  # DynamoDB, SQS, ...: not a form upload
        # Browsers reach this server by its IP address, so moto reads the bucket from the
        # path; pin Host to the server so that a forged host name cannot make moto read
        # the bucket from it (virtual-hosted style) and store where nothing was checked.
        environ["HTTP_HOST"] = f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        match = _BUCKET_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return self.app(environ, start_response)  # not a bucket: moto stores no form there
        body = get_input_stream(environ).read()
        try:
            if "boundary" not in options:
                raise Rejection(
                    400,
                    "MalformedPOSTRequest",
                    "The body of your POST request is not well-formed multipart/form-data.",
                )
            form = parse_form(body, options["boundary"])
            self.checker.check(match.group(1), form)
        except Rejection as rejection:
            reply = rejection.xml()
            start_response(
                f"{rejection.status} {HTTPStatus(rejection.status).phrase}",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(reply)))],
            )
            return [reply]
        checked, content_type = encode_form(form, form.values())
        environ["wsgi.input"] = BytesIO(checked)
        environ["wsgi.input_terminated"] = False
        environ["CONTENT_LENGTH"] = str(len(checked))
        environ["CONTENT_TYPE"] = content_type
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


def install(
    server: ThreadedMotoServer, region: str, credentials: Mapping[str, str] | None = None
) -> None:
    """Put the checks in front of a started moto server (before any URL is handed out):
    presigned POSTs here, presigned GETs in `s3_presigned_get`.

    `credentials` (access key id -> secret) default to those this process's boto3 clients
    sign with, the presigning client included: while `mock_aws` runs, moto's own fake keys
    (FOOBARKEY), which replace the local cloud's.
    """
    if credentials is None:
        resolved = boto3.Session().get_credentials()
        if resolved is None:
            raise RuntimeError("no AWS credentials to check presigned POSTs against")
        credentials = {resolved.access_key: resolved.secret_key}
    # moto keeps its werkzeug server private and offers no hook around its WSGI app;
    # werkzeug's server calls `self.app` for each request, so wrapping it is enough.
    wsgi = server._server
    if wsgi is None:
        raise RuntimeError("start the moto server before installing the POST-policy checks")
    from infra.localcloud.s3_presigned_get import PresignedGetChecker, PresignedGetMiddleware

    checked_gets = PresignedGetMiddleware(wsgi.app, PresignedGetChecker(credentials, region))
    wsgi.app = PostPolicyMiddleware(checked_gets, PostPolicyChecker(credentials, region))
