"""WeChat's server API on loopback, as far as the reminders use it.

- `POST /cgi-bin/stable_token`: the app's id and secret buy an access token that lives
  7,200 s of the local cloud's clock (the same token while it lives, as WeChat's
  stable token does).
- `POST /cgi-bin/message/subscribe/send?access_token=…`: a subscription message. As
  WeChat does, it refuses an unknown or expired token (40001 / 42001), an unknown
  template (40037), a page outside the mini-program (41030), a keyword that breaks its
  kind's rule (47003, naming it), and a borrower with no allowance left (43101).
- `subscribe(openid, template_id)`: what the borrower's tap on "允许" in
  wx.requestSubscribeMessage does inside WeChat: one more message allowed.

Every accepted message is kept in `outbox`; nothing leaves the machine.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN_SECONDS = 7200
REMINDER_TEMPLATE = "tpl-repayment-reminder"
# The registered template's keywords and each one's kind.
KEYWORDS = {"thing1": "thing", "amount2": "amount", "date3": "date", "thing4": "thing"}
RULES: dict[str, Callable[[str], bool]] = {
    "thing": lambda v: 0 < len(v) <= 20,
    "amount": lambda v: re.fullmatch(r"¥?\d{1,10}(\.\d{1,2})?元?", v) is not None,
    "date": lambda v: re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{2}-\d{2}", v) is not None,
}


@dataclass(frozen=True)
class Message:
    openid: str
    template_id: str
    page: str
    data: dict[str, str]
    at: datetime


class FakeWeChat:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self.appid = "wx" + secrets.token_hex(8)
        self.secret = secrets.token_hex(16)
        self.template_id = REMINDER_TEMPLATE
        self.outbox: list[Message] = []
        self.refused: Counter[int] = Counter()  # errcode -> how many times
        self.down = False  # answer every call with a system error
        self._now = now
        self._allowances: Counter[tuple[str, str]] = Counter()
        self._token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"wechat": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def credentials(self) -> str:
        """The secret's value, as the operator puts it in Secrets Manager."""
        return json.dumps({"appid": self.appid, "secret": self.secret})

    def subscribe(self, openid: str, template_id: str = REMINDER_TEMPLATE, times: int = 1) -> None:
        with self._lock:
            self._allowances[(openid, template_id)] += times

    # -- the API ---------------------------------------------------------------------------

    def stable_token(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("appid") != self.appid:
            return _error(40013, "invalid appid")
        if body.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        now = self._now()
        with self._lock:
            if self._token is None or self._token[1] <= now or body.get("force_refresh"):
                self._token = (secrets.token_urlsafe(24), now + timedelta(seconds=TOKEN_SECONDS))
            token, expires = self._token
        return {"access_token": token, "expires_in": int((expires - now).total_seconds())}

    def send(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._check(token, body)
        if answer["errcode"]:
            self.refused[answer["errcode"]] += 1
        return answer

    def _check(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._token is None or token != self._token[0]:
                return _error(40001, "invalid credential, access_token is invalid")
            if self._token[1] <= self._now():
                return _error(42001, "access_token expired")
            template = body.get("template_id")
            if template != self.template_id:
                return _error(40037, "invalid template_id")
            openid = str(body.get("touser") or "")
            if not openid:
                return _error(40003, "invalid openid")
            if not str(body.get("page", "pages/")).startswith("pages/"):
                return _error(41030, "invalid page")
            data = body.get("data") or {}
            values = {k: str((data.get(k) or {}).get("value", "")) for k in KEYWORDS}
            for keyword, kind in KEYWORDS.items():
                if not RULES[kind](values[keyword]):
                    return _error(47003, f"argument invalid! data.{keyword}.value invalid")
            if self._allowances[(openid, template)] <= 0:
                return _error(43101, "user refuse to accept the msg")
            self._allowances[(openid, template)] -= 1
            self.outbox.append(
                Message(openid, template, str(body.get("page", "")), values, self._now())
            )
        return _error(0, "ok")


def _error(code: int, message: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": message}


class _Handler(BaseHTTPRequestHandler):
    wechat: FakeWeChat

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._answer(_error(47001, "data format error"))
            return
        if self.wechat.down:
            self._answer(_error(-1, "system error"))
        elif url.path == "/cgi-bin/stable_token":
            self._answer(self.wechat.stable_token(body))
        elif url.path == "/cgi-bin/message/subscribe/send":
            token = parse_qs(url.query).get("access_token", [""])[0]
            self._answer(self.wechat.send(token, body))
        else:
            self.send_error(404)

    def _answer(self, answer: dict[str, Any]) -> None:
        raw = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet, and no openid in any log
