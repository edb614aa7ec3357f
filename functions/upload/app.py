"""Documents: record each upload (S3 object-created events), and hold the state machine's
wait for a re-upload (.waitForTaskToken) when a document could not be read."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("action") == "await_reupload":
        wiring.steps().await_reupload(event["application_id"], event["task_token"])
        logger.info("re-upload requested", extra={"application_id": event["application_id"]})
        return {"awaiting": event["application_id"]}
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
