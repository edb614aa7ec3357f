"""The borrower's contract: the preview at the offer is the document the e-sign step
signs (same renderer, same terms), its applicant alone reads it, and the signed PDF comes
by a short-lived link only once signed. The messages: the reminders log, in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from lending.applications.privacy import open_applicant
from lending.applications.service import ApplicationService
from lending.auth import Principal, Role
from lending.borrowers import CONTRACT_URL_SECONDS, BorrowerContracts
from lending.contracts import contract_document, render_contract
from lending.errors import Forbidden, NotFound
from lending.origination.signing import contract_terms
from lending.servicing.reminders import ReminderKind, SentReminder, text
from tests.fakes import (
    FakeBlindIndex,
    FakeCipher,
    FakeClock,
    FakeDocuments,
    FakeLinks,
    FakeRepo,
    FakeWorkflow,
)
from tests.unit.test_contract import _pdf_text
from tests.unit.test_origination_steps import applicant_app, reload, signing, stored

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def who(subject: str, role: Role = Role.APPLICANT) -> Principal:
    return Principal(subject=subject, role=role, expires_at=datetime(2099, 1, 1, tzinfo=UTC))


OWNER = who("U1")


def desk(repo: FakeRepo) -> tuple[BorrowerContracts, FakeLinks]:
    service = ApplicationService(
        repo, FakeDocuments(), FakeWorkflow(), FakeCipher(), FakeBlindIndex(), FakeClock()
    )
    links = FakeLinks()
    return BorrowerContracts(service, links, FakeClock(NOW)), links


def offered() -> FakeRepo:
    from lending.applications.model import Status

    app = applicant_app(Status.OFFERED)
    from tests.unit.test_funding_confirmations import disbursing_application

    app.offer = disbursing_application().offer
    return stored(app)


def test_the_preview_is_the_contract_the_signing_step_renders() -> None:
    repo = offered()
    app_id = next(iter(repo.apps))
    contracts, _ = desk(repo)
    preview = contracts.preview(OWNER, app_id)
    assert preview["signed"] is False
    doc = preview["document"]
    app = reload(repo, app_id)
    terms = contract_terms(app, open_applicant(FakeCipher(), app), NOW)
    assert doc == contract_document(terms)
    # Every figure of the key terms and of the schedule is in the PDF those terms make.
    pdf_text = _pdf_text(render_contract(terms))
    key_terms, schedule = doc["sections"][0], doc["sections"][1]
    for _, value in key_terms["rows"]:
        assert value in pdf_text, value
    for row in schedule["rows"]:
        for cell in row:
            assert cell in pdf_text, cell
    # Masked, never the applicant's name or ID number in full.
    person = open_applicant(FakeCipher(), app)
    flat = str(doc)
    assert person.id_number not in flat and person.name not in flat
    assert terms.borrower_id_masked in flat
    # 12 instalments and a total row; the principal is the offer's.
    assert len(schedule["rows"]) == 13 and schedule["rows"][-1][2] == "50,000.00"


def test_only_the_applicant_reads_their_contract() -> None:
    repo = offered()
    app_id = next(iter(repo.apps))
    contracts, _ = desk(repo)
    with pytest.raises(NotFound):
        contracts.preview(who("U2"), app_id)
    with pytest.raises(Forbidden):
        contracts.preview(who("R1", Role.REVIEWER), app_id)


def test_no_offer_no_preview() -> None:
    repo = stored(applicant_app())
    contracts, _ = desk(repo)
    with pytest.raises(NotFound) as refused:
        contracts.preview(OWNER, next(iter(repo.apps)))
    assert refused.value.code == "no_offer"


def test_the_signed_pdf_comes_by_a_short_lived_link_once_signed() -> None:
    from lending.applications.model import Status
    from tests.unit.test_funding_confirmations import disbursing_application

    repo, _, _, step = signing(disbursing_application(Status.OFFERED))
    app_id = next(iter(repo.apps))
    contracts, links = desk(repo)
    with pytest.raises(NotFound) as refused:
        contracts.signed_pdf(OWNER, app_id)
    assert refused.value.code == "not_signed"
    signed = step.sign_contract(app_id)
    link = contracts.signed_pdf(OWNER, app_id)
    assert link["sha256"] == signed.sha256 and link["expires_in"] == CONTRACT_URL_SECONDS <= 300
    key = reload(repo, app_id).contract.key  # type: ignore[union-attr]
    assert links.asked == [
        (key, CONTRACT_URL_SECONDS, "application/pdf", f"contract-C{app_id[1:]}.pdf")
    ]
    with pytest.raises(NotFound):
        contracts.signed_pdf(who("U2"), app_id)


def test_a_reminder_reads_as_sent_and_old_log_items_fall_back_to_the_schedule() -> None:
    from lending.borrowers import messages
    from tests.fakes import booked_loan

    loan = booked_loan()
    first = loan.instalments[0]

    @dataclass
    class Log:
        items: list[SentReminder]

        def sent(self, loan_id: str) -> list[SentReminder]:
            return [r for r in self.items if r.loan_id == loan_id]

    at = datetime(2026, 2, 27, 0, 0, tzinfo=UTC)
    log = Log(
        [
            SentReminder(loan.id, 1, ReminderKind.BEFORE_3, at, 4_123_45, first.due_date),
            SentReminder(loan.id, 1, ReminderKind.DUE, datetime(2026, 3, 2, 0, 0, tzinfo=UTC)),
            SentReminder(loan.id, 99, ReminderKind.DUE, at),  # no such instalment: not shown
        ]
    )

    class Apps:
        def list_mine(self, asker: Principal) -> list[Any]:
            @dataclass
            class A:
                loan_id: str

            return [A(loan.id)]

    class Loans:
        def loan_for(self, asker: Principal, loan_id: str) -> Any:
            assert asker == OWNER
            return loan

    shown = messages(OWNER, Apps(), Loans(), log)  # type: ignore[arg-type]
    assert [m["kind"] for m in shown] == ["t0", "t-3"]  # newest first
    due, before = shown
    assert before["amount_fen"] == 4_123_45
    assert before["text"] == text(ReminderKind.BEFORE_3, 4_123_45, first.due_date)
    assert due["amount_fen"] == first.total_fen and due["due_date"] == first.due_date.isoformat()
    assert not due["overdue"] and "4,123.45元" in before["text"]
    assert date.fromisoformat(before["due_date"]) == first.due_date
