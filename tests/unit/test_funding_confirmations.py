"""A bank's answers, on time, late, repeated or contradicting: recorded once, never lost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lending.applications.model import (
    Application,
    ContractRecord,
    Funding,
    FundingRefusal,
    Offer,
    OfferAnswer,
    Status,
)
from lending.applications.ports import Event
from lending.errors import Conflict, NotFound
from lending.funding.confirmations import FUNDING_REJECTED, FundingConfirmations
from lending.funding.model import Confirmation, Funder, fund_request_id
from tests.fakes import FakeClock, FakeFunders, FakeLoans, FakeRepo, FakeWorkflow

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
AMOUNT = 50_000_00
APP_ID = "A20261101090000aaaaaaaaaaaaaaaa"
REQUEST = fund_request_id(APP_ID, 0)


def disbursing_application(status: Status = Status.DISBURSING) -> Application:
    return Application(
        id=APP_ID,
        applicant_id="U1",
        product_id="consumer-flex",
        product_type="consumer",
        amount_fen=AMOUNT,
        term_months=12,
        repayment_method="equal_instalment",
        status=status,
        created_at=T0,
        updated_at=T0,
        applicant_blob="",
        id_hash="h",
        offer=Offer(
            amount_fen=AMOUNT,
            term_months=12,
            repayment_method="equal_instalment",
            annual_rate="0.12",
            apr="0.1200",
            first_payment_fen=444_244,
            total_interest_fen=330_928,
            total_repayment_fen=5_330_928,
            grade="B",
        ),
        offer_answer=OfferAnswer(accepted=True, at=T0),
        contract=ContractRecord(
            key="contracts/x.pdf",
            sha256_hex="00" * 32,
            signature_b64="",
            signing_key_id="k",
            algorithm="RSASSA_PKCS1_V1_5_SHA_256",
            signed_at=T0,
        ),
        funding=Funding(funder_id="bank-a", fund_request_id=REQUEST, requested_at=T0),
        tokens={"funding": "token-1"} if status is Status.DISBURSING else {},
    )


class World:
    def __init__(self, app: Application) -> None:
        self.repo = FakeRepo()
        self.repo.create(app, Event(type="created", at=T0))
        self.funders = FakeFunders(
            {
                "bank-a": Funder(
                    id="bank-a",
                    name="Bank A",
                    kind="bank",
                    products=["consumer-flex"],
                    quota_fen=10 * AMOUNT,
                    cost_of_funds_bps=300,
                )
            }
        )
        assert self.funders.reserve("bank-a", APP_ID, AMOUNT)
        self.loans = FakeLoans()
        self.workflow = FakeWorkflow()
        self.service = FundingConfirmations(
            self.repo, self.funders, self.loans, self.workflow, FakeClock()
        )

    def app(self) -> Application:
        found = self.repo.get(APP_ID)
        assert found is not None
        return found

    def events(self) -> list[str]:
        return [e.type for e in self.repo.events(APP_ID)]


def paid(reference: str = "BANKA-1", amount: int = AMOUNT) -> Confirmation:
    return Confirmation(
        fund_request_id=REQUEST,
        status="paid",
        amount_fen=amount,
        payout_reference=reference,
        paid_at=T0,
    )


def rejected() -> Confirmation:
    return Confirmation(
        fund_request_id=REQUEST,
        status="rejected",
        amount_fen=AMOUNT,
        payout_reference="BANKA-DECLINED",
        paid_at=T0,
    )


def test_paid_while_waiting_is_recorded_and_resumes_the_wait_once() -> None:
    world = World(disbursing_application())
    result = world.service.confirm("bank-a", paid())
    assert result.handled == "recorded"
    assert world.app().funding.payout_reference == "BANKA-1"  # type: ignore[union-attr]
    assert world.workflow.resumed == [("token-1", {"paid": True, "payout_reference": "BANKA-1"})]
    again = world.service.confirm("bank-a", paid())
    assert again.handled == "already_confirmed"
    assert world.events().count("funding_confirmed") == 1


def test_rejected_while_waiting_fails_the_wait_for_the_next_funder() -> None:
    world = World(disbursing_application())
    assert world.service.confirm("bank-a", rejected()).handled == "recorded"
    assert world.workflow.failed == [("token-1", FUNDING_REJECTED)]
    # A contradicting 'paid' after the refusal: the money moved against the record.
    late = world.service.confirm("bank-a", paid())
    assert late.handled == "return_requested"
    assert late.incident is not None and late.incident.kind == "unexpected_payout"
    assert world.app().funding.payout_reference is None  # type: ignore[union-attr]
    # Delivered again: the same incident, not a second one.
    assert world.service.confirm("bank-a", paid()).incident is None
    assert len(world.app().incidents) == 1


def test_a_paid_after_the_wait_gave_up_books_the_loan_once() -> None:
    world = World(disbursing_application(Status.FAILED))
    result = world.service.confirm("bank-a", paid())
    assert result.handled == "booked_late"
    app = world.app()
    assert app.status is Status.DISBURSED
    assert app.loan_id in world.loans.loans
    assert world.loans.loans[app.loan_id].principal_fen == AMOUNT  # type: ignore[index]
    assert world.funders.reservation_of(APP_ID) == "bank-a"  # the quota stays in use
    assert world.workflow.resumed == []  # nothing waits any more
    assert world.service.confirm("bank-a", paid()).handled == "already_confirmed"
    assert len(world.loans.loans) == 1


def test_a_rejection_after_the_wait_gave_up_gives_the_quota_back() -> None:
    world = World(disbursing_application(Status.FAILED))
    assert world.service.confirm("bank-a", rejected()).handled == "released"
    assert world.funders.reservation_of(APP_ID) is None
    assert world.funders.funders["bank-a"].used_fen == 0
    assert world.app().status is Status.FAILED
    assert world.service.confirm("bank-a", rejected()).handled == "already_confirmed"


def test_a_second_payout_reference_for_one_request_is_an_incident() -> None:
    world = World(disbursing_application())
    world.service.confirm("bank-a", paid("BANKA-1"))
    twice = world.service.confirm("bank-a", paid("BANKA-2"))
    assert twice.handled == "return_requested"
    assert world.app().funding.payout_reference == "BANKA-1"  # type: ignore[union-attr]


def test_unknown_requests_and_other_amounts_are_refused() -> None:
    world = World(disbursing_application())
    with pytest.raises(NotFound):
        world.service.confirm("bank-b", paid())
    with pytest.raises(Conflict):
        world.service.confirm("bank-a", paid(amount=AMOUNT + 1))
    assert world.app().funding.payout_reference is None  # type: ignore[union-attr]


def test_an_earlier_funders_refusal_delivered_again_changes_nothing() -> None:
    app = disbursing_application()
    assert app.funding is not None
    app.funding = Funding(
        funder_id="trust-b",
        fund_request_id=fund_request_id(APP_ID, 1),
        requested_at=T0,
        refusals=[FundingRefusal(funder_id="bank-a", fund_request_id=REQUEST)],
    )
    world = World(app)
    assert world.service.confirm("bank-a", rejected()).handled == "already_confirmed"
    assert world.workflow.failed == []
