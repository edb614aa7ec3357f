"""Disburse (.waitForTaskToken): reserve a funder's quota and post a signed fund request;
the bank's confirmation resumes the wait."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer
from lending.origination.states import WaitInput


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def disburse(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = WaitInput.model_validate(event)
    waiting = wiring.disbursement().disburse(step.application_id, step.task_token)
    logger.info("fund requested", extra={"application_id": step.application_id})
    return waiting.model_dump()
