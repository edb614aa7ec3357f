"""OCR benchmark: the engines side by side over the corpus (tests.corpus).

    python bench/bench_ocr.py [--n 20] [--invalid 1] [--engines rapid,paddle]

Per engine, in a fresh subprocess each (so peak RSS is the engine's own):

* per document kind × noise level: field exact match (every field the extractor
  reports, compared after full/half-width, whitespace and traditional-form folding, as
  the validation compares), outcome accuracy against the ground truth (the document's
  outcome is the worst of its reasons), wrong ``verified`` count, p50/p95 wall ms and
  p50 CPU ms per document (decode + detection + recognition + re-reads + extraction);
* per noise level: application outcome accuracy, wrong ``verified``, valid
  applications declined (``mismatch``: the documents' decline path) or sent back for a
  retake (``unreadable``, with the retake codes given), and tampered applications
  (the invalid-identity variants) that came out ``verified``. The `wild` level is
  harsher than anything the reader was tuned on (tests.corpus.TUNED);
* peak RSS (resource.getrusage in the worker);
* cold start: import + model load in a fresh interpreter (median of 3).

Rendering is not timed. The machine's load average is recorded: wall times on a
shared machine are noisy, CPU times less so. Writes reports/ocr.json.
The paddle engine's subprocesses run under .venv-paddle's python (`make paddle-venv`:
PaddleOCR 3.x and its models; PADDLE_PYTHON overrides the interpreter); without that
venv it is reported skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports" / "ocr.json"
PADDLE_PYTHON = Path(os.environ.get("PADDLE_PYTHON", ROOT / ".venv-paddle" / "bin" / "python"))
sys.path.insert(0, str(ROOT))

from lending.documents.kinds import DocumentKind  # noqa: E402
from lending.documents.validate import (  # noqa: E402
    DocumentCheck,
    comparison_key,
    validate_documents,
)
from lending.ocr.ports import (  # noqa: E402
    LineReader,
    OcrEngine,
    Quad,
    RegionReader,
    TextLine,
)
from tests.corpus import INVALID_IDENTITIES, NOISES, TODAY, TUNED, Case, load_case  # noqa: E402
from tests.corpus.__main__ import main as write_corpus  # noqa: E402

T = TypeVar("T")
_SEVERITY: dict[str, int] = {"verified": 0, "unreadable": 1, "mismatch": 2, "suspicious": 3}


def make_engine(name: str) -> tuple[OcrEngine | None, str]:
    """The engine, warmed (models loaded), or None and why it cannot run here."""
    if name == "rapid":
        from lending.ocr.rapid import RapidOcrEngine

        rapid = RapidOcrEngine()
        rapid.warm()
        return rapid, ""
    if name == "paddle":
        from lending.ocr.paddle import PaddleOcrEngine, PaddleUnavailable

        try:
            paddle = PaddleOcrEngine.from_env()
            paddle.warm()
        except PaddleUnavailable as exc:
            return None, str(exc)
        return paddle, ""
    raise SystemExit(f"unknown engine {name}")


class Timed:
    """Wraps an engine; accumulates wall and CPU time per image."""

    def __init__(self, inner: OcrEngine) -> None:
        self.inner = inner
        self.wall: dict[int, float] = {}
        self.cpu: dict[int, float] = {}

    def _time(self, image: bytes, call: Callable[[], T]) -> T:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        try:
            return call()
        finally:
            key = id(image)
            self.wall[key] = self.wall.get(key, 0.0) + time.perf_counter() - wall0
            self.cpu[key] = self.cpu.get(key, 0.0) + time.process_time() - cpu0

    def read(self, image: bytes) -> list[TextLine]:
        return self._time(image, lambda: self.inner.read(image))


class TimedRegions(Timed):
    """A Timed engine that also re-reads regions (RegionReader)."""

    def read_regions(self, image: bytes, quads: Sequence[Quad]) -> list[TextLine]:
        assert isinstance(self.inner, RegionReader)
        inner = self.inner
        return self._time(image, lambda: inner.read_regions(image, quads))


class TimedLines(TimedRegions):
    """A Timed engine that also detects and recognises as two steps (LineReader)."""

    def detect(self, image: bytes) -> list[Quad]:
        assert isinstance(self.inner, LineReader)
        inner = self.inner
        return self._time(image, lambda: inner.detect(image))

    def recognise(self, image: bytes, quads: Sequence[Quad]) -> list[TextLine]:
        assert isinstance(self.inner, LineReader)
        inner = self.inner
        return self._time(image, lambda: inner.recognise(image, quads))


def timed(engine: OcrEngine) -> Timed:
    """The wrapper offering the engine's own capabilities, no more."""
    if isinstance(engine, RegionReader) and isinstance(engine, LineReader):
        return TimedLines(engine)
    return TimedRegions(engine) if isinstance(engine, RegionReader) else Timed(engine)


