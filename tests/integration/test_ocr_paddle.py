"""The PaddleOCR adapter on rendered documents. Runs only where paddleocr is installed
and PADDLE_OCR_DET_DIR / PADDLE_OCR_REC_DIR point at local models (never downloaded)."""

from __future__ import annotations

import os
from datetime import date

import pytest

from lending.documents.kinds import DocumentKind
from lending.documents.validate import DeclaredIdentity, validate_documents
from lending.ocr.paddle import PaddleOcrEngine, PaddleUnavailable, available
from lending.sandbox import make_identity

pytestmark = pytest.mark.ocr
TODAY = date(2025, 6, 1)

if not available():
    pytest.skip("paddleocr is not installed", allow_module_level=True)
if not (os.environ.get("PADDLE_OCR_DET_DIR") and os.environ.get("PADDLE_OCR_REC_DIR")):
    pytest.skip("PADDLE_OCR_DET_DIR / PADDLE_OCR_REC_DIR not set", allow_module_level=True)


def test_paddle_verifies_clean_id_card() -> None:
    from lending.sandbox.documents import render_document

    try:
        engine = PaddleOcrEngine.from_env()
    except PaddleUnavailable as exc:  # pragma: no cover - depends on the machine
        pytest.skip(str(exc))
    ident = make_identity(11, today=TODAY)
    kinds = (DocumentKind.ID_FRONT, DocumentKind.ID_BACK)
    images = {k: render_document(k, ident, seed=7) for k in kinds}
    check = validate_documents(images, DeclaredIdentity(ident.name, ident.id_number), engine, TODAY)
    assert check.outcome == "verified", [(r.document, r.field, r.code) for r in check.reasons]
