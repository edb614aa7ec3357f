"""The application aggregate and its lifecycle.

Personal data never sits on the aggregate in clear: `applicant_blob` is the
envelope-encrypted `ApplicantDetails`; `id_hash` is the blind index of the ID number.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


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


class ApplicantDetails(BaseModel):
    """What the applicant declares. Personal information: stored encrypted only."""

    name: str = Field(min_length=2, max_length=30)
    id_number: str = Field(min_length=18, max_length=18)
    phone: str = Field(pattern=r"^1[3-9]\d{9}$")
    address: str = Field(min_length=4, max_length=120)
    bank_card_number: str = Field(pattern=r"^\d{16,19}$")
    monthly_income_fen: int = Field(ge=0, le=100_000_000_00)
    monthly_debt_fen: int = Field(ge=0, le=100_000_000_00)
    company_name: str | None = Field(default=None, max_length=80)
    credit_code: str | None = Field(default=None, min_length=18, max_length=18)


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
    sources: dict[str, str] = {}  # source name -> "ok" | "unavailable"
    decision: Decision | None = None
    offer: Offer | None = None
    review_reasons: list[Reason] = []
    reviewed_by: str | None = None
    review_queued_at: datetime | None = None
    # Set when a case waited too long for a reviewer and went to the senior queue.
    review_escalated_at: datetime | None = None
    contract: ContractRecord | None = None
    funding: Funding | None = None
    loan_id: str | None = None
    outcome: Outcome | None = None
    # Task tokens of the waits in progress; never shown to a client.
    tokens: dict[str, str] = {}
    submitted_at: datetime | None = None
    decided_at: datetime | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def public_view(self) -> dict[str, Any]:
        """What the applicant may see: no tokens, no ciphertext, no hashes."""
        return self.model_dump(
            mode="json",
            exclude={"tokens", "applicant_blob", "id_hash", "credit_code_hash", "version"},
        )
