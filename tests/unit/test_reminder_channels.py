"""Reminders by WeChat subscription message, else SMS: the adapter against WeChat's API
on loopback (tokens, allowances, keyword rules) and the channels' fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.localcloud.wechat import KEYWORDS, RULES, FakeWeChat
from lending.aws.wechat import (
    AppCredentials,
    WeChatApi,
    WeChatError,
    WeChatSubscriptionMessages,
    secret_credentials,
    template_data,
)
from lending.loans.model import Loan
from lending.servicing.reminders import (
    Channels,
    Reminder,
    ReminderKind,
    Undeliverable,
    reminders_for,
)
from tests.fakes import booked_loan

LOAN = booked_loan()
DUE = date(2026, 12, 15)


@dataclass
class Clock:
    current: datetime = datetime(2026, 12, 12, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wechat(clock: Clock) -> Iterator[FakeWeChat]:
    server = FakeWeChat(now=clock.now)
    server.start()
    yield server
    server.stop()


@dataclass
class Secrets:
    """Secrets Manager's GetSecretValue, counted."""

    value: str
    reads: int = 0

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.reads += 1
        return {"SecretString": self.value}


@dataclass
class Sms:
    name: str = "sms"
    sent: list[Reminder] = field(default_factory=list)

    def deliver(self, loan: Loan, reminder: Reminder) -> bool:
        self.sent.append(reminder)
        return True


def reminder(kind: ReminderKind = ReminderKind.BEFORE_3, amount_fen: int = 1_234_56) -> Reminder:
    sent_on = datetime.combine(DUE + timedelta(days=kind.offset_days), datetime.min.time())
    [made] = [
        r
        for r in reminders_for(LOAN.id, 1, DUE, amount_fen, sent_on.replace(hour=10, tzinfo=UTC))
        if r.kind is kind
    ]
    return made


def channel(
    wechat: FakeWeChat, clock: Clock, secrets: Secrets | None = None
) -> WeChatSubscriptionMessages:
    secrets = secrets or Secrets(wechat.credentials())
    api = WeChatApi(wechat.url, secret_credentials(secrets, "arn:secret"), clock.now)
    return WeChatSubscriptionMessages(api, wechat.template_id)


def test_a_subscribed_borrower_gets_the_reminder_by_wechat_once_per_allowance(
    wechat: FakeWeChat, clock: Clock
) -> None:
    wechat.subscribe(LOAN.applicant_id, times=1)
    sms = Sms()
    channels = Channels([channel(wechat, clock), sms])
    assert channels.send(LOAN, reminder()) == "wechat"
    [message] = wechat.outbox
    assert message.openid == LOAN.applicant_id
    assert message.data == {
        "thing1": "本期账单3天后到期",
        "amount2": "1234.56元",
        "date3": "2026年12月15日",
        "thing4": "到期日将自动扣款，请确保余额充足",
    }
    assert message.page == f"pages/loan/index?loan_id={LOAN.id}"
    # The allowance is used up: WeChat answers 43101 and the next one goes by SMS.
    assert channels.send(LOAN, reminder(ReminderKind.BEFORE_1)) == "sms"
    assert [r.kind for r in sms.sent] == [ReminderKind.BEFORE_1]
    assert wechat.refused[43101] == 1


def test_the_token_is_bought_once_kept_and_bought_again_when_it_expires(
    wechat: FakeWeChat, clock: Clock
) -> None:
    secrets = Secrets(wechat.credentials())
    wechat.subscribe(LOAN.applicant_id, times=3)
    messages = channel(wechat, clock, secrets)
    assert messages.deliver(LOAN, reminder())
    assert messages.deliver(LOAN, reminder(ReminderKind.BEFORE_1))
    assert secrets.reads == 1 and wechat.refused == {}
    # Two hours on, the token has lived its 7,200 s: a new one is bought before the call
    # (5 minutes ahead), so WeChat refuses nothing; the secret is not read again.
    clock.current += timedelta(hours=2)
    assert messages.deliver(LOAN, reminder(ReminderKind.DUE))
    assert wechat.refused == {} and secrets.reads == 1 and len(wechat.outbox) == 3


def test_a_token_wechat_no_longer_knows_is_bought_again_once(
    wechat: FakeWeChat, clock: Clock
) -> None:
    wechat.subscribe(LOAN.applicant_id, times=2)
    messages = channel(wechat, clock)
    assert messages.deliver(LOAN, reminder())
    # Another holder forced a new token (stable_token with force_refresh): ours is dead.
    wechat.stable_token({"appid": wechat.appid, "secret": wechat.secret, "force_refresh": True})
    assert messages.deliver(LOAN, reminder(ReminderKind.BEFORE_1))
    assert wechat.refused[40001] == 1 and len(wechat.outbox) == 2


def test_wechat_down_or_misconfigured_falls_back_to_sms(wechat: FakeWeChat, clock: Clock) -> None:
    wechat.subscribe(LOAN.applicant_id, times=5)
    sms = Sms()
    wechat.down = True
    assert Channels([channel(wechat, clock), sms]).send(LOAN, reminder()) == "sms"
    wechat.down = False
    unset = Secrets(json.dumps({"appid": "", "secret": ""}))
    assert Channels([channel(wechat, clock, unset), sms]).send(LOAN, reminder()) == "sms"
    wrong = Secrets(json.dumps({"appid": wechat.appid, "secret": "nope"}))
    with pytest.raises(WeChatError, match="40125"):
        channel(wechat, clock, wrong).deliver(LOAN, reminder())
    assert len(sms.sent) == 2 and wechat.outbox == []


def test_when_no_channel_reaches_the_borrower_the_reminder_fails(
    wechat: FakeWeChat, clock: Clock
) -> None:
    with pytest.raises(Undeliverable):
        Channels([channel(wechat, clock)]).send(LOAN, reminder())  # not subscribed
    wechat.down = True
    with pytest.raises(WeChatError):
        Channels([channel(wechat, clock)]).send(LOAN, reminder())


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(list(ReminderKind)),
    st.integers(min_value=1, max_value=99_999_999_99),  # up to 99,999,999.99 yuan
)
def test_every_reminder_fits_the_templates_keyword_rules(kind: ReminderKind, amount: int) -> None:
    data = template_data(reminder(kind, amount))
    assert set(data) == set(KEYWORDS)
    for keyword, rule in KEYWORDS.items():
        assert RULES[rule](data[keyword]), (keyword, data[keyword])
    assert Decimal(data["amount2"].removesuffix("元")) * 100 == amount
    assert "身份证" not in "".join(data.values())


def test_credentials_are_checked_before_use() -> None:
    assert AppCredentials(appid="wx1", secret="s").appid == "wx1"
    with pytest.raises(WeChatError, match="not set"):
        secret_credentials(Secrets('{"appid": "", "secret": ""}'), "arn:x")()
