"""The local cloud's schedules: the cron/rate evaluator, the merging of a tick's firings,
and `LocalCloud.tick` on a hand-made deployment (no cloud booted)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.localcloud import cloud as cloud_module
from infra.localcloud.clock import ControllableClock
from infra.localcloud.cloud import REGION, LocalCloud
from infra.localcloud.deploy import Deployment
from infra.localcloud.lambdas import FunctionSpec, LambdaRegistry
from infra.localcloud.schedules import Fired, Occurrence, Schedule, fire_times, plan
from infra.localcloud.template import Resolver


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, s: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, s, tzinfo=UTC)


# -- cron -------------------------------------------------------------------------------


def test_a_daily_cron_fires_at_its_wall_time_in_its_time_zone() -> None:
    after, until = utc(2024, 3, 1), utc(2024, 3, 3)
    assert fire_times("cron(0 9 * * ? *)", after, until) == [utc(2024, 3, 1, 9), utc(2024, 3, 2, 9)]
    # 09:00 in Shanghai (UTC+8) is 01:00 UTC.
    assert fire_times("cron(0 9 * * ? *)", after, until, "Asia/Shanghai") == [
        utc(2024, 3, 1, 1),
        utc(2024, 3, 2, 1),
    ]


def test_the_local_day_decides_in_the_schedules_time_zone() -> None:
    # 00:30 on the 1st in Shanghai is 16:30 UTC on the last day of the month before.
    expression = "cron(30 0 1 * ? *)"
    after, until = utc(2024, 1, 31), utc(2024, 3, 1)
    assert fire_times(expression, after, until, "Asia/Shanghai") == [
        utc(2024, 1, 31, 16, 30),
        utc(2024, 2, 29, 16, 30),
    ]
    assert fire_times(expression, after, until) == [utc(2024, 2, 1, 0, 30)]


def test_weekdays_by_name_and_by_aws_number() -> None:
    after, until = utc(2024, 6, 1), utc(2024, 6, 9)  # Saturday 1st .. Sunday 9th
    week = [utc(2024, 6, d, 18) for d in range(3, 8)]  # Monday 3rd .. Friday 7th
    assert fire_times("cron(0 18 ? * MON-FRI *)", after, until) == week
    assert fire_times("cron(0 18 ? * 2-6 *)", after, until) == week  # 1 = SUN .. 7 = SAT
    assert fire_times("cron(0 18 ? * sun,7 *)", after, until) == [
        utc(2024, 6, 1, 18),
        utc(2024, 6, 2, 18),
        utc(2024, 6, 8, 18),
    ]


def test_steps_ranges_and_lists() -> None:
    hour = utc(2024, 1, 1, 10), utc(2024, 1, 1, 11)

    def minutes(expression: str) -> list[int]:
        return [t.minute for t in fire_times(expression, hour[0] - timedelta(minutes=1), *hour[1:])]

    assert minutes("cron(1/10 10 * * ? *)") == [1, 11, 21, 31, 41, 51]
    assert minutes("cron(*/15 10 * * ? *)") == [0, 15, 30, 45]
    assert minutes("cron(0-30/10 10 * * ? *)") == [0, 10, 20, 30]
    assert minutes("cron(5-7,50 10 * * ? *)") == [5, 6, 7, 50]
    day = [t.hour for t in fire_times("cron(0 8-10,22 * * ? *)", utc(2024, 1, 1), utc(2024, 1, 2))]
    assert day == [8, 9, 10, 22]


def test_months_by_name_years_and_days_of_the_month() -> None:
    year = utc(2024, 1, 1), utc(2026, 1, 1)
    times = fire_times("cron(0 0 15 JAN,jul ? 2025)", *year)
    assert times == [utc(2025, 1, 15), utc(2025, 7, 15)]
    assert len(fire_times("cron(0 0 31 * ? *)", *year)) == 14  # months of 31 days only


def test_the_window_is_open_before_and_closed_after() -> None:
    at = utc(2024, 5, 5, 12)
    assert fire_times("cron(0 12 * * ? *)", at, at + timedelta(days=1)) == [at + timedelta(days=1)]
    assert fire_times("cron(0 12 * * ? *)", at - timedelta(minutes=1), at) == [at]
    assert fire_times("cron(0 12 * * ? *)", at, at) == []


def test_daylight_saving_skips_a_missing_time_and_repeats_none() -> None:
    # New York: 2024-03-10 02:00 -> 03:00 and 2024-11-03 02:00 -> 01:00.
    spring = fire_times("cron(30 2 * * ? *)", utc(2024, 3, 9), utc(2024, 3, 12), "America/New_York")
    assert spring == [utc(2024, 3, 9, 7, 30), utc(2024, 3, 11, 6, 30)]
    autumn = fire_times(
        "cron(30 1 * * ? *)", utc(2024, 11, 3), utc(2024, 11, 4), "America/New_York"
    )
    assert autumn == [utc(2024, 11, 3, 5, 30)]  # once, at the first 01:30 (EDT)


def test_a_long_range_is_evaluated_day_by_day() -> None:
    started = time.perf_counter()
    times = fire_times("cron(0 0 1 * ? *)", utc(2024, 1, 1), utc(2124, 1, 1))
    assert len(times) == 1200
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 0 L * ? *)",
        "cron(0 0 15W * ? *)",
        "cron(0 0 ? * 3#2 *)",
        "cron(0 0 ? * 6L *)",
        "cron(0 0 * * * *)",  # day-of-month and day-of-week both given
        "cron(0 0 ? * ? *)",
        "cron(0 0 * * ?)",  # five fields
        "cron(60 0 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 0 * ? *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 * FOO ? *)",
        "cron(0 0 * * ? 1969)",
        "cron(30-10 * * * ? *)",
        "cron(*/0 * * * ? *)",
        "cron(? 0 * * ? *)",
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(2 weeks)",
        "at(2024-01-01T00:00:00)",
    ],
)
def test_unsupported_or_invalid_syntax_names_the_expression(expression: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"schedule expression '{expression}'")):
        fire_times(expression, utc(2024, 1, 1), utc(2024, 2, 1))
    with pytest.raises(ValueError):
        Schedule(logical_id="X", expression=expression, target="function")


def test_a_schedule_checks_its_time_zone() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Schedule(
            logical_id="X", expression="rate(1 day)", timezone="Mars/Olympus", target="function"
        )


def test_rates() -> None:
    assert Schedule(logical_id="X", expression="rate(15 minutes)", target="function").period == (
        timedelta(minutes=15)
    )
    assert Schedule(logical_id="X", expression="rate(1 hour)", target="function").period == (
        timedelta(hours=1)
    )
    assert (
        Schedule(logical_id="X", expression="cron(0 1 * * ? *)", target="function").period is None
    )
    assert fire_times("rate(2 days)", utc(2024, 1, 1), utc(2024, 1, 6)) == [
        utc(2024, 1, 3),
        utc(2024, 1, 5),
    ]


# -- merging a tick's firings ------------------------------------------------------------

NIGHTLY = Schedule(
    logical_id="Nightly",
    expression="cron(0 2 * * ? *)",
    timezone="Asia/Shanghai",
    target="function",
)
HOURLY_WEEKDAYS = Schedule(
    logical_id="Hourly", expression="cron(0 * ? * MON-FRI *)", target="state_machine", input="{}"
)
SWEEPER = Schedule(logical_id="Sweeper", expression="rate(15 minutes)", target="function")


def test_cron_occurrences_are_merged_in_chronological_order() -> None:
    # Friday 2024-06-07 17:30 UTC to Saturday 00:00 UTC: Shanghai's 02:00 is 18:00 UTC.
    after, until = utc(2024, 6, 7, 17, 30), utc(2024, 6, 8)
    due = plan([NIGHTLY, HOURLY_WEEKDAYS], after, until, {})
    assert [(o.schedule.logical_id, o.at.hour) for o in due] == [
        ("Nightly", 18),  # ties keep the order of the schedules given
        ("Hourly", 18),
        ("Hourly", 19),
        ("Hourly", 20),
        ("Hourly", 21),
        ("Hourly", 22),
        ("Hourly", 23),
    ]
    assert [o.at for o in due] == sorted(o.at for o in due)


def test_a_rate_fires_once_at_the_end_when_a_period_has_passed() -> None:
    after = utc(2024, 6, 1)
    month = after + timedelta(days=30)
    assert plan([SWEEPER], after, month, {}) == [Occurrence(month, SWEEPER)]
    assert plan([SWEEPER], after, after + timedelta(minutes=10), {}) == []
    # 10 minutes now, 10 after the last firing 10 minutes ago: 20 >= 15.
    last = {"Sweeper": after - timedelta(minutes=10)}
    assert plan([SWEEPER], after, after + timedelta(minutes=10), last) == [
        Occurrence(after + timedelta(minutes=10), SWEEPER)
    ]


def test_a_rate_fires_after_the_crons_of_the_tick() -> None:
    after, until = utc(2024, 6, 7, 17, 30), utc(2024, 6, 7, 19, 30)
    due = plan([SWEEPER, HOURLY_WEEKDAYS], after, until, {})
    assert [(o.schedule.logical_id, o.at) for o in due] == [
        ("Hourly", utc(2024, 6, 7, 18)),
        ("Hourly", utc(2024, 6, 7, 19)),
        ("Sweeper", until),
    ]


# -- LocalCloud.tick on a hand-made deployment --------------------------------------------


def _cloud(schedules: list[Schedule], start: datetime) -> LocalCloud:
    deployment = Deployment("test", REGION, Resolver({}, {}))
    for schedule in schedules:
        deployment.schedules[schedule.logical_id] = schedule
        deployment.functions[schedule.logical_id] = FunctionSpec(
            schedule.logical_id, f"test-{schedule.logical_id}", "arn", Path("."), "app.handler"
        )
    return LocalCloud(deployment, LambdaRegistry(), ControllableClock(start), "", "", 0.0)


def test_tick_moves_the_clock_to_each_firing_and_ends_delta_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = utc(2024, 6, 7, 17, 30, s=20)
    cloud = _cloud([NIGHTLY, HOURLY_WEEKDAYS, SWEEPER], start)
    seen: list[tuple[str, datetime]] = []
    monkeypatch.setattr(
        cloud, "_fire", lambda schedule, at: seen.append((schedule.logical_id, cloud.clock.now()))
    )
    fired = cloud.tick(timedelta(hours=2))
    end = start + timedelta(hours=2)
    assert fired == [
        Fired("Nightly", utc(2024, 6, 7, 18)),
        Fired("Hourly", utc(2024, 6, 7, 18)),
        Fired("Hourly", utc(2024, 6, 7, 19)),
        Fired("Sweeper", end),
    ]
    assert seen == [tuple(f) for f in fired]  # each target saw its own fire time as now
    assert cloud.clock.now() == end
    # The sweeper last fired at `end`: ten minutes on is too early, twenty is not.
    assert cloud.tick(timedelta(minutes=10)) == []
    assert cloud.tick(timedelta(minutes=10)) == [Fired("Sweeper", end + timedelta(minutes=20))]


def test_tick_may_fire_only_the_schedules_named(monkeypatch: pytest.MonkeyPatch) -> None:
    start = utc(2024, 6, 7, 17, 30)
    cloud = _cloud([NIGHTLY, HOURLY_WEEKDAYS, SWEEPER], start)
    monkeypatch.setattr(cloud, "_fire", lambda schedule, at: None)
    assert cloud.tick(timedelta(hours=2), only={"Sweeper"}) == [
        Fired("Sweeper", start + timedelta(hours=2))
    ]
    assert cloud.clock.now() == start + timedelta(hours=2)  # the clock moved all the same


def test_tick_counts_a_rates_period_across_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    cloud = _cloud([SWEEPER], utc(2024, 6, 1))
    monkeypatch.setattr(cloud, "_fire", lambda schedule, at: None)
    assert cloud.tick(timedelta(minutes=10)) == []
    assert [f.logical_id for f in cloud.tick(timedelta(minutes=10))] == ["Sweeper"]


class _FakeLambda:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {}


def test_a_function_target_gets_the_scheduler_event_or_the_schedules_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_input = Schedule(
        logical_id="WithInput", expression="cron(0 3 * * ? *)", target="function", input='{"a": 1}'
    )
    cloud = _cloud([NIGHTLY, with_input], utc(2024, 6, 1))
    fake = _FakeLambda()
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: fake)
    cloud.tick(timedelta(days=1))
    assert [(c["FunctionName"], json.loads(c["Payload"])) for c in fake.calls] == [
        ("test-WithInput", {"a": 1}),
        ("test-Nightly", {"source": "local.scheduler"}),
    ]


PASS_MACHINE = json.dumps({"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}})


@pytest.fixture
def moto_sfn() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name=REGION)


def test_a_state_machine_target_runs_a_named_execution_to_its_end(moto_sfn: Any) -> None:
    arn = moto_sfn.create_state_machine(
        name="test-local-schedules-echo",
        definition=PASS_MACHINE,
        roleArn="arn:aws-cn:iam::123456789012:role/test",
    )["stateMachineArn"]
    schedule = Schedule(
        logical_id="Echo",
        expression="cron(0 9 ? * MON-FRI *)",
        timezone="Asia/Shanghai",
        target="state_machine",
        input='{"run": "nightly"}',
    )
    cloud = _cloud([schedule], utc(2024, 6, 7))  # Friday 08:00 in Shanghai
    cloud.deployment.state_machines["Echo"] = arn
    assert cloud.tick(timedelta(days=3)) == [Fired("Echo", utc(2024, 6, 7, 1))]  # not Sat/Sun
    executions = moto_sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["name"] for e in executions] == ["Echo-20240607T010000"]
    done = moto_sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert done["status"] == "SUCCEEDED"  # waited for before the tick went on
    assert json.loads(done["output"]) == {"run": "nightly"}


class _FakeSfn:
    def __init__(self, running: int) -> None:
        self.running = running
        self.started: list[dict[str, Any]] = []

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        return {"executionArn": "arn:execution"}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self.running -= 1
        return {"status": "RUNNING" if self.running >= 0 else "FAILED"}


def test_a_state_machine_target_is_polled_until_it_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    schedule = Schedule(logical_id="Job", expression="cron(0 0 * * ? *)", target="state_machine")
    cloud = _cloud([schedule], utc(2024, 6, 1))
    cloud.deployment.state_machines["Job"] = "arn:machine"
    fake = _FakeSfn(running=3)
    monkeypatch.setattr(cloud, "sfn", lambda: fake)
    assert cloud.tick(timedelta(days=1)) == [Fired("Job", utc(2024, 6, 2))]
    assert fake.running == -1  # three RUNNING answers, then a final one
    assert fake.started == [
        {"stateMachineArn": "arn:machine", "name": "Job-20240602T000000", "input": "{}"}
    ]


def test_a_state_machine_that_never_ends_times_the_tick_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schedule = Schedule(logical_id="Job", expression="cron(0 0 * * ? *)", target="state_machine")
    cloud = _cloud([schedule], utc(2024, 6, 1))
    cloud.deployment.state_machines["Job"] = "arn:machine"
    monkeypatch.setattr(cloud, "sfn", lambda: _FakeSfn(running=10**9))
    monkeypatch.setattr(cloud_module, "SCHEDULED_EXECUTION_TIMEOUT_SECONDS", 0.2)
    with pytest.raises(TimeoutError):
        cloud.tick(timedelta(days=1))
    assert cloud.clock.now() == utc(2024, 6, 2)  # the clock still ends delta on
