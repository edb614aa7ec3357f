"""Step (.waitForTaskToken): put a case in the manual-review queue, or escalate it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    escalated = event.get("action") == "escalate_review"
    wiring.steps().queue_review(event["application_id"], event["task_token"], escalated)
    logger.info(
        "queued for review",
        extra={"application_id": event["application_id"], "escalated": escalated},
    )
    return {"queued": event["application_id"]}
