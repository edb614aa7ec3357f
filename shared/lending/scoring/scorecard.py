"""Serve a WOE/logistic-regression scorecard from its JSON artefact in plain Python.

No numpy/pandas/scikit-learn here: the scoring Lambda stays small and cold-starts fast.
Probabilities are computed from the exact WOE values and coefficients, so they match the
training pipeline to floating-point noise. Points are the business-facing score, and they
add up as a printed scorecard does: score = base points + the integer points of each
feature's bin, exactly (the artefact's ``scaling.base_points_intercept`` and
``bins[].points`` are that table).

Input is checked at this boundary: a value the training pipeline would read differently
(an infinity, a boolean, text for a number, an integer beyond 2**53, a list...) is refused
with ``InvalidFeatureValue`` naming each field, never silently scored as "missing".
"""

from __future__ import annotations

import itertools
import json
import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ARTEFACT_DIR = Path(__file__).parent / "artefacts"
DEFAULT_ARTEFACT = ARTEFACT_DIR / "admission-german-lr-v1.json"
MISSING_LABEL = "missing/unknown"
# Integers up to this magnitude convert to float exactly (as pandas / numpy read them).
MAX_EXACT_INT = 2**53
FeatureValue = str | int | float | None


class InvalidFeatureValue(ValueError):
    """Feature values the model refuses to score: ``problems`` maps each field to why."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(self.problems.items()))
        super().__init__(f"refused feature values: {detail}")


def refusal(kind: Literal["numeric", "categorical"], value: object) -> str | None:
    """Why ``value`` cannot be scored as a ``kind`` feature, or None when it can.

    Accepted: None and NaN (missing, as scikit-learn's pipeline reads them); integers within
    +-2**53; finite floats; text for a categorical feature. Everything else is refused,
    because the training pipeline would read it some other way (pandas takes True as 1, the
    text "infinity" and inf as a number above every split, a list as junk) or not at all.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "a boolean is not a feature value"
    if isinstance(value, int):
        if -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
            return None
        return f"integer beyond +-2**53 ({'negative' if value < 0 else 'positive'})"
    if isinstance(value, float):
        return "infinite" if math.isinf(value) else None
    if isinstance(value, str):
        return None if kind == "categorical" else "text for a numeric feature"
    return f"unsupported type {type(value).__name__}"


@dataclass(frozen=True, slots=True)
class ReasonCode:
    code: str
    feature: str | None
    message: str


@dataclass(frozen=True, slots=True)
class Bin:
    label: str
    woe: float
    points: int
    lower: float | None = None  # numeric bins are half-open: lower <= x < upper
    upper: float | None = None
    categories: frozenset[str] = frozenset()

    def holds(self, value: float) -> bool:
        return (self.lower is None or value >= self.lower) and (
            self.upper is None or value < self.upper
        )


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    kind: Literal["numeric", "categorical"]
    code: str
    description: str
    coefficient: float
    bins: tuple[Bin, ...]
    missing: Bin

    @property
    def best_points(self) -> int:
        return max(b.points for b in self.bins)

    def bin_for(self, value: object) -> Bin:
        """None, NaN and unseen categories land in the missing bin; values the training
        pipeline would read otherwise raise InvalidFeatureValue (see `refusal`)."""
        why = refusal(self.kind, value)
        if why is not None:
            raise InvalidFeatureValue({self.name: why})
        if value is None:
            return self.missing
        if self.kind == "categorical":
            text = str(value)
            return next((b for b in self.bins if text in b.categories), self.missing)
        assert isinstance(value, int | float)
        number = float(value)
        if math.isnan(number):
            return self.missing
        return next((b for b in self.bins if b.holds(number)), self.missing)


@dataclass(frozen=True, slots=True)
class Scaling:
    """Points = offset + factor * ln(good:bad odds); factor = PDO / ln 2."""

    base_points: int
    base_odds: float
    pdo: float

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_points - self.factor * math.log(self.base_odds)


@dataclass(frozen=True, slots=True)
class ScoreResult:
    probability_of_default: float
    points: int
    reasons: list[ReasonCode]
    bins: dict[str, str]  # feature -> bin label, kept for the audit trail


def _sigmoid(x: float) -> float:
    # Split by sign so exp never overflows for extreme log-odds.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _bin_from_json(raw: Mapping[str, Any]) -> Bin:
    return Bin(
        label=str(raw["label"]),
        woe=float(raw["woe"]),
        points=int(raw["points"]),
        lower=None if raw.get("lower") is None else float(raw["lower"]),
        upper=None if raw.get("upper") is None else float(raw["upper"]),
        categories=frozenset(str(c) for c in raw.get("categories", ())),
    )


class Scorecard:
    def __init__(
        self,
        *,
        version: str,
        intercept: float,
        features: tuple[Feature, ...],
        scaling: Scaling,
        cutoffs: Mapping[str, float],
        base_points: int | None = None,
    ) -> None:
        self.version = version
        self.intercept = intercept
        self.features = features
        self.scaling = scaling
        self.cutoffs = dict(cutoffs)
        # The points table's constant: score = base_points + sum of the bins' points.
        self.base_points = (
            round(scaling.offset - scaling.factor * intercept)
            if base_points is None
            else base_points
        )
        # Serving hot path: category -> bin dicts instead of scanning every bin's set, and
        # for numeric features with contiguous bins the split points for a bisect.
        self._lookup: tuple[dict[str, Bin], ...] = tuple(
            {c: b for b in f.bins for c in b.categories} for f in features
        )
        self._splits: tuple[list[float] | None, ...] = tuple(_splits(f) for f in features)
        # Each bin's adverse-action reason, built once (no string formatting per application).
        self._reason: dict[tuple[str, str], tuple[int, ReasonCode]] = {}
        for f in features:
            for b in (*f.bins, f.missing):
                loss = f.best_points - b.points
                message = f"{f.description}: {b.label} (-{loss} points vs best)"
                self._reason[(f.name, b.label)] = (loss, ReasonCode(f.code, f.name, message))

    def _bin(self, i: int, feature: Feature, value: object) -> Bin:
        if value is None:
            return feature.missing
        if feature.kind == "categorical":
            if isinstance(value, str):
                return self._lookup[i].get(value, feature.missing)
            why = refusal("categorical", value)
            if why is not None:
                raise InvalidFeatureValue({feature.name: why})
            return self._lookup[i].get(str(value), feature.missing)
        number: float
        if isinstance(value, float):
            if math.isnan(value):
                return feature.missing  # as the training pipeline reads NaN
            if math.isinf(value):
                raise InvalidFeatureValue({feature.name: "infinite"})
            number = value
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
                raise InvalidFeatureValue({feature.name: str(refusal("numeric", value))})
            number = float(value)
        else:
            raise InvalidFeatureValue({feature.name: str(refusal("numeric", value))})
        splits = self._splits[i]
        if splits is None:
            return feature.bin_for(number)
        return feature.bins[bisect_right(splits, number)]

    def check(self, features: Mapping[str, object]) -> None:
        """Raise InvalidFeatureValue naming every field this card would refuse to score."""
        problems = {
            f.name: why
            for f in self.features
            if (why := refusal(f.kind, features.get(f.name))) is not None
        }
        if problems:
            raise InvalidFeatureValue(problems)

    def probability_of_default(self, features: Mapping[str, object]) -> float:
        """The PD alone (shadow scoring): no points, bins or reasons."""
        log_odds_bad = self.intercept
        try:
            for i, feature in enumerate(self.features):
                log_odds_bad += (
                    feature.coefficient * self._bin(i, feature, features.get(feature.name)).woe
                )
        except InvalidFeatureValue:
            self.check(features)  # name every refused field, not only the first
            raise
        return _sigmoid(log_odds_bad)

    @classmethod
    def load(cls, source: str | Path | Mapping[str, Any] = DEFAULT_ARTEFACT) -> Scorecard:
        data: Mapping[str, Any]
        if isinstance(source, Mapping):
            data = source
        else:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        coefficients: Mapping[str, float] = data["coefficients"]
        features = tuple(
            Feature(
                name=f["name"],
                kind=f["kind"],
                code=f["code"],
                description=f["description"],
                coefficient=float(coefficients[f["name"]]),
                bins=tuple(_bin_from_json(b) for b in f["bins"]),
                missing=_bin_from_json(f["missing"]),
            )
            for f in data["features"]
        )
        s = data["scaling"]
        base = s.get("base_points_intercept")
        return cls(
            version=str(data["version"]),
            intercept=float(data["intercept"]),
            features=features,
            scaling=Scaling(int(s["base_points"]), float(s["base_odds"]), float(s["pdo"])),
            cutoffs={k: float(v) for k, v in data.get("cutoffs", {}).items() if _is_num(v)},
            base_points=None if base is None else int(base),
        )

    def score(self, features: Mapping[str, object], *, max_reasons: int = 4) -> ScoreResult:
        """PD, points (base + the bins' integer points, exactly), bins and reason codes.

        Raises InvalidFeatureValue (every refused field named) on input the training
        pipeline would read otherwise; see `refusal`.
        """
        log_odds_bad = self.intercept
        points = self.base_points
        bins: dict[str, str] = {}
        losses: list[tuple[int, str, ReasonCode]] = []
        reason = self._reason
        try:
            for i, feature in enumerate(self.features):
                b = self._bin(i, feature, features.get(feature.name))
                log_odds_bad += feature.coefficient * b.woe
                points += b.points
                bins[feature.name] = b.label
                loss, code = reason[(feature.name, b.label)]
                if loss > 0:
                    losses.append((-loss, feature.name, code))
        except InvalidFeatureValue:
            self.check(features)
            raise
        losses.sort(key=_rank)
        return ScoreResult(
            probability_of_default=_sigmoid(log_odds_bad),
            points=points,
            reasons=[code for _, _, code in losses[:max_reasons]],
            bins=bins,
        )

    def exact_points(self, probability_of_default: float) -> float:
        """The unrounded scaled score offset - factor * ln(bad odds) of a PD (the table's
        integer points approximate it to within half a point per feature)."""
        return self.scaling.offset - self.scaling.factor * math.log(
            probability_of_default / (1 - probability_of_default)
        )


def _rank(item: tuple[int, str, ReasonCode]) -> tuple[int, str]:
    return item[0], item[1]  # most points lost first, then by feature name


def _splits(feature: Feature) -> list[float] | None:
    """Split points when the numeric bins tile the line in order (as training exports them):
    bin i holds splits[i-1] <= x < splits[i]. None: use the general bin search."""
    bins = feature.bins
    if feature.kind != "numeric" or not bins or bins[0].lower is not None:
        return None
    if bins[-1].upper is not None:
        return None
    for a, b in itertools.pairwise(bins):
        if a.upper is None or a.upper != b.lower:
            return None
    return [b.upper for b in bins[:-1] if b.upper is not None]


def _is_num(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)
