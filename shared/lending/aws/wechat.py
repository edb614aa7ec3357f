"""The WeChat reminder channel: mini-program subscription messages (订阅消息).

A borrower who ticks "remind me" in the mini-program (wx.requestSubscribeMessage) allows
one message of our repayment template; WeChat keeps that allowance, so we simply send and
read the answer: errcode 0 sent, 43101 (the borrower did not subscribe, or used it up)
means "not through WeChat", and the reminder goes by SMS instead (`Channels`).

The app's id and secret live in Secrets Manager (read once per container) and buy an
access token at `/cgi-bin/stable_token`, kept until shortly before it expires and bought
again once when WeChat calls it invalid. The openid is the borrower's mini-program
subject (the loan's applicant id); it is never logged.

Template "还款提醒" as registered in the mini-program's admin console, its keywords:
thing1 提醒内容 (≤ 20 characters), amount2 应还金额, date3 还款日期, thing4 温馨提示.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from lending.loans.model import Loan
from lending.servicing.reminders import Reminder, ReminderKind

NOT_SUBSCRIBED = {43101}  # 用户拒绝接受消息 (no allowance left)
UNKNOWN_USER = {40003}  # touser is not an openid of this app (a staff or H5 user)
TOKEN_INVALID = {40001, 40014, 42001}  # invalid / malformed / expired access token
TOKEN_MARGIN = timedelta(minutes=5)
PAGE = "pages/loan/index"


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat answered errcode {errcode}: {errmsg}")
        self.errcode = errcode


class AppCredentials(BaseModel):
    appid: str
    secret: str


def secret_credentials(secrets: Any, secret_id: str) -> Callable[[], AppCredentials]:
    """The app's credentials from Secrets Manager: JSON {"appid": ..., "secret": ...}."""

    def load() -> AppCredentials:
        raw = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
        credentials = AppCredentials.model_validate_json(raw)
        if not credentials.appid or not credentials.secret:
            raise WeChatError(-1, f"the app's id and secret are not set in {secret_id}")
        return credentials

    return load


class WeChatApi:
    """POSTs to api.weixin.qq.com with a valid access token."""

    def __init__(
        self,
        base_url: str,
        credentials: Callable[[], AppCredentials],
        now: Callable[[], datetime],
        timeout_seconds: float = 5.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._credentials = credentials
        self._loaded: AppCredentials | None = None
        self._now = now
        self._timeout = timeout_seconds
        self._token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()

    def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """WeChat's answer; an invalid token is bought again once."""
        for attempt in range(2):
            token = self._access_token(fresh=attempt > 0)
            query = urllib.parse.urlencode({"access_token": token})
            answer = self._post(f"{path}?{query}", payload)
            if answer.get("errcode", 0) not in TOKEN_INVALID:
                return answer
        raise WeChatError(int(answer["errcode"]), str(answer.get("errmsg", "")))

    def _access_token(self, fresh: bool) -> str:
        with self._lock:
            now = self._now()
            if self._token and not fresh and now < self._token[1]:
                return self._token[0]
            if self._loaded is None:
                self._loaded = self._credentials()
            answer = self._post(
                "/cgi-bin/stable_token",
                {
                    "grant_type": "client_credential",
                    "appid": self._loaded.appid,
                    "secret": self._loaded.secret,
                    "force_refresh": False,
                },
            )
            if "access_token" not in answer:
                raise WeChatError(int(answer.get("errcode", -1)), str(answer.get("errmsg", "")))
            expires = now + timedelta(seconds=int(answer["expires_in"])) - TOKEN_MARGIN
            self._token = (str(answer["access_token"]), expires)
            return self._token[0]

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self._base + path,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self._timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer


class WeChatSubscriptionMessages:
    """The reminder channel over subscription messages (`lending.servicing.reminders`)."""

    name = "wechat"

    def __init__(self, api: WeChatApi, template_id: str, state: str = "formal") -> None:
        self._api = api
        self._template_id = template_id
        self._state = state  # formal, trial or developer: which build the card opens

    def deliver(self, loan: Loan, reminder: Reminder) -> bool:
        answer = self._api.call(
            "/cgi-bin/message/subscribe/send",
            {
                "touser": loan.applicant_id,
                "template_id": self._template_id,
                "page": f"{PAGE}?loan_id={loan.id}",
                "miniprogram_state": self._state,
                "lang": "zh_CN",
                "data": {k: {"value": v} for k, v in template_data(reminder).items()},
            },
        )
        code = int(answer.get("errcode", 0))
        if code == 0:
            return True
        if code in NOT_SUBSCRIBED | UNKNOWN_USER:
            return False
        raise WeChatError(code, str(answer.get("errmsg", "")))


def template_data(reminder: Reminder) -> dict[str, str]:
    """The template's keywords for a reminder, within WeChat's rules for each kind of
    keyword (thing: ≤ 20 characters; amount: digits with 元; date: 年月日)."""
    kind, due = reminder.kind, reminder.due_date
    if kind is ReminderKind.DUE:
        headline, hint = "本期账单今日到期", "今日将自动扣款，请确保余额充足"
    elif kind.offset_days < 0:
        when = "明天" if kind.offset_days == -1 else f"{-kind.offset_days}天后"
        headline, hint = f"本期账单{when}到期", "到期日将自动扣款，请确保余额充足"
    else:
        headline, hint = f"已逾期{kind.offset_days}天，请尽快还款", "逾期将产生罚息并影响信用记录"
    yuan = (Decimal(reminder.amount_fen) / 100).quantize(Decimal("0.01"))
    return {
        "thing1": headline,
        "amount2": f"{yuan}元",
        "date3": f"{due.year}年{due.month}月{due.day}日",
        "thing4": hint,
    }
