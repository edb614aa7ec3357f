"""The reviewer's case page: what a person needs to decide, and no more.

The applicant's fields are masked except what a reviewer needs (name as 张*明, ID number
as 110***********1234, phone as 138****5678, the card's last four, the address's first
characters; income and debts in full). The document images are short-lived presigned
GETs (never public). The OCR findings are grouped per document, beside the data sources
and their coverage, the champion's PD, points and reasons and the shadow challengers'
PDs. Every case opened is recorded in the personal-data audit log *before* it is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from lending.applications.model import Application, Status
from lending.applications.privacy import (
    card_last_four,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
)
from lending.applications.service import ApplicationService
from lending.audit import PersonalDataAudit
from lending.auth import Principal, Role, require
from lending.documents.kinds import DocumentKind
from lending.errors import InvalidRequest

# Document images are readable this long after the page asked for them.
IMAGE_URL_SECONDS = 300
_APPLICATION_ID = re.compile(r"A[0-9]{14}[0-9a-f]{16}")


class DocumentLinks(Protocol):
    def presign_download(
        self,
        key: str,
        expires_seconds: int,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> str:
        """A presigned GET of the object, valid for `expires_seconds`."""


def check_application_id(application_id: str) -> str:
    """'A' + 14 digits (UTC time) + 16 hex digits, or 400."""
    if _APPLICATION_ID.fullmatch(application_id) is None:
        raise InvalidRequest("not an application id", "invalid_application_id")
    return application_id


def age_on(id_number: str, today: date) -> int | None:
    """Whole years since the birth date the resident ID number carries."""
    try:
        born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def document_findings(app: Application) -> dict[str, list[dict[str, str]]]:
    """The OCR reasons per document kind (each reason's message starts with its kind)."""
    found: dict[str, list[dict[str, str]]] = {}
    for reason in app.ocr_reasons:
        kind, sep, message = reason.message.partition(": ")
        if not sep or kind not in DocumentKind._value2member_map_:
            kind, message = "other", reason.message
        found.setdefault(kind, []).append({"code": reason.code, "message": message})
    return found


@dataclass
class CaseFiles:
    applications: ApplicationService
    links: DocumentLinks
    audit: PersonalDataAudit

    def case(self, who: Principal, application_id: str) -> dict[str, Any]:
        require(who, Role.REVIEWER, Role.ADMIN)
        app = self.applications.get_for(who, check_application_id(application_id))
        documents = dict(sorted(app.documents.items()))
        fields = ["name", "id_number", "phone", "bank_card", "address", "income", "debt"]
        if app.product_type == "business":
            fields += ["company_name", "credit_code"]
        fields += [f"document:{kind}" for kind in documents]
        # Recorded first: a view that cannot be recorded is not shown.
        view = self.audit.viewed(who, app.id, fields, "manual_review")
        details = self.applications.decrypt_applicant(app)
        applicant: dict[str, Any] = {
            "name": mask_name(details.name),
            "id_number": mask_id_number(details.id_number),
            "age": age_on(details.id_number, view.at.date()),
            "phone": mask_phone(details.phone),
            "bank_card_last_four": card_last_four(details.bank_card_number),
            "address": mask_address(details.address),
            "monthly_income_fen": details.monthly_income_fen,
            "monthly_debt_fen": details.monthly_debt_fen,
        }
        if app.product_type == "business":
            # A company's name and unified social credit code are public registry data.
            applicant["company_name"] = details.company_name
            applicant["credit_code"] = details.credit_code
        findings = document_findings(app)
        return {
            "application_id": app.id,
            "product_id": app.product_id,
            "product_type": app.product_type,
            "amount_fen": app.amount_fen,
            "term_months": app.term_months,
            "repayment_method": app.repayment_method,
            "purpose": app.purpose,
            "status": app.status.value,
            "submitted_at": app.submitted_at.isoformat() if app.submitted_at else None,
            "queued_at": (app.review_queued_at or app.updated_at).isoformat(),
            "escalated": app.review_escalated_at is not None,
            "awaiting_decision": app.status is Status.IN_REVIEW and "review" in app.tokens,
            "stage": "decision" if app.decision is not None else "documents",
            "applicant": applicant,
            "documents": [
                {
                    "kind": kind,
                    "content_type": ref.content_type,
                    "size": ref.size,
                    "uploaded_at": ref.uploaded_at.isoformat(),
                    # The object's own type (the upload policy held it to JPEG or PNG).
                    "url": self.links.presign_download(ref.key, IMAGE_URL_SECONDS),
                    "expires_in": IMAGE_URL_SECONDS,
                    "status": (
                        "not_checked"
                        if app.ocr_outcome is None
                        else "flagged"
                        if findings.get(kind)
                        else "ok"
                    ),
                    "findings": findings.get(kind, []),
                }
                for kind, ref in documents.items()
            ],
            "ocr": {
                "outcome": app.ocr_outcome,
                "attempts": app.document_attempts,
                "other_findings": findings.get("other", []),
            },
            "sources": [
                {"name": name, "state": state} for name, state in sorted(app.sources.items())
            ],
            "coverage": app.decision.coverage if app.decision else None,
            "decision": (
                {
                    "outcome": app.decision.outcome,
                    "probability_of_default": app.decision.probability_of_default,
                    "points": app.decision.points,
                    "credit_line_fen": app.decision.credit_line_fen,
                    "model_version": app.decision.model_version,
                    "reasons": [r.model_dump() for r in app.decision.reasons],
                    "bins": app.decision.bins,
                    "decided_at": app.decision.decided_at.isoformat(),
                }
                if app.decision
                else None
            ),
            "challengers": [
                {
                    "model_version": s.model_version,
                    "probability_of_default": s.probability_of_default,
                    # Against the champion's PD: positive = the challenger sees more risk.
                    "difference": (
                        None
                        if s.probability_of_default is None or app.decision is None
                        else s.probability_of_default - app.decision.probability_of_default
                    ),
                }
                for s in (app.decision.shadow if app.decision else [])
            ],
            "review_reasons": [r.model_dump() for r in app.review_reasons],
            "reviewed_by": app.reviewed_by,
            "viewed_at": view.at.isoformat(),
        }
