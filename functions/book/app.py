"""Book: the loan and its repayment schedule, exactly once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer
from lending.origination.states import StateInput


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def book(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StateInput.model_validate(event)
    booked = wiring.booking().book(step.application_id)
    logger.info("loan booked", extra={"application_id": step.application_id, **booked.model_dump()})
    return booked.model_dump()
