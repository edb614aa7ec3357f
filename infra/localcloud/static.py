"""The front ends' static files, next to the API on the same loopback address.

In AWS the built front ends sit in S3 behind CloudFront; here the API Gateway stand-in
serves them itself, so `make serve` prints one address for everything:

    /             a landing page with links to the front ends
    /h5/...       web/h5/dist       (the applicants' H5 app)
    /console/...  web/console/dist  (the staff console: reviewer and finance areas)
    /v1/...       the API (not here: apigateway.py hands those to the API function)

Every file goes out with the security headers a CloudFront response-headers policy
would add: a CSP that allows this origin only (plus the document store's origin for
the presigned POST and the presigned GETs of document images), no framing, no
sniffing, no referrer. The builds are Vite's: no inline script, hashed file names
under assets/ (cached for good), index.html never cached (it names the current hashes).
"""

from __future__ import annotations

import html
import mimetypes
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

WEB_ROOT = Path(__file__).resolve().parents[2] / "web"

# name -> (folder under web/, what it is)
APPS: dict[str, tuple[str, str]] = {
    "h5": ("h5", "H5 应用（申请人）· applicants' H5 app"),
    "console": ("console", "运营台（审核 / 财务）· staff console (reviewer / finance)"),
}

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".txt": "text/plain; charset=utf-8",
}
IMMUTABLE = "public, max-age=31536000, immutable"


def content_security_policy(connect: tuple[str, ...] = (), images: tuple[str, ...] = ()) -> str:
    """Self only. Vite's build has no inline script and no eval; the UI libraries set
    styles through the CSSOM (allowed) and Vant ships its icon font as a data: URL.
    `connect`: origins the pages may call (the presigned POST's document store);
    `images`: origins images may come from (the reviewer's presigned document GETs)."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *images],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *connect],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def security_headers(connect: tuple[str, ...] = (), images: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(connect, images),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        # The H5 documents step may use the camera; nothing else is needed.
        "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=()",
    }


@dataclass(frozen=True)
class StaticReply:
    status: int
    headers: dict[str, str]
    body: bytes


def _origin(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class StaticSite:
    """Answers GET/HEAD for `/`, `/h5/...` and `/console/...`; everything else is the API's."""

    root: Path = WEB_ROOT
    # Origins the pages may call besides their own (the presigned POST's document store).
    connect: tuple[str, ...] = field(default_factory=tuple)
    # Origins images may come from besides this one (presigned GETs of document images).
    images: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_environment(cls, root: Path = WEB_ROOT) -> StaticSite:
        """The local cloud sets LENDING_S3_PUBLIC_ENDPOINT before the gateway starts."""
        s3 = _origin(os.environ.get("LENDING_S3_PUBLIC_ENDPOINT", ""))
        store = (s3,) if s3 else ()
        return cls(root=root, connect=store, images=store)

    def handles(self, target: str) -> bool:
        path = urllib.parse.urlsplit(target).path
        if path in ("/", "/index.html", "/favicon.ico"):
            return True
        return any(path == f"/{name}" or path.startswith(f"/{name}/") for name in APPS)

    def dist(self, name: str) -> Path:
        return self.root / APPS[name][0] / "dist"

    def built(self, name: str) -> bool:
        return (self.dist(name) / "index.html").is_file()

    def serve(self, method: str, target: str) -> StaticReply:
        if method not in ("GET", "HEAD"):
            return self._reply(
                405, b"method not allowed\n", "text/plain; charset=utf-8", {"Allow": "GET, HEAD"}
            )
        path = urllib.parse.unquote(urllib.parse.urlsplit(target).path)
        if path in ("/", "/index.html"):
            return self._reply(200, self._landing(), _TYPES[".html"])
        if path == "/favicon.ico":
            return self._reply(204, b"", _TYPES[".txt"], {"Cache-Control": "public, max-age=86400"})
        name, _, rest = path.lstrip("/").partition("/")
        if name not in APPS:
            return self._not_found()
        if path == f"/{name}":
            return self._reply(301, b"", _TYPES[".txt"], {"Location": f"/{name}/"})
        if not self.built(name):
            body = (
                f"the {name} front end is not built: run `make web` "
                f"(npm ci and vite build under web/)\n"
            ).encode()
            return self._reply(503, body, _TYPES[".txt"], {"Cache-Control": "no-store"})
        file = self._file(self.dist(name), rest or "index.html")
        if file is None:
            return self._not_found()
        immutable = rest.startswith("assets/")
        return self._reply(
            200,
            file.read_bytes(),
            _TYPES.get(file.suffix.lower())
            or mimetypes.guess_type(file.name)[0]
            or "application/octet-stream",
            {"Cache-Control": IMMUTABLE if immutable else "no-cache"},
        )

    @staticmethod
    def _file(base: Path, relative: str) -> Path | None:
        """The file under `base`, or None: no dot segments, no escape through links."""
        if "\x00" in relative or "\\" in relative:
            return None
        parts = [p for p in relative.split("/") if p]
        if not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
            return None
        candidate = base.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_file() or not resolved.is_relative_to(base.resolve()):
            return None
        return resolved

    def _not_found(self) -> StaticReply:
        return self._reply(404, b"not found\n", _TYPES[".txt"], {"Cache-Control": "no-store"})

    def _reply(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> StaticReply:
        headers = {
            "Content-Type": content_type,
            "Cache-Control": "no-cache",
            **security_headers(self.connect, self.images),
            **(extra or {}),
        }
        return StaticReply(status, headers, body)

    def _landing(self) -> bytes:
        items = []
        for name, (_, title) in APPS.items():
            state = "" if self.built(name) else " — 未构建 not built: run <code>make web</code>"
            items.append(f'<li><a href="/{name}/">{html.escape(title)}</a>{state}</li>')
        items.append(
            '<li><a href="/v1/products">/v1</a> API（<a href="/v1/openapi.json">OpenAPI</a>）</li>'
        )
        page = (
            '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>本地云 · local cloud</title></head><body>"
            "<h1>信贷平台 · 本地云</h1><ul>" + "".join(items) + "</ul>"
            "<p>沙箱登录 sandbox login: POST /v1/sessions "
            '{"code": "…", "role": "applicant | reviewer | finance"}</p>'
            "</body></html>\n"
        )
        return page.encode()
