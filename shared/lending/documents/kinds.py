"""The document kinds an applicant uploads, and the upload limits."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class DocumentKind(StrEnum):
    ID_FRONT = "id_front"
    ID_BACK = "id_back"
    BUSINESS_LICENCE = "business_licence"
    BANK_CARD = "bank_card"


ACCEPTED_MIME_TYPES: Final = frozenset({"image/jpeg", "image/png"})
MAX_DOCUMENT_BYTES: Final = 5 * 1024 * 1024  # 5 MiB: a phone photo at full resolution


def sniff_mime_type(data: bytes) -> str | None:
    """The MIME type from the magic bytes (never trust the client's claim), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None