_CODE_OUTCOME: dict[str, str] = {
    "sex_contradicts_id": "suspicious",
    "birth_contradicts_id": "suspicious",
    "issued_in_future": "suspicious",
    "irregular_validity": "suspicious",
    "mismatch": "mismatch",
    "id_expired": "mismatch",
}  # every other code is "unreadable"


def _doc_outcome(check: DocumentCheck, kind: DocumentKind) -> str:
    """The worst outcome among the reasons about this document."""
    outcomes = [
        _CODE_OUTCOME.get(r.code, "unreadable") for r in check.reasons if r.document is kind
    ]
    return max(outcomes, key=_SEVERITY.__getitem__, default="verified")


def run_case(engine: OcrEngine, case: Case) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    clock = timed(engine)
    check = validate_documents(case.images, case.declared, clock, TODAY)
    docs = []
    for kind, data in case.images.items():
        want = case.fields.get(kind, {})
        ok = wrong = 0
        for name, value in want.items():
            got = check.extracted.get(name)
            if got is not None and comparison_key(got) == comparison_key(value):
                ok += 1
            elif got is not None:
                wrong += 1
        docs.append(
            {
                "case": case.case_id,
                "variant": case.variant,
                "noise": case.noise,
                "kind": str(kind) if case.variant == "valid" or kind in case.fields else "bad_file",
                "ms": round(clock.wall.get(id(data), 0.0) * 1000, 1),
                "cpu_ms": round(clock.cpu.get(id(data), 0.0) * 1000, 1),
                "fields": len(want),
                "fields_ok": ok,
                "fields_wrong": wrong,
                "expected": case.documents[kind],
                "got": _doc_outcome(check, kind),
            }
        )
    summary = {
        "case": case.case_id,
        "variant": case.variant,
        "noise": case.noise,
        "expected": case.outcome,
        "got": check.outcome,
        "reasons": sorted({r.code for r in check.reasons}),
        "retakes": sorted({r.code for r in check.retakes}),
    }
    return summary, docs


def worker(engine_name: str, corpus: Path) -> dict[str, Any]:
    """Cases are read from disk one at a time, so peak RSS is the engine's plus one
    application's images, not the renderer's."""
    engine, why = make_engine(engine_name)
    if engine is None:
        return {"engine": engine_name, "skipped": why}
    summaries, docs = [], []
    for entry in json.loads((corpus / "index.json").read_text()):
        summary, case_docs = run_case(engine, load_case(corpus / entry["case_id"]))
        summaries.append(summary)
        docs += case_docs
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB (Linux)
    return {"engine": engine_name, "cases": summaries, "documents": docs, "peak_rss_mb": peak}


