"""Which reminders a borrower gets for an instalment, when, and what they say.

Kinds, by days from the due date: T−3 and T−1 (before), T0 (on the day), T+1, T+3 and
T+7 (overdue). Each goes out at most once per instalment and kind (the key says which),
only while something of the instalment is unpaid, and never between 21:00 and 08:00
China time: a reminder due in those hours waits for 08:00. The text is Chinese, names
the amount and the due date, and carries no other personal data (no name, no ID, no
card number: the last four digits of the card at most, and only in the debit notice).

A reminder goes through the first channel that reaches the borrower: a WeChat
subscription message when the borrower subscribed in the mini-program (each subscription
allows one message), else an SMS (`Channels`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from lending.finance.schedule import format_yuan
from lending.loans.model import Loan

logger = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)


class ReminderKind(StrEnum):
    BEFORE_3 = "t-3"
    BEFORE_1 = "t-1"
    DUE = "t0"
    OVERDUE_1 = "t+1"
    OVERDUE_3 = "t+3"
    OVERDUE_7 = "t+7"

    @property
    def offset_days(self) -> int:
        return int(self.value[1:]) if self.value != "t0" else 0


@dataclass(frozen=True, slots=True)
class Reminder:
    loan_id: str
    instalment: int
    kind: ReminderKind
    send_at: datetime  # aware, China time, outside the quiet hours
    amount_fen: int
    due_date: date

    @property
    def text(self) -> str:
        """The SMS; other channels render their own from the fields."""
        return text(self.kind, self.amount_fen, self.due_date)

    @property
    def key(self) -> str:
        """One reminder per loan, instalment and kind: a conditional write on this key."""
        return f"{self.loan_id}#{self.instalment:03d}#{self.kind.value}"


@dataclass(frozen=True)
class SentReminder:
    """A reminder the log holds: claimed once, sent (a failed send gives its claim back).
    Items logged before the amount and due date were kept beside the key have neither."""

    loan_id: str
    instalment: int
    kind: ReminderKind
    sent_at: datetime
    amount_fen: int | None = None
    due_date: date | None = None


def kinds_due(due_date: date, on: date) -> list[ReminderKind]:
    """The kinds whose day is `on` for an instalment due on `due_date`."""
    return [k for k in ReminderKind if due_date + timedelta(days=k.offset_days) == on]


def next_allowed(moment: datetime) -> datetime:
    """`moment`, or 08:00 China time after it when it falls in the quiet hours."""
    local = moment.astimezone(CHINA)
    if local.time() >= QUIET_FROM:
        return datetime.combine(local.date() + timedelta(days=1), QUIET_UNTIL, CHINA)
    if local.time() < QUIET_UNTIL:
        return datetime.combine(local.date(), QUIET_UNTIL, CHINA)
    return local


def text(kind: ReminderKind, amount_fen: int, due_date: date) -> str:
    amount = f"{format_yuan(amount_fen)}元"
    day = f"{due_date.month}月{due_date.day}日"
    if kind is ReminderKind.DUE:
        return f"【还款提醒】您本期应还{amount}今日（{day}）到期，请确保还款账户余额充足。"
    if kind.offset_days < 0:
        when = "明天" if kind.offset_days == -1 else f"{-kind.offset_days}天后"
        return (
            f"【还款提醒】您本期应还{amount}将于{day}（{when}）到期，"
            "届时将从您绑定的银行卡自动扣款，请确保余额充足。"
        )
    return (
        f"【逾期提醒】您{day}到期的{amount}尚未还清，已逾期{kind.offset_days}天，"
        "逾期将产生罚息并可能影响您的信用记录，请尽快还款。如已还款请忽略。"
    )


def reminders_for(
    loan_id: str, instalment: int, due_date: date, unpaid_fen: int, now: datetime
) -> list[Reminder]:
    """The reminders of the day `now` falls on (China time), for an unpaid instalment."""
    if unpaid_fen <= 0:
        return []
    today = now.astimezone(CHINA).date()
    return [
        Reminder(loan_id, instalment, kind, next_allowed(now), unpaid_fen, due_date)
        for kind in kinds_due(due_date, today)
    ]


class Channel(Protocol):
    name: str

    def deliver(self, loan: Loan, reminder: Reminder) -> bool:
        """True: sent. False: this channel cannot reach the borrower (not subscribed)."""


class Undeliverable(Exception):
    pass


@dataclass
class Channels:
    """The notifier: each reminder through the first channel that reaches the borrower.
    A channel that fails (down, refused) passes the reminder to the next; only when the
    last one fails does the reminder fail, so the job can send it again later."""

    channels: Sequence[Channel]

    def send(self, loan: Loan, reminder: Reminder) -> str:
        for n, channel in enumerate(self.channels):
            last = n == len(self.channels) - 1
            try:
                if channel.deliver(loan, reminder):
                    return channel.name
            except Exception as exc:
                if last:
                    raise
                # The key and the error's type only: no phone number, no openid.
                logger.warning(
                    "reminder %s: %s failed (%s), trying the next channel",
                    reminder.key,
                    channel.name,
                    type(exc).__name__,
                )
        raise Undeliverable(f"reminder {reminder.key}: no channel reaches the borrower")
