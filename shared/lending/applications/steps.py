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
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from lending.applications.booking import book_loan, offer_schedule
from lending.applications.model import (
    MAX_DOCUMENT_ATTEMPTS,
    ApplicantDetails,
    Application,
    ContractRecord,
    Decision,
    Funding,
    Incident,
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
from lending.finance import disclose, get_product
from lending.funding.model import (
    MAX_FUNDING_ENQUIRIES,
    FunderRepository,
    FundingUnconfirmed,
    FundRequestBody,
    fund_request_id,
    reserve_funder,
    sign_fund_request,
)
from lending.identity.checks import birth_date_of, mask_id_number, mask_name
from lending.loans.model import LoanRepository
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
        if app.offer_answer is None or not app.offer_answer.accepted:
            # Only the recorded answer counts, whatever resumed the wait.
            raise Conflict("the applicant has not accepted the offer", "not_accepted")
        applicant = self._applicant(app)
        now = self.clock.now()
        product = get_product(app.product_id)
        schedule = offer_schedule(app.offer, now.date())
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
        """Ask a funder to pay out; entered again when its answer did not come in time."""
        app = self._load(application_id)
        if app.offer is None or app.contract is None:
            raise Conflict("nothing signed to disburse", "not_signed")
        funding = app.funding
        if funding is not None and funding.unanswered:
            # The funder asked may still pay: ask it again (same request, paid once by id),
            # never another funder; after a bounded number of tries a person takes over.
            if funding.enquiries >= MAX_FUNDING_ENQUIRIES:
                raise FundingUnconfirmed(
                    f"{funding.funder_id} did not answer {funding.fund_request_id} after "
                    f"{funding.enquiries + 1} requests"
                )
            funding.enquiries += 1
            event = "fund_request_repeated"
        else:
            refusals = funding.refusals if funding is not None else []
            refused_by = {r.funder_id for r in refusals}
            if funding is not None and funding.funder_id in refused_by:
                # The funder asked last refused: its quota goes back, the next one is asked.
                self.funders.release(app.id)
            funder_id = reserve_funder(
                self.funders, app.id, app.product_id, app.offer.amount_fen, refused_by
            )
            request_id = fund_request_id(app.id, attempt=len(refusals))
            if funding is None or funding.fund_request_id != request_id:
                funding = Funding(
                    funder_id=funder_id,
                    fund_request_id=request_id,
                    requested_at=self.clock.now(),
                    refusals=refusals,
                )
            event = "fund_requested"
        app.funding = funding
        offer, contract = app.offer, app.contract
        app.tokens["funding"] = token
        app.status = Status.DISBURSING
        app = self._save(app, event, funder_id=funding.funder_id, enquiries=funding.enquiries)
        applicant = self._applicant(app)
        body = FundRequestBody(
            fund_request_id=funding.fund_request_id,
            application_id=app.id,
            funder_id=funding.funder_id,
            amount_fen=offer.amount_fen,
            term_months=offer.term_months,
            annual_rate=offer.annual_rate,
            repayment_method=offer.repayment_method,
            payee_name=applicant.name,
            payee_account=applicant.bank_card_number,
            contract_sha256=contract.sha256_hex,
            requested_at=funding.requested_at,
        )
        # The same request id every time, so the bank pays once; a repeat gets its own
        # deduplication id, or SQS would drop it within its 5-minute window.
        dedup_id = funding.fund_request_id + (f"~{funding.enquiries}" if funding.enquiries else "")
        self.fund_queue.send(funding.funder_id, sign_fund_request(body, self.signer), dedup_id)

    # -- 8. booking ------------------------------------------------------------------------

    def book(self, application_id: str) -> dict[str, str]:
        app = self._load(application_id)
        if app.status is Status.DISBURSED and app.loan_id:
            return {"loan_id": app.loan_id}
        book_loan(app, self.loans, self.clock.now())
        self._save(app, "loan_booked", loan_id=app.loan_id)
        return {"loan_id": app.loan_id or ""}

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
        funding, now = app.funding, self.clock.now()
        result: dict[str, str] = {"status": status}
        if funding is not None and funding.unanswered:
            # A fund request is out and unanswered: the money may have left. Keep the quota
            # and open an incident; the funder's answer, whenever it comes, settles it.
            app.open_incident(
                Incident(
                    kind="funding_unconfirmed",
                    funder_id=funding.funder_id,
                    fund_request_id=funding.fund_request_id,
                    action="ask the funder whether it paid: a 'paid' books the loan, "
                    "a 'rejected' gives the quota back",
                    opened_at=now,
                    amount_fen=app.offer.amount_fen if app.offer else None,
                )
            )
            result["incident"] = "funding_unconfirmed"
        elif funding is None or funding.paid_at is None:
            # Quota reserved for a loan that will not be paid goes back to its funder
            # (a no-op without a reservation, or when a redelivery already released it).
            self.funders.release(app.id)
        reasons = self._final_reasons(app, code, detail)
        app.status = Status(status)
        app.tokens.clear()
        app.outcome = Outcome(status=app.status, reasons=reasons, at=now)
        self._save(app, status, code=code, reasons=[r.code for r in reasons])
        return result

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
            "funding_unconfirmed": "the funder has not confirmed the payout; we are checking",
            "technical": "a processing step failed after its retries",
        }
        message = messages.get(code, code)
        if detail:
            message += f" ({detail})"
        return [Reason(code=code, message=message)]
