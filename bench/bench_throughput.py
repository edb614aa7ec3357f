"""`make bench-throughput`: applications a minute on the local cloud, and where the CPU goes.

A steady stream of consumer applicants (approved by the scorecard, so each goes the whole
way: documents, OCR, data, score, offer, contract, bank payout) arrives at each rate for
`--seconds` (at least 2 minutes), through the real API, state machine and banks. Their
documents are rendered before the clock starts; each applicant's H5 page polls its
progress as the real page does (2 s after a change, backing off to 30 s; the applicant
accepts the offer when the page shows it, so the payout includes that). Latencies come
from the application's own event times (submitted -> offered / declined: the decision;
submitted -> loan_booked: the payout).

Per rate: decision and disbursement p50/p95/p99 (of the applicants after the first 20%
of the window: the steady state), the completion rate sustained over the window, and CPU
seconds per application: each function's (the handler thread's CPU, summed over its
invocations, plus the threads its cold start left running: ONNX Runtime's pool and the
OCR recogniser's), the applicants' own (HTTP client, uploads), and the rest of the
process (moto, the Step Functions interpreter, the API server, the banks). Then each
function's cold start in a fresh interpreter, and the cost per application in AWS
(`bench/aws_prices.json`).

Writes reports/throughput.json and reports/throughput.png. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from infra.localcloud.cloud import ROOT, LocalCloud
from infra.localcloud.demo import Case, identities, percentile, prepare, seconds_between
from infra.localcloud.lambdas import Usage
from infra.localcloud.miniprogram import CONSUMER_DOCS, Applicant
from lending.sandbox.documents import render_document
from lending.sandbox.identities import SyntheticIdentity
from lending.scoring.scorecard import Scorecard

OUT = ROOT / "reports" / "throughput.json"
CHART = ROOT / "reports" / "throughput.png"
PRICES = ROOT / "bench" / "aws_prices.json"
# The H5 progress page's polling (web/h5/src/views/Application.vue): 2 s after a change of
# step, 1.5 times longer each time the step is the same, at most 30 s.
POLL_FIRST_SECONDS, POLL_GROWTH, POLL_MAX_SECONDS = 2.0, 1.5, 30.0
WARM_UP_SHARE = 0.2  # the first fifth of a window is not the steady state
DRAIN_SECONDS = 240.0
AMOUNT_STEPS = 20  # how long stragglers may take after the last arrival


@dataclass
class Ticket:
    """One applicant of the stream and what happened to them."""

    applicant: Applicant
    documents: list[tuple[str, bytes]]
    arrived: float = 0.0  # perf_counter at arrival
    client_cpu: float = 0.0
    view: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def run(self) -> None:
        cpu = time.thread_time()
        a = self.applicant
        try:
            a.sign_in()
            a.apply()
            for kind, image in self.documents:
                a.upload(kind, image, "image/jpeg")
            a.submit()
            view = follow(a, "offered")
            if view["status"] == "offered":
                a.answer_offer(True)
                view = follow(a)
            self.view = view
        except Exception as exc:  # a stuck applicant is counted, not hidden
            self.error = f"{type(exc).__name__}: {exc}"[:200]
        finally:
            self.client_cpu = time.thread_time() - cpu

    def seconds(self, *ends: str) -> float | None:
        return seconds_between(self.view.get("events", []), "submitted", *ends)


def follow(applicant: Applicant, *statuses: str) -> dict[str, Any]:
    """Poll the application as the H5 progress page does. Latencies come from the
    application's event times, not from these polls."""
    return applicant.wait_for(
        *statuses,
        timeout=DRAIN_SECONDS,
        poll_seconds=POLL_FIRST_SECONDS,
        backoff=POLL_GROWTH,
        max_poll_seconds=POLL_MAX_SECONDS,
    )


def tickets(cloud: LocalCloud, count: int) -> list[Ticket]:
    """Applicants pinned to approvable bureau rows, their documents rendered now (on
    every core: rendering is most of the preparation)."""
    card = Scorecard.load()
    people = identities(count)
    # Spawned, not forked: the local cloud's threads may hold locks at the fork.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=spawn) as pool:
        rendered = pool.map(_documents, enumerate(people), chunksize=8)
        out = []
        for n, (who, documents) in enumerate(zip(people, rendered, strict=True)):
            case = Case(f"bench #{n}", "disbursed")
            # The demo's casting: 20,000 yuan + 1,000 per applicant, kept within the
            # product's limits (and its funders' quotas) however long the stream.
            prepare(case, who, cloud, card, n % AMOUNT_STEPS)
            assert case.applicant is not None
            out.append(Ticket(case.applicant, documents))
            if n % 50 == 0:
                print(f"  prepared {n}/{count} applicants", flush=True)
    return out


