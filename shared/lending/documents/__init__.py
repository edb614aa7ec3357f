"""Applicant documents: kinds, field extraction from OCR lines, validation."""

from lending.documents.kinds import (
    ACCEPTED_MIME_TYPES,
    MAX_DOCUMENT_BYTES,
    DocumentKind,
    sniff_mime_type,
)

__all__ = ["ACCEPTED_MIME_TYPES", "MAX_DOCUMENT_BYTES", "DocumentKind", "sniff_mime_type"]
