"""Real OCR on phone-photo documents from the corpus (tests.corpus): each case here
failed an honest applicant before its fix. ~8 OCR calls."""

from __future__ import annotations

from datetime import date

import pytest

from lending.documents.kinds import DocumentKind
from lending.documents.validate import DeclaredIdentity, DocumentCheck, validate_documents
from lending.sandbox.fonts import FontNotFound, cjk_font_path

pytestmark = pytest.mark.ocr
TODAY = date(2025, 6, 1)

try:
    cjk_font_path()
except FontNotFound as exc:  # pragma: no cover - depends on the machine
    pytest.skip(str(exc), allow_module_level=True)

from lending.ocr.rapid import RapidOcrEngine  # noqa: E402
from lending.sandbox.documents import render_document  # noqa: E402
from lending.sandbox.identities import make_identity  # noqa: E402


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine()


def _licence_codes(check: DocumentCheck) -> set[str]:
    return {r.code for r in check.reasons if r.document is DocumentKind.BUSINESS_LICENCE}


def test_a_clean_pre_2019_licence_is_read(engine: RapidOcrEngine) -> None:
    """Fitted on the 2019 layout, its single column landed in the wrong bands: the
    company name took the credit code, the representative the founding date (mismatch)."""
    ident = make_identity(10001, today=TODAY)
    data = render_document(DocumentKind.BUSINESS_LICENCE, ident, seed=1, licence_layout="2015")
    declared = DeclaredIdentity(
        ident.name, ident.id_number, company_name=ident.company_name, credit_code=ident.credit_code
    )
    check = validate_documents({DocumentKind.BUSINESS_LICENCE: data}, declared, engine, TODAY)
    assert not _licence_codes(check), check.reasons
    assert check.extracted["company_name"] == ident.company_name
    assert check.extracted["company_type"] == ident.company_type
    assert check.extracted["legal_representative"] == ident.name
