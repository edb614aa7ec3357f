"""`make demo`: about 20 synthetic applicants through the API, the state machine and a bank,
then their loans' months (`demo_servicing`): repayments, reminders, finance's digest and the
five-tier classification, driven by the local cloud's clock.

Prints a table of outcomes and timings, each loan's statement, and writes reports/demo.json.
Exits non-zero if any application is left stuck or any check fails.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from infra.localcloud import demo_servicing, iam
from infra.localcloud.cloud import ROOT, LocalCloud
from infra.localcloud.miniprogram import TERMINAL, Applicant, Reviewer
from lending.aws import wiring
from lending.documents.kinds import DocumentKind
from lending.identity.checks import birth_date_of
from lending.sandbox.casting import rows_in_band
from lending.sandbox.documents import render_document
from lending.sandbox.identities import SyntheticIdentity, make_identity
from lending.scoring.profile import Application as ScoringApplication
from lending.scoring.scorecard import Scorecard

REPORT = ROOT / "reports" / "demo.json"
ARRIVAL_SECONDS = 3.0


@dataclass
class Case:
    """One applicant of the demo and the path they are cast for."""

    label: str
    expect: str  # the final status the path should end in
    product_id: str = "consumer-flex"
    band: str = "approve"  # the scorecard band of the pinned bureau row
    accept_offer: bool = True
    review: str | None = None  # what the reviewer decides, if the case reaches review
    mismatch: bool = False
    dishonest: bool = False
    outage: str | None = None
    noise: str = "clean"
    double_submit: bool = False
    redeliver: bool = False
    reupload: bool = False  # first uploads a blank photo of the ID card front
    refused_by: tuple[str, ...] = ()  # partner banks that refuse to pay it out
    applicant: Applicant | None = None
    result: dict[str, Any] = field(default_factory=dict)


def cast() -> list[Case]:
    cases = [Case(f"consumer approved #{i + 1}", "disbursed") for i in range(5)]
    cases[0].double_submit = True
    cases[1].redeliver = True
    cases[2].noise = "mild"
    cases += [
        Case(f"business approved #{i + 1}", "disbursed", product_id="business-operating")
        for i in range(3)
    ]
    cases += [Case(f"declined by score #{i + 1}", "declined", band="decline") for i in range(3)]
    cases += [
        Case("review -> approved #1", "disbursed", band="review", review="approve"),
        Case("review -> approved #2", "disbursed", band="review", review="approve"),
        Case("review -> declined", "declined", band="review", review="decline"),
        Case("OCR mismatch (name)", "declined", mismatch=True),
        Case("bureau outage -> review", "disbursed", outage="credit_bureau", review="approve"),
        Case("dishonest debtor", "declined", dishonest=True),
        Case("offer refused", "withdrawn", accept_offer=False),
        Case("business declined", "declined", product_id="business-operating", band="decline"),
        Case("consumer approved #6", "disbursed"),
        Case("unreadable ID -> re-upload", "disbursed", reupload=True),
        Case("bank A refuses -> trust B", "disbursed", refused_by=("bank-a",)),
        Case("no bank will fund it", "declined", refused_by=("bank-a", "trust-b")),
    ]
    return cases


def blank_photo() -> bytes:
    """A photo of nothing: a valid JPEG from which no field can be read."""
    buffer = io.BytesIO()
    Image.new("RGB", (1000, 630), (236, 236, 230)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def identities(count: int) -> list[SyntheticIdentity]:
    """Seeded identities of working age with an ID card valid today."""
    found: list[SyntheticIdentity] = []
    seed = 1000
    today = date.today()
    while len(found) < count:
        who = make_identity(seed)
        age = (today - birth_date_of(who.id_number)).days // 365
        if 22 <= age <= 58 and who.id_valid_to > today:
            found.append(who)
        seed += 1
    return found


def prepare(case: Case, who: SyntheticIdentity, cloud: LocalCloud, card: Scorecard, n: int) -> None:
    business = case.product_id.startswith("business")
    applicant = Applicant(
        cloud.api_url,
        who,
        product_id=case.product_id,
        amount_fen=200_000_00 if business else 20_000_00 + 1_000_00 * n,
        term_months=24 if business else 12,
        repayment_method="equal_principal" if business else "equal_instalment",
        purpose="business" if business else "electronics",
        monthly_income_fen=60_000_00 if business else 18_000_00,
        monthly_debt_fen=2_000_00,
        noise=case.noise,
        declared_name=(who.name[0] + "某某") if case.mismatch else None,
    )
    scoring = ScoringApplication(
        applicant.amount_fen,
        applicant.term_months,
        applicant.purpose,
        applicant.monthly_income_fen,
        applicant.monthly_debt_fen,
    )
    rows = rows_in_band(case.band, scoring, card)  # type: ignore[arg-type]
    cloud.pin(who.id_number, rows[(n * 7) % len(rows)], dishonest=case.dishonest)
    if business:
        cloud.pin_company(who.credit_code)  # in good standing: the score decides
    case.applicant = applicant


def run_case(case: Case, n: int, cloud: LocalCloud, delay: float = 0.0) -> None:
    time.sleep(delay)
    a = case.applicant
    assert a is not None
    a.sign_in()
    a.apply()
    for funder_id in case.refused_by:
        cloud.banks[funder_id].declines.add(a.application_id)
    a.upload_documents(seed=n)
    if case.reupload:
        a.upload("id_front", blank_photo(), "image/jpeg")
        a.submit()
        a.wait_for("awaiting_documents", timeout=150)
        a.upload(
            "id_front", render_document(DocumentKind.ID_FRONT, a.identity, seed=n), "image/jpeg"
        )
    if case.double_submit:
        with ThreadPoolExecutor(2) as pool:
            replies = list(pool.map(lambda _: a.submit(), range(2)))
        case.result["double_submit_statuses"] = [r.status for r in replies]
    else:
        a.submit()
    view = a.wait_for("offered", timeout=150)
    if view["status"] == "offered":
        a.answer_offer(case.accept_offer)
        view = a.wait_for(timeout=60)
    case.result["view"] = view


def reviewer_loop(cloud: LocalCloud, cases: list[Case], stop: threading.Event) -> None:
    reviewer = Reviewer(cloud.api_url)
    reviewer.sign_in()
    by_id = {c.applicant.application_id: c for c in cases if c.applicant}
    while not stop.is_set():
        for item in reviewer.queue():
            case = by_id.get(item["application_id"])
            if case is None:
                by_id = {c.applicant.application_id: c for c in cases if c.applicant}
                continue
            decision = case.review or "decline"
            reasons = (
                []
                if decision == "approve"
                else [{"code": "M01", "message": "reviewer: repayment capacity not evidenced"}]
            )
            reviewer.decide(item["application_id"], decision, reasons)
        stop.wait(0.1)


def seconds_between(events: list[dict[str, Any]], start: str, *ends: str) -> float | None:
    at = {e["type"]: datetime.fromisoformat(e["at"]) for e in reversed(events)}
    if start not in at:
        return None
    hits = [at[e] for e in ends if e in at]
    return round((min(hits) - at[start]).total_seconds(), 3) if hits else None


def record(case: Case) -> dict[str, Any]:
    view = case.result.get("view", {})
    events = view.get("events", [])
    steps: dict[str, float] = {}
    for before, after in itertools.pairwise(events):
        delta = datetime.fromisoformat(after["at"]) - datetime.fromisoformat(before["at"])
        steps[after["type"]] = round(steps.get(after["type"], 0) + delta.total_seconds(), 3)
    outcome = view.get("outcome") or {}
    decision = view.get("decision") or {}
    return {
        "case": case.label,
        "application_id": view.get("id"),
        "product_id": case.product_id,
        "expected": case.expect,
        "final_state": view.get("status"),
        "ok": view.get("status") == case.expect,
        "path": [e["type"] for e in events],
        "manual_review": any(e["type"] == "queued_for_review" for e in events),
        "reasons": [f"{r['code']}: {r['message']}" for r in outcome.get("reasons", [])]
        or [f"{r['code']}: {r['message']}" for r in decision.get("reasons", [])][:3],
        "ocr_outcome": view.get("ocr_outcome"),
        "probability_of_default": decision.get("probability_of_default"),
        "offer": view.get("offer"),
        "step_seconds": steps,
        "submission_to_decision_s": seconds_between(
            events, "submitted", "offered", "declined", "withdrawn", "failed"
        ),
        "submission_to_disbursement_s": seconds_between(events, "submitted", "loan_booked"),
        **{k: v for k, v in case.result.items() if k != "view"},
    }


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summarise(records: list[dict[str, Any]], cloud_start: float, wall: float) -> dict[str, Any]:
    decided = [r for r in records if r["submission_to_decision_s"] is not None]
    decisions = [r["submission_to_decision_s"] for r in decided if not r["manual_review"]]
    all_decisions = [r["submission_to_decision_s"] for r in decided]
    disbursed = [
        r["submission_to_disbursement_s"]
        for r in records
        if r["submission_to_disbursement_s"] is not None
    ]
    by_state: dict[str, int] = {}
    for r in records:
        by_state[r["final_state"] or "stuck"] = by_state.get(r["final_state"] or "stuck", 0) + 1
    credit_decisions = [r for r in records if r["ocr_outcome"] == "verified"]
    automated = [r for r in credit_decisions if not r["manual_review"]]
    return {
        "applications": len(records),
        "by_final_state": by_state,
        "as_expected": sum(r["ok"] for r in records),
        "stuck": sum(r["final_state"] not in TERMINAL for r in records),
        "automated_decision_share": round(len(automated) / max(1, len(credit_decisions)), 3),
        "local_cloud_start_s": round(cloud_start, 3),
        "wall_clock_s": round(wall, 3),
        "submission_to_decision_s": {
            "automatic_p50": percentile(decisions, 0.5),
            "automatic_p95": percentile(decisions, 0.95),
            "all_p50": percentile(all_decisions, 0.5),
            "all_p95": percentile(all_decisions, 0.95),
        },
        "submission_to_disbursement_s": {
            "p50": percentile(disbursed, 0.5),
            "p95": percentile(disbursed, 0.95),
        },
    }


def print_table(records: list[dict[str, Any]], totals: dict[str, Any]) -> None:
    header = f"{'case':28} {'final':10} {'ok':3} {'decide s':>8} {'disburse s':>10}  reason / path"
    print(header)
    print("-" * len(header))
    for r in records:
        reason = r["reasons"][0] if r["reasons"] else " > ".join(r["path"][-3:])
        print(
            f"{r['case'][:28]:28} {r['final_state']!s:10} {'yes' if r['ok'] else 'NO':3} "
            f"{_fmt(r['submission_to_decision_s']):>8} "
            f"{_fmt(r['submission_to_disbursement_s']):>10}"
            f"  {reason[:70]}"
        )
    print()
    print(json.dumps(totals, indent=2, ensure_ascii=False))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def funder_quota(cloud: LocalCloud) -> dict[str, dict[str, int]]:
    """Per funder: quota, quota in use, and what its bank paid out. Once every case has
    ended, each reservation was either paid or given back: in use equals paid."""
    repo = wiring.funders()
    out: dict[str, dict[str, int]] = {}
    for funder_id, bank in cloud.banks.items():
        funder = repo.get(funder_id)
        assert funder is not None
        out[funder_id] = {
            "quota_fen": funder.quota_fen,
            "used_fen": funder.used_fen,
            "paid_fen": sum(p.amount_fen for p in bank.ledger.values()),
        }
    return out


def originate(cloud: LocalCloud, card: Scorecard) -> list[Case]:
    """The cast applicants through origination: arriving one every ARRIVAL_SECONDS, a
    reviewer answering the review queue, a fund request delivered twice."""
    cases = cast()
    for n, (case, who) in enumerate(zip(cases, identities(len(cases)), strict=True)):
        prepare(case, who, cloud, card, n)
    stop = threading.Event()
    reviewer = threading.Thread(target=reviewer_loop, args=(cloud, cases, stop), daemon=True)
    # The outage is switched on for one applicant alone, before the others start.
    outage = [c for c in cases if c.outage]
    for case in outage:
        cloud.set_outage(case.outage or "", True)
        assert case.applicant is not None
        run_until_review(case, cases.index(case))
        cloud.set_outage(case.outage or "", False)
    reviewer.start()
    others = [c for c in cases if not c.outage]
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = [pool.submit(finish_case, case) for case in outage]
        # Applicants arrive one every ARRIVAL_SECONDS, as a steady stream would.
        futures += [
            pool.submit(run_case, c, cases.index(c), cloud, i * ARRIVAL_SECONDS)
            for i, c in enumerate(others)
        ]
        for future in futures:
            try:
                future.result()
            except Exception as exc:  # a stuck case is reported, not hidden
                print(f"case failed: {exc}", file=sys.stderr)
    redeliver(cloud, cases)
    stop.set()
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument(
        "--no-servicing", action="store_true", help="stop after origination (no loan months)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    card = Scorecard.load()
    with LocalCloud.start() as cloud:
        print(f"local cloud started in {cloud.started_in_seconds:.2f} s; API {cloud.api_url}")
        cases = originate(cloud, card)
        records = [record(c) for c in cases]
        totals = summarise(records, cloud.started_in_seconds, time.perf_counter() - started)
        totals["arrival_interval_s"] = ARRIVAL_SECONDS
        totals["bank_payments"] = {k: len(b.ledger) for k, b in cloud.banks.items()}
        totals["loans_booked"] = sum(r["final_state"] == "disbursed" for r in records)
        totals["funder_quota"] = funder_quota(cloud)
        totals["state_machine_executions"] = len(cloud.executions())
        print_table(records, totals)
        servicing = None if args.no_servicing else run_servicing(cloud, cases)
        totals["iam_denied_calls"] = denied_calls(cloud)
    report: dict[str, Any] = {"totals": totals, "applications": records}
    if servicing is not None:
        report["servicing"] = servicing
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\nIAM: calls the functions' roles would deny: {totals['iam_denied_calls']}")
    print(f"wrote {args.report}")
    return exit_code(totals, len(records), servicing)


def exit_code(totals: dict[str, Any], applications: int, servicing: dict[str, Any] | None) -> int:
    if totals["stuck"]:
        print(f"{totals['stuck']} application(s) left stuck", file=sys.stderr)
        return 1
    if any(q["used_fen"] != q["paid_fen"] for q in totals["funder_quota"].values()):
        print("quota is held for loans no bank paid out", file=sys.stderr)
        return 1
    if totals["as_expected"] != applications:
        print("some applications did not take the path they were cast for", file=sys.stderr)
        return 1
    if totals["iam_denied_calls"]:
        print("calls their functions' roles would deny in AWS:", file=sys.stderr)
        print("\n".join(totals["iam_denied_calls"]), file=sys.stderr)
        return 1
    if servicing is not None and servicing["failed"]:
        print("servicing checks that failed:", file=sys.stderr)
        print("\n".join(servicing["failed"]), file=sys.stderr)
        return 1
    return 0


def run_servicing(cloud: LocalCloud, cases: list[Case]) -> dict[str, Any]:
    """The booked loans' months (see demo_servicing); an error there is a failed check."""
    booked = [
        (c.label, c.applicant, str(c.result["view"]["loan_id"]))
        for c in cases
        if c.applicant is not None
        and c.result.get("view", {}).get("status") == "disbursed"
        and c.result["view"].get("loan_id")
    ]
    try:
        return demo_servicing.run(cloud, booked)
    except Exception as exc:  # reported and failed, not hidden
        traceback.print_exc()
        return {"error": repr(exc), "failed": [f"the servicing phase broke off: {exc!r}"]}


