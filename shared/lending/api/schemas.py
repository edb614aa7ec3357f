"""Request and reply models of the mini-program API, version 1."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lending.applications.model import ApplicantDetails, Reason
from lending.auth import Role

# The platform's purpose codes (lending.scoring.profile.PURPOSE_TO_MODEL maps each one;
# a unit test keeps the two lists equal).
Purpose = Literal[
    "car_new",
    "car_used",
    "furniture",
    "electronics",
    "appliances",
    "repairs",
    "education",
    "retraining",
    "business",
    "other",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginRequest(Strict):
    code: str = Field(min_length=1, max_length=128, description="wx.login() code (sandbox: any)")
    role: Role = Role.APPLICANT
    funder_id: str | None = Field(default=None, max_length=32)


class LoginReply(BaseModel):
    token: str
    role: Role
    subject: str
    expires_in: int


class Consent(Strict):
    """PIPL: separate, explicit consent to process personal and credit information."""

    personal_information: Literal[True]
    credit_inquiry: Literal[True]


class CreateApplicationRequest(Strict):
    product_id: str = Field(min_length=1, max_length=40)
    amount_fen: int = Field(gt=0, le=100_000_000_00)
    term_months: int = Field(ge=1, le=360)
    repayment_method: str = Field(min_length=1, max_length=30)
    purpose: Purpose = "other"
    applicant: ApplicantDetails
    consent: Consent


class UploadRequest(Strict):
    kind: Literal["id_front", "id_back", "bank_card", "business_licence"]
    content_type: Literal["image/jpeg", "image/png"]
    size: int = Field(gt=0, description="bytes; at most 5 MiB")


class UploadReply(BaseModel):
    kind: str
    key: str
    url: str
    fields: dict[str, str]
    expires_in: int


class OfferAnswer(Strict):
    accept: bool
    # Signing needs an explicit, separate confirmation that the contract was read.
    contract_read: bool = False


class ReviewDecision(Strict):
    decision: Literal["approve", "decline"]
    reasons: list[Reason] = Field(default_factory=list, max_length=10)


class Classification(Strict):
    """A person's five-tier classification of a loan (worse than its floor, or 正常 to
    withdraw a judgement)."""

    tier: Literal["正常", "关注", "次级", "可疑", "损失"]
    reason: str = Field(min_length=1, max_length=200)


class ErrorReply(BaseModel):
    code: str
    message: str


class RepaymentRequest(Strict):
    """Pay an amount now (partial payments allowed), or settle the loan in full."""

    amount_fen: int | None = Field(default=None, gt=0, le=100_000_000_00)
    settle: bool = False
    # What principal paid before it falls due does to the plan (the borrower chooses).
    reschedule: Literal["shorten_term", "lower_instalment"] = "lower_instalment"