def _documents(numbered: tuple[int, SyntheticIdentity]) -> list[tuple[str, bytes]]:
    n, who = numbered
    return [(k.value, render_document(k, who, seed=n)) for k in CONSUMER_DOCS]


def run_rate(cloud: LocalCloud, rate: int, stream: list[Ticket]) -> dict[str, Any]:
    """`stream` arrives at `rate` a minute; waits for every applicant to finish."""
    interval = 60.0 / rate
    before = cloud.registry.usage_snapshot()
    cpu_before, started = time.process_time(), time.perf_counter()
    threads = []
    for n, ticket in enumerate(stream):
        due = started + n * interval
        time.sleep(max(0.0, due - time.perf_counter()))
        ticket.arrived = time.perf_counter()
        thread = threading.Thread(target=ticket.run, daemon=True)
        thread.start()
        threads.append(thread)
    window_end = time.perf_counter()
    for thread in threads:
        thread.join(timeout=DRAIN_SECONDS)
    wall = time.perf_counter() - started
    process_cpu = time.process_time() - cpu_before
    after = cloud.registry.usage_snapshot()
    functions = {
        k: _minus(u, before.get(k, Usage())) for k, u in after.items() if u != before.get(k)
    }
    steady = stream[int(len(stream) * WARM_UP_SHARE) :]
    decision = [s for t in steady if (s := t.seconds("offered", "declined")) is not None]
    payout = [s for t in steady if (s := t.seconds("loan_booked")) is not None]
    window = window_end - started
    # Decisions whose applicant arrived in the window's steady part, per minute of it.
    done_in_window = [
        t
        for t in steady
        if t.seconds("offered", "declined") is not None
        and t.arrived + (t.seconds("offered", "declined") or 0) <= window_end + interval
    ]
    steady_minutes = (window * (1 - WARM_UP_SHARE)) / 60
    n = len(stream)
    function_cpu = sum(u.cpu_seconds + u.worker_cpu_seconds for u in functions.values())
    client_cpu = sum(t.client_cpu for t in stream)
    return {
        "rate_per_minute": rate,
        "seconds": round(window, 1),
        "applications": n,
        "finished": dict(Counter(t.view.get("status", "error") for t in stream)),
        "errors": sorted({t.error for t in stream if t.error})[:5],
        # Every applicant is cast approvable: any other ending says why (reason codes).
        "not_disbursed": [
            {
                "status": t.view.get("status", "error"),
                "reasons": [r["code"] for r in (t.view.get("outcome") or {}).get("reasons", [])],
            }
            for t in stream
            if t.view.get("status") != "disbursed"
        ][:10],
        "decision_s": _percentiles(decision),
        "disbursement_s": _percentiles(payout),
        "sustained_decisions_per_minute": round(len(done_in_window) / steady_minutes, 1),
        "wall_until_drained_s": round(wall, 1),
        "cpu_s_per_application": {
            "functions": {
                k: round((u.cpu_seconds + u.worker_cpu_seconds) / n, 4)
                for k, u in sorted(
                    functions.items(), key=lambda kv: -kv[1].cpu_seconds - kv[1].worker_cpu_seconds
                )
            },
            # Of which in the threads a function started (ONNX Runtime's, the OCR pool).
            "functions_worker_threads": {
                k: round(u.worker_cpu_seconds / n, 4)
                for k, u in sorted(functions.items())
                if u.worker_cpu_seconds
            },
            "functions_total": round(function_cpu / n, 4),
            "applicants_clients": round(client_cpu / n, 4),
            "local_cloud_and_rest": round((process_cpu - function_cpu - client_cpu) / n, 4),
            "process_total": round(process_cpu / n, 4),
        },
        "invocations_per_application": {
            k: round(u.invocations / n, 2) for k, u in sorted(functions.items())
        },
        "wall_s_per_invocation": {
            k: round(u.wall_seconds / u.invocations, 4)
            for k, u in sorted(functions.items())
            if u.invocations
        },
        "machine_cpu_use": round(process_cpu / wall / 2, 3),  # of 2 cores
    }


def _minus(a: Usage, b: Usage) -> Usage:
    return Usage(
        a.invocations - b.invocations,
        a.wall_seconds - b.wall_seconds,
        a.cpu_seconds - b.cpu_seconds,
        a.worker_cpu_seconds - b.worker_cpu_seconds,
    )


def _percentiles(values: list[float]) -> dict[str, float | None]:
    return {f"p{q}": percentile(values, q / 100) for q in (50, 95, 99)} | {"n": len(values)}


