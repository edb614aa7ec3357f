"""The application aggregate and its lifecycle.

Personal data never sits on the aggregate in clear: `applicant_blob` is the
envelope-encrypted `ApplicantDetails`; `id_hash` is the blind index of the ID number.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from lending.identity.text import Address, CardNumber, CompanyName, Number, PersonName


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    AWAITING_DOCUMENTS = "awaiting_documents"  # a document was unreadable: upload it again
    VALIDATING_DOCUMENTS = "validating_documents"
    COLLECTING_DATA = "collecting_data"
    SCORING = "scoring"
    IN_REVIEW = "in_review"
    OFFERED = "offered"
    SIGNED = "signed"
    DISBURSING = "disbursing"
    DISBURSED = "disbursed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"


# Unreadable documents may be uploaded again this many times in all, then a person looks.
MAX_DOCUMENT_ATTEMPTS = 3

TERMINAL = frozenset({Status.DISBURSED, Status.DECLINED, Status.WITHDRAWN, Status.FAILED})

# The steps an applicant sees in the progress bar, in order.
PROGRESS_STEPS: tuple[Status, ...] = (
    Status.SUBMITTED,
    Status.VALIDATING_DOCUMENTS,
    Status.COLLECTING_DATA,
    Status.SCORING,
    Status.OFFERED,
    Status.SIGNED,
    Status.DISBURSING,
    Status.DISBURSED,
)


class Reason(BaseModel):
    code: str
    message: str


class RetakeReason(BaseModel):
    """Why a document must be photographed again, for the applicant's app: `code` is
    stable (too_dark, glare, cut_off, too_small, blurred, no_document, unclear,
    unsupported_file, missing), `message` is a sentence to show."""

    document: str
    code: str
    message: str


class ApplicantDetails(BaseModel):
    """What the applicant declares. Personal information: stored encrypted only."""

    # Raw lengths bound the input; the text rules (lending.identity.text) then clean and
    # check it. ASCII digits only: `\d` would also take Arabic-Indic or full-width ones.
    name: PersonName = Field(max_length=64)
    id_number: Number = Field(pattern=r"^[0-9]{17}[0-9X]$")
    phone: Number = Field(pattern=r"^1[3-9][0-9]{9}$")
    address: Address = Field(max_length=240)
    bank_card_number: CardNumber = Field(pattern=r"^[0-9]{16,19}$")
    monthly_income_fen: int = Field(ge=0, le=100_000_000_00)
    monthly_debt_fen: int = Field(ge=0, le=100_000_000_00)
    company_name: CompanyName | None = Field(default=None, max_length=160)
    credit_code: Number | None = Field(default=None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")


class DocumentRef(BaseModel):
    kind: str
    key: str
    size: int
    content_type: str
    uploaded_at: datetime


class Offer(BaseModel):
    amount_fen: int
    term_months: int
    repayment_method: str
    annual_rate: str  # Decimal as string, e.g. "0.0890"
    apr: str
    first_payment_fen: int
    total_interest_fen: int
    total_repayment_fen: int
    grade: str


class OfferAnswer(BaseModel):
    """The applicant's one answer to the offer; recorded once, never changed."""

    accepted: bool
    at: datetime


class ShadowScore(BaseModel):
    """A challenger's PD for the same application (recorded, never used to decide)."""

    model_version: str
    probability_of_default: float | None  # None: the challenger failed


class Decision(BaseModel):
    outcome: Literal["approve", "decline", "review"]
    probability_of_default: float
    points: int
    credit_line_fen: int
    coverage: float
    model_version: str
    reasons: list[Reason] = []
    decided_at: datetime
    shadow: list[ShadowScore] = []
    # Feature -> the scorecard bin it fell in (labels, no raw values): the audit trail and
    # the live side of the weekly feature-stability (PSI) check.
    bins: dict[str, str] = {}


class ContractRecord(BaseModel):
    key: str
    sha256_hex: str
    signature_b64: str
    signing_key_id: str
    algorithm: str
    signed_at: datetime


class FundingRefusal(BaseModel):
    funder_id: str
    fund_request_id: str


class Funding(BaseModel):
    """The current fund request, and the funders that refused earlier ones."""

    funder_id: str
    fund_request_id: str
    requested_at: datetime
    payout_reference: str | None = None
    paid_at: datetime | None = None
    refusals: list[FundingRefusal] = []
    # Times the current request was sent again because its funder did not answer in time.
    enquiries: int = 0

    @property
    def unanswered(self) -> bool:
        """The current request has neither a payout nor a refusal: money may yet leave."""
        return self.payout_reference is None and not any(
            r.fund_request_id == self.fund_request_id for r in self.refusals
        )


class Incident(BaseModel):
    """Money whose fate the platform does not know, or that moved when it should not have:
    finance acts on it (alarmed when opened) and resolves it."""

    kind: Literal["funding_unconfirmed", "unexpected_payout"]
    funder_id: str
    fund_request_id: str
    action: str
    opened_at: datetime
    amount_fen: int | None = None
    payout_reference: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None


class Outcome(BaseModel):
    status: Status
    reasons: list[Reason] = []
    at: datetime


class Application(BaseModel):
    id: str
    applicant_id: str
    product_id: str
    product_type: Literal["consumer", "business"]
    amount_fen: int
    term_months: int
    repayment_method: str
    purpose: str = "other"
    status: Status = Status.DRAFT
    created_at: datetime
    updated_at: datetime
    version: int = 0
    applicant_blob: str  # base64 envelope ciphertext of ApplicantDetails
    id_hash: str
    credit_code_hash: str | None = None
    documents: dict[str, DocumentRef] = {}
    ocr_outcome: str | None = None
    document_attempts: int = 0
    ocr_reasons: list[Reason] = []
    # Per unreadable document, what the applicant should fix in the next photo.
    retake_reasons: list[RetakeReason] = []
    sources: dict[str, str] = {}  # source name -> "ok" | "unavailable"
    decision: Decision | None = None
    offer: Offer | None = None
    offer_answer: OfferAnswer | None = None
    review_reasons: list[Reason] = []
    reviewed_by: str | None = None
    review_queued_at: datetime | None = None
    # Set when a case waited too long for a reviewer and went to the senior queue.
    review_escalated_at: datetime | None = None
    contract: ContractRecord | None = None
    funding: Funding | None = None
    loan_id: str | None = None
    outcome: Outcome | None = None
    incidents: list[Incident] = []
    # Task tokens of the waits in progress; never shown to a client.
    tokens: dict[str, str] = {}
    submitted_at: datetime | None = None
    decided_at: datetime | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def open_incident(self, incident: Incident) -> bool:
        """Open it once per kind and fund request; True if it is new."""
        if any(
            (i.kind, i.fund_request_id) == (incident.kind, incident.fund_request_id)
            for i in self.incidents
        ):
            return False
        self.incidents.append(incident)
        return True

    def resolve_incidents(self, fund_request_id: str, resolution: str, at: datetime) -> None:
        for incident in self.incidents:
            if incident.fund_request_id == fund_request_id and incident.resolved_at is None:
                incident.resolved_at = at
                incident.resolution = resolution

    def public_view(self) -> dict[str, Any]:
        """What the applicant may see: no tokens, no ciphertext, no hashes, no staff ids."""
        return self.model_dump(
            mode="json",
            exclude={
                "tokens",
                "applicant_blob",
                "id_hash",
                "credit_code_hash",
                "version",
                "reviewed_by",
                "incidents",
            },
        )