def cold_start(engine_name: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    _engine, why = make_engine(engine_name)
    return {"cold_start_ms": round((time.perf_counter() - t0) * 1000), "skipped": why}


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def aggregate(result: dict[str, Any]) -> dict[str, Any]:
    rows = []
    docs = result["documents"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for d in docs:
        noise = d["noise"] if d["kind"] != "bad_file" else "-"
        groups.setdefault((d["kind"], noise), []).append(d)
    for (kind, noise), members in sorted(groups.items()):
        timed = [d for d in members if d["kind"] != "bad_file" or d["ms"] > 0]
        fields = sum(d["fields"] for d in members)
        rows.append(
            {
                "kind": kind,
                "noise": noise,
                "documents": len(members),
                "fields": fields,
                "field_exact": sum(d["fields_ok"] for d in members) / fields if fields else None,
                "fields_wrong": sum(d["fields_wrong"] for d in members),
                "outcome_accuracy": sum(d["got"] == d["expected"] for d in members) / len(members),
                "wrong_verified": sum(d["got"] == "verified" != d["expected"] for d in members),
                "p50_ms": round(_pct([d["ms"] for d in timed], 50), 1),
                "p95_ms": round(_pct([d["ms"] for d in timed], 95), 1),
                "p50_cpu_ms": round(_pct([d["cpu_ms"] for d in timed], 50), 1),
            }
        )
    applications = []
    for noise in [*NOISES, "all"]:
        members = [c for c in result["cases"] if noise in ("all", c["noise"])]
        if not members:
            continue
        valid = [c for c in members if c["variant"] == "valid"]
        tampered = [c for c in members if c["variant"] in INVALID_IDENTITIES]
        retakes: dict[str, int] = {}
        for c in valid:
            for code in c.get("retakes", []):
                retakes[code] = retakes.get(code, 0) + 1
        applications.append(
            {
                "noise": noise,
                "tuned_on": noise in TUNED if noise != "all" else None,
                "cases": len(members),
                "outcome_accuracy": sum(c["got"] == c["expected"] for c in members) / len(members),
                "wrong_verified": sum(c["got"] == "verified" != c["expected"] for c in members),
                "valid": len(valid),
                "valid_verified": sum(c["got"] == "verified" for c in valid),
                "valid_declined": sum(c["got"] == "mismatch" for c in valid),
                "valid_retake": sum(c["got"] == "unreadable" for c in valid),
                "valid_retake_codes": retakes,
                "tampered": len(tampered),
                "tampered_verified": sum(c["got"] == "verified" for c in tampered),
                "errors": [c for c in members if c["got"] != c["expected"]],
            }
        )
    return {"by_kind_noise": rows, "applications": applications}


def print_table(engine: str, report: dict[str, Any]) -> None:
    print(
        f"\n== {engine}: peak RSS {report['peak_rss_mb']:.0f} MB, "
        f"cold start {report['cold_start_ms']} ms (import + model load)"
    )
    print(
        f"{'kind':17} {'noise':6} {'docs':>4} {'field exact':>12} {'wrong':>5} "
        f"{'outcome':>8} {'wrongV':>6} {'p50 ms':>7} {'p95 ms':>7} {'p50 cpu':>8}"
    )
    for r in report["by_kind_noise"]:
        exact = f"{100 * r['field_exact']:.1f}%" if r["field_exact"] is not None else "-"
        print(
            f"{r['kind']:17} {r['noise']:6} {r['documents']:>4} {exact:>12} "
            f"{r['fields_wrong']:>5} {100 * r['outcome_accuracy']:>7.1f}% "
            f"{r['wrong_verified']:>6} {r['p50_ms']:>7.0f} {r['p95_ms']:>7.0f} "
            f"{r['p50_cpu_ms']:>8.0f}"
        )
    for a in report["applications"]:
        print(
            f"applications {a['noise']:6} {a['cases']:>4} cases: outcome "
            f"{100 * a['outcome_accuracy']:.1f}%, wrong verified {a['wrong_verified']}; "
            f"valid {a['valid_verified']}/{a['valid']} verified, {a['valid_declined']} declined, "
            f"{a['valid_retake']} asked to retake {a['valid_retake_codes']}; tampered "
            f"verified {a['tampered_verified']}/{a['tampered']}"
            + ("  (harsher than tuned on)" if a["tuned_on"] is False else "")
        )
        for err in a["errors"] if a["noise"] != "all" else []:
            print(
                f"   {err['case']}: expected {err['expected']}, got {err['got']} {err['reasons']}"
            )


def _python(engine: str) -> str:
    """Paddle runs in its own venv (its pins are not the product's); the others here."""
    if engine == "paddle" and PADDLE_PYTHON.exists():
        return str(PADDLE_PYTHON)
    return sys.executable


def _subprocess(engine: str, args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [_python(engine), __file__, *args], check=True, capture_output=True, text=True
    )
    return cast(dict[str, Any], json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20, help="valid applications per noise")
    parser.add_argument("--invalid", type=int, default=1, help="cases per invalid variant")
    parser.add_argument("--noise", default=",".join(NOISES))
    parser.add_argument("--engines", default="rapid,paddle")
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--corpus", type=Path, help="a corpus already written (else a fresh one)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--cold", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.corpus)))
        return
    if args.cold:
        print(json.dumps(cold_start(args.cold)))
        return
    corpus = args.corpus
    if corpus is None:  # rendered here, outside the timed and measured worker
        corpus = Path(tempfile.mkdtemp(prefix="ocr-corpus-"))
        write_corpus(
            [
                "--out",
                str(corpus),
                "--n",
                str(args.n),
                "--invalid",
                str(args.invalid),
                "--noise",
                args.noise,
            ]
        )
    load_before = os.getloadavg()
    report: dict[str, Any] = {
        "today": TODAY.isoformat(),
        "n_per_noise": args.n,
        "cpus": os.cpu_count(),
        "engines": {},
    }
    for name in args.engines.split(","):
        colds = [_subprocess(name, ["--cold", name]) for _ in range(3)]
        if colds[0]["skipped"]:
            report["engines"][name] = {"skipped": colds[0]["skipped"]}
            print(f"\n== {name}: skipped ({colds[0]['skipped']})")
            continue
        result = _subprocess(name, ["--worker", name, "--corpus", str(corpus)])
        engine_report = {
            "peak_rss_mb": round(result["peak_rss_mb"], 1),
            "cold_start_ms": statistics.median(c["cold_start_ms"] for c in colds),
            **aggregate(result),
            "documents": result["documents"],
        }
        report["engines"][name] = engine_report
        print_table(name, engine_report)
    report["load_average"] = {"before": load_before, "after": os.getloadavg()}
    if args.corpus is None:
        shutil.rmtree(corpus, ignore_errors=True)
    print(f"\nload average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
