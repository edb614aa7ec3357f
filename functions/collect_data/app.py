"""CreditBureau, BusinessRegistry, TaxBureau, JudicialRecords: one data source per call."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer
from lending.origination.states import CollectInput


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def collect_data(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = CollectInput.model_validate(event)
    collected = wiring.data_collection().collect(step.application_id, step.source)
    logger.info(
        "source collected", extra={"application_id": step.application_id, **collected.model_dump()}
    )
    return collected.model_dump()
