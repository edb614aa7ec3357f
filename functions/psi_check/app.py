"""Scheduled (every 7 days): population stability (PSI) of the admission champion.

Compares the score (PD deciles) and feature-bin distributions of the last 7 days' decisions
with the champion's development sample, emits the PSIs as CloudWatch metrics (Powertools
EMF; the ScorePsiAlarm of template.yaml fires above 0.25) and logs an ALARM-level record
when the score PSI is above the threshold.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = wiring.model_monitor().check()
    body = report.to_json()
    metrics.add_metric(name="PsiDecisionsChecked", unit=MetricUnit.Count, value=report.n_decisions)
    if report.score_psi is not None:
        metrics.add_metric(name="ScorePSI", unit=MetricUnit.NoUnit, value=report.score_psi)
    if report.max_feature_psi is not None:
        metrics.add_metric(
            name="MaxFeaturePSI", unit=MetricUnit.NoUnit, value=report.max_feature_psi
        )
    if report.alarm:
        logger.critical("ALARM: admission score PSI above threshold", extra=body)
    elif body["status"] == "watch":
        logger.warning("admission population drifting", extra=body)
    else:
        logger.info("admission population stability", extra=body)
    return body
