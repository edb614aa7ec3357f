"""Step (.waitForTaskToken): match a funder and post the signed fund request to its queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    wiring.steps().disburse(event["application_id"], event["task_token"])
    logger.info("fund requested", extra={"application_id": event["application_id"]})
    return {"requested": event["application_id"]}
