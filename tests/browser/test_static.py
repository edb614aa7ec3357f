"""The static side of the local cloud's one address (no browser, no cloud): what is served,
with which headers, and what is not."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from infra.localcloud.static import IMMUTABLE, StaticSite


@pytest.fixture
def site(tmp_path: Path) -> StaticSite:
    dist = tmp_path / "h5" / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>h5</title>")
    (dist / "assets" / "index-abc123.js").write_text("export {}")
    (dist / "assets" / "index-abc123.css").write_text("body{}")
    (dist / ".env").write_text("SECRET=1")
    (tmp_path / "secret.txt").write_text("outside the build")
    (dist / "link.txt").symlink_to(tmp_path / "secret.txt")
    store = ("http://127.0.0.1:9000",)
    return StaticSite(root=tmp_path, connect=store, images=store)


def test_the_paths_it_answers(site: StaticSite) -> None:
    for path in ("/", "/h5", "/h5/", "/h5/assets/x.js?v=1", "/console/", "/favicon.ico"):
        assert site.handles(path), path
    for path in ("/v1/products", "/h5x", "/consoles/", "/v1/", "/api"):
        assert not site.handles(path), path


def test_an_app_and_its_hashed_assets(site: StaticSite) -> None:
    index = site.serve("GET", "/h5/")
    assert index.status == 200 and b"<title>h5</title>" in index.body
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    assert index.headers["Cache-Control"] == "no-cache"
    script = site.serve("GET", "/h5/assets/index-abc123.js?x=1")
    assert script.status == 200
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.headers["Cache-Control"] == IMMUTABLE
    assert (
        site.serve("GET", "/h5/assets/index-abc123.css")
        .headers["Content-Type"]
        .startswith("text/css")
    )
    moved = site.serve("GET", "/h5")
    assert moved.status == 301 and moved.headers["Location"] == "/h5/"


def test_every_reply_carries_the_security_headers(site: StaticSite) -> None:
    for path in ("/", "/h5/", "/h5/assets/index-abc123.js", "/h5/nothing", "/console/"):
        headers = site.serve("GET", path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        # The presigned POST's document store, and nothing else, besides the origin.
        assert "connect-src 'self' http://127.0.0.1:9000;" in csp
        # Images from the same store (the reviewer's presigned GETs of document images).
        assert "img-src 'self' data: blob: http://127.0.0.1:9000;" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(
    "path",
    [
        "/h5/../secret.txt",
        "/h5/%2e%2e/secret.txt",
        "/h5/assets/../../secret.txt",
        "/h5/..%2f..%2fsecret.txt",
        "/h5/.env",
        "/h5/link.txt",
        "/h5/assets",
        "/h5/missing.js",
        "/h5/%00",
        "/h5/..\\secret.txt",
    ],
)
def test_nothing_outside_the_build_is_served(site: StaticSite, path: str) -> None:
    reply = site.serve("GET", path)
    assert reply.status == 404, (path, reply.status)
    assert b"outside" not in reply.body and b"SECRET" not in reply.body


def test_an_app_not_built_says_how_to_build_it(site: StaticSite) -> None:
    reply = site.serve("GET", "/console/")
    assert reply.status == 503 and b"make web" in reply.body
    assert b"make web" in site.serve("GET", "/").body


def test_static_files_are_read_only(site: StaticSite) -> None:
    reply = site.serve("POST", "/h5/")
    assert reply.status == 405 and reply.headers["Allow"] == "GET, HEAD"
    assert site.serve("HEAD", "/h5/").status == 200


@pytest.mark.localcloud
def test_one_address_serves_the_front_ends_and_the_api(cloud: Any) -> None:
    def get(path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(cloud.api_url + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()

    status, headers, body = get("/")
    assert status == 200 and b'href="/h5/"' in body and b'href="/console/"' in body
    assert "default-src 'self'" in headers["content-security-policy"]
    for app in ("/h5/", "/console/"):
        status, headers, body = get(app)
        assert status == 200 and b'<div id="app">' in body, app
        assert headers["x-frame-options"] == "DENY"
    # The API keeps its own headers: personal data is never cached.
    status, headers, body = get("/v1/products")
    assert status == 200 and json.loads(body)["products"]
    assert headers["cache-control"] == "no-store"
    assert "content-security-policy" not in headers
    # A path that is neither stays the API's (its JSON 404), and HEAD has no body.
    status, headers, body = get("/nothing-here")
    assert status == 404 and json.loads(body)["code"] == "not_found"
    assert headers["cache-control"] == "no-store"
    status, headers, body = get("/h5/", "HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


@pytest.mark.localcloud
def test_the_api_answers_cross_origin_callers_from_the_front_ends_origins_only(
    cloud: Any,
) -> None:
    def send(method: str, origin: str) -> tuple[int, dict[str, str]]:
        request = urllib.request.Request(
            cloud.api_url + "/v1/products",
            method=method,
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, {k.lower(): v for k, v in reply.headers.items()}
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}

    front_end = cloud.api_url  # FrontEndOrigins of the local deployment: its one address
    status, headers = send("GET", front_end)
    assert status == 200 and headers["access-control-allow-origin"] == front_end
    status, headers = send("OPTIONS", front_end)
    assert status == 204 and "Authorization" in headers["access-control-allow-headers"]
    status, headers = send("GET", "https://elsewhere.example")
    assert status == 200 and "access-control-allow-origin" not in headers
    status, headers = send("OPTIONS", "https://elsewhere.example")
    assert status == 403 and "access-control-allow-origin" not in headers
