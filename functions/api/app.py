"""The mini-program / H5 REST API (Chalice), with the reviewer and bank endpoints.

Routes are thin: authenticate, validate with the pydantic models of
`lending.api.schemas`, call one service, shape the reply. Every error is JSON
`{code, message}` with a 4xx status; an unexpected failure is a 500 without detail.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Chalice, Request, Response
from pydantic import BaseModel, ValidationError

from lending import borrowers
from lending.api.openapi import openapi
from lending.api.proxy import (
    allowed_origins,
    cors_headers,
    json_reply,
    preflight_reply,
    request_origin,
    route_event,
)
from lending.api.schemas import (
    Classification,
    CreateApplicationRequest,
    LoginRequest,
    OfferAnswer,
    RepaymentRequest,
    ReviewDecision,
    UploadRequest,
)
from lending.applications.casefile import check_application_id
from lending.auth import Principal, Role, require, sandbox_subject
from lending.aws import wiring
from lending.aws.observability import logger, metrics
from lending.errors import (
    DomainError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)
from lending.finance.products import ProductError, disclose, get_product, list_products
from lending.finance_desk import check_funder_id, window
from lending.funding.model import Confirmation
from lending.servicing.account import business_day
from lending.servicing.delinquency import Tier
from lending.servicing.repayments import ChannelCallback, verify_callback

app = Chalice(app_name="lending-api")
MAX_BODY_BYTES = 64 * 1024
# The roles the sandbox login offers (README: "Sandbox sessions"); never admin.
SANDBOX_ROLES = frozenset({Role.APPLICANT, Role.REVIEWER, Role.FINANCE, Role.BANK})
M = TypeVar("M", bound=BaseModel)


def _error(status: int, code: str, message: str) -> Response:
    return Response(body={"code": code, "message": message}, status_code=status)


# Errors Chalice answers itself, before any route runs, in its {Code, Message} shape.
_CHALICE_CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequest": "bad_request",
    "InternalServerError": "internal",
}


# Every reply may carry personal data: never cached, never content-sniffed.
SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@app.middleware("http")
def one_error_shape(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Every error a client sees is {code, message}, Chalice's own ones included."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = _CHALICE_CODES.get(str(body["Code"]), "http_error")
        response.body = {"code": code, "message": str(body["Message"])}
    response.headers.update(SECURITY_HEADERS)
    return response


def endpoint(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map domain errors to their HTTP status, once, for every route."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            return Response(
                body={**exc.details, "code": exc.code, "message": exc.message},
                status_code=exc.http_status,
            )
        except ProductError as exc:
            return _error(400, exc.code, str(exc))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in exc.errors(include_input=False)
            )
            return _error(422, "validation_error", problems)
        except Exception:
            logger.exception("unhandled error")  # the exception text may hold no PII
            return _error(500, "internal", "something went wrong; nothing was changed twice")

    return wrapped


def current() -> Request:
    request = app.current_request
    if request is None:  # only outside a request, which routes never are
        raise RuntimeError("no current request")
    return request


def body(model: type[M]) -> M:
    raw = current().raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request bodies are at most {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw or b"{}")
    # ValueError: malformed JSON, bad UTF-8, or an integer past Python's 4,300-digit limit;
    # RecursionError: arrays or objects nested thousands deep.
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest("the body is not valid JSON", "invalid_json") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object", "invalid_json")
    return model.model_validate(data)


def idempotency_key() -> str | None:
    """The optional `Idempotency-Key` header: 1-128 printable ASCII characters."""
    key = current().headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 128 or not all(" " < c <= "~" for c in key):
        raise InvalidRequest(
            "Idempotency-Key is 1 to 128 printable ASCII characters", "invalid_idempotency_key"
        )
    return str(key)


def principal() -> Principal:
    header = str(current().headers.get("authorization") or "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("sign in first: Authorization: Bearer <token>")
    return wiring.sessions().verify(token.strip(), wiring.clock().now())


def query(name: str) -> str | None:
    params = current().query_params
    value = params.get(name) if params is not None else None
    return str(value) if value is not None else None


def int_query(name: str, default: int) -> int:
    raw = query(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidRequest(f"{name} must be an integer", "invalid_query") from exc


def day_query(name: str) -> date | None:
    raw = query(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidRequest(f"{name} is an ISO date, e.g. 2026-12-01", "invalid_query") from exc


def path_day(day: str) -> date:
    try:
        return date.fromisoformat(day)
    except ValueError as exc:
        raise InvalidRequest("the day is an ISO date, e.g. 2026-12-01", "invalid_day") from exc


def today() -> date:
    return business_day(wiring.clock().now())


# -- products -----------------------------------------------------------------------------


@app.route("/v1/products", methods=["GET"])
@endpoint
def products() -> dict[str, Any]:
    items = []
    for p in list_products():
        example = disclose(
            p.id,
            p.min_amount_fen * 10
            if p.min_amount_fen * 10 <= p.max_amount_fen
            else p.min_amount_fen,
            p.terms_months[-1],
            p.repayment_methods[0],
            p.max_annual_rate,
        )
        items.append(
            {
                **p.model_dump(mode="json"),
                "representative_example": example.model_dump(mode="json"),
            }
        )
    return {"products": items}


@app.route("/v1/products/{product_id}/disclosure", methods=["GET"])
@endpoint
def disclosure(product_id: str) -> dict[str, Any]:
    product = get_product(product_id)
    rate_text = query("annual_rate")
    try:
        rate = Decimal(rate_text) if rate_text else product.max_annual_rate
    except ArithmeticError as exc:
        raise InvalidRequest("annual_rate must be a decimal like 0.0899", "invalid_query") from exc
    d = disclose(
        product.id,
        int_query("amount_fen", product.min_amount_fen),
        int_query("term_months", product.terms_months[0]),
        query("repayment_method") or product.repayment_methods[0].value,
        rate,
    )
    return d.model_dump(mode="json")


# -- sessions ---------------------------------------------------------------------------


@app.route("/v1/sessions", methods=["POST"])
@endpoint
def login() -> Response:
    request = body(LoginRequest)
    settings = wiring.config()
    if not settings.sandbox:
        # Production exchanges the wx.login code with WeChat (code2session); staff and
        # banks sign in through the company IdP, not this endpoint.
        raise Forbidden("the sandbox login is disabled here", "sandbox_only")
    if request.role not in SANDBOX_ROLES:
        # Admin rights never come from a code anyone can type.
        raise Forbidden("the sandbox login does not issue this role", "role_not_offered")
    if request.role is Role.BANK:
        if not request.funder_id:
            raise InvalidRequest("a bank session names its funder_id", "funder_required")
        if wiring.funders().get(request.funder_id) is None:
            raise Forbidden("no such funder", "unknown_funder")
    subject = sandbox_subject(f"{request.role.value}:{request.code}")
    funder_id = request.funder_id if request.role is Role.BANK else None
    issuer = wiring.sessions()
    token = issuer.issue(subject, request.role, wiring.clock().now(), funder_id)
    return Response(
        body={
            "token": token,
            "role": request.role.value,
            "subject": subject,
            "expires_in": issuer.lifetime_seconds,
        },
        status_code=201,
    )


# -- applications -------------------------------------------------------------------------


@app.route("/v1/applications", methods=["POST"])
@endpoint
def create_application() -> Response:
    who = principal()
    request = body(CreateApplicationRequest)

    def create() -> dict[str, Any]:
        created = wiring.application_service().create(
            who,
            product_id=request.product_id,
            amount_fen=request.amount_fen,
            term_months=request.term_months,
            repayment_method=request.repayment_method,
            purpose=request.purpose,
            applicant=request.applicant,
        )
        return created.public_view()

    key = idempotency_key()
    if key is None:
        return Response(body=create(), status_code=201)
    # Only a hash of the request is kept, to tell a repeat from a reuse of the key.
    reply = wiring.idempotent_creates().once(
        who.subject, key, request.model_dump(mode="json"), create, app.lambda_context
    )
    return Response(body=reply, status_code=201)


@app.route("/v1/applications", methods=["GET"])
@endpoint
def my_applications() -> dict[str, Any]:
    apps = wiring.application_service().list_mine(principal())
    return {"applications": [a.public_view() for a in apps]}


@app.route("/v1/applications/{application_id}", methods=["GET"])
@endpoint
def application_status(application_id: str) -> dict[str, Any]:
    view: dict[str, Any] = wiring.application_service().status_view(principal(), application_id)
    return view


@app.route("/v1/applications/{application_id}/documents", methods=["POST"])
@endpoint
def upload_url(application_id: str) -> Response:
    who = principal()
    request = body(UploadRequest)
    upload = wiring.application_service().upload_url(
        who, application_id, request.kind, request.content_type, request.size
    )
    return Response(body=upload, status_code=201)


@app.route("/v1/applications/{application_id}/submit", methods=["POST"])
@endpoint
def submit(application_id: str) -> Response:
    submitted = wiring.application_service().submit(principal(), application_id)
    return Response(body=submitted.public_view(), status_code=202)


@app.route("/v1/applications/{application_id}/offer", methods=["POST"])
@endpoint
def answer_offer(application_id: str) -> Response:
    who = principal()
    request = body(OfferAnswer)
    if request.accept and not request.contract_read:
        raise InvalidRequest("confirm that you have read the contract", "contract_not_read")
    answered = wiring.application_service().answer_offer(who, application_id, request.accept)
    return Response(body=answered.public_view(), status_code=202)


@app.route("/v1/applications/{application_id}/contract", methods=["GET"])
@endpoint
def contract(application_id: str) -> dict[str, Any]:
    found = wiring.application_service().get_for(principal(), application_id)
    if found.contract is None:
        raise NotFound("no signed contract yet")
    return {
        **found.contract.model_dump(mode="json"),
        "public_key_pem": wiring.signer().public_key_pem().decode(),
    }


@app.route("/v1/applications/{application_id}/contract/preview", methods=["GET"])
@endpoint
def contract_preview(application_id: str) -> dict[str, Any]:
    """The offer's contract to read before accepting (its applicant only)."""
    check_application_id(application_id)
    preview: dict[str, Any] = wiring.borrower_contracts().preview(principal(), application_id)
    return preview


