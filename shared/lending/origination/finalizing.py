"""The terminal states: record the outcome (declined, withdrawn, failed) and why.

Quota reserved for a loan that will not be paid goes back to its funder, except while a
fund request is out unanswered: the money may have left, so the quota stays held and a
`funding_unconfirmed` incident is opened; the funder's answer settles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lending.applications.model import Application, Incident, Outcome, Reason, Status
from lending.funding.model import FunderRepository
from lending.origination.base import Step
from lending.origination.states import Finalized

MESSAGES = {
    "offer_refused": "the applicant refused the offer",
    "offer_expired": "the offer expired unanswered",
    "documents_not_resubmitted": "unreadable documents were not uploaded again in time",
    "funding": "no funder could pay out this loan",
    "funding_unconfirmed": "the funder has not confirmed the payout; we are checking",
    "technical": "a processing step failed after its retries",
}


@dataclass
class Finalization(Step):
    funders: FunderRepository

    def finalize(
        self,
        application_id: str,
        status: Literal["declined", "withdrawn", "failed"],
        code: str,
        detail: str | None = None,
    ) -> Finalized:
        app = self._load(application_id)
        if app.terminal:
            return Finalized(status=app.status.value)
        funding, now = app.funding, self.clock.now()
        incident = None
        if funding is not None and funding.unanswered:
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
            incident = "funding_unconfirmed"
        elif funding is None or funding.paid_at is None:
            # A no-op without a reservation, or when a redelivery already released it.
            self.funders.release(app.id)
        reasons = _final_reasons(app, code, detail)
        app.status = Status(status)
        app.tokens.clear()
        app.outcome = Outcome(status=app.status, reasons=reasons, at=now)
        self._save(app, status, code=code, reasons=[r.code for r in reasons])
        return Finalized(status=status, incident=incident)


def _final_reasons(app: Application, code: str, detail: str | None) -> list[Reason]:
    if code == "documents":
        return app.ocr_reasons or [Reason(code="documents", message="documents not verified")]
    if code == "score" and app.decision is not None:
        return app.decision.reasons
    if code == "review":
        return app.review_reasons or [Reason(code="review", message="declined on review")]
    message = MESSAGES.get(code, code)
    if detail:
        message += f" ({detail})"
    return [Reason(code=code, message=message)]
