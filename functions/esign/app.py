"""Offer (.waitForTaskToken: the applicant answers) and SignContract: render, hash, sign
(KMS) and store the contract."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lending.aws import wiring
from lending.aws.observability import logger, tracer
from lending.origination.states import StateInput, WaitInput


@logger.inject_lambda_context
def offer(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = WaitInput.model_validate(event)
    waiting = wiring.offer_step().offer(step.application_id, step.task_token)
    logger.info("offer made", extra={"application_id": step.application_id})
    return waiting.model_dump()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def sign_contract(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = StateInput.model_validate(event)
    signed = wiring.contract_signing().sign_contract(step.application_id)
    logger.info("contract signed", extra={"application_id": step.application_id})
    return signed.model_dump()
