"""What the mini-program API asks of applications: create, upload, submit, follow, decide.

Every write is a conditional write of the whole aggregate plus one audit event, so
concurrent or repeated requests cannot corrupt state or act twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from lending.applications.model import (
    PROGRESS_STEPS,
    ApplicantDetails,
    Application,
    DocumentRef,
    OfferAnswer,
    Reason,
    Status,
)
from lending.applications.ports import ApplicationRepository, DocumentStore, Event, Workflow
from lending.applications.privacy import open_applicant, seal_applicant
from lending.auth import Principal, Role, require
from lending.documents.kinds import ACCEPTED_MIME_TYPES, MAX_DOCUMENT_BYTES, DocumentKind
from lending.errors import Conflict, Forbidden, InvalidRequest, NotFound
from lending.finance.products import Product, ProductError, disclose, get_product
from lending.identity.checks import is_valid_credit_code, is_valid_resident_id
from lending.ports import BlindIndex, Cipher, Clock

T = TypeVar("T")
UPLOAD_URL_SECONDS = 600
MAX_OPEN_APPLICATIONS = 3
# Event data naming a member of staff: kept for audit, never shown to an applicant.
STAFF_EVENT_KEYS = frozenset({"reviewer"})


def new_application_id(now: datetime) -> str:
    """Time-ordered and unguessable: 'A' + UTC timestamp + 64 random bits."""
    return "A" + now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)


@dataclass
class ApplicationService:
    repo: ApplicationRepository
    documents: DocumentStore
    workflow: Workflow
    cipher: Cipher
    blind_index: BlindIndex
    clock: Clock

    # -- reading -------------------------------------------------------------------------

    def get_for(self, principal: Principal, application_id: str) -> Application:
        app = self.repo.get(application_id)
        if app is None:
            raise NotFound("no such application")
        if principal.role is Role.APPLICANT and app.applicant_id != principal.subject:
            # Same answer as a missing one: an applicant must not learn others' ids exist.
            raise NotFound("no such application")
        if principal.role not in (Role.APPLICANT, Role.REVIEWER, Role.ADMIN, Role.FINANCE):
            raise Forbidden("this role cannot read applications")
        return app

    def status_view(self, principal: Principal, application_id: str) -> dict[str, Any]:
        app = self.get_for(principal, application_id)
        view = app.public_view()
        events = [e.model_dump(mode="json") for e in self.repo.events(app.id)]
        if principal.role is Role.APPLICANT:
            # Staff identities stay out of what an applicant sees.
            for event in events:
                event["data"] = {
                    k: v for k, v in event["data"].items() if k not in STAFF_EVENT_KEYS
                }
        else:
            view["reviewed_by"] = app.reviewed_by
            view["incidents"] = [i.model_dump(mode="json") for i in app.incidents]
        view["progress"] = progress(app)
        view["events"] = events
        return view

    def list_mine(self, principal: Principal) -> list[Application]:
        require(principal, Role.APPLICANT)
        return self.repo.list_for_applicant(principal.subject, limit=50)

    def decrypt_applicant(self, app: Application) -> ApplicantDetails:
        return open_applicant(self.cipher, app)

    # -- writing -------------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        *,
        product_id: str,
        amount_fen: int,
        term_months: int,
        repayment_method: str,
        purpose: str,
        applicant: ApplicantDetails,
    ) -> Application:
        require(principal, Role.APPLICANT)
        product = _product(product_id)
        # Validates amount, term and method, and that even the product's top rate keeps
        # the APR under the cap; the actual rate comes from pricing.
        _checked(
            lambda: disclose(
                product.id, amount_fen, term_months, repayment_method, product.max_annual_rate
            )
        )
        if not is_valid_resident_id(applicant.id_number):
            raise InvalidRequest("the ID number is not a valid resident ID number", "invalid_id")
        if product.product_type == "business":
            if not applicant.company_name or not applicant.credit_code:
                raise InvalidRequest(
                    "a business loan needs the company name and credit code", "missing_company"
                )
            if not is_valid_credit_code(applicant.credit_code):
                raise InvalidRequest("the unified social credit code is invalid", "invalid_code")
        open_apps = [
            a for a in self.repo.list_for_applicant(principal.subject, limit=50) if not a.terminal
        ]
        if len(open_apps) >= MAX_OPEN_APPLICATIONS:
            raise Conflict("too many applications in progress", "too_many_open")
        now = self.clock.now()
        app_id = new_application_id(now)
        app = Application(
            id=app_id,
            applicant_id=principal.subject,
            product_id=product.id,
            product_type=product.product_type.value,
            amount_fen=amount_fen,
            term_months=term_months,
            repayment_method=repayment_method,
            purpose=purpose,
            created_at=now,
            updated_at=now,
            applicant_blob=seal_applicant(self.cipher, app_id, applicant),
            id_hash=self.blind_index.digest("id:" + applicant.id_number),
            credit_code_hash=(
                self.blind_index.digest("uscc:" + applicant.credit_code)
                if applicant.credit_code
                else None
            ),
        )
        self.repo.create(app, Event(type="created", at=now, data={"product_id": product.id}))
        return app

    def upload_url(
        self, principal: Principal, application_id: str, kind: str, content_type: str, size: int
    ) -> dict[str, Any]:
        app = self.get_for(principal, application_id)
        require(principal, Role.APPLICANT)
        try:
            doc_kind = DocumentKind(kind)
        except ValueError as exc:
            raise InvalidRequest("unknown document kind", "invalid_kind") from exc
        if doc_kind.value not in _required_documents(app.product_id):
            raise InvalidRequest("this product does not take that document", "invalid_kind")
        if content_type not in ACCEPTED_MIME_TYPES:
            raise InvalidRequest("documents must be JPEG or PNG images", "invalid_type")
        if not 0 < size <= MAX_DOCUMENT_BYTES:
            raise InvalidRequest(
                f"documents must be at most {MAX_DOCUMENT_BYTES} bytes", "too_large"
            )
        if app.status not in (Status.DRAFT, Status.AWAITING_DOCUMENTS):
            raise Conflict(
                "documents can only change before submission or when asked for again",
                "not_draft",
            )
        key = document_key(app.id, doc_kind.value)
        upload = self.documents.presign_upload(key, content_type, size, UPLOAD_URL_SECONDS)
        return {"kind": doc_kind.value, "key": key, "expires_in": UPLOAD_URL_SECONDS, **upload}

    def record_upload(self, key: str, size: int, content_type: str) -> None:
        """The object-created event of the documents bucket (may arrive twice)."""
        parsed = parse_document_key(key)
        if parsed is None:
            return
        application_id, kind = parsed
        doc = DocumentRef(
            kind=kind, key=key, size=size, content_type=content_type, uploaded_at=self.clock.now()
        )
        self.repo.put_document(application_id, doc)

    def submit(self, principal: Principal, application_id: str) -> Application:
        app = self.get_for(principal, application_id)
        require(principal, Role.APPLICANT)
        if app.status is Status.AWAITING_DOCUMENTS:
            return self._resubmit(app)
        if app.status is Status.DRAFT:
            required = _required_documents(app.product_id)
            have = self.repo.documents(app.id)
            missing = [k for k in required if k not in have]
            if missing:
                raise InvalidRequest(
                    "documents missing: " + ", ".join(missing), "documents_missing"
                )
            now = self.clock.now()
            app.documents = {k: have[k] for k in required}
            app.status = Status.SUBMITTED
            app.submitted_at = now
            try:
                app = self.repo.save(app, Event(type="submitted", at=now))
            except Conflict:
                app = self.get_for(principal, application_id)
        if app.status is Status.DRAFT:
            raise Conflict("the application changed; submit again", "retry")
        if app.status is Status.SUBMITTED:
            # Starting is idempotent by execution name, so a repeated submit starts nothing new.
            self.workflow.start(app.id)
        return app

    def _resubmit(self, app: Application) -> Application:
        """New uploads after an unreadable document: validate them again."""
        token = app.tokens.get("reupload")
        have = self.repo.documents(app.id)
        required = _required_documents(app.product_id)

        def apply(current: Application) -> Event:
            if current.status is not Status.AWAITING_DOCUMENTS:
                raise Conflict("the documents were already resubmitted", "not_awaiting")
            current.status = Status.SUBMITTED
            current.ocr_outcome = None
            current.ocr_reasons = []
            current.retake_reasons = []
            current.documents = {k: have[k] for k in required if k in have}
            current.tokens.pop("reupload", None)
            return Event(type="documents_resubmitted", at=self.clock.now())

        try:
            resubmitted = self.mutate(app.id, apply)
        except Conflict:
            return self._reload(app.id)  # a concurrent resubmit won: one resume is enough
        if token:
            self.workflow.succeed(token, {"resubmitted": True})
        return resubmitted

    def _reload(self, application_id: str) -> Application:
        app = self.repo.get(application_id)
        if app is None:
            raise NotFound("no such application")
        return app

    def review_queue(self, principal: Principal) -> list[Application]:
        require(principal, Role.REVIEWER, Role.ADMIN)
        return self.repo.review_queue(limit=100)

    def escalate_overdue_reviews(self, max_wait: timedelta) -> list[str]:
        """The scheduled sweep: cases waiting longer than `max_wait` go to the senior queue."""
        now = self.clock.now()
        escalated = []
        for waiting in self.repo.review_queue(limit=100):
            queued = waiting.review_queued_at or waiting.updated_at
            if waiting.review_escalated_at is not None or now - queued < max_wait:
                continue

            waited = int((now - queued).total_seconds())

            def apply(app: Application, waited: int = waited) -> Event:
                if app.status is not Status.IN_REVIEW or app.review_escalated_at is not None:
                    raise Conflict("no longer waiting", "not_in_review")
                app.review_escalated_at = now
                return Event(type="review_escalated", at=now, data={"waited_seconds": waited})

            try:
                self.mutate(waiting.id, apply)
            except Conflict:
                continue  # decided or escalated meanwhile
            escalated.append(waiting.id)
        return escalated

    def review(
        self,
        principal: Principal,
        application_id: str,
        decision: Literal["approve", "decline"],
        reasons: list[Reason],
    ) -> Application:
        require(principal, Role.REVIEWER)
        if decision == "decline" and not reasons:
            raise InvalidRequest("a decline needs at least one reason", "reasons_required")

        stage = "decision"

        def apply(app: Application) -> Event:
            nonlocal stage
            if app.status is not Status.IN_REVIEW or "review" not in app.tokens:
                raise Conflict("the application is not waiting for review", "not_in_review")
            # A case sent to a person for its documents has not been scored yet: approving
            # it accepts the documents, and the application goes on to data collection.
            stage = "documents" if app.decision is None else "decision"
            if stage == "documents" and decision == "approve":
                app.status = Status.COLLECTING_DATA
            app.review_reasons = reasons
            app.reviewed_by = principal.subject
            # A later review of the same application (after scoring) queues afresh.
            app.review_queued_at = None
            app.review_escalated_at = None
            return Event(
                type="reviewed",
                at=self.clock.now(),
                data={"decision": decision, "stage": stage, "reviewer": principal.subject},
            )

        app = self.mutate(application_id, apply)
        token = app.tokens.get("review", "")
        self.workflow.succeed(
            token,
            {
                "decision": decision,
                "stage": stage,
                "reasons": [r.model_dump() for r in reasons],
            },
        )
        return app

    def answer_offer(self, principal: Principal, application_id: str, accept: bool) -> Application:
        """Record the applicant's one answer, then resume the offer's wait with it.

        The answer is written once (optimistic lock on the aggregate, and the answer must be
        absent): of concurrent answers exactly one is recorded, and every other one gets
        409 with the recorded answer. The wait is only ever resumed with the recorded one.
        """
        self.get_for(principal, application_id)
        require(principal, Role.APPLICANT)

        def apply(app: Application) -> Event:
            if app.offer_answer is not None:
                raise _already_answered(app.offer_answer)
            if app.status is not Status.OFFERED or "offer" not in app.tokens:
                raise Conflict("there is no offer waiting for an answer", "no_offer")
            app.offer_answer = OfferAnswer(accepted=accept, at=self.clock.now())
            return Event(type="offer_answered", at=app.offer_answer.at, data={"accepted": accept})

        try:
            app = self.mutate(application_id, apply)
        except Conflict as exc:
            if exc.code == "offer_answered":
                self._resume_offer(self._reload(application_id))
                raise
            recorded = self._reload(application_id).offer_answer
            if recorded is None:
                raise
            raise _already_answered(recorded) from exc  # a concurrent answer won
        self._resume_offer(app)
        return app

    def _resume_offer(self, app: Application) -> None:
        """Resume the offer's wait from the recorded answer (again, if a resume was lost)."""
        token = app.tokens.get("offer")
        if app.offer_answer is not None and app.status is Status.OFFERED and token:
            self.workflow.succeed(token, {"accepted": app.offer_answer.accepted})

    def mutate(
        self, application_id: str, change: Callable[[Application], Event], attempts: int = 3
    ) -> Application:
        """Read-modify-write with optimistic locking, retried when another writer won."""
        for attempt in range(attempts):
            app = self.repo.get(application_id)
            if app is None:
                raise NotFound("no such application")
            event = change(app)
            app.updated_at = event.at
            try:
                return self.repo.save(app, event)
            except Conflict:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")