@app.route("/v1/applications/{application_id}/contract/pdf", methods=["GET"])
@endpoint
def contract_pdf(application_id: str) -> dict[str, Any]:
    """A short-lived presigned GET of the signed contract PDF (its applicant only)."""
    check_application_id(application_id)
    link: dict[str, Any] = wiring.borrower_contracts().signed_pdf(principal(), application_id)
    return link


@app.route("/v1/messages", methods=["GET"])
@endpoint
def my_messages() -> dict[str, Any]:
    """The reminders the borrower was sent, newest first."""
    found = borrowers.messages(
        principal(), wiring.application_service(), wiring.repayments(), wiring.sent_reminders()
    )
    return {"messages": found}


@app.route("/v1/loans", methods=["GET"])
@endpoint
def my_loans() -> dict[str, Any]:
    """The applicant's own loans, newest first, with what is due and outstanding."""
    loans = borrowers.my_loans(
        principal(), wiring.application_service(), wiring.repayments(), today()
    )
    return {"loans": loans}


@app.route("/v1/loans/{loan_id}", methods=["GET"])
@endpoint
def loan(loan_id: str) -> dict[str, Any]:
    service = wiring.repayments()
    booked = service.loan_for(principal(), loan_id)
    return borrowers.loan_view(booked, service.account(booked), today())


