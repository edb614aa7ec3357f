"""Disburse and Finalize around a funder that does not answer: ask it again, never
another funder, then fail with the quota kept and an incident open."""

from __future__ import annotations

import pytest

from lending.applications.model import Application, Status
from lending.applications.ports import Event
from lending.applications.privacy import seal_applicant
from lending.funding.model import MAX_FUNDING_ENQUIRIES, Confirmation, FundingUnconfirmed
from lending.origination.disbursement import Disbursement
from lending.origination.finalizing import Finalization
from lending.origination.states import Finalized
from tests.fakes import (
    FakeCipher,
    FakeClock,
    FakeQueue,
    FakeSigner,
    applicant_details,
)
from tests.unit.test_funding_confirmations import AMOUNT, APP_ID, World, disbursing_application


def signed_application() -> Application:
    """Signed and accepted, nothing asked of a funder yet."""
    app = disbursing_application(Status.SIGNED)
    app.funding = None
    details = applicant_details(7, company_name=None, credit_code=None)
    app.applicant_blob = seal_applicant(FakeCipher(), app.id, details)
    return app


def disbursement(world: World, queue: FakeQueue) -> Disbursement:
    return Disbursement(
        repo=world.repo,
        clock=FakeClock(),
        cipher=FakeCipher(),
        signer=FakeSigner(),
        funders=world.funders,
        fund_queue=queue,
    )


def finalization(world: World) -> Finalization:
    return Finalization(repo=world.repo, clock=FakeClock(), funders=world.funders)


@pytest.fixture
def world() -> World:
    world = World(signed_application())
    world.funders.release(APP_ID)  # World reserves for an app already asking; this one isn't
    return world


def test_a_funder_that_does_not_answer_is_asked_again_never_another(world: World) -> None:
    queue = FakeQueue()
    step = disbursement(world, queue)
    step.disburse(APP_ID, "token-1")
    for n in range(MAX_FUNDING_ENQUIRIES):  # each funding wait timed out
        step.disburse(APP_ID, f"token-{n + 2}")
    funders = {funder_id for funder_id, _, _ in queue.sent}
    request_ids = {message["body"]["fund_request_id"] for _, message, _ in queue.sent}
    dedup_ids = [dedup for _, _, dedup in queue.sent]
    assert funders == {"bank-a"} and len(request_ids) == 1
    assert len(set(dedup_ids)) == len(dedup_ids) == MAX_FUNDING_ENQUIRIES + 1
    app = world.app()
    assert app.funding is not None and app.funding.enquiries == MAX_FUNDING_ENQUIRIES
    assert app.tokens["funding"] == f"token-{MAX_FUNDING_ENQUIRIES + 1}"
    with pytest.raises(FundingUnconfirmed):
        step.disburse(APP_ID, "token-last")
    assert world.funders.funders["bank-a"].used_fen == AMOUNT  # one reservation throughout


def test_failing_with_a_request_unanswered_keeps_the_quota_and_opens_an_incident(
    world: World,
) -> None:
    disbursement(world, FakeQueue()).disburse(APP_ID, "token-1")
    result = finalization(world).finalize(
        APP_ID, "failed", "funding_unconfirmed", "FundingUnconfirmed"
    )
    assert result == Finalized(status="failed", incident="funding_unconfirmed")
    app = world.app()
    assert [i.kind for i in app.incidents] == ["funding_unconfirmed"]
    assert world.funders.reservation_of(APP_ID) == "bank-a"
    # The funder's late answer settles it: a 'paid' books the loan, the incident closes.
    late = Confirmation(
        fund_request_id=app.funding.fund_request_id,  # type: ignore[union-attr]
        status="paid",
        amount_fen=AMOUNT,
        payout_reference="BANKA-LATE",
        paid_at=app.updated_at,
    )
    assert world.service.confirm("bank-a", late).handled == "booked_late"
    app = world.app()
    assert app.status is Status.DISBURSED and app.incidents[0].resolved_at is not None


def test_failing_before_any_request_gives_the_quota_back(world: World) -> None:
    world.funders.reserve("bank-a", APP_ID, AMOUNT)
    world.repo.save(world.app(), Event(type="noop", at=world.app().updated_at))
    assert finalization(world).finalize(APP_ID, "failed", "technical").incident is None
    assert world.funders.reservation_of(APP_ID) is None
