"""The contracts with the outside, generated from the models the code uses.

* the mini-program API as OpenAPI 3.1 (`GET /v1/openapi.json`);
* the fund-request / confirmation messages as JSON Schemas (copies with samples
  live under tests/contracts/, and a test keeps them equal to these).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from lending.api.schemas import (
    Classification,
    CreateApplicationRequest,
    ErrorReply,
    LoginReply,
    LoginRequest,
    OfferAnswer,
    RepaymentRequest,
    ReviewDecision,
    UploadReply,
    UploadRequest,
)
from lending.funding.model import Confirmation, FundRequestBody
from lending.servicing.repayments import ChannelCallback

REF = "#/components/schemas/"

# (method, path, summary, request model, reply model, success status)
ROUTES: tuple[tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None, int], ...] = (
    ("get", "/v1/products", "Products with full disclosure", None, None, 200),
    (
        "get",
        "/v1/products/{product_id}/disclosure",
        "Cost disclosure for a request",
        None,
        None,
        200,
    ),
    ("post", "/v1/sessions", "Sign in (sandbox: any code)", LoginRequest, LoginReply, 201),
    ("post", "/v1/applications", "Create an application", CreateApplicationRequest, None, 201),
    ("get", "/v1/applications", "My applications, newest first", None, None, 200),
    ("get", "/v1/applications/{application_id}", "Status, progress and history", None, None, 200),
    (
        "post",
        "/v1/applications/{application_id}/documents",
        "Presigned upload of a document",
        UploadRequest,
        UploadReply,
        201,
    ),
    ("post", "/v1/applications/{application_id}/submit", "Submit (idempotent)", None, None, 202),
    (
        "post",
        "/v1/applications/{application_id}/offer",
        "Accept and sign, or refuse",
        OfferAnswer,
        None,
        202,
    ),
    (
        "get",
        "/v1/applications/{application_id}/contract",
        "The signed contract record",
        None,
        None,
        200,
    ),
    (
        "get",
        "/v1/applications/{application_id}/contract/preview",
        "The offer's unsigned contract, to read before accepting",
        None,
        None,
        200,
    ),
    (
        "get",
        "/v1/applications/{application_id}/contract/pdf",
        "A short-lived download link of the signed contract PDF",
        None,
        None,
        200,
    ),
    ("get", "/v1/messages", "My reminders, newest first", None, None, 200),
    ("get", "/v1/loans", "My loans, with what is due and outstanding", None, None, 200),
    ("get", "/v1/loans/{loan_id}", "A loan: its schedule and its statement", None, None, 200),
    (
        "post",
        "/v1/loans/{loan_id}/repayments",
        "Repay an amount, or settle in full (borrowers)",
        RepaymentRequest,
        None,
        202,
    ),
    (
        "get",
        "/v1/loans/{loan_id}/repayments/{order_id}",
        "A repayment order and its outcome",
        None,
        None,
        200,
    ),
    (
        "post",
        "/v1/loans/{loan_id}/classification",
        "Finance classifies a loan worse than its floor (五级分类)",
        Classification,
        None,
        200,
    ),
    ("get", "/v1/finance/digests", "The days with a digest (from, to)", None, None, 200),
    ("get", "/v1/finance/digests/{day}", "Finance's digest of a working morning", None, None, 200),
    ("get", "/v1/finance/funders", "Funder positions (finance)", None, None, 200),
    ("get", "/v1/finance/due", "Instalments falling due, by day (from, to)", None, None, 200),
    ("get", "/v1/finance/overdue", "Overdue loans by bucket (finance)", None, None, 200),
    (
        "get",
        "/v1/finance/portfolio",
        "Last night's five-tier mix, buckets and NPL ratio",
        None,
        None,
        200,
    ),
    (
        "get",
        "/v1/finance/funders/{funder_id}/settlements",
        "Days with a funder's repayment file (from, to)",
        None,
        None,
        200,
    ),
    (
        "get",
        "/v1/finance/funders/{funder_id}/settlements/{day}",
        "A short-lived download link of a funder's repayment file",
        None,
        None,
        200,
    ),
    (
        "get",
        "/v1/audit/personal-data-views",
        "Staff views of personal data on a day (admins)",
        None,
        None,
        200,
    ),
    (
        "post",
        "/v1/payments/callbacks",
        "The payment channel's signed answer (X-Channel-Signature)",
        ChannelCallback,
        None,
        202,
    ),
    ("get", "/v1/keys/signing", "Our public signing key", None, None, 200),
    ("get", "/v1/reviews", "Manual-review queue (reviewers)", None, None, 200),
    (
        "get",
        "/v1/reviews/{application_id}",
        "A case: masked fields, document images, OCR findings, scores (reviewers; audited)",
        None,
        None,
        200,
    ),
    (
        "post",
        "/v1/reviews/{application_id}",
        "Decide a review (reviewers)",
        ReviewDecision,
        None,
        202,
    ),
    (
        "post",
        "/v1/funders/{funder_id}/confirmations",
        "A bank confirms a payout (banks)",
        Confirmation,
        None,
        202,
    ),
)


# Optional request headers, by operation.
HEADERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("post", "/v1/applications"): [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Repeat a create safely: the same key (per caller, 24 h) returns "
            "the application already created; the same key with another body is a 409.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128},
        }
    ]
}


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template=REF + "{model}")
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": REF + model.__name__}


def openapi() -> dict[str, Any]:
    components: dict[str, Any] = {}
    error = _schema(ErrorReply, components)
    paths: dict[str, Any] = {}
    for method, path, summary, request, reply, status in ROUTES:
        operation: dict[str, Any] = {"summary": summary, "responses": {}}
        params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        parameters = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ] + HEADERS.get((method, path), [])
        if parameters:
            operation["parameters"] = parameters
        if request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(request, components)}},
            }
        ok: dict[str, Any] = {"description": "OK"}
        if reply is not None:
            ok["content"] = {"application/json": {"schema": _schema(reply, components)}}
        operation["responses"][str(status)] = ok
        for code, text in (
            ("400", "bad input"),
            ("401", "not signed in"),
            ("403", "forbidden"),
            ("404", "not found"),
            ("409", "conflict"),
            ("422", "invalid body"),
        ):
            operation["responses"][code] = {
                "description": text,
                "content": {"application/json": {"schema": error}},
            }
        if not path.startswith(("/v1/products", "/v1/sessions", "/v1/keys", "/v1/payments")):
            operation["security"] = [{"session": []}]
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lending mini-program API", "version": "1.0.0"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"session": {"type": "http", "scheme": "bearer"}},
        },
    }


def message_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of the messages exchanged with funders, by file name."""
    return {
        "fund-request.v1.schema.json": FundRequestBody.model_json_schema(by_alias=True),
        "fund-confirmation.v1.schema.json": Confirmation.model_json_schema(),
    }
