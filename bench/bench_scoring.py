"""Serving-time cost of admission scoring per application (plain Python, no numpy).

Run: python bench/bench_scoring.py  -- single-threaded, a few seconds, no assertions.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from lending.sandbox.providers import (
    CreditBureau,
    JudicialRecords,
    load_german_rows,
    sandbox_application,
    sandbox_subject,
)
from lending.scoring.credit_line import credit_line
from lending.scoring.decision import DecisionPolicy, decide
from lending.scoring.pricing import price
from lending.scoring.profile import clean_and_merge, features_for_model
from lending.scoring.scorecard import Scorecard

REPEATS = 5
REPORT = Path(__file__).resolve().parents[1] / "reports" / "scoring-bench.json"


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    """Median over REPEATS of the mean time per call, in microseconds."""
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(runs)


def main() -> None:
    t0 = time.perf_counter()
    card = Scorecard.load()
    load_ms = (time.perf_counter() - t0) * 1e3
    policy = DecisionPolicy.from_artefact(card.cutoffs)
    rows = [r.attributes for r in load_german_rows()]
    subjects = [sandbox_subject(n) for n in range(1000)]
    bureau, judicial = CreditBureau(), JudicialRecords()
    fetched = [(s, [bureau.fetch(s), judicial.fetch(s)], sandbox_application(s)) for s in subjects]

    def score_only() -> None:
        for r in rows:
            card.score(r)

    def full_step() -> None:
        for _, reports, app in fetched:
            profile = clean_and_merge(reports)
            result = card.score(features_for_model(profile, app))
            line = credit_line(
                monthly_income_fen=app.monthly_income_fen,
                existing_monthly_debt_fen=app.existing_monthly_debt_fen,
                probability_of_default=result.probability_of_default,
                term_months=app.term_months,
                product_max_fen=20_000_000,
            )
            price(result.probability_of_default)
            decide(
                result,
                [],
                profile.coverage,
                app.requested_amount_fen,
                line,
                policy=policy,
                judicial_blacklisted=profile.judicial_blacklisted,
            )

    figures = {
        "artefact_load_ms": round(load_ms, 2),
        "scorecard_score_us": round(per_call_us(score_only, len(rows)), 2),
        "scoring_step_us": round(per_call_us(full_step, len(fetched)), 2),
        "applications": len(fetched),
        "repeats": REPEATS,
    }
    print(f"artefact load: {figures['artefact_load_ms']:.1f} ms (once per Lambda cold start)")
    print(f"Scorecard.score: {figures['scorecard_score_us']:.1f} us/application")
    print(
        "merge + features + score + line + price + decide: "
        f"{figures['scoring_step_us']:.1f} us/application"
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2))
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
