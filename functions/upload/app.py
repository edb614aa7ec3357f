"""Documents: record each upload (S3 object-created events), and RequestReupload: hold
the state machine's wait (.waitForTaskToken) when a document could not be read."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger
from lending.origination.states import WaitInput


@logger.inject_lambda_context
def record_upload(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    service = wiring.application_service()
    recorded = 0
    for record in event.get("Records", []):
        s3 = record["s3"]
        key = unquote_plus(s3["object"]["key"])
        # S3 events carry no content type; the presigned POST held it to JPEG/PNG and the
        # OCR step sniffs the magic bytes before reading.
        service.record_upload(key, int(s3["object"].get("size", 0)), "image/*")
        recorded += 1
    logger.info("documents recorded", extra={"count": recorded})
    return {"recorded": recorded}


@logger.inject_lambda_context
def request_reupload(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = WaitInput.model_validate(event)
    waiting = wiring.reupload_request().request_reupload(step.application_id, step.task_token)
    logger.info("re-upload requested", extra={"application_id": step.application_id})
    return waiting.model_dump()
