"""Cast sandbox applicants for a path: find a German row the scorecard puts in a band.

The demo and e2e tests pin a synthetic identity to such a row (see `Directory`), so
'approved', 'declined' and 'manual review' happen on purpose, on real data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from lending.sandbox.providers import GermanRow, load_german_rows
from lending.scoring.decision import DecisionPolicy, pd_band
from lending.scoring.profile import (
    BUREAU_TO_MODEL,
    Application,
    clean_and_merge,
    features_for_model,
)
from lending.scoring.scorecard import Scorecard
from lending.scoring.sources import SourceReport

Band = Literal["approve", "review", "decline"]


def probability_of_default(row: GermanRow, application: Application, card: Scorecard) -> float:
    fields: dict[str, str | int | None] = {b: row.attributes[m] for b, m in BUREAU_TO_MODEL.items()}
    fields.update({"enforcement_cases": 0, "dishonest_debtor": 0})
    report = SourceReport("credit_bureau", datetime.now(UTC), fields, True)
    profile = clean_and_merge([report], "consumer")
    return card.score(features_for_model(profile, application)).probability_of_default


def rows_in_band(
    band: Band,
    application: Application,
    card: Scorecard,
    margin: float = 0.03,
    rows: tuple[GermanRow, ...] | None = None,
) -> list[int]:
    """Rows whose PD is in `band`, at least `margin` away from the cut-offs."""
    if rows is None:
        return list(_in_band_of_all_rows(band, application, card, margin))
    return list(_in_band(band, application, card, margin, rows))


@lru_cache(maxsize=256)
def _in_band_of_all_rows(
    band: Band, application: Application, card: Scorecard, margin: float
) -> tuple[int, ...]:
    # Scoring all 1,000 rows takes ~0.5 s; a stream of applicants asks few distinct
    # questions (the bench's 420 ask 20), so each is answered once.
    return _in_band(band, application, card, margin, load_german_rows())


def _in_band(
    band: Band,
    application: Application,
    card: Scorecard,
    margin: float,
    rows: tuple[GermanRow, ...],
) -> tuple[int, ...]:
    policy = DecisionPolicy.from_artefact(card.cutoffs)
    found = []
    for row in rows:
        pd = probability_of_default(row, application, card)
        if pd_band(pd, policy) != band:
            continue
        if min(abs(pd - policy.approve_pd_below), abs(pd - policy.decline_pd_above)) < margin:
            continue
        found.append(row.index)
    return tuple(found)
