"""The origination state machine, written once.

`python -m infra.statemachines.origination` writes `origination.asl.json`, the file
template.yaml deploys (ASL has no way to share a Retry block between states, so it is
written here once and repeated in the JSON); a unit test keeps the two equal. Each Task
names the function of its state (`${<Function>Arn}`, substituted at deploy), whose
handler has the state's name in snake case.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ASL = Path(__file__).with_name("origination.asl.json")
State = dict[str, Any]

# Retried by every Lambda task: the Lambda service's own transient errors, and Conflict
# (an optimistic write lost to a concurrent one: the step reads again and decides again).
# The Lambda service's own transient errors (every task of every state machine).
LAMBDA_RETRY: State = {
    "ErrorEquals": [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ],
    "IntervalSeconds": 1,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
    "JitterStrategy": "FULL",
}
RETRY: list[State] = [
    LAMBDA_RETRY,
    {"ErrorEquals": ["Conflict"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0},
]
# A data source that is down is asked twice more before its branch records it unavailable.
SOURCE_RETRY: list[State] = [
    {
        "ErrorEquals": [
            "SourceUnavailable",
            "Lambda.ServiceException",
            "Lambda.TooManyRequestsException",
        ],
        "IntervalSeconds": 1,
        "MaxAttempts": 2,
        "BackoffRate": 2.0,
    }
]
SOURCES = {
    "CreditBureau": "credit_bureau",
    "BusinessRegistry": "business_registry",
    "TaxBureau": "tax_bureau",
    "JudicialRecords": "judicial_records",
}


def catch(error: str, next_state: str) -> State:
    return {"ErrorEquals": [error], "ResultPath": "$.error", "Next": next_state}


TECHNICAL = catch("States.ALL", "RecordTechnicalFailure")


def task(
    function: str,
    payload: dict[str, Any],
    *,
    result_path: str | None,
    next_state: str,
    catches: list[State] | None = None,
    waits: bool = False,
    timeout_path: str | None = None,
    comment: str | None = None,
) -> State:
    """A Lambda task; `waits`: it holds a task token until a person or a bank answers,
    for at most the seconds at `timeout_path` in the execution input."""
    state: State = {"Type": "Task"}
    if comment:
        state["Comment"] = comment
    state["Resource"] = "arn:aws:states:::lambda:invoke" + (".waitForTaskToken" if waits else "")
    body = {"application_id.$": "$.application_id", **payload}
    if waits:
        body["task_token.$"] = "$$.Task.Token"
    state["Parameters"] = {"FunctionName": f"${{{function}Arn}}", "Payload": body}
    if not waits:
        state["ResultSelector"] = {"result.$": "$.Payload"}
    state["ResultPath"] = result_path
    state["Retry"] = RETRY
    if catches:
        state["Catch"] = catches
    state["Next"] = next_state
    if timeout_path:
        state["TimeoutSecondsPath"] = timeout_path
    return state


def finalize(status: str, code: str, next_state: str, *, detail: bool = False) -> State:
    """A terminal outcome recorded by the Finalize function (`detail`: the error name)."""
    payload: dict[str, Any] = {"status": status, "code": code}
    if detail:
        payload["detail.$"] = "$.error.Error"
    return task("FinalizeFunction", payload, result_path="$.last", next_state=next_state)


def source_branch(state: str, source: str) -> State:
    unavailable = f"{state}Unavailable"
    return {
        "StartAt": state,
        "States": {
            state: {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": "${CollectDataFunctionArn}",
                    "Payload": {"application_id.$": "$.application_id", "source": source},
                },
                "ResultSelector": {"source.$": "$.Payload.source", "status.$": "$.Payload.status"},
                "Retry": SOURCE_RETRY,
                "Catch": [catch("States.ALL", unavailable)],
                "End": True,
            },
            unavailable: {
                "Type": "Pass",
                "Parameters": {"source": source, "status": "unavailable"},
                "End": True,
            },
        },
    }


def equals(variable: str, value: str | bool, next_state: str | None = None) -> State:
    rule: State = {"Variable": variable}
    rule["BooleanEquals" if isinstance(value, bool) else "StringEquals"] = value
    if next_state:
        rule["Next"] = next_state
    return rule


def definition() -> State:
    states: dict[str, State] = {
        "ValidateDocuments": task(
            "OcrValidateFunction",
            {},
            result_path="$.ocr",
            next_state="DocumentsVerified?",
            catches=[TECHNICAL],
        ),
        "DocumentsVerified?": {
            "Type": "Choice",
            "Choices": [
                equals("$.ocr.result.outcome", "verified", "CollectData"),
                equals("$.ocr.result.outcome", "mismatch", "DeclineDocuments"),
                {
                    "And": [
                        equals("$.ocr.result.outcome", "unreadable"),
                        equals("$.ocr.result.reupload_allowed", True),
                    ],
                    "Next": "RequestReupload",
                },
            ],
            "Default": "QueueForReview",
        },
        "DeclineDocuments": finalize("declined", "documents", "Declined"),
        "RequestReupload": task(
            "RequestReuploadFunction",
            {},
            result_path="$.reupload",
            next_state="ValidateDocuments",
            catches=[catch("States.Timeout", "ReuploadExpired"), TECHNICAL],
            waits=True,
            timeout_path="$.timeouts.reupload",
            comment="An unreadable document: ask for it again (bounded) and wait for the resubmit.",
        ),
        "ReuploadExpired": finalize("withdrawn", "documents_not_resubmitted", "Withdrawn"),
        "CollectData": {
            "Type": "Parallel",
            "Branches": [source_branch(state, source) for state, source in SOURCES.items()],
            "ResultPath": "$.sources",
            "Next": "Score",
            "Catch": [TECHNICAL],
        },
        "Score": task(
            "ScoreFunction",
            {"sources.$": "$.sources"},
            result_path="$.score",
            next_state="Decision?",
            catches=[TECHNICAL],
        ),
        "Decision?": {
            "Type": "Choice",
            "Choices": [
                equals("$.score.result.decision", "approve", "Offer"),
                equals("$.score.result.decision", "decline", "DeclineScore"),
            ],
            "Default": "QueueForReview",
        },
        "DeclineScore": finalize("declined", "score", "Declined"),
        "QueueForReview": task(
            "QueueForReviewFunction",
            {},
            result_path="$.review",
            next_state="ReviewDecision?",
            catches=[catch("States.Timeout", "EscalateReview"), TECHNICAL],
            waits=True,
            timeout_path="$.timeouts.review",
        ),
        # Without a timeout of its own: the senior queue decides, however long it takes.
        "EscalateReview": task(
            "EscalateReviewFunction",
            {},
            result_path="$.review",
            next_state="ReviewDecision?",
            catches=[TECHNICAL],
            waits=True,
        ),
        "ReviewDecision?": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        equals("$.review.decision", "approve"),
                        equals("$.review.stage", "documents"),
                    ],
                    "Next": "CollectData",
                },
                equals("$.review.decision", "approve", "Offer"),
            ],
            "Default": "DeclineReview",
        },
        "DeclineReview": finalize("declined", "review", "Declined"),
        "Offer": task(
            "OfferFunction",
            {},
            result_path="$.offer",
            next_state="OfferAccepted?",
            catches=[catch("States.Timeout", "OfferExpired"), TECHNICAL],
            waits=True,
            timeout_path="$.timeouts.offer",
        ),
        "OfferAccepted?": {
            "Type": "Choice",
            "Choices": [equals("$.offer.accepted", True, "SignContract")],
            "Default": "OfferRefused",
        },
        "OfferRefused": finalize("withdrawn", "offer_refused", "Withdrawn"),
        "OfferExpired": finalize("withdrawn", "offer_expired", "Withdrawn"),
        "SignContract": task(
            "SignContractFunction",
            {},
            result_path="$.contract",
            next_state="Disburse",
            catches=[TECHNICAL],
        ),
        "Disburse": task(
            "DisburseFunction",
            {},
            result_path="$.funding",
            next_state="Book",
            catches=[
                catch("NoFunderAvailable", "NoFunding"),
                catch("FundingRejected", "AskNextFunder"),
                catch("States.Timeout", "EnquireOfFunder"),
                catch("FundingUnconfirmed", "FundingUnconfirmed"),
                TECHNICAL,
            ],
            waits=True,
            timeout_path="$.timeouts.funding",
        ),
        # moto's interpreter does not follow a Catch to its own state: loop through a Pass.
        "AskNextFunder": {
            "Type": "Pass",
            "Comment": "A funder refused: Disburse releases its quota and asks the next one "
            "(each funder once; none left raises NoFunderAvailable).",
            "Next": "Disburse",
        },
        "EnquireOfFunder": {
            "Type": "Pass",
            "Comment": "The funder did not answer in time; it may still pay, so Disburse asks "
            "it again (same request, paid once by id), never another funder; after "
            "MAX_FUNDING_ENQUIRIES it raises FundingUnconfirmed.",
            "Next": "Disburse",
        },
        "NoFunding": finalize("declined", "funding", "Declined", detail=True),
        "FundingUnconfirmed": {
            **finalize("failed", "funding_unconfirmed", "TechnicalFailure", detail=True),
            "Comment": "Nobody knows whether the money left: fail with the quota kept and an "
            "incident open; a late answer books the loan or gives the quota back.",
        },
        "Book": task(
            "BookFunction", {}, result_path="$.loan", next_state="Disbursed", catches=[TECHNICAL]
        ),
        "Disbursed": {"Type": "Succeed"},
        "Declined": {"Type": "Succeed"},
        "Withdrawn": {"Type": "Succeed"},
        "RecordTechnicalFailure": {
            **finalize("failed", "technical", "TechnicalFailure", detail=True),
            "ResultPath": None,
            # Recording the failure is the last resort: retried harder, never caught.
            "Retry": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "IntervalSeconds": 1,
                    "MaxAttempts": 5,
                    "BackoffRate": 2.0,
                }
            ],
        },
        "TechnicalFailure": {
            "Type": "Fail",
            "Error": "TechnicalFailure",
            "Cause": "A step failed after its retries; the application is marked failed.",
        },
    }
    return {
        "Comment": "Loan origination: documents, data, scoring, approval, e-signature, "
        "disbursement, booking.",
        "StartAt": "ValidateDocuments",
        "States": states,
    }


def render() -> str:
    return json.dumps(definition(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    ASL.write_text(render())
    print(f"wrote {ASL}")
