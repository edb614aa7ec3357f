"""Each state's input (the Lambda payload the ASL builds) and output, as pydantic models.

Handlers validate the event with the input model and return the output model dumped,
so a payload the ASL and the code disagree on fails loudly at the boundary.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

SourceName = Literal["credit_bureau", "business_registry", "tax_bureau", "judicial_records"]


class StateInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_id: str


class WaitInput(StateInput):
    """A `.waitForTaskToken` state: the token is held until a person or a bank answers."""

    task_token: str


class CollectInput(StateInput):
    source: SourceName


class SourceResult(BaseModel):
    """One Parallel branch's output; a branch whose source stayed down says `unavailable`."""

    source: SourceName
    status: Literal["ok", "unavailable"]


class ScoreInput(StateInput):
    sources: list[SourceResult]


class FinalizeInput(StateInput):
    status: Literal["declined", "withdrawn", "failed"]
    code: str
    detail: str | None = None  # the error name, for technical and funding outcomes


class DocumentsChecked(BaseModel):
    """What DocumentsVerified? branches on."""

    outcome: str | None
    reupload_allowed: bool


class Waiting(BaseModel):
    """A wait state's Lambda output (Step Functions keeps the answer sent with the token)."""

    application_id: str


class Scored(BaseModel):
    decision: Literal["approve", "decline", "review"]


class ContractSigned(BaseModel):
    sha256: str


class LoanBooked(BaseModel):
    loan_id: str


class Finalized(BaseModel):
    status: str
    incident: str | None = None  # an incident this outcome opened (alarmed)
