"""Scheduled (every 90 days) and on demand: retrain the admission models.

Retrains when the champion is older than LENDING_RETRAIN_MAX_AGE_DAYS (90) or the event says
``{"force": true}``; new versions enter the registry as challengers and the promotion gate
decides whether the new scorecard becomes champion (lending.modelling.retrain). A container
image (Dockerfile here): training needs scikit-learn, which the serving layer never ships.
Event (all optional): {"force": bool, "family": "admission-german", "dataset": "german"}.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    family = str(event.get("family") or wiring.config().admission_family)
    dataset = event.get("dataset")
    outcome = wiring.retrainer().run(
        family, force=event.get("force") is True, dataset=None if dataset is None else str(dataset)
    )
    body = outcome.to_json()
    logger.info("retraining", extra=body)
    return body
