"""The application service against in-memory fakes: no AWS involved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lending.applications.model import (
    Application,
    OfferAnswer,
    Reason,
    Status,
)
from lending.applications.ports import Event
from lending.applications.service import ApplicationService, document_key, parse_document_key
from lending.auth import Principal, Role
from lending.errors import Conflict, Forbidden, InvalidRequest, NotFound
from tests.fakes import (
    FakeBlindIndex,
    FakeCipher,
    FakeClock,
    FakeDocuments,
    FakeRepo,
    FakeWorkflow,
    applicant_details,
)

LATER = datetime(2030, 1, 1, tzinfo=UTC)


def who(subject: str, role: Role = Role.APPLICANT) -> Principal:
    return Principal(subject=subject, role=role, expires_at=LATER)


details = applicant_details


@pytest.fixture
def service() -> ApplicationService:
    return ApplicationService(
        repo=FakeRepo(),
        documents=FakeDocuments(),
        workflow=FakeWorkflow(),
        cipher=FakeCipher(),
        blind_index=FakeBlindIndex(),
        clock=FakeClock(),
    )


def create(service: ApplicationService, subject: str = "U1", **overrides: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "product_id": "consumer-flex",
        "amount_fen": 30_000_00,
        "term_months": 12,
        "repayment_method": "equal_instalment",
        "purpose": "electronics",
        "applicant": details(),
    }
    args.update(overrides)
    return service.create(who(subject), **args)  # type: ignore[arg-type]


def upload_all(service: ApplicationService, app_id: str, kinds: tuple[str, ...]) -> None:
    for kind in kinds:
        service.record_upload(document_key(app_id, kind), 1000, "image/jpeg")


def test_personal_data_is_stored_encrypted_and_hashed(service: ApplicationService) -> None:
    app = create(service)
    stored = service.repo.get(app.id)
    assert stored is not None
    raw = stored.model_dump_json()
    person = details()
    for secret in (person.name, person.id_number, person.phone, person.bank_card_number):
        assert secret not in raw
    assert service.decrypt_applicant(stored).id_number == person.id_number


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"product_id": "no-such-product"}, "unknown_product"),
        ({"amount_fen": 1_00}, "amount_out_of_range"),
        ({"term_months": 7}, "term_not_allowed"),
        ({"repayment_method": "interest_first"}, "method_not_allowed"),
        ({"applicant": details(id_number="110101199003070000")}, "invalid_id"),
        (
            {
                "product_id": "business-operating",
                "amount_fen": 100_000_00,
                "term_months": 12,
                "repayment_method": "equal_principal",
                "applicant": details(credit_code=None),
            },
            "missing_company",
        ),
    ],
)
def test_bad_requests_are_refused_with_a_code(
    service: ApplicationService, overrides: dict[str, object], code: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        create(service, **overrides)
    assert caught.value.code == code


def test_submit_needs_every_document_and_starts_once(service: ApplicationService) -> None:
    app = create(service)
    with pytest.raises(InvalidRequest, match="documents missing"):
        service.submit(who("U1"), app.id)
    upload_all(service, app.id, ("id_front", "id_back", "bank_card"))
    first = service.submit(who("U1"), app.id)
    second = service.submit(who("U1"), app.id)
    assert first.status is Status.SUBMITTED and second.status is Status.SUBMITTED
    assert service.workflow.started == [app.id]  # type: ignore[attr-defined]


def test_an_applicant_sees_only_their_own_applications(service: ApplicationService) -> None:
    app = create(service, "U1")
    with pytest.raises(NotFound):
        service.get_for(who("U2"), app.id)
    with pytest.raises(NotFound):
        service.submit(who("U2"), app.id)
    assert service.get_for(who("R1", Role.REVIEWER), app.id).id == app.id
    with pytest.raises(Forbidden):
        service.get_for(who("B1", Role.BANK), app.id)


def test_upload_urls_check_kind_type_and_size(service: ApplicationService) -> None:
    app = create(service)
    ok = service.upload_url(who("U1"), app.id, "id_front", "image/jpeg", 100_000)
    assert ok["key"] == document_key(app.id, "id_front")
    for kind, content_type, size, code in [
        ("passport", "image/jpeg", 1, "invalid_kind"),
        ("business_licence", "image/jpeg", 1, "invalid_kind"),  # not for a consumer loan
        ("id_front", "application/pdf", 1, "invalid_type"),
        ("id_front", "image/png", 6 * 1024 * 1024, "too_large"),
        ("id_front", "image/png", 0, "too_large"),
    ]:
        with pytest.raises(InvalidRequest) as caught:
            service.upload_url(who("U1"), app.id, kind, content_type, size)
        assert caught.value.code == code


def test_document_keys_round_trip_and_reject_strangers() -> None:
    assert parse_document_key(document_key("A1", "id_back")) == ("A1", "id_back")
    assert parse_document_key("contracts/A1/contract.pdf") is None
    assert parse_document_key("applications/A1/documents/passport") is None


def test_review_needs_a_waiting_case_and_reasons_to_decline(service: ApplicationService) -> None:
    app = create(service)
    reviewer = who("R1", Role.REVIEWER)
    with pytest.raises(InvalidRequest):
        service.review(reviewer, app.id, "decline", [])
    with pytest.raises(Conflict):
        service.review(reviewer, app.id, "approve", [])
    stored = service.repo.get(app.id)
    assert stored is not None
    stored.status = Status.IN_REVIEW
    stored.tokens["review"] = "T-review"
    service.repo.save(stored, service.repo.events(app.id)[0])
    with pytest.raises(Forbidden):
        service.review(who("U1"), app.id, "approve", [])
    service.review(reviewer, app.id, "decline", [Reason(code="M1", message="no income proof")])
    assert service.workflow.resumed[0][0] == "T-review"  # type: ignore[attr-defined]
    assert service.workflow.resumed[0][1]["decision"] == "decline"  # type: ignore[attr-defined]


def test_too_many_open_applications_are_refused(service: ApplicationService) -> None:
    for _ in range(3):
        create(service)
    with pytest.raises(Conflict) as caught:
        create(service)
    assert caught.value.code == "too_many_open"


def offered(service: ApplicationService) -> Application:
    app = create(service)
    stored = service.repo.get(app.id)
    assert stored is not None
    stored.status = Status.OFFERED
    stored.tokens["offer"] = "T-offer"
    return service.repo.save(stored, Event(type="offered", at=stored.updated_at))


def test_an_offer_is_answered_once_and_resumed_with_that_answer(
    service: ApplicationService,
) -> None:
    app = offered(service)
    service.answer_offer(who("U1"), app.id, accept=False)
    with pytest.raises(Conflict) as caught:
        service.answer_offer(who("U1"), app.id, accept=True)
    assert caught.value.code == "offer_answered"
    assert caught.value.details["answer"]["accepted"] is False
    assert service.workflow.resumed == [("T-offer", {"accepted": False})]  # type: ignore[attr-defined]
    events = [e.type for e in service.repo.events(app.id)]
    assert events.count("offer_answered") == 1


class RacingRepo(FakeRepo):
    """Another answer is written between this request's read and its write."""

    def __init__(self, rival_accepts: bool) -> None:
        super().__init__()
        self.rival_accepts = rival_accepts
        self.raced = False

    def save(self, app: Application, event: Event) -> Application:
        if event.type == "offer_answered" and not self.raced:
            self.raced = True
            rival = self.apps[app.id].model_copy(deep=True)
            rival.offer_answer = OfferAnswer(accepted=self.rival_accepts, at=event.at)
            super().save(rival, event)
        return super().save(app, event)


