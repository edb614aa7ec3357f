"""Population stability of the champion on live applications (the weekly PSI check).

Reference = the champion's development sample, stored in its artefact at training time:
``monitoring.score`` holds PD decile edges and the share of development applications in
each bucket; every scorecard feature's bins carry their development counts (n_good + n_bad).
Live = the decisions of the last 7 days made by that same champion: their PDs and the bin
each feature landed in (``Decision.bins``).

PSI = sum over buckets of (live - ref) * ln(live / ref), shares floored at 1e-6 exactly as
the training side (lending.modelling.metrics) computes it. Missing is a bucket of its own
in both: the development rows without a value are counted in the artefact's missing bin.

Usual reading: < 0.10 stable, 0.10-0.25 watch, > 0.25 the population has shifted. Those
fixed levels ignore sampling noise: a window of n applications drawn from the development
population itself has PSI of about (buckets - 1) / n, so at the 100-decision minimum the
score's decile PSI alone exceeds 0.10 in about a third of no-drift weeks. Each variable's
levels here are therefore max(the usual level, the PSI that no-drift windows of this very
n exceed with a small, stated probability): that quantile comes from a seeded bootstrap of
the reference at the window's n (multinomial draws from the reference shares, the same PSI
with the same floor), or, when every bucket expects >= 20 applications, from the
chi-square approximation n * PSI ~ chi2(buckets - 1). "watch" spends a 5% false-report
budget over all variables of a window (Bonferroni); the score's "alarm", 0.5%. At large n
the usual levels apply unchanged.

Plain Python, no numpy, no boto3: runs in the scheduled Lambda.
"""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from statistics import NormalDist
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
# Chance that a window drawn from the development population itself reports "watch" (any
# variable, Bonferroni-split) or, for the score, "alarm".
WATCH_FALSE_REPORT = 0.05
ALARM_FALSE_REPORT = 0.005
BOOTSTRAP_DRAWS = 4000
BOOTSTRAP_SEED = 20240601
# With at least this many expected per bucket, n * PSI ~ chi2(k - 1) is accurate; below it,
# empty buckets (floored at EPS) dominate the tail and the bootstrap is used.
MIN_EXPECTED_PER_BUCKET = 20


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


def chi2_quantile(q: float, df: int) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile (stdlib only)."""
    if df <= 0:
        return 0.0
    z = NormalDist().inv_cdf(q)
    h = 2.0 / (9.0 * df)
    return float(df * max(0.0, 1.0 - h + z * math.sqrt(h)) ** 3)


@lru_cache(maxsize=256)
def _null_psi_draws(shares: tuple[float, ...], n: int) -> tuple[float, ...] | None:
    """Sorted PSIs of BOOTSTRAP_DRAWS seeded no-drift windows of n, or None where the
    chi-square approximation holds (every bucket expects >= MIN_EXPECTED_PER_BUCKET)."""
    positive = [p for p in shares if p > 0]
    if n * min(positive) >= MIN_EXPECTED_PER_BUCKET:
        return None
    rng = random.Random(BOOTSTRAP_SEED)
    k = len(shares)
    cum = list(itertools.accumulate(shares))
    buckets = range(k)
    draws = []
    for _ in range(BOOTSTRAP_DRAWS):
        counts = [0] * k
        for i in rng.choices(buckets, cum_weights=cum, k=n):
            counts[i] += 1
        draws.append(psi(shares, counts))
    return tuple(sorted(draws))


def null_psi_quantile(shares: Sequence[float], n: int, q: float) -> float:
    """The PSI that a window of ``n`` drawn from the reference ``shares`` (no drift) stays
    at or below with probability ``q``: seeded bootstrap, or chi-square when every bucket
    expects >= 20. The draws are cached per (shares, n): a check bootstraps each once."""
    total = sum(shares)
    if n <= 0 or total <= 0:
        raise ValueError("need n > 0 and a non-empty reference")
    normalised = tuple(float(p) / total for p in shares)
    positive = sum(1 for p in normalised if p > 0)
    if positive <= 1:
        return 0.0
    draws = _null_psi_draws(normalised, int(n))
    if draws is None:
        return chi2_quantile(q, positive - 1) / n
    return draws[min(len(draws) - 1, max(0, math.ceil(q * len(draws)) - 1))]


@dataclass(frozen=True, slots=True)
class Levels:
    """One variable's reporting levels for one window size."""

    watch: float
    alarm: float

    def to_json(self) -> dict[str, float]:
        return {"watch": round(self.watch, 4), "alarm": round(self.alarm, 4)}


