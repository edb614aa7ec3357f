"""Quick OCR benchmark: latency and field accuracy per document kind and noise level.

    python bench/ocr_quick.py [--n 20] [--threads 2]

Renders synthetic documents (rendering is not timed), then times decode + OCR + field
extraction per document and checks the required fields against the identity.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path

from lending.documents.extract import extract_fields
from lending.documents.kinds import DocumentKind
from lending.ocr.ports import UnreadableImage
from lending.ocr.rapid import RapidOcrEngine
from lending.sandbox.documents import render_document
from lending.sandbox.identities import SyntheticIdentity, make_identity

TODAY = date(2025, 6, 1)


def expected(kind: DocumentKind, ident: SyntheticIdentity) -> dict[str, str]:
    if kind is DocumentKind.ID_FRONT:
        return {
            "name": ident.name,
            "id_number": ident.id_number,
            "sex": ident.sex,
            "birth_date": ident.birth_date.isoformat(),
        }
    if kind is DocumentKind.ID_BACK:
        return {
            "id_valid_from": ident.id_valid_from.isoformat(),
            "id_valid_to": ident.id_valid_to.isoformat(),
        }
    if kind is DocumentKind.BANK_CARD:
        return {"bank_card_number": ident.bank_card_number}
    return {
        "credit_code": ident.credit_code,
        "company_name": ident.company_name,
        "legal_representative": ident.name,
    }


REPORT = Path(__file__).resolve().parents[1] / "reports" / "ocr-quick.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    engine = RapidOcrEngine(threads=args.threads)
    engine.read(render_document(DocumentKind.ID_FRONT, make_identity(0)))  # warm-up
    print(
        f"{'kind':18} {'noise':6} {'p50 ms':>7} {'p90 ms':>7} {'all ok':>7} "
        f"{'fields ok':>9} {'wrong':>5}"
    )
    rows = []
    for kind in DocumentKind:
        for noise in ("clean", "mild", "harsh"):
            times, docs_ok, fields_ok, fields_total, wrong = [], 0, 0, 0, 0
            for i in range(args.n):
                ident = make_identity(1000 + i)
                data = render_document(kind, ident, noise=noise, seed=i)
                t0 = time.perf_counter()
                try:
                    got = extract_fields(kind, engine.read(data), TODAY).fields
                except UnreadableImage:
                    got = {}
                times.append((time.perf_counter() - t0) * 1000)
                want = expected(kind, ident)
                good = sum(1 for k, v in want.items() if k in got and got[k].value == v)
                wrong += sum(1 for k, v in want.items() if k in got and got[k].value != v)
                fields_ok += good
                fields_total += len(want)
                docs_ok += good == len(want)
            q = statistics.quantiles(times, n=10)
            print(
                f"{kind:18} {noise:6} {statistics.median(times):7.0f} {q[8]:7.0f} "
                f"{docs_ok:>3}/{args.n:<3} {fields_ok:>4}/{fields_total:<4} {wrong:>5}"
            )
            rows.append(
                {
                    "kind": str(kind),
                    "noise": noise,
                    "documents": args.n,
                    "p50_ms": round(statistics.median(times), 1),
                    "p90_ms": round(q[8], 1),
                    "documents_all_fields_ok": docs_ok,
                    "fields_ok": fields_ok,
                    "fields_total": fields_total,
                    "fields_wrong": wrong,
                }
            )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"threads": args.threads, "results": rows}, indent=2))
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
