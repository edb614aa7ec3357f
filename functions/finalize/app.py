"""Step: record an application's terminal outcome (declined, withdrawn, failed) and why."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    result: dict[str, str] = wiring.steps().finalize(
        event["application_id"], event["status"], event["code"], event.get("detail")
    )
    logger.info("finalized", extra={"application_id": event["application_id"], **result})
    return result
