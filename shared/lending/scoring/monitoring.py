"""Population stability of the champion on live applications (the weekly PSI check).

Reference = the champion's development sample, stored in its artefact at training time:
``monitoring.score`` holds PD decile edges and the share of development applications in
each bucket; every scorecard feature's bins carry their development counts (n_good + n_bad).
Live = the decisions of the last 7 days made by that same champion: their PDs and the bin
each feature landed in (``Decision.bins``).

PSI = sum over buckets of (live - ref) * ln(live / ref), shares floored at 1e-6 exactly as
the training side (lending.modelling.metrics) computes it. Usual reading: < 0.10 stable,
0.10-0.25 watch, > 0.25 the population has shifted (alarm: investigate / retrain).

Plain Python, no numpy, no boto3: runs in the scheduled Lambda.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from lending.ports import Clock
from lending.scoring.scorecard import MISSING_LABEL

EPS = 1e-6
ALARM_PSI = 0.25
WATCH_PSI = 0.10
WINDOW = timedelta(days=7)
# Below this many decisions a decile PSI is mostly sampling noise (10 per bucket on average).
MIN_SAMPLE = 100
SCORE_BUCKETS = 10


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """PSI of two histograms over the same buckets (counts or shares)."""
    e_total, a_total = sum(expected), sum(actual)
    if e_total <= 0 or a_total <= 0:
        raise ValueError("PSI needs two non-empty histograms")
    out = 0.0
    for e_n, a_n in zip(expected, actual, strict=True):
        e = max(e_n / e_total, EPS)
        a = max(a_n / a_total, EPS)
        out += (a - e) * math.log(a / e)
    return out


def decile_edges(values: Sequence[float], buckets: int = SCORE_BUCKETS) -> list[float]:
    """Inner edges at the development sample's quantiles (bucket i holds edge[i-1] <= x <
    edge[i]; duplicates dropped), as numpy.quantile(..., method='linear') places them."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("no values")
    edges: list[float] = []
    for k in range(1, buckets):
        pos = (n - 1) * k / buckets
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        q = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
        if not edges or q > edges[-1]:
            edges.append(q)
    return edges


def bucket_counts(values: Iterable[float], edges: Sequence[float]) -> list[int]:
    counts = [0] * (len(edges) + 1)
    for v in values:
        counts[bisect_right(edges, v)] += 1
    return counts


def score_reference(development_pd: Sequence[float]) -> dict[str, Any]:
    """What the trainer stores under ``artefact["monitoring"]["score"]``."""
    edges = decile_edges(development_pd)
    counts = bucket_counts(development_pd, edges)
    return {
        "variable": "probability_of_default",
        "edges": edges,
        "proportions": [c / len(development_pd) for c in counts],
        "n": len(development_pd),
    }


@dataclass(frozen=True, slots=True)
class Reference:
    version: str
    score_edges: tuple[float, ...] | None  # None: the artefact predates score references
    score_shares: tuple[float, ...]
    features: Mapping[str, Mapping[str, float]]  # feature -> bin label -> development share

    @classmethod
    def from_artefact(cls, artefact: Mapping[str, Any]) -> Reference:
        score = artefact.get("monitoring", {}).get("score")
        features: dict[str, dict[str, float]] = {}
        for f in artefact.get("features", ()):
            counts = {b["label"]: b.get("n_good", 0) + b.get("n_bad", 0) for b in f["bins"]}
            total = sum(counts.values())
            if total <= 0:
                continue  # an artefact without development counts: no feature reference
            shares = {label: n / total for label, n in counts.items()}
            shares.setdefault(MISSING_LABEL, 0.0)
            features[str(f["name"])] = shares
        return cls(
            version=str(artefact["version"]),
            score_edges=None if score is None else tuple(float(e) for e in score["edges"]),
            score_shares=() if score is None else tuple(float(p) for p in score["proportions"]),
            features=features,
        )


