"""Step: make the offer (.waitForTaskToken), then render, sign and store the contract."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    steps = wiring.steps()
    application_id = event["application_id"]
    if event.get("action") == "offer":
        steps.offer(application_id, event["task_token"])
        logger.info("offer made", extra={"application_id": application_id})
        return {"offered": application_id}
    result: dict[str, str] = steps.sign(application_id)
    logger.info("contract signed", extra={"application_id": application_id})
    return result
