"""Scheduled (every 15 minutes): escalate manual reviews that waited too long."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    wait = timedelta(seconds=wiring.config().review_escalation_seconds)
    escalated = wiring.application_service().escalate_overdue_reviews(wait)
    logger.info("reviews escalated", extra={"count": len(escalated)})
    return {"escalated": len(escalated)}