@app.route("/v1/loans/{loan_id}/classification", methods=["POST"])
@endpoint
def classify(loan_id: str) -> Response:
    """Finance classifies a loan (五级分类) worse than its days overdue say; kept with its
    history; the night's report and the NPL ratio count it."""
    who = principal()
    request = body(Classification)
    require(who, Role.FINANCE, Role.ADMIN)
    wiring.repayments().loan_for(who, loan_id)
    tier = next(t for t in Tier if t.label_zh == request.tier)
    state = wiring.servicing().judge(loan_id, tier, today())
    logger.info("loan classified", extra={"loan_id": loan_id, "tier": int(tier), "by": who.subject})
    return Response(
        body={
            "loan_id": loan_id,
            "tier": state.tier.label_zh,
            "days_past_due": state.days_past_due,
        },
        status_code=200,
    )


@app.route("/v1/loans/{loan_id}/repayments", methods=["POST"])
@endpoint
def repay(loan_id: str) -> Response:
    who = principal()
    request = body(RepaymentRequest)
    order = wiring.repayments().request(
        who, loan_id, request.amount_fen, request.settle, request.reschedule
    )
    return Response(body=order.model_dump(mode="json"), status_code=202)


@app.route("/v1/loans/{loan_id}/repayments/{order_id}", methods=["GET"])
@endpoint
def repayment(loan_id: str, order_id: str) -> dict[str, Any]:
    order = wiring.repayments().order(principal(), loan_id, order_id)
    return order.model_dump(mode="json")