@dataclass(frozen=True, slots=True)
class LiveScore:
    """One live decision: the PD the champion gave and the bin of each feature."""

    model_version: str
    probability_of_default: float
    bins: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StabilityReport:
    champion_version: str
    window_start: datetime
    window_end: datetime
    n_decisions: int  # by the champion, in the window
    n_other_models: int  # decisions in the window made by another model version (ignored)
    score_psi: float | None  # None: too few decisions, or no score reference
    feature_psi: dict[str, float]
    threshold: float
    min_sample: int

    @property
    def enough_data(self) -> bool:
        return self.n_decisions >= self.min_sample

    @property
    def max_feature_psi(self) -> float | None:
        return max(self.feature_psi.values()) if self.feature_psi else None

    @property
    def drifted_features(self) -> list[str]:
        return sorted(k for k, v in self.feature_psi.items() if v > self.threshold)

    @property
    def alarm(self) -> bool:
        """Score PSI above the threshold (feature drift alone is reported, not alarmed)."""
        return self.score_psi is not None and self.score_psi > self.threshold

    def status(self) -> str:
        if not self.enough_data:
            return "insufficient-data"
        if self.alarm:
            return "alarm"
        if (self.score_psi or 0.0) > WATCH_PSI or self.drifted_features:
            return "watch"
        return "stable"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status(),
            "champion_version": self.champion_version,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "n_decisions": self.n_decisions,
            "n_other_models": self.n_other_models,
            "score_psi": None if self.score_psi is None else round(self.score_psi, 4),
            "max_feature_psi": (
                None if self.max_feature_psi is None else round(self.max_feature_psi, 4)
            ),
            "drifted_features": self.drifted_features,
            "feature_psi": {k: round(v, 4) for k, v in sorted(self.feature_psi.items())},
            "threshold": self.threshold,
        }


def stability_report(
    reference: Reference,
    live: Iterable[LiveScore],
    *,
    window_start: datetime,
    window_end: datetime,
    threshold: float = ALARM_PSI,
    min_sample: int = MIN_SAMPLE,
) -> StabilityReport:
    mine: list[LiveScore] = []
    others = 0
    for s in live:
        if s.model_version == reference.version:
            mine.append(s)
        else:
            others += 1
    score_psi: float | None = None
    feature_psi: dict[str, float] = {}
    if len(mine) >= min_sample:
        if reference.score_edges is not None:
            counts = bucket_counts((s.probability_of_default for s in mine), reference.score_edges)
            score_psi = psi(reference.score_shares, counts)
        for name, shares in reference.features.items():
            seen = Counter(s.bins.get(name, MISSING_LABEL) for s in mine)
            if not any(label in shares for label in seen):
                continue  # decisions recorded without bins (older records): nothing to compare
            labels = sorted(set(shares) | set(seen))
            feature_psi[name] = psi(
                [shares.get(label, 0.0) for label in labels], [seen[label] for label in labels]
            )
    return StabilityReport(
        champion_version=reference.version,
        window_start=window_start,
        window_end=window_end,
        n_decisions=len(mine),
        n_other_models=others,
        score_psi=score_psi,
        feature_psi=feature_psi,
        threshold=threshold,
        min_sample=min_sample,
    )


# ---------------------------------------------------------------- the weekly check
class DecidedScores(Protocol):
    def decided_scores(self, start: datetime, end: datetime) -> list[LiveScore]: ...


class PopulationMonitor:
    """The scheduled weekly check: the last 7 days' decisions against the champion's
    development distribution."""

    def __init__(
        self,
        decisions: DecidedScores,
        clock: Clock,
        champion_artefact: Mapping[str, Any],
        *,
        threshold: float = ALARM_PSI,
        min_sample: int = MIN_SAMPLE,
        window: timedelta = WINDOW,
    ) -> None:
        self.decisions = decisions
        self.clock = clock
        self.reference = Reference.from_artefact(champion_artefact)
        self.threshold = threshold
        self.min_sample = min_sample
        self.window = window

    def check(self) -> StabilityReport:
        end = self.clock.now()
        start = end - self.window
        return stability_report(
            self.reference,
            self.decisions.decided_scores(start, end),
            window_start=start,
            window_end=end,
            threshold=self.threshold,
            min_sample=self.min_sample,
        )
