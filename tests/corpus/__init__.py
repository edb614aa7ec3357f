"""The OCR corpus: seeded synthetic applications, rendered at a noise level, with the
ground truth each document and each application should produce.

    python -m tests.corpus --out corpus/ --n 20

writes ``corpus/<case>/<document>.jpg`` (or ``.bin``/``.pdf`` for bad files) and
``corpus/<case>/truth.json`` per case, plus ``corpus/index.json``. The benchmark
(bench/bench_ocr.py) builds the same cases in memory. Everything is deterministic in
(variant, seed, noise). Odd seeds draw the business licence in the pre-2019
single-column layout, even seeds in the 2019 one.

Variants:

* ``valid`` — every document consistent with the declaration → ``verified``;
* ``bad_check_digit`` — the ID card carries a number whose check digit is wrong (a
  forgery or a typo on a fake): it cannot be read as a valid number → ``unreadable``;
* ``expired_id`` — the ID card's validity ended before today → ``mismatch``
  (``id_expired``);
* ``sex_contradiction`` — the printed sex contradicts the ID number → ``suspicious``;
* ``birth_contradiction`` — the printed birth date contradicts the ID number →
  ``suspicious``;
* ``name_mismatch`` — the applicant declared another name → ``mismatch`` (name on the
  ID card and legal representative on the licence);
* bad files in place of the ID front: ``not_an_image``, ``truncated_jpeg``,
  ``oversized`` (> 5 MiB), ``encrypted_pdf``, ``blank_photo`` → ``unreadable``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, Final, Literal

from lending.documents.kinds import MAX_DOCUMENT_BYTES, DocumentKind
from lending.documents.validate import DeclaredIdentity, Outcome
from lending.identity.checks import id_check_digit
from lending.sandbox.documents import LicenceLayout, Noise, render_document
from lending.sandbox.identities import SyntheticIdentity, make_identity

TODAY: Final = date(2025, 6, 1)
NOISES: Final[tuple[Noise, ...]] = ("clean", "mild", "harsh", "phone", "wild")
# Tuned on: clean to phone. `wild` is harsher than any of them and only measured.
TUNED: Final[tuple[Noise, ...]] = ("clean", "mild", "harsh", "phone")
Variant = Literal[
    "valid",
    "bad_check_digit",
    "expired_id",
    "sex_contradiction",
    "birth_contradiction",
    "name_mismatch",
    "not_an_image",
    "truncated_jpeg",
    "oversized",
    "encrypted_pdf",
    "blank_photo",
]
INVALID_IDENTITIES: Final[tuple[Variant, ...]] = (
    "bad_check_digit",
    "expired_id",
    "sex_contradiction",
    "birth_contradiction",
    "name_mismatch",
)
BAD_FILES: Final[tuple[Variant, ...]] = (
    "not_an_image",
    "truncated_jpeg",
    "oversized",
    "encrypted_pdf",
    "blank_photo",
)
# How the renderer lays values out: the ID address wraps at 11 characters on 3 lines,
# licence values at 16 on 3 lines; what does not fit is not printed.
_ID_ADDRESS_CHARS: Final = 33
_LICENCE_CHARS: Final = 48


@dataclass(frozen=True, slots=True)
class Case:
    """One application: the uploaded files, the declaration and the ground truth."""

    case_id: str
    variant: Variant
    noise: Noise
    seed: int
    images: dict[DocumentKind, bytes]
    declared: DeclaredIdentity
    outcome: Outcome  # the application's expected outcome
    documents: dict[DocumentKind, Outcome]  # expected outcome per document
    # expected extracted values per document (only for rendered documents)
    fields: dict[DocumentKind, dict[str, str]] = field(default_factory=dict)
    reasons: frozenset[str] = frozenset()  # expected reason codes

    def truth(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "variant": self.variant,
            "noise": self.noise,
            "seed": self.seed,
            "today": TODAY.isoformat(),
            "declared": {
                "name": self.declared.name,
                "id_number": self.declared.id_number,
                "bank_card_number": self.declared.bank_card_number,
                "company_name": self.declared.company_name,
                "credit_code": self.declared.credit_code,
            },
            "outcome": self.outcome,
            "documents": {str(k): v for k, v in self.documents.items()},
            "fields": {str(k): v for k, v in self.fields.items()},
            "reasons": sorted(self.reasons),
        }


def expected_fields(kind: DocumentKind, ident: SyntheticIdentity) -> dict[str, str]:
    """Every field the extractor reports for `kind`, as printed on the document."""
    if kind is DocumentKind.ID_FRONT:
        return {
            "name": ident.name,
            "sex": ident.sex,
            "ethnicity": ident.ethnicity,
            "birth_date": ident.birth_date.isoformat(),
            "address": ident.address[:_ID_ADDRESS_CHARS],
            "id_number": ident.id_number,
        }
    if kind is DocumentKind.ID_BACK:
        return {
            "id_issuer": ident.id_issuer,
            "id_valid_from": ident.id_valid_from.isoformat(),
            "id_valid_to": ident.id_valid_to.isoformat(),
        }
    if kind is DocumentKind.BANK_CARD:
        return {"bank_card_number": ident.bank_card_number}
    return {
        "credit_code": ident.credit_code,
        "company_name": ident.company_name[:_LICENCE_CHARS],
        "company_type": ident.company_type[:_LICENCE_CHARS],
        "legal_representative": ident.name,
        "registered_capital": f"{ident.registered_capital_yuan // 10_000}万元",
        "established": ident.established.isoformat(),
        "company_address": ident.company_address[:_LICENCE_CHARS],
    }


def declaration(ident: SyntheticIdentity) -> DeclaredIdentity:
    return DeclaredIdentity(
        name=ident.name,
        id_number=ident.id_number,
        bank_card_number=ident.bank_card_number,
        company_name=ident.company_name,
        credit_code=ident.credit_code,
    )


def _bad_check_digit(ident: SyntheticIdentity) -> SyntheticIdentity:
    good = id_check_digit(ident.id_number[:17])
    wrong = "0123456789X"[("0123456789X".index(good) + 3) % 11]
    return replace(ident, id_number=ident.id_number[:17] + wrong)


def _other_birth(ident: SyntheticIdentity) -> SyntheticIdentity:
    return replace(ident, birth_date=ident.birth_date + timedelta(days=400))


def _bad_file(variant: Variant, seed: int) -> bytes:
    rng = random.Random(f"bad:{variant}:{seed}")
    if variant == "not_an_image":
        return ("姓名,身份证号\n" * 50).encode() + rng.randbytes(64)
    if variant == "truncated_jpeg":
        whole = render_document(DocumentKind.ID_FRONT, make_identity(seed, today=TODAY))
        return whole[: len(whole) // 2]
    if variant == "oversized":  # a valid JPEG padded past the limit after its end marker
        whole = render_document(DocumentKind.ID_FRONT, make_identity(seed, today=TODAY))
        return whole + rng.randbytes(MAX_DOCUMENT_BYTES + 1024)
    if variant == "encrypted_pdf":
        return (
            b"%PDF-1.7\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"3 0 obj<</Filter/Standard/V 4/R 4/Length 128/P -1068"
            b"/O<" + rng.randbytes(32).hex().encode() + b">"
            b"/U<" + rng.randbytes(32).hex().encode() + b">>>endobj\n"
            b"trailer<</Root 1 0 R/Encrypt 3 0 R/ID[<00><00>]>>\n%%EOF\n"
        )
    if variant == "blank_photo":  # a white sheet photographed: flat, a little noise
        from PIL import Image

        level = rng.randint(200, 235)
        img = Image.effect_noise((1280, 960), 2).point(lambda v: level + (v - 128) // 40)
        out = BytesIO()
        img.convert("RGB").save(out, "JPEG", quality=85)
        return out.getvalue()
    raise ValueError(variant)


def make_case(variant: Variant, seed: int, noise: Noise = "clean") -> Case:
    """The case for (variant, seed, noise); the identity comes from `seed` alone."""
    ident = make_identity(seed, expired_id=variant == "expired_id", today=TODAY)
    declared = declaration(ident)
    printed = {kind: ident for kind in DocumentKind}
    documents: dict[DocumentKind, Outcome] = dict.fromkeys(DocumentKind, "verified")
    outcome: Outcome = "verified"
    reasons: set[str] = set()
    if variant == "bad_check_digit":
        forged = _bad_check_digit(ident)
        printed[DocumentKind.ID_FRONT] = forged
        declared = replace(declared, id_number=forged.id_number)
        outcome, reasons = "unreadable", {"checksum_failed"}
        documents[DocumentKind.ID_FRONT] = "unreadable"
    elif variant == "expired_id":
        outcome, reasons = "mismatch", {"id_expired"}
        documents[DocumentKind.ID_BACK] = "mismatch"
    elif variant == "sex_contradiction":
        printed[DocumentKind.ID_FRONT] = replace(ident, sex="F" if ident.sex == "M" else "M")
        outcome, reasons = "suspicious", {"sex_contradicts_id"}
        documents[DocumentKind.ID_FRONT] = "suspicious"
    elif variant == "birth_contradiction":
        printed[DocumentKind.ID_FRONT] = _other_birth(ident)
        outcome, reasons = "suspicious", {"birth_contradicts_id"}
        documents[DocumentKind.ID_FRONT] = "suspicious"
    elif variant == "name_mismatch":
        other = make_identity(seed + 7_919, today=TODAY).name
        if other == ident.name:
            other = "欧阳" + ident.name[1:]
        declared = replace(declared, name=other)
        outcome, reasons = "mismatch", {"mismatch"}
        documents[DocumentKind.ID_FRONT] = "mismatch"
        documents[DocumentKind.BUSINESS_LICENCE] = "mismatch"
    layout: LicenceLayout = "2015" if seed % 2 else "2019"
    images = {
        kind: render_document(kind, printed[kind], noise=noise, seed=seed, licence_layout=layout)
        for kind in DocumentKind
    }
    fields = {kind: expected_fields(kind, printed[kind]) for kind in DocumentKind}
    if variant == "bad_check_digit":
        del fields[DocumentKind.ID_FRONT]["id_number"]  # must *not* be read as valid
    if variant in BAD_FILES:
        images[DocumentKind.ID_FRONT] = _bad_file(variant, seed)
        del fields[DocumentKind.ID_FRONT]
        outcome = "unreadable"
        documents[DocumentKind.ID_FRONT] = "unreadable"
        reasons = {"unsupported_file" if variant != "blank_photo" else "unreadable_image"}
        if variant == "truncated_jpeg":
            reasons = {"unreadable_image"}
    return Case(
        case_id=f"{variant}-{noise}-{seed}",
        variant=variant,
        noise=noise,
        seed=seed,
        images=images,
        declared=declared,
        outcome=outcome,
        documents=documents,
        fields=fields,
        reasons=frozenset(reasons),
    )


def cases(
    n: int, *, noises: tuple[Noise, ...] = NOISES, invalid: int = 1, seed0: int = 10_000
) -> Iterator[Case]:
    """`n` valid cases per noise level, `invalid` of each invalid-identity variant per
    noise level, and each bad file once. Rendering happens lazily, case by case."""
    for noise in noises:
        for i in range(n):
            yield make_case("valid", seed0 + i, noise)
        for k, variant in enumerate(INVALID_IDENTITIES):
            for j in range(invalid):
                yield make_case(variant, seed0 + 5_000 + 100 * j + k, noise)
    for variant in BAD_FILES:
        yield make_case(variant, seed0 + 9_000, "clean")


def file_suffix(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith(b"%PDF"):
        return ".pdf"
    return ".bin"


def load_case(folder: Path) -> Case:
    """A case written by ``python -m tests.corpus`` (truth.json and its files)."""
    truth = json.loads((folder / "truth.json").read_text())
    return Case(
        case_id=truth["case_id"],
        variant=truth["variant"],
        noise=truth["noise"],
        seed=truth["seed"],
        images={DocumentKind(k): (folder / f).read_bytes() for k, f in truth["files"].items()},
        declared=DeclaredIdentity(**truth["declared"]),
        outcome=truth["outcome"],
        documents={DocumentKind(k): v for k, v in truth["documents"].items()},
        fields={DocumentKind(k): v for k, v in truth["fields"].items()},
        reasons=frozenset(truth["reasons"]),
    )
