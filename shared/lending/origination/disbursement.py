"""Disburse: ask a funder to pay out, with a signed fund request on its queue.

Entered again when the funder refused (its quota goes back, the next funder is asked,
each once) or did not answer in time (the same funder is asked again: it may still
pay, so no other funder is asked meanwhile; after MAX_FUNDING_ENQUIRIES the step
raises FundingUnconfirmed and the application fails with its quota kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from lending.applications.model import Funding, Status
from lending.applications.privacy import open_applicant
from lending.errors import Conflict
from lending.funding.model import (
    MAX_FUNDING_ENQUIRIES,
    FunderRepository,
    FundingUnconfirmed,
    FundRequestBody,
    fund_request_id,
    reserve_funder,
    sign_fund_request,
)
from lending.origination.base import Step
from lending.origination.states import Waiting
from lending.ports import Cipher, Signer


class FundQueue(Protocol):
    def send(self, funder_id: str, message: dict[str, Any], dedup_id: str) -> None: ...


@dataclass
class Disbursement(Step):
    cipher: Cipher
    signer: Signer
    funders: FunderRepository
    fund_queue: FundQueue

    def disburse(self, application_id: str, token: str) -> Waiting:
        app = self._load(application_id)
        if app.offer is None or app.contract is None:
            raise Conflict("nothing signed to disburse", "not_signed")
        funding = app.funding
        if funding is not None and funding.unanswered:
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
                self.funders.release(app.id)  # the funder asked last refused
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
        applicant = open_applicant(self.cipher, app)
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
        return Waiting(application_id=application_id)
