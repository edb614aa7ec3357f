"""The servicing jobs' states (see infra/statemachines/servicing.py): Plan, ServicePage
and Close, for the night's job and the morning's reminders (each its own function)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, metrics
from lending.servicing.account import business_day
from lending.servicing.nightly import SHARDS, Job, ShardTask, night_report, plan


@logger.inject_lambda_context
def plan_servicing(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """{"job": "night" | "reminders", "day"?: ISO date (default: today in China)}."""
    job = Job(event.get("job", "night"))
    day = date.fromisoformat(event["day"]) if event.get("day") else None
    day = day or business_day(wiring.clock().now())
    last = wiring.nights().last() if job is Job.NIGHT else None
    shards = plan(job, day, last)
    logger.info(
        "servicing planned", extra={"job": job.value, "day": str(day), "shards": len(shards)}
    )
    return {
        "job": job.value,
        "day": day.isoformat(),
        "shards": [s.model_dump(mode="json") for s in shards],
    }


@logger.inject_lambda_context
def service_night_page(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ShardTask.model_validate(event["task"])
    servicing = wiring.servicing()
    result = wiring.page_runner().run(task, lambda loan_id: servicing.night(loan_id, task.day))
    return result.model_dump(mode="json")


@logger.inject_lambda_context
def send_reminders_page(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ShardTask.model_validate(event["task"])
    reminding = wiring.reminding()
    result = wiring.page_runner().run(task, lambda loan_id: reminding.remind(loan_id, task.day))
    return result.model_dump(mode="json")


@metrics.log_metrics
@logger.inject_lambda_context
def close_night(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The portfolio after the night: buckets, tiers, NPL ratio (a metric with an alarm)."""
    day = date.fromisoformat(event["day"])
    index, nights = wiring.work_index(), wiring.nights()
    watched = [state for shard in range(SHARDS) for state in index.watched(shard)]
    funders = wiring.funders()
    lent = [funders.get(funder_id) for funder_id in json.loads(wiring.config().funder_queues)]
    report = night_report(day, watched, sum(f.lent_fen for f in lent if f is not None))
    nights.close(report)
    metrics.add_metric(name="NplRatio", unit=MetricUnit.NoUnit, value=float(report.npl_ratio))
    metrics.add_metric(name="WatchedLoans", unit=MetricUnit.Count, value=report.watched_loans)
    metrics.add_metric(name="NightLoansServiced", unit=MetricUnit.Count, value=serviced(event))
    logger.info("night closed", extra={"day": str(day), "npl_ratio": str(report.npl_ratio)})
    return report.model_dump(mode="json")


@metrics.log_metrics
@logger.inject_lambda_context
def close_reminders(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    day = date.fromisoformat(event["day"])
    loans = serviced(event)
    metrics.add_metric(name="ReminderLoansChecked", unit=MetricUnit.Count, value=loans)
    logger.info("reminders done", extra={"day": str(day), "loans": loans})
    return {"job": "reminders", "day": day.isoformat(), "loans": loans}


def serviced(event: dict[str, Any]) -> int:
    """Loans the job's pages went through (its checkpoints say)."""
    checkpoints = wiring.checkpoints()
    return sum(checkpoints.get(ShardTask.model_validate(t)).loans for t in event["shards"])