def denied_calls(cloud: LocalCloud) -> list[str] | None:
    """The functions' calls their roles (as SAM translates template.yaml) would deny; None
    when SAM's translator is not installed (`make lint` installs it)."""
    try:
        findings = cloud.iam_findings()
    except iam.SamUnavailable as exc:
        print(f"IAM check skipped: {exc}", file=sys.stderr)
        return None
    # Unused grants are tests/integration/test_least_privilege.py's business: the demo
    # does not run every scheduled function.
    return [str(f) for f in findings if "unused" not in f.kind]


def run_until_review(case: Case, n: int) -> None:
    a = case.applicant
    assert a is not None
    a.sign_in()
    a.apply()
    a.upload_documents(seed=n)
    a.submit()
    a.wait_for("in_review", timeout=60)


def finish_case(case: Case) -> None:
    a = case.applicant
    assert a is not None
    view = a.wait_for("offered", timeout=60)
    if view["status"] == "offered":
        a.answer_offer(case.accept_offer)
        view = a.wait_for(timeout=60)
    case.result["view"] = view


def redeliver(cloud: LocalCloud, cases: list[Case]) -> None:
    """A bank gets a fund request twice: it must confirm again and pay once."""
    for case in cases:
        if not case.redeliver or case.applicant is None:
            continue
        view = case.result.get("view", {})
        funding = view.get("funding") or {}
        bank = cloud.banks.get(funding.get("funder_id", ""))
        if bank is None:
            continue
        message = bank.messages.get(funding.get("fund_request_id", ""))
        if message is None:
            continue
        bank.handle(message)
        case.result["redelivered"] = True
        case.result["bank_payments_for_request"] = sum(
            p.fund_request_id == funding["fund_request_id"] for p in bank.ledger.values()
        )
        case.result["view"] = case.applicant.status()


if __name__ == "__main__":
    raise SystemExit(main())