@app.route("/v1/payments/callbacks", methods=["POST"])
@endpoint
def payment_callback() -> Response:
    """The payment channel's answer, signed with its key (no session: the signature is it)."""
    callback = body(ChannelCallback)
    signature = str(current().headers.get("x-channel-signature") or "")
    raw = json.loads(current().raw_body or b"{}")
    if not verify_callback(raw, signature, wiring.config().payment_channel_public_key):
        raise Unauthorized("the callback's signature does not verify")
    result = wiring.repayments().on_callback(callback)
    return Response(
        body={
            "order_id": result.order.id,
            "status": result.applied,
            "principal_fen": result.principal_fen,
        },
        status_code=200 if result.applied == "already_applied" else 202,
    )


@app.route("/v1/openapi.json", methods=["GET"])
@endpoint
def openapi_document() -> dict[str, Any]:
    return openapi()


@app.route("/v1/keys/signing", methods=["GET"])
@endpoint
def signing_key() -> dict[str, str]:
    signer = wiring.signer()
    return {
        "key_id": signer.key_id,
        "algorithm": "RSASSA_PKCS1_V1_5_SHA_256",
        "public_key_pem": signer.public_key_pem().decode(),
    }


# -- reviewers ------------------------------------------------------------------------------


@app.route("/v1/reviews", methods=["GET"])
@endpoint
def review_queue() -> dict[str, Any]:
    cases = wiring.application_service().review_queue(principal())
    return {
        "cases": [
            {
                "application_id": a.id,
                "product_id": a.product_id,
                "amount_fen": a.amount_fen,
                "queued_at": (a.review_queued_at or a.updated_at).isoformat(),
                "escalated": a.review_escalated_at is not None,
                "decision": a.decision.model_dump(mode="json") if a.decision else None,
                "ocr_outcome": a.ocr_outcome,
                "ocr_reasons": [r.model_dump() for r in a.ocr_reasons],
                "sources": a.sources,
            }
            for a in cases
        ]
    }


@app.route("/v1/reviews/{application_id}", methods=["GET"])
@endpoint
def review_case(application_id: str) -> dict[str, Any]:
    """The case page: masked fields, document images (presigned GETs), OCR findings,
    sources, scores; the view is recorded in the personal-data audit log first."""
    case: dict[str, Any] = wiring.case_files().case(principal(), application_id)
    return case


@app.route("/v1/reviews/{application_id}", methods=["POST"])
@endpoint
def review(application_id: str) -> Response:
    who = principal()
    request = body(ReviewDecision)
    reviewed = wiring.application_service().review(
        who, application_id, request.decision, request.reasons
    )
    return Response(
        body={"application_id": reviewed.id, "decision": request.decision}, status_code=202
    )


# -- finance ----------------------------------------------------------------------------------


@app.route("/v1/finance/digests", methods=["GET"])
@endpoint
def finance_digest_days() -> dict[str, Any]:
    """The working days with a digest in a window (`from`, `to`; the last 31 days)."""
    who = principal()
    first, last = window(day_query("from"), day_query("to"), today())
    days = wiring.finance_desk().digest_days(who, first, last)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days": [d.isoformat() for d in days],
    }


@app.route("/v1/finance/digests/{day}", methods=["GET"])
@endpoint
def finance_digest(day: str) -> dict[str, Any]:
    """A working morning's digest (the CSV emailed to finance holds the same figures)."""
    on = path_day(day)
    return wiring.finance_reports().digest(principal(), on).model_dump(mode="json")


@app.route("/v1/finance/funders", methods=["GET"])
@endpoint
def funder_positions() -> dict[str, Any]:
    """Each funder's quota, quota in use, principal lent, outstanding and repaid."""
    return {"funders": wiring.finance_desk().positions(principal()), "on": today().isoformat()}


