"""Step: book the loan and its repayment schedule, exactly once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    result: dict[str, str] = wiring.steps().book(event["application_id"])
    logger.info("loan booked", extra={"application_id": event["application_id"], **result})
    return result
