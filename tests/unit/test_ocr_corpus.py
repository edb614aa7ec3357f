"""The OCR corpus generator: ground truth and bad files (no OCR runs here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lending.documents.kinds import DocumentKind, sniff_mime_type
from lending.documents.validate import validate_documents
from lending.identity.checks import is_valid_resident_id, sex_of
from lending.ocr.ports import TextLine, UnreadableImage
from tests.corpus import BAD_FILES, INVALID_IDENTITIES, TODAY, make_case
from tests.corpus.__main__ import main


def test_invalid_identities_carry_their_ground_truth() -> None:
    outcomes = {v: make_case(v, 21) for v in INVALID_IDENTITIES}
    assert {v: c.outcome for v, c in outcomes.items()} == {
        "bad_check_digit": "unreadable",
        "expired_id": "mismatch",
        "sex_contradiction": "suspicious",
        "birth_contradiction": "suspicious",
        "name_mismatch": "mismatch",
    }
    assert not is_valid_resident_id(outcomes["bad_check_digit"].declared.id_number, today=TODAY)
    sex = outcomes["sex_contradiction"]
    printed = sex.fields[DocumentKind.ID_FRONT]["sex"]
    assert printed != sex_of(sex.declared.id_number)
    expired = outcomes["expired_id"].fields[DocumentKind.ID_BACK]["id_valid_to"]
    assert expired < TODAY.isoformat()


class _Decoding:
    """Decodes like the real engine, then finds no text."""

    def read(self, image: bytes) -> list[TextLine]:
        from lending.ocr.rapid import decode_image

        decode_image(image)
        raise UnreadableImage("no text")


@pytest.mark.parametrize("variant", BAD_FILES)
def test_bad_files_are_unreadable_never_a_crash(variant: str) -> None:
    case = make_case(variant, 3)  # type: ignore[arg-type]
    data = case.images[DocumentKind.ID_FRONT]
    if variant == "oversized":
        assert len(data) > 5 * 1024 * 1024 and sniff_mime_type(data) == "image/jpeg"
    only = {DocumentKind.ID_FRONT: data}
    check = validate_documents(only, case.declared, _Decoding(), TODAY)
    front = {r.code for r in check.reasons if r.document is DocumentKind.ID_FRONT}
    assert check.outcome == "unreadable" and front == set(case.reasons)


def test_cli_writes_images_and_truth(tmp_path: Path) -> None:
    main(["--out", str(tmp_path), "--n", "1", "--noise", "mild", "--invalid", "0"])
    index = json.loads((tmp_path / "index.json").read_text())
    assert len(index) == 1 + len(BAD_FILES)
    truth = json.loads((tmp_path / "valid-mild-10000" / "truth.json").read_text())
    assert truth["outcome"] == "verified" and truth["fields"]["id_front"]["name"]
    for name in truth["files"].values():
        assert (tmp_path / "valid-mild-10000" / name).stat().st_size > 1000


def test_paddle_adapter_refuses_missing_models(tmp_path: Path) -> None:
    from lending.ocr.paddle import PaddleOcrEngine, PaddleUnavailable

    with pytest.raises(PaddleUnavailable):
        PaddleOcrEngine(tmp_path / "det", tmp_path / "rec")


def test_phone_photos_and_both_licence_layouts_are_rendered() -> None:
    from io import BytesIO

    from PIL import Image

    from tests.corpus import NOISES, TUNED

    assert "wild" in NOISES and "wild" not in TUNED  # measured harsher than tuned on
    old, new = make_case("valid", 1, "phone"), make_case("valid", 2, "phone")
    for case in (old, new):
        for data in case.images.values():
            photo = Image.open(BytesIO(data))
            assert photo.format == "JPEG" and max(photo.size) <= 1280  # as WeChat sends it
    from lending.sandbox.documents import render_document
    from lending.sandbox.identities import make_identity

    licence, ident = DocumentKind.BUSINESS_LICENCE, make_identity(1, today=TODAY)
    assert render_document(licence, ident, licence_layout="2015") != render_document(licence, ident)
    # Odd seeds draw the pre-2019 layout.
    assert make_case("valid", 1).images[licence] == render_document(
        licence, ident, seed=1, licence_layout="2015"
    )
