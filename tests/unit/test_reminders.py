"""Borrower reminders: the right days, once each, never at night, minimal personal data."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from lending.servicing.reminders import (
    CHINA,
    ReminderKind,
    kinds_due,
    next_allowed,
    reminders_for,
)

DUE = date(2026, 3, 15)


def test_each_kind_falls_on_its_day() -> None:
    days = {k: DUE + timedelta(days=k.offset_days) for k in ReminderKind}
    assert [d.day for d in days.values()] == [12, 14, 15, 16, 18, 22]
    for kind, day in days.items():
        assert kinds_due(DUE, day) == [kind]
    assert kinds_due(DUE, date(2026, 3, 13)) == []


def test_nothing_is_sent_for_a_paid_instalment() -> None:
    at = datetime(2026, 3, 15, 9, 0, tzinfo=CHINA)
    assert reminders_for("L1", 3, DUE, 0, at) == []


def test_the_text_names_the_amount_and_date_and_nothing_personal() -> None:
    at = datetime(2026, 3, 16, 10, 0, tzinfo=CHINA)
    (reminder,) = reminders_for("L1", 3, DUE, 123_456, at)
    assert reminder.kind is ReminderKind.OVERDUE_1
    assert "1,234.56元" in reminder.text and "3月15日" in reminder.text
    assert "逾期1天" in reminder.text
    assert not re.search(r"\d{15,}", reminder.text)  # no ID or card number
    assert reminder.key == "L1#003#t+1"


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)))
def test_never_between_nine_at_night_and_eight_in_the_morning(moment: datetime) -> None:
    sent = next_allowed(moment.replace(tzinfo=UTC)).astimezone(CHINA)
    assert 8 <= sent.hour < 21
    assert sent >= moment.replace(tzinfo=UTC)
    assert sent - moment.replace(tzinfo=UTC) <= timedelta(hours=11)


def test_a_reminder_computed_at_night_waits_for_the_morning() -> None:
    night = datetime(2026, 3, 14, 22, 30, tzinfo=CHINA)
    (reminder,) = reminders_for("L1", 3, DUE, 100_00, night)
    assert reminder.kind is ReminderKind.BEFORE_1
    assert reminder.send_at == datetime(2026, 3, 15, 8, 0, tzinfo=CHINA)
