"""The origination steps the state machine runs, one method per Lambda.

Each step is idempotent: it first looks at what the application already records
and returns that, so a retried or redelivered step never redoes work with effects
(an OCR pass, a quota reservation, a fund request, a booking).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from lending.applications.model import (
    MAX_DOCUMENT_ATTEMPTS,
    ApplicantDetails,
    Application,
    ContractRecord,
    Decision,
    Funding,
    FundingRefusal,
    Offer,
    Outcome,
    Reason,
    ShadowScore,
    Status,
)
from lending.applications.ports import ApplicationRepository, DocumentStore, Event
from lending.applications.service import applicant_context
from lending.contracts import ContractTerms, contract_digest, render_contract
from lending.documents.kinds import MAX_DOCUMENT_BYTES, DocumentKind
from lending.documents.validate import DeclaredIdentity, validate_documents
from lending.errors import Conflict, NotFound
from lending.finance import Schedule, build_schedule, disclose, get_product
from lending.funding.model import (
    Confirmation,
    FunderRepository,
    FundRequestBody,
    application_of,
    fund_request_id,
    reserve_funder,
    sign_fund_request,
)
from lending.identity.checks import birth_date_of, mask_id_number, mask_name
from lending.loans.model import InstalmentRecord, Loan, LoanRepository, loan_id_for
from lending.ocr.ports import OcrEngine
from lending.ports import Cipher, Clock, Signer
from lending.scoring.credit_line import credit_line
from lending.scoring.decision import DecisionPolicy, decide
from lending.scoring.pricing import price
from lending.scoring.profile import Application as ScoringApplication
from lending.scoring.profile import clean_and_merge, features_for_model
from lending.scoring.registry import ShadowModel, shadow_scores
from lending.scoring.scorecard import ReasonCode, Scorecard
from lending.scoring.sources import DataSource, SourceReport, Subject

LENDER_NAME = "示例小额贷款有限公司 (Example Microcredit Co., Ltd.)"
PRIVACY_CONTACT = "privacy@lender.example"
OVERDUE_ANNUAL_RATE = Decimal("0.18")
# Duplicate applications by the same ID number beyond this count are an anti-fraud hit.
MAX_APPLICATIONS_PER_ID = 5
# Declines that stand whatever a missing source would have said (fraud, court lists).
HARD_DECLINES = frozenset({"D01", "D02"})


class FundQueue(Protocol):
    def send(self, funder_id: str, message: dict[str, Any], dedup_id: str) -> None: ...


# The error a bank's "rejected" confirmation fails the funding wait with; the state
# machine's Disburse state catches it by this name (moto drops a failure's cause).
FUNDING_REJECTED = "FundingRejected"


def _reasons(codes: Sequence[ReasonCode]) -> list[Reason]:
    return [Reason(code=r.code, message=r.message) for r in codes]


def _report_to_json(report: SourceReport) -> bytes:
    return json.dumps(
        {
            "source": report.source,
            "fetched_at": report.fetched_at.isoformat(),
            "fields": report.fields,
            "complete": report.complete,
        }
    ).encode()


def _report_from_json(raw: bytes) -> SourceReport:
    data = json.loads(raw)
    return SourceReport(
        data["source"], datetime.fromisoformat(data["fetched_at"]), data["fields"], data["complete"]
    )


def _ocr_result(app: Application) -> dict[str, Any]:
    """What the state machine branches on: the outcome, and whether a re-upload may fix it."""
    return {
        "outcome": app.ocr_outcome,
        "reupload_allowed": app.ocr_outcome == "unreadable"
        and app.document_attempts < MAX_DOCUMENT_ATTEMPTS,
    }


def _schedule(offer: Offer, disbursed_on: date) -> Schedule:
    """The repayment plan of an offer: the contract shows it, the booked loan keeps it."""
    return build_schedule(
        offer.repayment_method,
        offer.amount_fen,
        Decimal(offer.annual_rate),
        offer.term_months,
        disbursed_on,
    )


@dataclass
class OriginationSteps:
    repo: ApplicationRepository
    documents: DocumentStore
    cipher: Cipher
    clock: Clock
    ocr: OcrEngine
    sources: Mapping[str, DataSource]
    scorecard: Scorecard
    signer: Signer
    funders: FunderRepository
    fund_queue: FundQueue
    loans: LoanRepository
    challengers: Sequence[ShadowModel] = ()

    # -- helpers ---------------------------------------------------------------------------

    def _load(self, application_id: str) -> Application:
        app = self.repo.get(application_id)
        if app is None:
            raise NotFound("no such application")
        return app

    def _save(self, app: Application, event_type: str, **data: Any) -> Application:
        now = self.clock.now()
        app.updated_at = now
        return self.repo.save(app, Event(type=event_type, at=now, data=data))

    def _applicant(self, app: Application) -> ApplicantDetails:
        clear = self.cipher.decrypt(base64.b64decode(app.applicant_blob), applicant_context(app.id))
        return ApplicantDetails.model_validate_json(clear)

    # -- 2. documents --------------------------------------------------------------------

    def validate_documents(self, application_id: str) -> dict[str, Any]:
        app = self._load(application_id)
        if app.ocr_outcome is not None:
            return _ocr_result(app)
        if app.status is Status.SUBMITTED:
            app.status = Status.VALIDATING_DOCUMENTS
            app = self._save(app, "documents_validation_started")
        applicant = self._applicant(app)
        images = {
            DocumentKind(kind): self.documents.get(ref.key, MAX_DOCUMENT_BYTES)
            for kind, ref in app.documents.items()
        }
        declared = DeclaredIdentity(
            name=applicant.name,
            id_number=applicant.id_number,
            bank_card_number=applicant.bank_card_number,
            # Only a business loan asks for (and checks) the business licence.
            company_name=applicant.company_name if app.product_type == "business" else None,
            credit_code=applicant.credit_code if app.product_type == "business" else None,
        )
        check = validate_documents(images, declared, self.ocr, self.clock.now().date())
        app.ocr_outcome = check.outcome
        app.document_attempts += 1
        app.ocr_reasons = [
            Reason(code=r.code, message=f"{r.document}: {r.message}") for r in check.reasons
        ]
        if check.outcome == "verified":
            app.status = Status.COLLECTING_DATA
        app = self._save(
            app,
            "documents_checked",
            outcome=check.outcome,
            reasons=[r.code for r in check.reasons],
            attempt=app.document_attempts,
        )
        return _ocr_result(app)

    def await_reupload(self, application_id: str, token: str) -> None:
        """Hold the wait's token: the applicant's next submit resumes the execution."""
        app = self._load(application_id)
        if app.terminal:
            return
        app.tokens["reupload"] = token
        app.status = Status.AWAITING_DOCUMENTS
        self._save(app, "reupload_requested", attempt=app.document_attempts)

    # -- 3. data collection --------------------------------------------------------------

    def collect(self, application_id: str, source: str) -> dict[str, str]:
        app = self._load(application_id)
        if source in self.repo.source_reports(application_id):
            return {"source": source, "status": "ok"}
        provider = self.sources[source]
        subject = Subject(app.id_hash, app.credit_code_hash, app.product_type)
        report = provider.fetch(subject)  # SourceUnavailable propagates: the state retries
        blob = self.cipher.encrypt(
            _report_to_json(report), {"application_id": app.id, "purpose": "source:" + source}
        )
        self.repo.put_source_report(app.id, source, base64.b64encode(blob).decode())
        return {"source": source, "status": "ok"}

    # -- 4. scoring ----------------------------------------------------------------------

    def score(self, application_id: str, results: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        app = self._load(application_id)
        if app.decision is not None:
            return {"decision": app.decision.outcome}
        unavailable = sorted(r["source"] for r in results if r.get("status") != "ok")
        blobs = self.repo.source_reports(app.id)
        reports = [
            _report_from_json(
                self.cipher.decrypt(
                    base64.b64decode(blob), {"application_id": app.id, "purpose": "source:" + name}
                )
            )
            for name, blob in sorted(blobs.items())
            if name not in unavailable
        ]
        profile = clean_and_merge(reports, app.product_type, unavailable)
        applicant = self._applicant(app)
        product = get_product(app.product_id)
        features = features_for_model(
            profile,
            ScoringApplication(
                requested_amount_fen=app.amount_fen,
                term_months=app.term_months,
                purpose=app.purpose,
                monthly_income_fen=applicant.monthly_income_fen,
                existing_monthly_debt_fen=applicant.monthly_debt_fen,
            ),
        )
        result = self.scorecard.score(features)
        pricing = price(result.probability_of_default)
        rate = min(max(pricing.annual_rate, product.min_annual_rate), product.max_annual_rate)
        line = credit_line(
            monthly_income_fen=applicant.monthly_income_fen,
            existing_monthly_debt_fen=applicant.monthly_debt_fen,
            probability_of_default=result.probability_of_default,
            term_months=app.term_months,
            product_max_fen=product.max_amount_fen,
            annual_rate=rate,
        )
        decision = decide(
            result,
            self._anti_fraud(
                app,
                product.eligibility.min_age,
                product.eligibility.max_age,
                applicant,
                profile.fields,
            ),
            profile.coverage,
            app.amount_fen,
            line,
            policy=DecisionPolicy.from_artefact(self.scorecard.cutoffs),
            judicial_blacklisted=profile.judicial_blacklisted,
        )
        outcome = decision.outcome
        reasons = _reasons(decision.reasons)
        if unavailable and not any(r.code in HARD_DECLINES for r in reasons):
            # A source that stayed down never becomes a silent default: a person looks.
            outcome = "review"
            reasons.insert(
                0, Reason(code="V03", message="data source unavailable: " + ", ".join(unavailable))
            )
        now = self.clock.now()
        app.decision = Decision(
            outcome=outcome,
            probability_of_default=round(result.probability_of_default, 6),
            points=result.points,
            credit_line_fen=line.amount_fen,
            coverage=round(profile.coverage, 4),
            model_version=self.scorecard.version,
            reasons=reasons,
            decided_at=now,
            shadow=[
                ShadowScore(
                    model_version=s.model_version, probability_of_default=s.probability_of_default
                )
                for s in shadow_scores(self.challengers, features)
            ],
            bins=result.bins,
        )
        app.sources = {r["source"]: r.get("status", "unavailable") for r in results}
        offer_amount = min(app.amount_fen, max(line.amount_fen, decision.approved_amount_fen))
        if outcome != "decline":
            app.offer = self._offer(app, offer_amount or app.amount_fen, rate, pricing.grade)
            if app.offer is None and outcome == "approve":
                outcome = "review"
                app.decision.outcome = "review"
        app.decided_at = now
        app.status = Status.SCORING
        self._save(
            app,
            "scored",
            outcome=outcome,
            model_version=self.scorecard.version,
            points=result.points,
            reasons=[r.code for r in reasons],
        )
        return {"decision": outcome}

    def _anti_fraud(
        self,
        app: Application,
        min_age: int,
        max_age: int,
        applicant: ApplicantDetails,
        fields: Mapping[str, Any],
    ) -> list[str]:
        hits: list[str] = []
        if self.repo.count_by_id_hash(app.id_hash) > MAX_APPLICATIONS_PER_ID:
            hits.append("too many applications with the same ID number")
        born = birth_date_of(applicant.id_number)
        today = self.clock.now().date()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if not min_age <= age <= max_age:
            hits.append(f"age outside the product's {min_age}-{max_age} range")
        if fields.get("company_status") == "吊销":
            hits.append("business licence revoked")
        return hits

    def _offer(self, app: Application, amount_fen: int, rate: Decimal, grade: str) -> Offer | None:
        try:
            d = disclose(app.product_id, amount_fen, app.term_months, app.repayment_method, rate)
        except ValueError:
            return None
        return Offer(
            amount_fen=amount_fen,
            term_months=app.term_months,
            repayment_method=app.repayment_method,
            annual_rate=str(rate),
            apr=str(d.apr),
            first_payment_fen=d.first_payment_fen,
            total_interest_fen=d.total_interest_fen,
            total_repayment_fen=d.total_repayment_fen,
            grade=grade,
        )

    # -- 5. manual review ------------------------------------------------------------------

    def queue_review(self, application_id: str, token: str, escalated: bool = False) -> None:
        """Hold the task token with the case; a retried queueing keeps the original time."""
        app = self._load(application_id)
        if app.terminal:
            return
        now = self.clock.now()
        app.tokens["review"] = token
        app.status = Status.IN_REVIEW
        if app.review_queued_at is None:
            app.review_queued_at = now
        if escalated and app.review_escalated_at is None:
            app.review_escalated_at = now
        self._save(app, "review_escalated" if escalated else "queued_for_review")

    # -- 6. offer and signature -----------------------------------------------------------

    def offer(self, application_id: str, token: str) -> None:
        app = self._load(application_id)
        if app.offer is None:
            raise Conflict("no offer to make", "no_offer")
        app.tokens["offer"] = token
        app.tokens.pop("review", None)
        app.status = Status.OFFERED
        self._save(app, "offered", amount_fen=app.offer.amount_fen, rate=app.offer.annual_rate)

    def sign(self, application_id: str) -> dict[str, str]:
        app = self._load(application_id)
        if app.contract is not None:
            return {"sha256": app.contract.sha256_hex}
        if app.offer is None:
            raise Conflict("no offer to sign", "no_offer")
        applicant = self._applicant(app)
        now = self.clock.now()
        product = get_product(app.product_id)
        schedule = _schedule(app.offer, now.date())
        terms = ContractTerms(
            contract_number="C" + app.id[1:],
            lender_name=LENDER_NAME,
            borrower_name_masked=mask_name(applicant.name),
            borrower_id_masked=mask_id_number(applicant.id_number),
            product_name_zh=product.name_zh,
            product_name_en=product.name_en,
            schedule=schedule,
            apr=Decimal(app.offer.apr),
            total_fees_fen=app.offer.total_repayment_fen
            - app.offer.amount_fen
            - app.offer.total_interest_fen,
            overdue_annual_rate=OVERDUE_ANNUAL_RATE,
            privacy_contact=PRIVACY_CONTACT,
            issued_at=now,
        )
        pdf = render_contract(terms)
        digest = contract_digest(pdf)
        signature = self.signer.sign_digest(digest)
        key = f"contracts/{app.id}/contract.pdf"
        self.documents.put(key, pdf, "application/pdf")
        app.contract = ContractRecord(
            key=key,
            sha256_hex=digest.hex(),
            signature_b64=base64.b64encode(signature).decode(),
            signing_key_id=self.signer.key_id,
            algorithm="RSASSA_PKCS1_V1_5_SHA_256",
            signed_at=now,
        )
        app.status = Status.SIGNED
        app.tokens.pop("offer", None)
        self._save(app, "contract_signed", sha256=digest.hex())
        return {"sha256": digest.hex()}

    # -- 7. disbursement -----------------------------------------------------------------

    def disburse(self, application_id: str, token: str) -> None:
        app = self._load(application_id)
        if app.offer is None or app.contract is None:
            raise Conflict("nothing signed to disburse", "not_signed")
        refusals = app.funding.refusals if app.funding is not None else []
        refused_by = {r.funder_id for r in refusals}
        if app.funding is not None and app.funding.funder_id in refused_by:
            # The funder asked last refused: its quota goes back, the next one is asked.
            self.funders.release(app.id)
        funder_id = reserve_funder(
            self.funders, app.id, app.product_id, app.offer.amount_fen, refused_by
        )
        request_id = fund_request_id(app.id, attempt=len(refusals))
        if app.funding is None or app.funding.fund_request_id != request_id:
            app.funding = Funding(
                funder_id=funder_id,
                fund_request_id=request_id,
                requested_at=self.clock.now(),
                refusals=refusals,
            )
        offer, contract, funding = app.offer, app.contract, app.funding
        app.tokens["funding"] = token
        app.status = Status.DISBURSING
        app = self._save(app, "fund_requested", funder_id=funder_id)
        applicant = self._applicant(app)
        body = FundRequestBody(
            fund_request_id=request_id,
            application_id=app.id,
            funder_id=funder_id,
            amount_fen=offer.amount_fen,
            term_months=offer.term_months,
            annual_rate=offer.annual_rate,
            repayment_method=offer.repayment_method,
            payee_name=applicant.name,
            payee_account=applicant.bank_card_number,
            contract_sha256=contract.sha256_hex,
            requested_at=funding.requested_at,
        )
        # The same request id every time: SQS deduplicates, the bank pays once per id.
        self.fund_queue.send(funder_id, sign_fund_request(body, self.signer), request_id)

    def confirm_funding(
        self, funder_id: str, confirmation: Confirmation
    ) -> tuple[Application, str | None]:
        """A bank's confirmation; returns the app and the token to resume (None if done).

        The first answer to a request is recorded; the wait is resumed from what is
        recorded (paid: success; refused: FundingRejected, which sends the state machine
        back to `disburse` to ask the next funder)."""
        app = self.repo.get(application_of(confirmation.fund_request_id))
        if app is None or app.funding is None:
            raise NotFound("no such fund request for this funder")
        funding = app.funding
        refusal = FundingRefusal(funder_id=funder_id, fund_request_id=confirmation.fund_request_id)
        if (funding.funder_id, funding.fund_request_id) != (funder_id, refusal.fund_request_id):
            if refusal in funding.refusals:
                return app, None  # an earlier funder's refusal, already acted on
            raise NotFound("no such fund request for this funder")
        if funding.payout_reference is None and refusal not in funding.refusals:
            if app.offer is None or confirmation.amount_fen != app.offer.amount_fen:
                raise Conflict("confirmed amount differs from the requested amount", "amount")
            if confirmation.status == "paid":
                funding.payout_reference = confirmation.payout_reference
                funding.paid_at = confirmation.paid_at
            else:
                funding.refusals.append(refusal)
            app = self._save(app, "funding_confirmed", status=confirmation.status)
        # Until the loan is booked the wait may still need resuming (a first confirmation
        # can be recorded and then lost before the resume); resuming twice is harmless.
        token = app.tokens.get("funding") if app.status is Status.DISBURSING else None
        return app, token

    # -- 8. booking ------------------------------------------------------------------------

    def book(self, application_id: str) -> dict[str, str]:
        app = self._load(application_id)
        if app.status is Status.DISBURSED and app.loan_id:
            return {"loan_id": app.loan_id}
        if app.offer is None or app.funding is None or app.funding.paid_at is None:
            raise Conflict("the loan is not paid out yet", "not_paid")
        assert app.contract is not None
        schedule = _schedule(app.offer, app.funding.paid_at.date())
        loan = Loan(
            id=loan_id_for(app.id),
            application_id=app.id,
            applicant_id=app.applicant_id,
            product_id=app.product_id,
            funder_id=app.funding.funder_id,
            principal_fen=app.offer.amount_fen,
            annual_rate=app.offer.annual_rate,
            apr=app.offer.apr,
            term_months=app.offer.term_months,
            repayment_method=app.offer.repayment_method,
            disbursed_at=app.funding.paid_at,
            payout_reference=app.funding.payout_reference or "",
            contract_sha256=app.contract.sha256_hex,
            instalments=[
                InstalmentRecord(
                    number=i.number,
                    due_date=i.due_date,
                    principal_fen=i.principal_fen,
                    interest_fen=i.interest_fen,
                    total_fen=i.total_fen,
                )
                for i in schedule.instalments
            ],
        )
        self.loans.book(loan)  # False on a retry: the loan is already there, booked once
        app.loan_id = loan.id
        app.status = Status.DISBURSED
        app.tokens.pop("funding", None)
        app.outcome = Outcome(status=Status.DISBURSED, at=self.clock.now())
        self._save(app, "loan_booked", loan_id=loan.id)
        return {"loan_id": loan.id}

    # -- terminal outcomes -----------------------------------------------------------------

    def finalize(
        self,
        application_id: str,
        status: Literal["declined", "withdrawn", "failed"],
        code: str,
        detail: str | None = None,
    ) -> dict[str, str]:
        app = self._load(application_id)
        if app.terminal:
            return {"status": app.status.value}
        if app.funding is None or app.funding.paid_at is None:
            # Quota reserved for a loan that will not be paid goes back to its funder
            # (a no-op without a reservation, or when a redelivery already released it).
            self.funders.release(app.id)
        reasons = self._final_reasons(app, code, detail)
        app.status = Status(status)
        app.tokens.clear()
        app.outcome = Outcome(status=app.status, reasons=reasons, at=self.clock.now())
        self._save(app, status, code=code, reasons=[r.code for r in reasons])
        return {"status": status}

    @staticmethod
    def _final_reasons(app: Application, code: str, detail: str | None) -> list[Reason]:
        if code == "documents":
            return app.ocr_reasons or [Reason(code="documents", message="documents not verified")]
        if code == "score" and app.decision is not None:
            return app.decision.reasons
        if code == "review":
            return app.review_reasons or [Reason(code="review", message="declined on review")]
        messages = {
            "offer_refused": "the applicant refused the offer",
            "offer_expired": "the offer expired unanswered",
            "documents_not_resubmitted": "unreadable documents were not uploaded again in time",
            "funding": "no funder could pay out this loan",
            "technical": "a processing step failed after its retries",
        }
        message = messages.get(code, code)
        if detail:
            message += f" ({detail})"
        return [Reason(code=code, message=message)]
