"""QueueForReview and EscalateReview (.waitForTaskToken): hold a case for a reviewer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger
from lending.origination.states import WaitInput


@logger.inject_lambda_context
def queue_for_review(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = WaitInput.model_validate(event)
    waiting = wiring.review_queue().queue_for_review(step.application_id, step.task_token)
    logger.info("queued for review", extra={"application_id": step.application_id})
    return waiting.model_dump()


@logger.inject_lambda_context
def escalate_review(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = WaitInput.model_validate(event)
    waiting = wiring.review_queue().escalate_review(step.application_id, step.task_token)
    logger.info("review escalated", extra={"application_id": step.application_id})
    return waiting.model_dump()
