"""Scheduled daily at 08:30 China time: the funders' repayment files of yesterday and, on
working days, finance's digest (CSV kept in S3, emailed through SES)."""

from __future__ import annotations

from datetime import date
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger
from lending.servicing.account import business_day


@logger.inject_lambda_context
def morning(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """{"day"?: ISO date (default: today in China)}."""
    day = date.fromisoformat(event["day"]) if event.get("day") else None
    today = day or business_day(wiring.clock().now())
    digest = wiring.finance_reports().morning(today)
    if digest is None:
        logger.info("not a working day: funder files only", extra={"day": str(today)})
        return {"day": today.isoformat(), "digest": False}
    logger.info("finance digest sent", extra={"day": str(today), "npl": digest.tiers.npl_ratio})
    return {"day": today.isoformat(), "digest": True, "npl_ratio": digest.tiers.npl_ratio}