def _already_answered(answer: OfferAnswer) -> Conflict:
    return Conflict(
        "the offer was already " + ("accepted" if answer.accepted else "refused"),
        "offer_answered",
        {"answer": answer.model_dump(mode="json")},
    )


def progress(app: Application) -> list[dict[str, str]]:
    """The steps with done / current / pending, for the mini-program's progress bar."""
    if app.status in PROGRESS_STEPS:
        current = PROGRESS_STEPS.index(app.status)
    elif app.status is Status.IN_REVIEW:
        current = PROGRESS_STEPS.index(Status.SCORING)
    elif app.status is Status.AWAITING_DOCUMENTS:
        current = PROGRESS_STEPS.index(Status.VALIDATING_DOCUMENTS)
    else:
        current = -1
    steps = []
    for i, step in enumerate(PROGRESS_STEPS):
        state = "done" if i < current else "current" if i == current else "pending"
        if app.terminal:
            state = "done" if i <= current else "skipped"
        steps.append({"step": step.value, "state": state})
    return steps


def _product(product_id: str) -> Product:
    return _checked(lambda: get_product(product_id))


def _required_documents(product_id: str) -> list[str]:
    return [d.value for d in _product(product_id).required_documents]


def _checked(call: Callable[[], T]) -> T:
    """Product rule violations are the applicant's input errors."""
    try:
        return call()
    except ProductError as exc:
        raise InvalidRequest(str(exc), exc.code) from exc


def document_key(application_id: str, kind: str) -> str:
    return f"applications/{application_id}/documents/{kind}"


def parse_document_key(key: str) -> tuple[str, str] | None:
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "applications" or parts[2] != "documents":
        return None
    try:
        DocumentKind(parts[3])
    except ValueError:
        return None
    return parts[1], parts[3]