# -- cold starts ---------------------------------------------------------------------------

_PROBE = """
import importlib, json, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
module = importlib.import_module(sys.argv[2])
imported = time.perf_counter()
extra = 0.0
if sys.argv[3] == "ocr":
    from lending.aws import wiring
    wiring.ocr_engine().warm()  # the models, loaded on the first document
    extra = time.perf_counter() - imported
print(json.dumps({"import_s": imported - started, "first_use_s": extra}))
"""


def cold_starts(cloud: LocalCloud, runs: int = 3) -> dict[str, Any]:
    """Each function's module import (Lambda's init phase), in fresh interpreters."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'shared'}"}
    baseline = _median_wall([sys.executable, "-c", "pass"], env, runs)
    out: dict[str, Any] = {"interpreter_start_s": round(baseline, 3), "functions": {}}
    for logical_id, spec in sorted(cloud.deployment.functions.items()):
        module = spec.handler.rsplit(".", 1)[0]
        kind = "ocr" if logical_id == "OcrValidateFunction" else ""
        samples: list[dict[str, float]] = []
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, "-c", _PROBE, str(spec.code_dir), module, kind],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                samples = []
                out["functions"][logical_id] = {"error": done.stderr.strip()[-300:]}
                break
            samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if samples:
            out["functions"][logical_id] = {
                "import_s": round(statistics.median(s["import_s"] for s in samples), 3),
                "first_use_s": round(statistics.median(s["first_use_s"] for s in samples), 3),
                "memory_mb": spec.memory_mb,
            }
        print(f"  cold start {logical_id}: {out['functions'][logical_id]}", flush=True)
    return out


def _median_wall(command: list[str], env: dict[str, str], runs: int) -> float:
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


# -- cost ----------------------------------------------------------------------------------


def cost_per_application(
    cloud: LocalCloud, quiet: dict[str, Any], calls: Counter[str], applications: int
) -> dict[str, Any]:
    """Lambda GB-seconds from the quiet rate's wall time per invocation and each function's
    memory; requests counted in the same run; priced from `bench/aws_prices.json`."""
    prices = json.loads(PRICES.read_text(encoding="utf-8"))
    p = prices["prices"]
    memory = {k: f.memory_mb for k, f in cloud.deployment.functions.items()}
    lines: dict[str, float] = {}
    gb_seconds = sum(
        quiet["invocations_per_application"][k] * wall * memory[k] / 1024
        for k, wall in quiet["wall_s_per_invocation"].items()
    )
    invocations = sum(quiet["invocations_per_application"].values())
    lines["lambda_duration"] = gb_seconds * p["lambda_gb_second"]
    lines["lambda_requests"] = invocations * p["lambda_request"]
    per_app = {k: v / applications for k, v in calls.items()}
    lines["api_gateway"] = (
        quiet["invocations_per_application"].get("ApiFunction", 0) * p["api_gateway_request"]
    )
    lines["step_functions"] = per_app.get("state_transitions", 0) * p["state_transition"]
    lines["dynamodb_reads"] = per_app.get("dynamodb_read", 0) * p["dynamodb_read_request_unit"]
    lines["dynamodb_writes"] = per_app.get("dynamodb_write", 0) * p["dynamodb_write_request_unit"]
    lines["kms"] = per_app.get("kms", 0) * p["kms_request"]
    lines["s3_put"] = per_app.get("s3_put", 0) * p["s3_put_request"]
    lines["s3_get"] = per_app.get("s3_get", 0) * p["s3_get_request"]
    lines["sqs"] = per_app.get("sqs", 0) * p["sqs_request"]
    total = sum(lines.values())
    return {
        "currency": prices["currency"],
        "region": prices["region"],
        "prices_as_of": prices["as_of"],
        "per_application": {
            k: round(v, 6) for k, v in sorted(lines.items(), key=lambda kv: -kv[1])
        },
        "total": round(total, 6),
        "dominant": max(lines, key=lambda k: lines[k]),
        "counted_per_application": {k: round(v, 2) for k, v in sorted(per_app.items())},
        "lambda_gb_seconds": round(gb_seconds, 3),
    }


def counted_requests(cloud: LocalCloud, uploads: int) -> Counter[str]:
    """AWS requests the functions made (the least-privilege recorder counts each), by what
    they are billed as, the applicants' document uploads (presigned POSTs: S3 PUTs), and
    the state transitions of the origination executions."""
    assert cloud.calls is not None
    out: Counter[str] = Counter({"s3_put": uploads})
    reads = {"GetItem", "Query", "BatchGetItem", "TransactGetItems", "Scan"}
    writes = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}
    for call, n in cloud.calls.counted().items():
        service, operation = call.operation.split(".", 1)
        if service == "dynamodb":
            if operation in reads:
                out["dynamodb_read"] += n
            elif operation in writes:
                out["dynamodb_write"] += n
            elif operation == "TransactWriteItems":
                # A transaction is billed 2 write units per item (its DynamoDB needs; the
                # others are the KMS key of the table's encryption).
                items = sum(need.action.startswith("dynamodb:") for need in call.needs)
                out["dynamodb_write"] += 2 * n * max(1, items)
        elif service == "kms":
            out["kms"] += n
        elif service == "s3":
            out["s3_put" if operation in ("PutObject", "CopyObject") else "s3_get"] += n
        elif service == "sqs":
            out["sqs"] += n
    sfn = cloud.sfn()
    arn = cloud.deployment.state_machines["OriginationStateMachine"]
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        for execution in page["executions"]:
            history = sfn.get_execution_history(
                executionArn=execution["executionArn"], maxResults=1000
            )
            out["state_transitions"] += sum(
                e["type"].endswith("StateEntered") for e in history["events"]
            )
    return out


# -- the chart -----------------------------------------------------------------------------


def chart(runs: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [r["rate_per_minute"] for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label in (("p50", "p50"), ("p95", "p95")):
        left.plot(
            rates, [r["decision_s"][key] for r in runs], marker="o", label=f"decision {label}"
        )
        left.plot(
            rates,
            [r["disbursement_s"][key] for r in runs],
            marker="s",
            linestyle="--",
            label=f"payout {label}",
        )
    left.axhline(3.0, color="grey", linewidth=0.8, linestyle=":", label="goal: decision p95 3 s")
    left.set_yscale("log")  # seconds at low load, minutes past saturation
    left.set_xlabel("arrivals a minute")
    left.set_ylabel("seconds after submission (log)")
    left.set_title("Latency against arrival rate (2 cores)")
    left.legend(fontsize=8)
    right.plot(rates, rates, color="grey", linewidth=0.8, linestyle=":", label="offered")
    right.plot(
        rates, [r["sustained_decisions_per_minute"] for r in runs], marker="o", label="decided"
    )
    right.set_xlabel("arrivals a minute")
    right.set_ylabel("decisions a minute")
    right.set_title("Sustained completion rate")
    right.legend(fontsize=8)
    fig.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="20,40,60,90", help="arrivals a minute, in order")
    parser.add_argument("--seconds", type=float, default=120.0, help="each rate's window")
    parser.add_argument("--no-cold-starts", action="store_true")
    parser.add_argument(
        "--moto-as-is", action="store_true", help="moto unpatched (O(table) per call)"
    )
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    sizes = [max(1, round(r * args.seconds / 60)) for r in rates]
    report: dict[str, Any] = {
        "machine": {"cores": 2, "python": sys.version.split()[0]},
        "poll_seconds": {
            "first": POLL_FIRST_SECONDS,
            "growth": POLL_GROWTH,
            "max": POLL_MAX_SECONDS,
        },
        "window_seconds": args.seconds,
        "moto_as_is": args.moto_as_is,
    }
    with LocalCloud.start(moto_as_is=args.moto_as_is) as cloud:
        print(f"local cloud up; preparing {sum(sizes)} applicants (documents rendered now)")
        stream = tickets(cloud, sum(sizes))
        runs = []
        start = 0
        for rate, size in zip(rates, sizes, strict=True):
            print(f"rate {rate}/min for {args.seconds:.0f} s: {size} applicants", flush=True)
            run = run_rate(cloud, rate, stream[start : start + size])
            start += size
            runs.append(run)
            print(
                f"  decision p50 {run['decision_s']['p50']} s p95 {run['decision_s']['p95']} s; "
                f"payout p95 {run['disbursement_s']['p95']} s; sustained "
                f"{run['sustained_decisions_per_minute']}/min; CPU per application "
                f"{run['cpu_s_per_application']['process_total']} s "
                f"(functions {run['cpu_s_per_application']['functions_total']} s); "
                f"finished {run['finished']} {run['errors'][:1]} {run['not_disbursed'][:3]}",
                flush=True,
            )
        report["rates"] = runs
        uploads = sum(len(t.documents) for t in stream[:start])
        report["cost"] = cost_per_application(
            cloud, runs[0], counted_requests(cloud, uploads), start
        )
        print(f"cost per application: {report['cost']['total']} {report['cost']['currency']}")
        if not args.no_cold_starts:
            report["cold_starts"] = cold_starts(cloud)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    chart(runs)
    print(f"wrote {OUT} and {CHART}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
