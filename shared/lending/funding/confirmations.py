"""A bank's answer to a fund request: record it once, then act on what is recorded.

The first answer to the current request is recorded; the funding wait is resumed from
what is recorded (paid: success; refused: FundingRejected, which sends the state
machine back to Disburse to ask the next funder). An answer that arrives after the
wait gave up is not lost:

* a late `paid` for the request still outstanding books the loan (the application
  failed only because nobody knew the money had left);
* a late `rejected` gives the quota held for it back;
* a `paid` that contradicts what is recorded (after a refusal, or a second payout
  reference for the same request) opens an `unexpected_payout` incident that asks the
  funder for the money back, and alarms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lending.applications.model import Application, FundingRefusal, Incident, Status
from lending.applications.ports import ApplicationRepository, Event, Workflow
from lending.errors import Conflict, NotFound
from lending.funding.model import (
    Confirmation,
    FunderRepository,
    FundingRejected,
    application_of,
)
from lending.loans.model import LoanRepository
from lending.origination.booking import book_loan
from lending.ports import Clock

# The error a refusal fails the funding wait with; the ASL's Disburse state catches it.
FUNDING_REJECTED = FundingRejected.__name__

Handled = Literal["recorded", "already_confirmed", "booked_late", "released", "return_requested"]


@dataclass(frozen=True)
class ConfirmationResult:
    application_id: str
    handled: Handled
    incident: Incident | None = None  # opened by this confirmation (alarm on it)


@dataclass
class FundingConfirmations:
    repo: ApplicationRepository
    funders: FunderRepository
    loans: LoanRepository
    workflow: Workflow
    clock: Clock

    def confirm(self, funder_id: str, confirmation: Confirmation) -> ConfirmationResult:
        for attempt in range(3):
            app = self.repo.get(application_of(confirmation.fund_request_id))
            if app is None or app.funding is None:
                raise NotFound("no such fund request for this funder")
            handled, incident, event = self._apply(app, funder_id, confirmation)
            if event is not None:
                app.updated_at = event.at
                try:
                    app = self.repo.save(app, event)
                except Conflict:
                    if attempt == 2:
                        raise
                    continue  # another confirmation won the write: decide again from it
            if handled == "released":
                self.funders.release(app.id)  # once: a no-op after the first release
            self._resume(app)
            return ConfirmationResult(app.id, handled, incident)
        raise AssertionError("unreachable")

    def _apply(
        self, app: Application, funder_id: str, confirmation: Confirmation
    ) -> tuple[Handled, Incident | None, Event | None]:
        """What this confirmation does to `app` (changed in place), and the event to save."""
        funding = app.funding
        assert funding is not None
        request_id = confirmation.fund_request_id
        refusal = FundingRefusal(funder_id=funder_id, fund_request_id=request_id)
        current = (funding.funder_id, funding.fund_request_id) == (funder_id, request_id)
        if not current and refusal not in funding.refusals:
            raise NotFound("no such fund request for this funder")
        now = self.clock.now()
        data = {"status": confirmation.status, "fund_request_id": request_id}
        if current and funding.unanswered:
            if app.offer is None or confirmation.amount_fen != app.offer.amount_fen:
                raise Conflict("confirmed amount differs from the requested amount", "amount")
            if confirmation.status == "rejected":
                funding.refusals.append(refusal)
                if app.status is Status.DISBURSING:
                    return "recorded", None, Event(type="funding_confirmed", at=now, data=data)
                # The wait gave up on this funder: the quota it held can go back now.
                app.resolve_incidents(request_id, "the funder did not pay", now)
                return "released", None, Event(type="funding_refused_late", at=now, data=data)
            funding.payout_reference = confirmation.payout_reference
            funding.paid_at = confirmation.paid_at
            if app.status is Status.DISBURSING:
                return "recorded", None, Event(type="funding_confirmed", at=now, data=data)
            if app.status is Status.FAILED:
                # The money left while nothing waited for it: the loan exists, book it.
                book_loan(app, self.loans, now)
                app.resolve_incidents(request_id, "paid late; the loan is booked", now)
                return "booked_late", None, Event(type="loan_booked_late", at=now, data=data)
            # (declined or withdrawn: no loan may exist, fall through to the incident)
        elif confirmation.status == "rejected" or (
            current and funding.payout_reference == confirmation.payout_reference
        ):
            return "already_confirmed", None, None
        incident = Incident(
            kind="unexpected_payout",
            funder_id=funder_id,
            fund_request_id=request_id,
            action="ask the funder to return the funds: the platform did not take this payout",
            opened_at=now,
            amount_fen=confirmation.amount_fen,
            payout_reference=confirmation.payout_reference,
        )
        if not app.open_incident(incident):
            return "return_requested", None, None
        return "return_requested", incident, Event(type="incident_opened", at=now, data=data)

    def _resume(self, app: Application) -> None:
        """Resume the funding wait from what is recorded (again, if a resume was lost)."""
        token = app.tokens.get("funding")
        funding = app.funding
        if app.status is not Status.DISBURSING or token is None or funding is None:
            return
        if funding.payout_reference is not None:
            self.workflow.succeed(
                token, {"paid": True, "payout_reference": funding.payout_reference}
            )
        elif not funding.unanswered:
            self.workflow.fail(token, FUNDING_REJECTED)
