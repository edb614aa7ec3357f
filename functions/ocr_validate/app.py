"""Step: read the documents (PP-OCR) and verify them against what the applicant declared."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result: dict[str, Any] = wiring.steps().validate_documents(event["application_id"])
    logger.info("documents checked", extra={"application_id": event["application_id"], **result})
    return result
