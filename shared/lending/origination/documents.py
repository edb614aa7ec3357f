"""ValidateDocuments and RequestReupload: read the documents, ask again when unreadable."""

from __future__ import annotations

from dataclasses import dataclass

from lending.applications.model import (
    MAX_DOCUMENT_ATTEMPTS,
    Application,
    Reason,
    RetakeReason,
    Status,
)
from lending.applications.ports import DocumentStore
from lending.applications.privacy import open_applicant
from lending.documents.kinds import MAX_DOCUMENT_BYTES, DocumentKind
from lending.documents.validate import DeclaredIdentity, validate_documents
from lending.ocr.ports import OcrEngine
from lending.origination.base import Step
from lending.origination.states import DocumentsChecked, Waiting
from lending.ports import Cipher


def _checked(app: Application) -> DocumentsChecked:
    return DocumentsChecked(
        outcome=app.ocr_outcome,
        reupload_allowed=app.ocr_outcome == "unreadable"
        and app.document_attempts < MAX_DOCUMENT_ATTEMPTS,
    )


@dataclass
class DocumentCheck(Step):
    documents: DocumentStore
    cipher: Cipher
    ocr: OcrEngine

    def validate_documents(self, application_id: str) -> DocumentsChecked:
        app = self._load(application_id)
        if app.ocr_outcome is not None:
            return _checked(app)
        if app.status is Status.SUBMITTED:
            app.status = Status.VALIDATING_DOCUMENTS
            app = self._save(app, "documents_validation_started")
        applicant = open_applicant(self.cipher, app)
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
        app.retake_reasons = [
            RetakeReason(document=str(r.document), code=r.code, message=r.message)
            for r in check.retakes
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
        return _checked(app)


@dataclass
class ReuploadRequest(Step):
    def request_reupload(self, application_id: str, token: str) -> Waiting:
        """Hold the wait's token: the applicant's next submit resumes the execution."""
        app = self._load(application_id)
        if not app.terminal:
            app.tokens["reupload"] = token
            app.status = Status.AWAITING_DOCUMENTS
            self._save(app, "reupload_requested", attempt=app.document_attempts)
        return Waiting(application_id=application_id)
