"""The OCR engine's ONNX Runtime sessions: idle intra-op threads sleep, not spin (a
spinning pool burnt ~25% more CPU per application on a busy machine), the memory arena
is on, and the rebuilt sessions read as RapidOCR's own did."""

from __future__ import annotations

import pytest

from lending.documents.kinds import DocumentKind
from lending.sandbox import make_identity
from lending.sandbox.documents import render_document

pytestmark = pytest.mark.ocr


def test_the_sessions_threads_sleep_when_idle_and_still_read_the_lines() -> None:
    from lending.ocr.rapid import RapidOcrEngine

    engine = RapidOcrEngine()
    detector, recogniser = engine._models()
    for session, threads in (
        (detector.session.session, 2),
        (recogniser.text_rec.session.session, 1),
    ):
        options = session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.enable_cpu_mem_arena
        assert options.intra_op_num_threads == threads

    who = make_identity(4_242)
    lines = engine.read(render_document(DocumentKind.ID_FRONT, who, seed=1))
    assert any(who.id_number in line.text.replace(" ", "") for line in lines)
