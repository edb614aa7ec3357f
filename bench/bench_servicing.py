"""The nightly servicing jobs over growing portfolios, on the local cloud.

Run: make bench-servicing  (or python bench/bench_servicing.py --sizes 2000 for a quick
run). Writes reports/servicing-bench.json and prints a table.

For each size, a fresh local cloud (banks on, so the simulated payment channel answers
the debits) is seeded with a synthetic portfolio (`portfolio.seed_fast`: the items
`portfolio.seed` writes, batched), disbursed over 28 days so about 1/28 of the loans fall
due on any day; 3% of the borrowers cannot pay (`channel.broke`). Then, for `--days`
consecutive days from D (the day after the first due date, so the first night has
instalments due the day before and on the day), the night job at 00:30 and the reminders
job at 09:00 China time, each an execution of the deployment's state machine, named,
waited for. The payment channel is held back while a night runs and drained after it
(the callbacks are measured apart: they are the API's work, not the job's).

Per job run: wall seconds; DynamoDB items read and written by the job's functions (a
botocore hook on every DynamoDB call a function makes; read = items returned by GetItem,
Query, Scan, BatchGetItem, TransactGetItems; written = items of the successful PutItem,
UpdateItem, DeleteItem, TransactWriteItems, BatchWriteItem; writes a condition refused
are counted apart); how many Scan calls (must be 0); instalments due that day and in
the partitions the job read (the dueDate index), loans watched (the watch index),
loans serviced (the checkpoints' `loans`), SMS sent, debit orders answered. The point:
the work follows the loans due and watched, not the portfolio.

moto's DynamoDB is O(table) where DynamoDB is not: TransactWriteItems deep-copies every
table it touches (to roll back: ~0.3 ms per item in the table, so ~25 s per transaction
with 10k loans booked), and every Query, by key or by index, walks all the table's items;
moto's SQS walks every message of a queue on each message sent or received. The local
cloud's `moto_speed` (on unless --moto-as-is) gives it the costs the services have: a
transaction keeps the previous version of the items it writes only, a query by partition
key reads that partition, a query of a GSI reads that index partition (buckets kept as
items change), and SQS counts messages only when asked. It changes no answer;
item counts are measured client side either way. The seeded portfolio is frozen out of
the garbage collector's walks (gc.freeze): a Lambda's process would not hold it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import boto3

from infra.localcloud import iam, portfolio
from infra.localcloud.cloud import REGION, LocalCloud
from infra.localcloud.lambdas import running_function
from lending.aws import wiring
from lending.servicing.account import CHINA, business_day
from lending.servicing.nightly import SHARDS, Job, due_key, plan, watch_key

REPORT = Path(__file__).resolve().parents[1] / "reports" / "servicing-bench.json"
SIZES = (10_000, 30_000, 100_000)
SPREAD_DAYS = 28
BROKE_SHARE = 0.03
NIGHT_AT, REMINDERS_AT = clock_time(0, 30), clock_time(9, 0)
EXECUTION_TIMEOUT_SECONDS = 3600.0
STATE_MACHINES = {
    Job.NIGHT: "ServicingNightStateMachine",
    Job.REMINDERS: "ServicingRemindersStateMachine",
}
# The functions each job's state machine runs (template.yaml's DefinitionSubstitutions).
JOB_FUNCTIONS = {
    Job.NIGHT: ("PlanServicingFunction", "ServiceNightPageFunction", "CloseNightFunction"),
    Job.REMINDERS: (
        "PlanServicingFunction",
        "SendRemindersPageFunction",
        "CloseRemindersFunction",
    ),
}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


# -- what the functions read and write --------------------------------------------------


@dataclass
class Tally:
    calls: Counter[str] = field(default_factory=Counter)  # by operation
    read: int = 0
    written: int = 0
    refused: int = 0  # items of writes a condition (or a transaction) refused
    errors: Counter[str] = field(default_factory=Counter)
    other_calls: Counter[str] = field(default_factory=Counter)  # "sqs.SendMessage": n

    def add(self, other: Tally) -> None:
        self.calls.update(other.calls)
        self.read += other.read
        self.written += other.written
        self.refused += other.refused
        self.errors.update(other.errors)
        self.other_calls.update(other.other_calls)

    def as_json(self) -> dict[str, Any]:
        return {
            "items_read": self.read,
            "items_written": self.written,
            "writes_refused": self.refused,
            "calls": dict(sorted(self.calls.items())),
            "errors": dict(self.errors),
            "other_aws_calls": dict(sorted(self.other_calls.items())),
        }


def _written(operation: str, params: dict[str, Any]) -> int:
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 1
    if operation == "TransactWriteItems":
        return sum(1 for i in params.get("TransactItems", []) if "ConditionCheck" not in i)
    if operation == "BatchWriteItem":
        return sum(len(v) for v in params.get("RequestItems", {}).values())
    return 0


def _read(operation: str, parsed: dict[str, Any]) -> int:
    if operation == "GetItem":
        return 1 if "Item" in parsed else 0
    if operation in ("Query", "Scan"):
        return len(parsed.get("Items", [])) or int(parsed.get("Count", 0))
    if operation == "BatchGetItem":
        return sum(len(v) for v in parsed.get("Responses", {}).values())
    if operation == "TransactGetItems":
        return sum(1 for r in parsed.get("Responses", []) if "Item" in r)
    return 0


class Meter:
    """Every DynamoDB call a function makes, with the items it read or wrote, and how many
    calls it made to the other services, per function (the local cloud's own calls, the
    bench's and the simulated banks' and channel's run outside any function: not counted)."""

    UNIQUE = "bench-servicing-meter"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_function: dict[str, Tally] = defaultdict(Tally)

    def install(self) -> None:
        """On boto3's default session (clients built later copy it) and on every client
        already built by the functions (wiring's cache)."""
        emitters = [boto3._get_default_session().events]
        built = getattr(wiring.client, "_built", {})
        emitters += [c.meta.events for c in list(built.values()) if hasattr(c, "meta")]
        for events in emitters:
            events.register(
                "before-parameter-build.dynamodb", self._before, unique_id=self.UNIQUE + "-b"
            )
            events.register("after-call.dynamodb", self._after, unique_id=self.UNIQUE + "-a")
            events.register("before-parameter-build", self._other, unique_id=self.UNIQUE + "-o")

    def _other(self, model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        function = running_function()
        if function is not None and service != "dynamodb":
            with self._lock:
                self.by_function[function].other_calls[f"{service}.{model.name}"] += 1

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        function = running_function()
        if function is not None:
            context["bench_meter"] = (function, _written(model.name, params))

    def _after(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        pending = context.pop("bench_meter", None)
        if pending is None:
            return
        function, writes = pending
        with self._lock:
            tally = self.by_function[function]
            tally.calls[model.name] += 1
            if http_response.status_code < 300:
                tally.read += _read(model.name, parsed)
                tally.written += writes
            else:
                tally.refused += writes
                tally.errors[parsed.get("Error", {}).get("Code", "?")] += 1

    def take(self) -> dict[str, Tally]:
        """What was counted since the last take, and start again."""
        with self._lock:
            taken, self.by_function = dict(self.by_function), defaultdict(Tally)
        return taken


# -- the portfolio and its days ---------------------------------------------------------


def _count(db: Any, table: str, index: str, attribute: str, key: str) -> int:
    total, kwargs = (
        0,
        {
            "TableName": table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": attribute},
            "ExpressionAttributeValues": {":k": {"S": key}},
            "Select": "COUNT",
        },
    )
    while True:
        out = db.query(**kwargs)
        total += int(out["Count"])
        if "LastEvaluatedKey" not in out:
            return total
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


@dataclass
class Book:
    cloud: LocalCloud
    meter: Meter
    loans: int
    db: Any = field(default_factory=lambda: boto3.client("dynamodb", region_name=REGION))
    scheduled: Counter[date] = field(default_factory=Counter)  # instalments by due date

    @property
    def table(self) -> str:
        return wiring.config().loans_table

    def due(self, day: date) -> int:
        """Instalments in the dueDate index for the day (all its shards)."""
        return sum(
            _count(self.db, self.table, "dueDate", "due_key", due_key(day, s))
            for s in range(SHARDS)
        )

    def watched(self) -> int:
        return sum(
            _count(self.db, self.table, "watch", "watch", watch_key(s)) for s in range(SHARDS)
        )

    def checkpoints(self, job: Job, day: date) -> list[tuple[str, dict[str, Any]]]:
        out = self.db.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"JOB#{job.value}#{day.isoformat()}"}},
        )
        return [
            (i["sk"]["S"].removeprefix("SHARD#"), json.loads(i["doc"]["S"])) for i in out["Items"]
        ]

    def move_clock_to(self, day: date, at: clock_time) -> None:
        target = datetime.combine(day, at, CHINA)
        delta = target - self.cloud.clock.now()
        if delta < timedelta(0):
            raise RuntimeError(f"the clock is past {target}: cannot go back")
        self.cloud.clock.advance(delta)

    def run(self, job: Job, day: date, label: str) -> dict[str, Any]:
        """One execution of the job's state machine for the day, measured."""
        assert self.cloud.channel is not None
        # What the job will read, counted before it runs (the dueDate index is sparse: an
        # instalment paid leaves it), with the plan its Plan state makes.
        last_night = wiring.nights().last() if job is Job.NIGHT else None
        due_keys = [t.key for t in plan(job, day, last_night) if t.source == "due"]
        due_days = sorted({k.split("#")[0] for k in due_keys})
        planned = sum(_count(self.db, self.table, "dueDate", "due_key", k) for k in due_keys)
        due_today = self.due(day)
        watched_before = self.watched()
        sms_before = len(self.cloud.sms_outbox())
        load = os.getloadavg()[0]
        self.meter.take()
        sfn = self.cloud.sfn()
        arn = self.cloud.deployment.state_machines[STATE_MACHINES[job]]
        started = time.perf_counter()
        execution = sfn.start_execution(
            stateMachineArn=arn,
            name=f"bench-{job.value}-{day:%Y%m%d}",
            input=json.dumps({"job": job.value, "day": day.isoformat()}),
        )["executionArn"]
        status = _wait(sfn, execution, started, label, self.meter)
        wall = time.perf_counter() - started
        tallies = self.meter.take()
        if status != "SUCCEEDED":
            error = sfn.describe_execution(executionArn=execution)
            print(f"  {label}: {status} {error.get('error')} {error.get('cause', '')[:300]}")
        shards = self.checkpoints(job, day)
        serviced = {
            source: sum(c["loans"] for s, c in shards if s.startswith(source + ":"))
            for source in ("due", "watch")
        }
        ours = Tally()
        for function in JOB_FUNCTIONS[job]:
            ours.add(tallies.get(function, Tally()))
        others = {f: t.as_json() for f, t in tallies.items() if f not in JOB_FUNCTIONS[job]}
        return {
            "job": job.value,
            "day": day.isoformat(),
            "status": status,
            "wall_seconds": round(wall, 2),
            "load_average_1m_before": round(load, 2),
            **ours.as_json(),
            "scans": ours.calls.get("Scan", 0),
            "scheduled_due_today": self.scheduled[day],
            "due_today": due_today,
            "due_days_read": due_days,
            "due_in_partitions_read": planned,
            "watched_before": watched_before,
            "watched_after": self.watched(),
            "loans_serviced": serviced["due"] + serviced["watch"],
            "loans_serviced_from_watch": serviced["watch"],
            "pages": sum(c["pages"] for _, c in shards),
            "shards": len(shards),
            "shards_planned_here": len(due_keys) + SHARDS,
            "sms_sent": len(self.cloud.sms_outbox()) - sms_before,
            "debit_requests_sent": ours.other_calls.get("sqs.SendMessage", 0),
            "by_function": {f: tallies[f].as_json() for f in JOB_FUNCTIONS[job] if f in tallies},
            "other_functions": others,
            "read_per_loan_due": _ratio(ours.read, planned),
            "read_per_loan_serviced": _ratio(ours.read, serviced["due"] + serviced["watch"]),
            "read_per_portfolio_loan": _ratio(ours.read, self.loans, 4),
            "written_per_loan_serviced": _ratio(ours.written, serviced["due"] + serviced["watch"]),
            "seconds_per_loan_serviced_ms": _ratio(
                wall * 1000, serviced["due"] + serviced["watch"]
            ),
        }

    def answer_debits(self, label: str) -> dict[str, Any]:
        """Let the channel answer the night's debits and wait for every callback."""
        channel = self.cloud.channel
        assert channel is not None
        before = dict(channel.sent)
        self.meter.take()
        started = time.perf_counter()
        channel.paused = False
        done = threading.Event()
        ticker = threading.Thread(
            target=_tick, args=(done, started, label, lambda: len(channel.sent) - len(before))
        )
        ticker.start()
        try:
            # Look at the queue once a second first: each look walks every message in it.
            _queue_down_to(channel.queue_url, 20, started + EXECUTION_TIMEOUT_SECONDS)
            channel.drain(timeout=EXECUTION_TIMEOUT_SECONDS)
        finally:
            done.set()
            ticker.join()
        wall = time.perf_counter() - started
        channel.paused = True
        new = [body for order, (body, _) in channel.sent.items() if order not in before]
        total = Tally()
        tallies = self.meter.take()
        for tally in tallies.values():
            total.add(tally)
        return {
            "wall_seconds": round(wall, 2),
            "debit_orders": len(new),
            "failed": sum(1 for b in new if b["status"] == "failed"),
            **total.as_json(),
            "by_function": {f: t.as_json() for f, t in tallies.items()},
        }


