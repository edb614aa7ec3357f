"""Each origination use case against in-memory fakes: what it records, that it acts once
however often its state is delivered, and what it refuses."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from lending.applications.model import (
    Application,
    DocumentRef,
    Funding,
    OfferAnswer,
    Status,
)
from lending.applications.ports import Event
from lending.applications.privacy import seal_applicant
from lending.documents.kinds import DocumentKind
from lending.errors import Conflict
from lending.ocr.ports import TextLine, UnreadableImage
from lending.origination.booking import Booking
from lending.origination.collection import DataCollection
from lending.origination.documents import DocumentCheck, ReuploadRequest
from lending.origination.review import ReviewQueue
from lending.origination.scoring import Scoring
from lending.origination.signing import ContractSigning, OfferStep
from lending.origination.states import SourceResult
from lending.sandbox.providers import Directory, Faults, all_providers
from lending.scoring.scorecard import Scorecard
from lending.scoring.sources import DataSourcesNotContracted, SourceUnavailable, Subject
from lending.servicing.ledger import Balances
from lending.signatures import verify_signature
from tests.fakes import (
    FakeBlindIndex,
    FakeCipher,
    FakeClock,
    FakeDocuments,
    FakeLoans,
    FakeRepo,
    FakeSigner,
    applicant_details,
)
from tests.unit.test_funding_confirmations import disbursing_application

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ALL_OK = [
    SourceResult(source=s, status="ok")
    for s in ("credit_bureau", "business_registry", "tax_bureau", "judicial_records")
]


def stored(app: Application) -> FakeRepo:
    repo = FakeRepo()
    repo.create(app, Event(type="created", at=T0))
    return repo


def reload(repo: FakeRepo, app_id: str) -> Application:
    found = repo.get(app_id)
    assert found is not None
    return found


def applicant_app(status: Status = Status.SUBMITTED) -> Application:
    """A consumer application with sealed details and uploaded documents."""
    app = disbursing_application(status)
    app.funding, app.offer, app.offer_answer, app.contract = None, None, None, None
    details = applicant_details(
        11, monthly_income_fen=25_000_00, company_name=None, credit_code=None
    )
    app.applicant_blob = seal_applicant(FakeCipher(), app.id, details)
    app.id_hash = FakeBlindIndex().digest("id:" + details.id_number)
    app.documents = {
        kind.value: DocumentRef(
            kind=kind.value,
            key=f"k/{kind.value}",
            size=3,
            content_type="image/jpeg",
            uploaded_at=T0,
        )
        for kind in (DocumentKind.ID_FRONT, DocumentKind.ID_BACK, DocumentKind.BANK_CARD)
    }
    return app


# -- ValidateDocuments, RequestReupload ------------------------------------------------------


@dataclass
class BlankEngine:
    """Every page is unreadable; counts how often it was asked."""

    reads: int = 0

    def read(self, image: bytes) -> list[TextLine]:
        self.reads += 1
        raise UnreadableImage("blank")


def test_documents_are_read_once_and_an_unreadable_one_may_be_uploaded_again() -> None:
    app = applicant_app()
    repo, engine = stored(app), BlankEngine()
    documents = FakeDocuments({ref.key: b"jpg" for ref in app.documents.values()})
    step = DocumentCheck(repo, FakeClock(), documents, FakeCipher(), engine)
    first = step.validate_documents(app.id)
    assert (first.outcome, first.reupload_allowed) == ("unreadable", True)
    reads = engine.reads
    assert step.validate_documents(app.id) == first  # redelivered: no second OCR pass
    assert engine.reads == reads
    assert reload(repo, app.id).document_attempts == 1
    # What to fix in each document, in the view the applicant's app reads.
    retakes = reload(repo, app.id).public_view()["retake_reasons"]
    assert {(r["document"], r["code"]) for r in retakes} == {
        (kind, "unsupported_file") for kind in ("id_front", "id_back", "bank_card")
    }
    assert all(r["message"] for r in retakes)

    ReuploadRequest(repo, FakeClock()).request_reupload(app.id, "T-reupload")
    held = reload(repo, app.id)
    assert held.status is Status.AWAITING_DOCUMENTS and held.tokens["reupload"] == "T-reupload"


# -- the data sources ---------------------------------------------------------------------------


@dataclass
class CountingSource:
    inner: object
    fetches: list[Subject] = field(default_factory=list)

    def fetch(self, subject: Subject) -> object:
        self.fetches.append(subject)
        return self.inner.fetch(subject)  # type: ignore[attr-defined]


def sandbox_sources(faults: Faults | None = None) -> dict[str, object]:
    providers = all_providers(faults=faults or Faults(), clock=FakeClock(), directory=Directory())
    return {p.name: CountingSource(p) for p in providers}


def test_a_source_is_fetched_once_and_stored_sealed() -> None:
    app = applicant_app(Status.COLLECTING_DATA)
    repo, sources = stored(app), sandbox_sources()
    step = DataCollection(repo, FakeClock(), FakeCipher(), sources)  # type: ignore[arg-type]
    assert step.collect(app.id, "credit_bureau").status == "ok"
    assert step.collect(app.id, "credit_bureau").status == "ok"
    assert len(sources["credit_bureau"].fetches) == 1  # type: ignore[attr-defined]
    sealed = repo.source_reports(app.id)["credit_bureau"]
    assert "fields" not in base64.b64decode(sealed).decode()  # the cipher's output, not JSON


def test_a_source_that_is_down_raises_for_the_state_to_retry() -> None:
    app = applicant_app(Status.COLLECTING_DATA)
    faults = Faults(down={"tax_bureau"})
    step = DataCollection(stored(app), FakeClock(), FakeCipher(), sandbox_sources(faults))  # type: ignore[arg-type]
    with pytest.raises(SourceUnavailable):
        step.collect(app.id, "tax_bureau")


# -- Score --------------------------------------------------------------------------------------


def collected(app: Application) -> tuple[FakeRepo, Scoring]:
    repo = stored(app)
    collect = DataCollection(repo, FakeClock(), FakeCipher(), sandbox_sources())  # type: ignore[arg-type]
    for result in ALL_OK:
        collect.collect(app.id, result.source)
    return repo, Scoring(repo, FakeClock(), FakeCipher(), Scorecard.load())


def test_scoring_records_one_decision_with_its_model_and_an_offer() -> None:
    app = applicant_app(Status.COLLECTING_DATA)
    repo, step = collected(app)
    decision = step.score(app.id, ALL_OK).decision
    scored = reload(repo, app.id)
    assert scored.decision is not None and scored.decision.outcome == decision
    assert scored.decision.model_version == Scorecard.load().version
    assert scored.decision.reasons or decision == "approve"
    assert (scored.offer is not None) == (decision != "decline")
    assert step.score(app.id, ALL_OK).decision == decision  # redelivered: same decision
    assert [e.type for e in repo.events(app.id)].count("scored") == 1


def test_a_source_that_stayed_down_sends_the_case_to_a_person() -> None:
    app = applicant_app(Status.COLLECTING_DATA)
    repo, step = collected(app)
    results = [*ALL_OK[:2], SourceResult(source="tax_bureau", status="unavailable"), ALL_OK[3]]
    outcome = step.score(app.id, results).decision
    decision = reload(repo, app.id).decision
    assert decision is not None
    if outcome != "decline":  # a hard decline (fraud, court lists) stands
        assert outcome == "review" and decision.reasons[0].code == "V03"


def test_without_a_model_scoring_refuses_before_writing_anything() -> None:
    app = applicant_app(Status.COLLECTING_DATA)
    repo = stored(app)
    with pytest.raises(DataSourcesNotContracted):
        Scoring(repo, FakeClock(), FakeCipher(), scorecard=None).score(app.id, ALL_OK)
    assert reload(repo, app.id).decision is None


# -- QueueForReview, EscalateReview -------------------------------------------------------------


def test_a_review_is_queued_once_and_escalated_once() -> None:
    app = applicant_app(Status.SCORING)
    repo, clock = stored(app), FakeClock()
    queue = ReviewQueue(repo, clock)
    queue.queue_for_review(app.id, "T1")
    queued_at = reload(repo, app.id).review_queued_at
    queue.queue_for_review(app.id, "T1")  # redelivered: the original time stays
    assert reload(repo, app.id).review_queued_at == queued_at
    queue.escalate_review(app.id, "T2")
    escalated = reload(repo, app.id)
    assert escalated.tokens["review"] == "T2" and escalated.review_escalated_at is not None
    assert escalated.status is Status.IN_REVIEW


def test_a_finished_application_is_not_queued_again() -> None:
    app = applicant_app(Status.DECLINED)
    repo = stored(app)
    ReviewQueue(repo, FakeClock()).queue_for_review(app.id, "T1")
    assert reload(repo, app.id).status is Status.DECLINED and not reload(repo, app.id).tokens


# -- Offer, SignContract ------------------------------------------------------------------------


def test_an_offer_needs_terms_and_holds_the_answer_token() -> None:
    app = applicant_app(Status.SCORING)
    with pytest.raises(Conflict):
        OfferStep(stored(app), FakeClock()).offer(app.id, "T-offer")
    offered = disbursing_application(Status.SCORING)
    repo = stored(offered)
    OfferStep(repo, FakeClock()).offer(offered.id, "T-offer")
    assert reload(repo, offered.id).tokens["offer"] == "T-offer"


def signing(app: Application) -> tuple[FakeRepo, FakeDocuments, FakeSigner, ContractSigning]:
    person = applicant_app()
    app.applicant_blob = person.applicant_blob
    app.contract = None
    repo, documents, signer = stored(app), FakeDocuments(), FakeSigner()
    return (
        repo,
        documents,
        signer,
        ContractSigning(repo, FakeClock(), documents, FakeCipher(), signer),
    )


def test_the_contract_is_signed_once_and_verifies_with_the_public_key() -> None:
    repo, documents, signer, step = signing(disbursing_application(Status.OFFERED))
    app_id = disbursing_application().id
    first = step.sign_contract(app_id)
    assert step.sign_contract(app_id) == first  # redelivered: the same contract
    contract = reload(repo, app_id).contract
    assert contract is not None
    pdf = documents.objects[contract.key]
    digest = hashlib.sha256(pdf).digest()
    assert digest.hex() == first.sha256 == contract.sha256_hex
    assert verify_signature(
        signer.public_key_pem(), digest, base64.b64decode(contract.signature_b64)
    )


def test_a_refused_offer_is_never_signed() -> None:
    app = disbursing_application(Status.OFFERED)
    app.offer_answer = OfferAnswer(accepted=False, at=T0)
    repo, documents, _, step = signing(app)
    with pytest.raises(Conflict):
        step.sign_contract(app.id)
    assert documents.objects == {} and reload(repo, app.id).contract is None


# -- Book ---------------------------------------------------------------------------------------


def test_a_paid_loan_is_booked_once_and_an_unpaid_one_not_at_all() -> None:
    unpaid = disbursing_application()
    loans = FakeLoans()
    with pytest.raises(Conflict):
        Booking(stored(unpaid), FakeClock(), loans).book(unpaid.id)
    paid = disbursing_application()
    assert paid.funding is not None
    paid.funding = Funding(
        **{**paid.funding.model_dump(), "payout_reference": "BANKA-1", "paid_at": T0}
    )
    repo = stored(paid)
    step = Booking(repo, FakeClock(), loans)
    loan_id = step.book(paid.id).loan_id
    assert step.book(paid.id).loan_id == loan_id and list(loans.loans) == [loan_id]
    booked = loans.loans[loan_id]
    assert sum(i.principal_fen for i in booked.instalments) == booked.principal_fen
    # The ledger opens with the disbursement, booked in the same write.
    opening = Balances.of(loans.ledgers[loan_id])
    assert opening.principal_not_due == booked.principal_fen and opening.due_now == 0
    assert reload(repo, paid.id).status is Status.DISBURSED
