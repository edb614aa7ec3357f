"""Runs the document validation on the PaddleOCR engine, inside .venv-paddle.

The product's test venv cannot import Paddle (it lives in its own venv, see the
Makefile), so tests/integration/test_ocr_paddle.py renders the documents there and
hands them to this worker:

    .venv-paddle/bin/python -m tests.paddle_worker < requests.json

stdin: a JSON list of {"images": {kind: path}, "declared": {DeclaredIdentity fields},
"today": ISO date}. stdout (last line): {"engine", "versions", "cold_start_ms",
"results": [{"outcome", "reasons": [[document, field, code]], "extracted"}]}.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

from lending.documents.kinds import DocumentKind
from lending.documents.validate import DeclaredIdentity, validate_documents
from lending.ocr.paddle import PaddleOcrEngine


def main() -> None:
    requests: list[dict[str, Any]] = json.load(sys.stdin)
    t0 = time.perf_counter()
    engine = PaddleOcrEngine.from_env()  # the venv's own models
    engine.warm()
    cold_ms = round((time.perf_counter() - t0) * 1000)
    results = []
    for req in requests:
        images = {DocumentKind(k): Path(p).read_bytes() for k, p in req["images"].items()}
        check = validate_documents(
            images,
            DeclaredIdentity(**req["declared"]),
            engine,
            date.fromisoformat(req["today"]),
        )
        results.append(
            {
                "outcome": check.outcome,
                "reasons": [[str(r.document), r.field, r.code] for r in check.reasons],
                "extracted": check.extracted,
            }
        )
    report = {
        "engine": type(engine).__name__,
        "versions": {p: version(p) for p in ("paddleocr", "paddlex", "paddlepaddle")},
        "cold_start_ms": cold_ms,
        "results": results,
    }
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
