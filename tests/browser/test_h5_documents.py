"""The H5 app's documents step and offer (375x812): photos from the camera or the album
sent by the presigned POST with a progress bar, a re-take when OCR cannot read one, the
contract itself to read before accepting, the signed PDF to download, and the messages
page with the reminders the borrower was sent."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from infra.localcloud.cloud import LocalCloud
from infra.localcloud.http import call
from infra.localcloud.miniprogram import Applicant
from lending.aws import wiring
from lending.documents.kinds import DocumentKind
from lending.sandbox.documents import render_document
from lending.servicing.reminders import CHINA, Reminder, ReminderKind, text
from tests.browser.conftest import Screen, yuan

pytestmark = [pytest.mark.localcloud, pytest.mark.ocr]
WAIT_MS = 240_000


def blank_photo() -> bytes:
    """A photo of nothing: a valid JPEG no OCR can read a field from."""
    buffer = io.BytesIO()
    Image.new("RGB", (1000, 630), (236, 236, 230)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def as_applicant(h5: Screen, applicant: Applicant) -> None:
    """The same WeChat user in the browser: the H5 app signs in with the kept code."""
    h5.open("/h5/")
    h5.page.evaluate(
        f"localStorage.setItem('lending.h5.code', {json.dumps(applicant.sandbox_code())});"
        "sessionStorage.clear();"
    )


def choose(
    h5: Screen, kind: str, source: str, name: str, data: bytes, *, mime: str = "image/jpeg"
) -> None:
    """Pick a photo as the phone would hand it over (camera or album input)."""
    picker = h5.page.get_by_test_id(f"doc-{kind}").get_by_test_id(source).locator("input")
    picker.set_input_files({"name": name, "mimeType": mime, "buffer": data})


def uploaded(h5: Screen, kind: str) -> None:
    doc = h5.page.get_by_test_id(f"doc-{kind}")
    doc.get_by_test_id("doc-done").wait_for(timeout=30_000)
    assert "100%" in doc.get_by_test_id("progress").inner_text()


def test_documents_a_retake_the_contract_then_the_signed_pdf(
    h5: Screen,
    cloud: LocalCloud,
    applicants: Callable[..., Applicant],
    cast: Callable[..., int],
    tmp_path: Path,
) -> None:
    applicant = applicants()
    cast(applicant, "approve", pick=31)
    applicant.sign_in()
    applicant.apply()
    documents_with_a_retake(h5, applicant)
    read_and_accept(h5, cloud, applicant, applicants)
    download_signed(h5, cloud, applicant, tmp_path)
    messages(h5, applicant)


def documents_with_a_retake(h5: Screen, applicant: Applicant) -> None:
    app_id = applicant.application_id
    uploads: list[str] = []
    h5.page.on(
        "request",
        lambda r: uploads.append(r.url) if r.method == "POST" and "/v1/" not in r.url else None,
    )
    as_applicant(h5, applicant)
    h5.open(f"/h5/#/applications/{app_id}")
    step = h5.page.get_by_test_id("documents-step")
    step.wait_for()
    submit = h5.page.get_by_test_id("submit-documents")
    assert submit.is_disabled()
    # The camera input asks for the rear camera; the album one lets the phone choose.
    camera = h5.page.get_by_test_id("doc-id_front").get_by_test_id("camera").locator("input")
    album = h5.page.get_by_test_id("doc-id_front").get_by_test_id("album").locator("input")
    assert camera.get_attribute("capture") == "environment"
    assert album.get_attribute("capture") is None
    assert camera.get_attribute("accept") == "image/jpeg,image/png"

    # Not a photo: refused in the page with a clear message, nothing sent anywhere.
    choose(h5, "id_front", "album", "scan.pdf", b"%PDF-1.4 nothing", mime="application/pdf")
    error = h5.page.get_by_test_id("doc-id_front").get_by_test_id("doc-error")
    error.wait_for()
    assert "JPG 或 PNG" in error.inner_text() and uploads == []

    # A photo of nothing for the ID's front (taken "with the camera"), good photos else.
    choose(h5, "id_front", "camera", "front.jpg", blank_photo())
    uploaded(h5, "id_front")
    for kind in (DocumentKind.ID_BACK, DocumentKind.BANK_CARD):
        photo = render_document(kind, applicant.identity)
        choose(h5, kind.value, "album", f"{kind.value}.jpg", photo)
        uploaded(h5, kind.value)
    assert len(uploads) == 3, uploads  # straight to the document store, once each
    h5.shoot("h5-documents")
    submit.click()

    # OCR cannot read the front: the page asks for that photo again.
    retake = h5.page.get_by_test_id("retake")
    retake.wait_for(timeout=WAIT_MS)
    assert "请重新拍摄" in retake.inner_text()
    front = h5.page.get_by_test_id("retake-id_front")
    assert front.count() == 1
    # What to fix, from the view's retake_reasons: a photo of nothing shows no document.
    assert "未拍到证件" in front.get_by_test_id("retake-reason").inner_text()
    view = applicant.status()
    assert view["status"] == "awaiting_documents" and view["ocr_outcome"] == "unreadable"
    h5.shoot("h5-documents-retake")
    submit = h5.page.get_by_test_id("submit-documents")
    assert submit.is_disabled()  # not before the unreadable one is taken again
    good = render_document(DocumentKind.ID_FRONT, applicant.identity)
    choose(h5, "id_front", "camera", "front.jpg", good)
    uploaded(h5, "id_front")
    submit.click()


def read_and_accept(
    h5: Screen, cloud: LocalCloud, applicant: Applicant, applicants: Callable[..., Applicant]
) -> None:
    """The offer, with the contract itself to read before accepting."""
    app_id = applicant.application_id
    contract = h5.page.get_by_test_id("contract")
    contract.wait_for(timeout=WAIT_MS)
    token = h5.session_token("lending.h5.session")
    preview = call("GET", f"{cloud.api_url}/v1/applications/{app_id}/contract/preview", token=token)
    assert preview.status == 200, preview.body
    document = preview.body["document"]
    shown = contract.inner_text()
    assert document["title"] in shown and document["contract_number"] in shown
    for key, value in document["sections"][0]["rows"]:
        assert key in shown and value in shown
    schedule = h5.page.get_by_test_id("contract-section-1")
    assert schedule.locator("tbody tr").count() == len(document["sections"][1]["rows"])
    offer = applicant.status()["offer"]
    assert yuan(offer["amount_fen"]) in h5.page.get_by_test_id("o-amount").inner_text()
    # Someone else cannot read this contract.
    other = applicants()
    other.sign_in()
    assert (
        call(
            "GET", f"{cloud.api_url}/v1/applications/{app_id}/contract/preview", token=other.token
        ).status
        == 404
    )
    accept = h5.page.get_by_test_id("accept")
    assert accept.is_disabled()  # not before "I have read the contract" is ticked
    assert h5.page.get_by_test_id("contract-read").get_attribute("aria-checked") == "false"
    h5.shoot("h5-offer-contract")
    h5.page.get_by_test_id("contract-read").click()
    accept.click()


def download_signed(h5: Screen, cloud: LocalCloud, applicant: Applicant, tmp_path: Path) -> None:
    """Signed: the signed PDF downloads by a short-lived link, and it is the one signed."""
    app_id = applicant.application_id
    token = h5.session_token("lending.h5.session")
    download_button = h5.page.get_by_test_id("contract-download")
    download_button.wait_for(timeout=WAIT_MS)
    signed = call("GET", f"{cloud.api_url}/v1/applications/{app_id}/contract", token=token).body
    with h5.page.expect_download() as downloading:
        download_button.click()
    saved = tmp_path / "contract.pdf"
    downloading.value.save_as(saved)
    pdf = saved.read_bytes()
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == signed["sha256_hex"]
    h5.shoot("h5-contract-signed")


def messages(h5: Screen, applicant: Applicant) -> None:
    """The reminders this borrower was sent, as the morning job logs them, read back."""
    loan_id = applicant.wait_for("disbursed", timeout=WAIT_MS / 1000)["loan_id"]
    loan = applicant.loan(loan_id)
    first = loan["instalments"][0]
    due = datetime.fromisoformat(first["due_date"]).date()
    log = wiring.sent_reminders()
    sent_at = datetime.combine(due - timedelta(days=3), datetime.min.time(), CHINA).replace(hour=9)
    sent = [
        Reminder(loan_id, 1, kind, at, first["total_fen"], due)
        for kind, at in (
            (ReminderKind.BEFORE_3, sent_at),
            (ReminderKind.OVERDUE_1, sent_at + timedelta(days=4)),
        )
    ]
    for reminder in sent:
        assert log.claim(reminder)
    h5.page.get_by_test_id("tab-messages").click()
    h5.page.get_by_test_id("messages").wait_for()
    newest = h5.page.get_by_test_id("messages").locator(".van-cell").first
    assert "逾期提醒" in newest.inner_text()
    before = h5.page.get_by_test_id("message-1-t-3").inner_text()
    assert text(ReminderKind.BEFORE_3, first["total_fen"], due) in before
    assert sent_at.strftime("%Y-%m-%d 09:00") in before  # China time, the browser in New York
    h5.shoot("h5-messages")
    for reminder in sent:  # the morning job of a later test may send them for real
        log.release(reminder)


def test_no_messages_yet(h5: Screen) -> None:
    h5.open("/h5/#/messages")
    h5.page.get_by_test_id("no-messages").wait_for()
    assert "暂无消息" in h5.page.inner_text("body")