def _queue_down_to(url: str, messages: int, deadline: float) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    names: Any = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while time.perf_counter() < deadline:
        out = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if sum(int(v) for v in out.values()) <= messages:
            return
        time.sleep(1.0)


def _ratio(a: float, b: float, digits: int = 2) -> float | None:
    return round(a / b, digits) if b else None


def _tick(done: threading.Event, started: float, label: str, count: Callable[[], int]) -> None:
    while not done.wait(15.0):
        print(f"  {label}: {time.perf_counter() - started:5.0f} s, {count()} so far", flush=True)


def _wait(sfn: Any, execution: str, started: float, label: str, meter: Meter) -> str:
    deadline = started + EXECUTION_TIMEOUT_SECONDS
    shown = started
    while True:
        status = str(sfn.describe_execution(executionArn=execution)["status"])
        if status != "RUNNING":
            return status
        now = time.perf_counter()
        if now > deadline:
            raise TimeoutError(f"{execution} still RUNNING")
        if now - shown >= 15.0:
            shown = now
            with meter._lock:
                calls = sum(sum(t.calls.values()) for t in meter.by_function.values())
            print(f"  {label}: {now - started:5.0f} s, {calls} DynamoDB calls so far", flush=True)
        time.sleep(0.05)


class Progress:
    """Progress lines on a long loop: every 10% or 20 s, with the rate and what is left."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.started = self.shown = time.perf_counter()
        self.step = max(1, total // 10)

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if done % self.step and now - self.shown < 20.0 and done != self.total:
            return
        self.shown = now
        elapsed = now - self.started
        left = elapsed / done * (self.total - done)
        print(
            f"  {self.label}: {done}/{self.total} ({done * 100 // self.total}%) "
            f"{elapsed / done * 1000:.1f} ms each, {elapsed:.0f} s, ~{left:.0f} s left",
            flush=True,
        )


@contextmanager
def collected() -> Iterator[None]:
    """Collect before and after; a portfolio is millions of small objects in moto."""
    gc.collect()
    try:
        yield
    finally:
        gc.collect()


def bench_size(loans: int, days: int, seed: int, moto_as_is: bool) -> dict[str, Any]:
    with collected(), LocalCloud.start(moto_as_is=moto_as_is) as cloud:
        assert cloud.channel is not None
        missing = {f for fs in JOB_FUNCTIONS.values() for f in fs} - set(cloud.deployment.functions)
        if missing:
            raise SystemExit(f"template.yaml has no {sorted(missing)}: update JOB_FUNCTIONS")
        meter = Meter()
        meter.install()
        book = Book(cloud, meter, loans)
        today = business_day(cloud.clock.now())
        first = today - timedelta(days=26)  # first instalments fall due from today + 2..5
        print(f"{loans} loans (local cloud up in {cloud.started_in_seconds:.1f} s)", flush=True)
        load = os.getloadavg()[0]
        started = time.perf_counter()
        seeded = portfolio.seed_fast(
            loans, first, SPREAD_DAYS, seed, progress=Progress("seeding", loans)
        )
        seeding = time.perf_counter() - started
        broke = random.Random(seed).sample(range(loans), round(loans * BROKE_SHARE))
        cloud.channel.broke |= {seeded[n].id for n in broke}
        d0 = min(loan.instalments[0].due_date for loan in seeded) + timedelta(days=1)
        book.scheduled = Counter(i.due_date for loan in seeded for i in loan.instalments)
        del seeded
        meter.take()  # seeding runs outside any function: nothing to count
        # The portfolio is millions of objects in moto that a Lambda's process would not
        # hold: keep the collector from walking them at every full collection.
        gc.collect()
        gc.freeze()
        items = _items(book)
        result: dict[str, Any] = {
            "loans": loans,
            "borrowers_who_cannot_pay": len(broke),
            "local_cloud_start_seconds": round(cloud.started_in_seconds, 2),
            "seeding": {
                "seconds": round(seeding, 1),
                "ms_per_loan": round(seeding / loans * 1000, 2),
                "load_average_1m_before": round(load, 2),
            },
            "loans_table_items": items,
            "loans_table_items_per_loan": round(items / loans, 2),
            "first_day": d0.isoformat(),
            "runs": [],
            "debits_answered": [],
        }
        cloud.channel.paused = True  # the night's debits wait for the night to end
        try:
            for n in range(days):
                day = d0 + timedelta(days=n)
                book.move_clock_to(day, NIGHT_AT)
                run = book.run(Job.NIGHT, day, f"night {day}")
                result["runs"].append(run)
                answered = book.answer_debits(f"debits {day}")
                run["debit_orders"] = answered["debit_orders"]
                run["debits_failed"] = answered["failed"]
                result["debits_answered"].append({"day": day.isoformat(), **answered})
                _line(loans, run)
                book.move_clock_to(day, REMINDERS_AT)
                run = book.run(Job.REMINDERS, day, f"reminders {day}")
                run["debit_orders"] = 0
                result["runs"].append(run)
                _line(loans, run)
        finally:
            gc.unfreeze()
        result["scans_by_the_jobs"] = sum(r["scans"] for r in result["runs"])
        result["iam_findings"] = _iam(cloud)
        return result


def _iam(cloud: LocalCloud) -> list[str] | str:
    """What the functions did that their roles would deny (moto enforces no IAM)."""
    try:
        findings = cloud.iam_findings()
    except iam.SamUnavailable as exc:
        return f"skipped: {exc}"
    return [str(f) for f in findings if "unused" not in f.kind]


def _items(book: Book) -> int:
    """Items in the loans table (moto counts them for DescribeTable)."""
    return int(book.db.describe_table(TableName=book.table)["Table"]["ItemCount"])


HEADER = (
    f"{'loans':>7} {'job':9} {'day':10} {'wall s':>7} {'due':>6} {'in idx':>6} {'watch':>5} "
    f"{'served':>6} {'items rd':>9} {'items wr':>9} {'rd/due':>6} {'rd/loan':>7} "
    f"{'sms':>5} {'debits':>6} {'scans':>5}"
)
LEGEND = (
    "due: instalments scheduled that day; in idx: instalments in the dueDate partitions "
    "the job read (unpaid ones only: the index is sparse); watch: loans on the watch list "
    "before the job; served: loans serviced (checkpoints); rd/due: items read per "
    "instalment in idx; rd/loan: items read per loan in the portfolio"
)


def _line(loans: int, r: dict[str, Any]) -> None:
    print(
        f"{loans:>7} {r['job']:9} {r['day']:10} {r['wall_seconds']:>7.1f} "
        f"{r['scheduled_due_today']:>6} {r['due_in_partitions_read']:>6} "
        f"{r['watched_before']:>5} {r['loans_serviced']:>6} {r['items_read']:>9} "
        f"{r['items_written']:>9} {r['read_per_loan_due'] or 0:>6.1f} "
        f"{r['read_per_portfolio_loan'] or 0:>7.3f} {r['sms_sent']:>5} "
        f"{r.get('debit_orders', 0):>6} {r['scans']:>5}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--days", type=int, default=2, help="consecutive days from D")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument(
        "--moto-as-is", action="store_true", help="moto unpatched (O(table) per call)"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    report: dict[str, Any] = {
        "made_by": "make bench-servicing (bench/bench_servicing.py)",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "settings": {
            "sizes": sizes,
            "days": args.days,
            "spread_days": SPREAD_DAYS,
            "borrowers_who_cannot_pay": BROKE_SHARE,
            "shards": SHARDS,
            "moto_speedups": not args.moto_as_is,
        },
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        "sizes": [],
        "notes": [
            "scheduled_due_today: instalments the seeded schedules put on the day; "
            "due_today: those still in the dueDate index (sparse: a paid instalment leaves "
            "it) just before the job; due_in_partitions_read: instalments in every due "
            "partition the job's plan reads, counted just before it runs (the night: "
            "yesterday and today; the reminders: today, T+1, T+3); read_per_loan_due "
            "divides the items read by the latter",
            "read_per_portfolio_loan: items read per loan in the portfolio; the loans table "
            "holds loans_table_items_per_loan items per loan, so a job that scanned it would "
            "read at least that many",
            "the first night (D) has no night before it: it reads the instalments due on D-1 "
            "and D, none of them debited yet; D+1 on is the steady state",
            "items read/written: DynamoDB items of the job's functions' calls only (the "
            "payment callbacks are under debits_answered); a refused conditional write is "
            "counted under writes_refused, not items_written",
            "wall seconds are on moto in-process, every call under one lock, on the cpu "
            "count given; seeding is apart from the job figures",
        ],
    }
    print(HEADER)
    total = time.perf_counter()
    for loans in sizes:
        report["sizes"].append(bench_size(loans, args.days, args.seed, args.moto_as_is))
        print(HEADER)
    report["total_seconds"] = round(time.perf_counter() - total, 1)
    print()
    print(HEADER)
    for size in report["sizes"]:
        s = size["seeding"]
        for run in size["runs"]:
            _line(size["loans"], run)
        print(
            f"{'':>7} seeded in {s['seconds']} s ({s['ms_per_loan']} ms/loan; "
            f"{size['loans_table_items']} items in the loans table, "
            f"{size['loans_table_items_per_loan']} per loan); "
            f"Scan calls by the jobs: {size['scans_by_the_jobs']}"
        )
    print(LEGEND)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out} in {report['total_seconds']} s")
    scans = sum(s["scans_by_the_jobs"] for s in report["sizes"])
    failed = [r for s in report["sizes"] for r in s["runs"] if r["status"] != "SUCCEEDED"]
    return 1 if scans or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
