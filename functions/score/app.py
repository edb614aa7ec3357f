"""Score: anti-fraud rules, admission / credit line / pricing models, and the decision."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer
from lending.origination.states import ScoreInput


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def score(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = ScoreInput.model_validate(event)
    scored = wiring.scoring().score(step.application_id, step.sources)
    logger.info("scored", extra={"application_id": step.application_id, **scored.model_dump()})
    return scored.model_dump()