def levels_for(
    shares: Sequence[float], n: int, n_variables: int, *, watch: float, alarm: float
) -> Levels:
    """max(business level, no-drift quantile at this n); watch Bonferroni-split over the
    window's variables; alarm never below watch."""
    q_watch = 1.0 - WATCH_FALSE_REPORT / max(1, n_variables)
    watch_level = max(watch, null_psi_quantile(shares, n, q_watch))
    alarm_level = max(alarm, null_psi_quantile(shares, n, 1.0 - ALARM_FALSE_REPORT))
    # The watch's per-variable quantile can lie beyond the alarm's (many variables):
    # never alarm below the watch level.
    return Levels(watch=watch_level, alarm=max(alarm_level, watch_level))


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
            if sum(counts.values()) <= 0:
                continue  # an artefact without development counts: no feature reference
            # Development rows without a value (older artefacts do not count them: 0).
            missing = f.get("missing", {})
            counts[MISSING_LABEL] = missing.get("n_good", 0) + missing.get("n_bad", 0)
            total = sum(counts.values())
            shares = {label: n / total for label, n in counts.items()}
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
    threshold: float  # the business alarm level (the size-dependent levels never go below)
    min_sample: int
    score_levels: Levels | None = None  # for this window's n; None when not computed
    feature_levels: dict[str, float] = field(default_factory=dict)  # drift level per feature

    @property
    def enough_data(self) -> bool:
        return self.n_decisions >= self.min_sample

    @property
    def max_feature_psi(self) -> float | None:
        return max(self.feature_psi.values()) if self.feature_psi else None

    @property
    def drifted_features(self) -> list[str]:
        """Features above their drift level (reported as "watch", never alarmed)."""
        return sorted(
            k for k, v in self.feature_psi.items() if v > self.feature_levels.get(k, self.threshold)
        )

    @property
    def alarm(self) -> bool:
        """Score PSI above its alarm level (feature drift alone is reported, not alarmed)."""
        if self.score_psi is None:
            return False
        level = self.threshold if self.score_levels is None else self.score_levels.alarm
        return self.score_psi > level

    def status(self) -> str:
        if not self.enough_data:
            return "insufficient-data"
        if self.alarm:
            return "alarm"
        watch = WATCH_PSI if self.score_levels is None else self.score_levels.watch
        if (self.score_psi or 0.0) > watch or self.drifted_features:
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
            "levels": {
                "score": None if self.score_levels is None else self.score_levels.to_json(),
                "features": {k: round(v, 4) for k, v in sorted(self.feature_levels.items())},
                "basis": (
                    f"max(usual level: score {WATCH_PSI} watch / {self.threshold} alarm, "
                    f"features {self.threshold}; the PSI that windows of this n without drift "
                    f"exceed with probability {WATCH_FALSE_REPORT} over all variables "
                    f"(watch, features) or {ALARM_FALSE_REPORT} (score alarm))"
                ),
            },
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
    feature_shares: dict[str, list[float]] = {}
    n = len(mine)
    if n >= min_sample:
        if reference.score_edges is not None:
            counts = bucket_counts((s.probability_of_default for s in mine), reference.score_edges)
            score_psi = psi(reference.score_shares, counts)
        for name, shares in reference.features.items():
            seen = Counter(s.bins.get(name, MISSING_LABEL) for s in mine)
            if not any(label in shares for label in seen):
                continue  # decisions recorded without bins (older records): nothing to compare
            labels = sorted(set(shares) | set(seen))
            feature_shares[name] = [shares.get(label, 0.0) for label in labels]
            feature_psi[name] = psi(feature_shares[name], [seen[label] for label in labels])
    n_variables = len(feature_psi) + (score_psi is not None)
    score_levels = None
    if score_psi is not None:
        score_levels = levels_for(
            reference.score_shares, n, n_variables, watch=WATCH_PSI, alarm=threshold
        )
    # A feature's drift is reported (watch), never alarmed: its level is the usual 0.25, or
    # more where no-drift windows of this n exceed that more often than the watch budget.
    q_watch = 1.0 - WATCH_FALSE_REPORT / max(1, n_variables)
    feature_levels = {
        name: max(threshold, null_psi_quantile(shares, n, q_watch))
        for name, shares in feature_shares.items()
    }
    return StabilityReport(
        champion_version=reference.version,
        window_start=window_start,
        window_end=window_end,
        n_decisions=n,
        n_other_models=others,
        score_psi=score_psi,
        feature_psi=feature_psi,
        threshold=threshold,
        min_sample=min_sample,
        score_levels=score_levels,
        feature_levels=feature_levels,
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
