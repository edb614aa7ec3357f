"""Step: record an application's terminal outcome (declined, withdrawn, failed) and why."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    result: dict[str, str] = wiring.steps().finalize(
        event["application_id"], event["status"], event["code"], event.get("detail")
    )
    if "incident" in result:
        # A fund request is out unanswered: finance must settle it with the funder.
        metrics.add_metric(name="FundingIncidents", unit=MetricUnit.Count, value=1)
        logger.critical("ALARM: funding incident opened", extra={**event, **result})
    logger.info("finalized", extra={"application_id": event["application_id"], **result})
    return result
