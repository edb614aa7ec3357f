"""An unreadable document is asked for again (bounded), then a person looks."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image

from infra.localcloud.cloud import LocalCloud
from infra.localcloud.miniprogram import Applicant, Reviewer
from lending.applications.model import MAX_DOCUMENT_ATTEMPTS
from lending.documents.kinds import DocumentKind
from lending.sandbox.documents import render_document

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]


def blank_photo() -> bytes:
    """A photo of nothing: a valid JPEG that no OCR can read a field from."""
    buffer = io.BytesIO()
    Image.new("RGB", (1000, 630), (236, 236, 230)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def start_with_a_blank_id_front(applicant: Applicant) -> None:
    applicant.sign_in()
    applicant.apply()
    applicant.upload_documents()
    applicant.upload("id_front", blank_photo(), "image/jpeg")
    assert applicant.submit().status == 202


def test_a_reupload_after_an_unreadable_document_carries_on(
    applicants: Callable[..., Applicant], cast: Callable[..., int]
) -> None:
    applicant = applicants()
    cast(applicant, "approve", pick=5)
    start_with_a_blank_id_front(applicant)
    view = applicant.wait_for("awaiting_documents", timeout=90)
    assert view["status"] == "awaiting_documents"
    assert view["ocr_outcome"] == "unreadable"
    assert view["ocr_reasons"], "the applicant is told what to upload again"
    assert [(r["document"], r["code"]) for r in view["retake_reasons"]] == [
        ("id_front", "no_document")
    ], "and what to fix in the photo"
    assert any(step["state"] == "current" for step in view["progress"])

    good = render_document(DocumentKind.ID_FRONT, applicant.identity)
    applicant.upload("id_front", good, "image/jpeg")
    assert applicant.submit().status == 202
    assert applicant.submit().status == 202  # a double resubmit resumes once
    view = applicant.wait_for("offered", timeout=90)
    assert view["status"] == "offered"
    events = [e["type"] for e in view["events"]]
    assert events.count("reupload_requested") == 1
    assert events.count("documents_resubmitted") == 1
    assert view["ocr_outcome"] == "verified"
    assert applicant.answer_offer(False).status == 202
    assert applicant.wait_for(timeout=60)["status"] == "withdrawn"


def test_documents_stay_unreadable_then_a_person_reviews(
    applicants: Callable[..., Applicant], cast: Callable[..., int], cloud: LocalCloud
) -> None:
    applicant = applicants()
    cast(applicant, "approve", pick=6)
    start_with_a_blank_id_front(applicant)
    for _ in range(MAX_DOCUMENT_ATTEMPTS - 1):
        assert applicant.wait_for("awaiting_documents", timeout=90)["status"] == (
            "awaiting_documents"
        )
        applicant.upload("id_front", blank_photo(), "image/jpeg")
        assert applicant.submit().status == 202
    view = applicant.wait_for("in_review", timeout=90)
    assert view["status"] == "in_review"
    assert view["document_attempts"] == MAX_DOCUMENT_ATTEMPTS
    events = [e["type"] for e in view["events"]]
    assert events.count("reupload_requested") == MAX_DOCUMENT_ATTEMPTS - 1
    assert view["decision"] is None  # not scored: a person looks at the documents first

    # The reviewer accepts the documents: the application goes on to data collection and
    # scoring (it was sent to Offer unscored, and failed, before).
    reviewer = Reviewer(cloud.api_url, code="documents-reviewer")
    reviewer.sign_in()
    assert reviewer.decide(applicant.application_id, "approve", []).status == 202
    view = applicant.wait_for("offered", timeout=90)
    assert view["status"] == "offered", view.get("outcome")
    assert view["decision"]["outcome"] == "approve"
    events = [e["type"] for e in view["events"]]
    assert events.index("reviewed") < events.index("scored") < events.index("offered")
    assert applicant.answer_offer(False).status == 202
    assert applicant.wait_for(timeout=60)["status"] == "withdrawn"
