"""The terminal states (Decline*, OfferRefused, OfferExpired, ReuploadExpired, NoFunding,
FundingUnconfirmed, RecordTechnicalFailure): record the outcome and why."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, metrics
from lending.origination.states import FinalizeInput


@logger.inject_lambda_context
def finalize(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = FinalizeInput.model_validate(event)
    done = wiring.finalization().finalize(step.application_id, step.status, step.code, step.detail)
    if done.incident is not None:
        # A fund request is out unanswered: finance must settle it with the funder.
        metrics.add_metric(name="FundingIncidents", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()  # here only: most outcomes publish no metric
        logger.critical(
            "ALARM: funding incident opened",
            extra={**step.model_dump(exclude={"detail"}), "incident": done.incident},
        )
    logger.info("finalized", extra={"application_id": step.application_id, **done.model_dump()})
    return done.model_dump()
