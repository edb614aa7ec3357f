"""EventBridge Scheduler expressions, evaluated against the local cloud's clock.

moto stores schedules but never fires them, so `LocalCloud.tick` fires them itself from
what this module computes. Pure: no AWS call.

    rate(N minute|minutes|hour|hours|day|days)
    cron(minutes hours day-of-month month day-of-week year)

Cron fields take `*`, numbers, lists `a,b`, ranges `a-b`, steps `a/b`, `*/b` and `a-b/c`,
month names JAN-DEC and day names SUN-SAT (AWS numbering: 1 = SUN .. 7 = SAT); one of
day-of-month and day-of-week is `?`. They are evaluated in the schedule's time zone, and
as Scheduler does across daylight saving: a local time that does not exist is skipped,
one that happens twice fires once. `L`, `W` and `#` are not supported (ValueError).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Target = Literal["function", "state_machine"]

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_DAYS = {
    name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)
}
# (name, lowest, highest, names) per cron field, in order.
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, {}),
)
_RATE = re.compile(r"rate\((\d+) (minute|hour|day)(s?)\)")
_CRON = re.compile(r"cron\((.*)\)")
_PART = re.compile(r"(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/(\d+))?")


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """One EventBridge Scheduler schedule of the template, on the resource it targets."""

    logical_id: str  # the target's logical id (a function or a state machine)
    expression: str  # rate(...) or cron(...)
    timezone: str = "UTC"  # ScheduleExpressionTimezone
    target: Target
    input: str | None = None  # the event's Input (JSON text), if given

    def __post_init__(self) -> None:
        _parse(self.expression)  # unsupported syntax fails at deployment, not at a tick
        _zone(self.timezone)

    @property
    def period(self) -> timedelta | None:
        """The period of a rate(...) schedule; None for cron(...)."""
        parsed = _parse(self.expression)
        return parsed if isinstance(parsed, timedelta) else None

    def fire_times(self, after: datetime, until: datetime) -> list[datetime]:
        return fire_times(self.expression, after, until, self.timezone)


class Occurrence(NamedTuple):
    at: datetime  # aware, UTC
    schedule: Schedule


class Fired(NamedTuple):
    logical_id: str
    at: datetime  # aware, UTC


def fire_times(
    expression: str, after: datetime, until: datetime, timezone: str = "UTC"
) -> list[datetime]:
    """The times in (after, until] at which `expression` fires, in order, as UTC datetimes.

    A rate has no anchor of its own: it fires at after + k * period here."""
    if after.tzinfo is None or until.tzinfo is None:
        raise ValueError("fire_times needs aware datetimes")
    parsed = _parse(expression)
    if isinstance(parsed, timedelta):
        count = max(0, (until - after) // parsed)
        return [(after + k * parsed).astimezone(UTC) for k in range(1, count + 1)]
    return list(_cron_times(parsed, after, until, _zone(timezone)))


def plan(
    schedules: list[Schedule],
    after: datetime,
    until: datetime,
    last_fired: dict[str, datetime],
) -> list[Occurrence]:
    """What a tick from `after` to `until` fires, in chronological order (ties in the
    order of `schedules`).

    A cron schedule fires at each of its occurrences. A rate schedule is coalesced: it
    fires once, at `until`, if a full period has passed since it last fired
    (`last_fired`, else `after`), so a jump of a month does not replay every period."""
    due: list[Occurrence] = []
    for schedule in schedules:
        period = schedule.period
        if period is None:
            due.extend(Occurrence(at, schedule) for at in schedule.fire_times(after, until))
        elif until - last_fired.get(schedule.logical_id, after) >= period:
            due.append(Occurrence(until.astimezone(UTC), schedule))
    due.sort(key=lambda occurrence: occurrence.at)  # stable: ties keep schedule order
    return due


# -- parsing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int] | None  # None: `?`
    months: frozenset[int]
    weekdays: frozenset[int] | None  # Python's date.weekday() (Monday 0); None: `?`
    years: frozenset[int]

    def matches(self, day: date) -> bool:
        return (
            day.year in self.years
            and day.month in self.months
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or day.weekday() in self.weekdays)
        )


@lru_cache(maxsize=256)
def _parse(expression: str) -> timedelta | _Cron:
    rate = _RATE.fullmatch(expression)
    if rate is not None:
        value, unit, plural = int(rate.group(1)), rate.group(2), rate.group(3)
        if value < 1 or (value == 1) == bool(plural):
            raise _unsupported(expression, "a positive value, singular unit for 1 only")
        return timedelta(**{unit + "s": value})
    cron = _CRON.fullmatch(expression)
    if cron is None:
        raise _unsupported(expression, "rate(...) or cron(...) only")
    texts = cron.group(1).split()
    if len(texts) != len(_FIELDS):
        raise _unsupported(expression, "a cron expression has 6 fields")
    fields: list[frozenset[int] | None] = []
    for text, spec in zip(texts, _FIELDS, strict=True):
        if text == "?":
            if spec[0] not in ("day-of-month", "day-of-week"):
                raise _unsupported(expression, f"? in {spec[0]}")
            fields.append(None)
        else:
            fields.append(_field(expression, text, spec))
    minutes, hours, days, months, weekdays, years = fields
    if (days is None) == (weekdays is None):
        raise _unsupported(expression, "one of day-of-month and day-of-week must be ?")
    assert minutes is not None and hours is not None
    assert months is not None and years is not None
    return _Cron(
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=days,
        months=months,
        # AWS 1 = SUN .. 7 = SAT -> Python Monday 0 .. Sunday 6
        weekdays=None if weekdays is None else frozenset((d + 5) % 7 for d in weekdays),
        years=years,
    )


def _field(
    expression: str, text: str, spec: tuple[str, int, int, dict[str, int]]
) -> frozenset[int]:
    name, low, high, names = spec

    def value(token: str) -> int:
        number = int(token) if token.isdigit() else names.get(token.upper())
        if number is None or not low <= number <= high:
            raise _unsupported(expression, f"{token!r} in {name}")
        return number

    values: set[int] = set()
    for part in text.split(","):
        match = _PART.fullmatch(part)
        if match is None:
            raise _unsupported(expression, f"{part!r} in {name}")
        base, step_text = match.group(1), match.group(2)
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-")
            start, end = value(first), value(last)
        else:
            start = value(base)
            end = high if step_text else start
        if start > end or step < 1:
            raise _unsupported(expression, f"{part!r} in {name}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown schedule time zone {name!r}") from exc


def _unsupported(expression: str, why: str) -> ValueError:
    return ValueError(f"unsupported schedule expression {expression!r}: {why}")


def _cron_times(cron: _Cron, after: datetime, until: datetime, zone: ZoneInfo) -> list[datetime]:
    """Day by day in the schedule's zone, then the matching hours and minutes of a day."""
    out: list[datetime] = []
    day = after.astimezone(zone).date()
    last = until.astimezone(zone).date()
    while day <= last:
        if cron.matches(day):
            for hour in cron.hours:
                for minute in cron.minutes:
                    wall = datetime.combine(day, time(hour, minute))
                    at = wall.replace(tzinfo=zone)  # fold 0: a repeated hour fires once
                    utc = at.astimezone(UTC)
                    if utc.astimezone(zone).replace(tzinfo=None) != wall:
                        continue  # a wall time that does not exist (spring forward): skipped
                    if after < utc <= until:
                        out.append(utc)
        day += timedelta(days=1)
    return out
