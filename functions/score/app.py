"""Step: anti-fraud rules, admission / credit line / pricing models, and the decision."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result: dict[str, Any] = wiring.steps().score(event["application_id"], event["sources"])
    logger.info("scored", extra={"application_id": event["application_id"], **result})
    return result
