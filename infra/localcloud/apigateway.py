"""API Gateway on loopback: HTTP → a REST proxy event → the API function → HTTP.

The stack routes `ANY /{proxy+}` to the API function, so the local cloud does what
API Gateway does with it: one proxy event per request (resource `/{proxy+}`, the
path, headers, query string, body), handed to the function's real Lambda entry
point. A function error is a 502 in API Gateway's (customised) error shape.

The same address serves the built front ends (`/`, `/h5/`, `/console/`; see
`infra.localcloud.static`), as CloudFront would in front of S3 and the API in AWS.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.localcloud.lambdas import LambdaRegistry
from infra.localcloud.static import WEB_ROOT, StaticSite

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")
# What every API reply carries, the gateway's own errors (413, 502) included: they may
# answer a request that held personal data.
API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class _ApiServer(ThreadingHTTPServer):
    """API Gateway queues callers rather than refusing them: a burst of more than
    socketserver's 5 pending connections must wait, not be reset (seen at 90
    applications a minute, when the backlog's polling piles up)."""

    request_queue_size = 1024
    daemon_threads = True


def proxy_event(method: str, target: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    url = urllib.parse.urlsplit(target)
    pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    content_type = headers.get("content-type", "")
    textual = not body or content_type.startswith(_TEXT_TYPES)
    path = urllib.parse.unquote(url.path) or "/"
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": "/live" + path,
            "stage": "live",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": (body.decode("utf-8", "replace") if textual else base64.b64encode(body).decode())
        if body
        else None,
        "isBase64Encoded": bool(body) and not textual,
    }


def isolate_requests(app: Any) -> None:
    """Give each thread its own `app.current_request`.

    Lambda runs one request per execution environment; here many requests share one
    imported Chalice app, whose `current_request` is a plain attribute: concurrent
    requests would read each other's bodies. A property over a thread-local (a data
    descriptor, so it wins over the instance attribute) keeps them apart."""
    if getattr(type(app), "_thread_local_requests", False):
        return
    local = threading.local()

    def get(self: Any) -> Any:
        return getattr(local, "request", None)

    def put(self: Any, value: Any) -> None:
        local.request = value

    isolated = type(
        "ThreadIsolated" + type(app).__name__,
        (type(app),),
        {"current_request": property(get, put), "_thread_local_requests": True},
    )
    app.__class__ = isolated


class ApiGateway:
    def __init__(
        self,
        registry: LambdaRegistry,
        function_name: str,
        port: int,
        web_root: Path | None = WEB_ROOT,
    ) -> None:
        """`web_root`: where the front ends' builds are (None: the API alone)."""
        gateway = self
        self.static = StaticSite.from_environment(web_root) if web_root is not None else None

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                static = gateway.static
                if static is not None and static.handles(self.path):
                    self._drain()
                    page = static.serve(self.command, self.path)
                    self._reply(page.status, page.headers, page.body)
                    return
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_BODY_BYTES:
                    too_large = json.dumps({"code": "too_large", "message": "too large"})
                    self._reply(413, {"Content-Type": "application/json"}, too_large, api=True)
                    return
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                event = proxy_event(self.command, self.path, headers, body)
                status, reply_headers, reply_body = gateway.invoke(event)
                self._reply(status, reply_headers, reply_body, api=True)

            def _drain(self) -> None:
                """Read a (small) body a static path was sent, so the connection stays usable."""
                length = int(self.headers.get("content-length") or 0)
                if 0 < length <= MAX_BODY_BYTES:
                    self.rfile.read(length)
                elif length:
                    self.close_connection = True

            def _reply(
                self, status: int, headers: dict[str, str], body: str | bytes, api: bool = False
            ) -> None:
                raw = body.encode() if isinstance(body, str) else body
                if api:
                    present = {k.lower() for k in headers}
                    defaults = {k: v for k, v in API_HEADERS.items() if k.lower() not in present}
                    headers = {**headers, **defaults}
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        self._registry = registry
        self._function = function_name
        handler = registry.functions[function_name].load()
        isolate_requests(sys.modules[handler.__module__].app)
        self.server = _ApiServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, name="api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def invoke(self, event: dict[str, Any]) -> tuple[int, dict[str, str], str | bytes]:
        payload, failed, _ = self._registry.invoke(self._function, event)
        if failed:
            error = {"code": "internal", "message": "internal server error"}
            return 502, {"Content-Type": "application/json"}, json.dumps(error)
        reply = json.loads(payload)
        headers = {str(k): str(v) for k, v in (reply.get("headers") or {}).items()}
        for key, values in (reply.get("multiValueHeaders") or {}).items():
            headers[str(key)] = ", ".join(str(v) for v in values)
        body = reply.get("body") or ""
        if reply.get("isBase64Encoded"):
            return int(reply["statusCode"]), headers, base64.b64decode(body)
        return int(reply["statusCode"]), headers, str(body)