@app.route("/v1/finance/funders/{funder_id}/settlements", methods=["GET"])
@endpoint
def settlement_days(funder_id: str) -> dict[str, Any]:
    """The days in a window (`from`, `to`) with the funder's repayment file."""
    who = principal()
    check_funder_id(funder_id)
    first, last = window(day_query("from"), day_query("to"), today())
    days = wiring.finance_desk().settlement_days(who, funder_id, first, last)
    return {
        "funder_id": funder_id,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days": [d.isoformat() for d in days],
    }


@app.route("/v1/finance/funders/{funder_id}/settlements/{day}", methods=["GET"])
@endpoint
def settlement_file(funder_id: str, day: str) -> dict[str, Any]:
    """A short-lived presigned GET of the funder's repayment file of `day`."""
    who = principal()
    check_funder_id(funder_id)
    link: dict[str, Any] = wiring.finance_desk().settlement_link(who, funder_id, path_day(day))
    return link


@app.route("/v1/finance/due", methods=["GET"])
@endpoint
def finance_due() -> dict[str, Any]:
    """Instalments falling due with something unpaid, by day (`from`, `to`: a week at most;
    today by default)."""
    who = principal()
    first = day_query("from") or today()
    last = day_query("to") or first
    due: dict[str, Any] = wiring.portfolio_views().due_between(who, first, last)
    return due


@app.route("/v1/finance/overdue", methods=["GET"])
@endpoint
def finance_overdue() -> dict[str, Any]:
    """The overdue loans by bucket (M1..M3+), longest overdue first."""
    overdue: dict[str, Any] = wiring.portfolio_views().overdue(principal())
    return overdue


@app.route("/v1/finance/portfolio", methods=["GET"])
@endpoint
def finance_portfolio() -> dict[str, Any]:
    """Last night's five-tier mix, buckets and NPL ratio."""
    mix: dict[str, Any] = wiring.portfolio_views().mix(principal())
    return mix


# -- admin ------------------------------------------------------------------------------------


@app.route("/v1/audit/personal-data-views", methods=["GET"])
@endpoint
def personal_data_views() -> dict[str, Any]:
    """Admins: who viewed whose personal data on a day (`day`, China time; `application_id`)."""
    who = principal()
    on = day_query("day") or today()
    application_id = query("application_id")
    if application_id is not None:
        check_application_id(application_id)
    views = wiring.personal_data_audit().views(who, on, application_id)
    return {"day": on.isoformat(), "views": [v.model_dump(mode="json") for v in views]}


# -- funders ----------------------------------------------------------------------------------


@app.route("/v1/funders/{funder_id}/confirmations", methods=["POST"])
@endpoint
def confirm_funding(funder_id: str) -> Response:
    who = principal()
    require(who, Role.BANK)
    if who.funder_id != funder_id:
        raise Forbidden("a bank confirms only its own fund requests")
    confirmation = body(Confirmation)
    result = wiring.funding_confirmations().confirm(funder_id, confirmation)
    if result.incident is not None:
        metrics.add_metric(name="FundingIncidents", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()  # here only: most requests publish no metric
        logger.critical(
            "ALARM: funding incident opened",
            extra={"application_id": result.application_id, "kind": result.incident.kind},
        )
    reply: dict[str, Any] = {
        "fund_request_id": confirmation.fund_request_id,
        "status": result.handled,
        "application_id": result.application_id,
    }
    if result.handled == "return_requested":
        reply["action"] = "return_funds"
    status = 200 if result.handled == "already_confirmed" else 202
    return Response(body=reply, status_code=status)


# -- the Lambda entry point ----------------------------------------------------------------


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway (`ANY /{proxy+}`) → the Chalice route the path names; else 404.
    Cross-origin callers: the front ends' origins only (FrontEndOrigins)."""
    allowed = allowed_origins(wiring.config().front_end_origins)
    if event.get("httpMethod") == "OPTIONS":
        return preflight_reply(event, allowed, SECURITY_HEADERS)
    cors = cors_headers(request_origin(event), allowed)
    routed = route_event(event, app.routes)
    if routed is None:
        return json_reply(
            404, {"code": "not_found", "message": "no such endpoint"}, {**SECURITY_HEADERS, **cors}
        )
    reply: dict[str, Any] = app(routed, context)
    reply.setdefault("headers", {}).update(cors)
    return reply
