"""ValidateDocuments: read the documents (PP-OCR) and verify them against what the
applicant declared."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer
from lending.origination.states import StateInput


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def validate_documents(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StateInput.model_validate(event)
    checked = wiring.document_check().validate_documents(step.application_id)
    logger.info(
        "documents checked", extra={"application_id": step.application_id, **checked.model_dump()}
    )
    return checked.model_dump()