def test_of_two_racing_answers_only_the_recorded_one_resumes_the_wait() -> None:
    service = ApplicationService(
        repo=RacingRepo(rival_accepts=False),
        documents=FakeDocuments(),
        workflow=FakeWorkflow(),
        cipher=FakeCipher(),
        blind_index=FakeBlindIndex(),
        clock=FakeClock(),
    )
    app = offered(service)
    with pytest.raises(Conflict) as caught:
        service.answer_offer(who("U1"), app.id, accept=True)
    assert caught.value.details["answer"]["accepted"] is False
    stored = service.repo.get(app.id)
    assert stored is not None and stored.offer_answer is not None
    assert stored.offer_answer.accepted is False
    # The losing request resumes the wait (again) with the recorded refusal, never its own.
    assert service.workflow.resumed == [("T-offer", {"accepted": False})]  # type: ignore[attr-defined]


def in_review(service: ApplicationService, **changes: object) -> Application:
    app = create(service)
    stored = service.repo.get(app.id)
    assert stored is not None
    stored = stored.model_copy(update={"status": Status.IN_REVIEW, **changes})
    stored.tokens["review"] = "T-review"
    return service.repo.save(stored, Event(type="queued_for_review", at=stored.updated_at))


def test_applicants_never_see_who_reviewed_their_case(service: ApplicationService) -> None:
    app = in_review(service)
    service.review(who("R1", Role.REVIEWER), app.id, "approve", [])
    mine = service.status_view(who("U1"), app.id)
    assert "reviewed_by" not in mine
    assert all("reviewer" not in e["data"] for e in mine["events"])
    staff = service.status_view(who("R1", Role.REVIEWER), app.id)
    assert staff["reviewed_by"] == "R1"
    assert any(e["data"].get("reviewer") == "R1" for e in staff["events"])


def test_approving_a_documents_review_goes_on_to_data_collection(
    service: ApplicationService,
) -> None:
    app = in_review(service, ocr_outcome="unreadable")
    reviewed = service.review(who("R1", Role.REVIEWER), app.id, "approve", [])
    assert reviewed.status is Status.COLLECTING_DATA
    assert service.workflow.resumed[0][1]["stage"] == "documents"  # type: ignore[attr-defined]
