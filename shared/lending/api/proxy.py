"""API Gateway's proxy integration in front of a Chalice app.

The stack routes `ANY /{proxy+}` to one function, so every event names the resource
`/{proxy+}`, which no Chalice route is: Chalice would answer 500 to every request.
`route_event` finds the route template the path matches and rewrites the event as a
per-route integration would have sent it; a path no route matches is a 404.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any


def match_route(templates: Iterable[str], path: str) -> tuple[str, dict[str, str]] | None:
    """The most specific template matching `path` (literal segments win), and its captures."""
    parts = path.rstrip("/").split("/") if path != "/" else [""]
    best: tuple[int, str, dict[str, str]] | None = None
    for template in templates:
        pattern = template.rstrip("/").split("/")
        if len(pattern) != len(parts):
            continue
        captured: dict[str, str] = {}
        literals = 0
        for want, got in zip(pattern, parts, strict=True):
            if want.startswith("{") and want.endswith("}"):
                if not got:
                    break
                captured[want[1:-1]] = got
            elif want == got:
                literals += 1
            else:
                break
        else:
            if best is None or literals > best[0]:
                best = (literals, template, captured)
    return None if best is None else (best[1], best[2])


def route_event(event: Mapping[str, Any], templates: Iterable[str]) -> dict[str, Any] | None:
    """The event as Chalice expects it for the matching route, or None (no such route)."""
    matched = match_route(templates, str(event.get("path") or "/"))
    if matched is None:
        return None
    template, captured = matched
    routed = copy.deepcopy(dict(event))
    routed["resource"] = template
    routed["pathParameters"] = captured or None
    routed.setdefault("requestContext", {})["resourcePath"] = template
    return routed


def json_reply(status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
    """A proxy-integration reply built without Chalice (for paths no route matches)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **headers},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


# -- CORS: the front ends' origins only (FrontEndOrigins) ----------------------------------

CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key"
CORS_MAX_AGE = "600"


def allowed_origins(setting: str) -> frozenset[str]:
    """The comma-separated origins of the setting, as browsers send them (no slash)."""
    return frozenset(o.strip().rstrip("/") for o in setting.split(",") if o.strip())


def request_origin(event: Mapping[str, Any]) -> str | None:
    headers = event.get("headers") or {}
    for name, value in headers.items():
        if name.lower() == "origin" and value:
            return str(value)
    return None


def cors_headers(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """Headers that let an allowed origin read the reply; nothing for any other origin
    (the browser then withholds the reply from its page). Vary: Origin either way, so no
    cache hands one origin's answer to another."""
    if origin is None or origin not in allowed:
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def preflight_reply(
    event: Mapping[str, Any], allowed: frozenset[str], headers: Mapping[str, str]
) -> dict[str, Any]:
    """OPTIONS: 204 with what an allowed origin may send; 403 for any other origin."""
    origin = request_origin(event)
    if origin is None or origin not in allowed:
        return json_reply(
            403,
            {"code": "origin_not_allowed", "message": "this origin may not call the API"},
            {**headers, "Vary": "Origin"},
        )
    return {
        "statusCode": 204,
        "headers": {
            **headers,
            **cors_headers(origin, allowed),
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": CORS_MAX_AGE,
        },
        "body": "",
        "isBase64Encoded": False,
    }
