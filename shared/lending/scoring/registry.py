"""Model registry port, promotion gate, champion loading and challenger shadow scoring.

A *family* (e.g. ``admission-german``) has one champion, whose PD drives decisions, and any
number of challengers that score every application in shadow; their PDs are recorded on
the decision so they can be compared on real outcomes before a promotion.

Adapters: ``LocalModelRegistry`` (a directory, for training and tests) here, and the
S3 + DynamoDB one in lending.aws.models. No numpy/scikit-learn: this runs in the Lambda.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from lending.scoring.scorecard import Scorecard
from lending.scoring.trees import TreeEnsemble

Algorithm = Literal["scorecard", "random-forest", "gradient-boosting"]
Role = Literal["champion", "challenger", "retired"]
FeatureValue = str | int | float | None

# Promotion gate (see promotion_gate). Absolute holdout-AUC floors per family, set by the
# risk policy from each product's development figures, so a chain of "slightly worse"
# promotions can never take a family below its floor.
AUC_FLOORS: Final[Mapping[str, float]] = {
    "admission-german": 0.70,
    "admission-bloan": 0.80,
    "admission-credit_data": 0.78,
    "admission-lending_club": 0.63,
    "admission-sba": 0.65,
}
DEFAULT_AUC_FLOOR = 0.70
# An ECE below this is always accepted (it is below any pricing or cut-off concern).
ECE_TOLERANCE = 0.02
# The calibration slope's 99% interval on the holdout must reach into these bounds.
SLOPE_BOUNDS = (0.8, 1.25)
# Registration floor: below this holdout AUC a new version is registered retired, never
# scoring in shadow (an out-of-time AUC of 0.57 is barely better than a coin).
SHADOW_AUC_FLOOR = 0.60
GATE_EVIDENCE = (
    "holdout_auc",
    "holdout_auc_lo",
    "holdout_auc_hi",
    "holdout_ece",
    "holdout_ece_limit",
    "calibration_slope",
    "calibration_slope_lo",
    "calibration_slope_hi",
)


def auc_floor(family: str) -> float:
    return AUC_FLOORS.get(family, DEFAULT_AUC_FLOOR)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    family: str
    version: str
    algorithm: Algorithm
    role: Role
    sha256: str
    created_at: str
    metrics: Mapping[str, float] = field(default_factory=dict)  # holdout_auc, score_psi, ...
    # Text evidence: compared_with (the champion the paired AUC difference is against).
    notes: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = dict(self.metrics)
        out["notes"] = dict(self.notes)
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ModelRecord:
        return cls(
            family=str(raw["family"]),
            version=str(raw["version"]),
            algorithm=raw["algorithm"],
            role=raw["role"],
            sha256=str(raw["sha256"]),
            created_at=str(raw["created_at"]),
            metrics={str(k): float(v) for k, v in raw.get("metrics", {}).items()},
            notes={str(k): str(v) for k, v in raw.get("notes", {}).items()},
        )


@dataclass(frozen=True, slots=True)
class Promotion:
    """One change of champion, as the registry records it (who, why, and what the gate said)."""

    family: str
    version: str  # the new champion
    previous: str | None  # the champion it replaced (now a challenger)
    at: str  # ISO timestamp
    actor: str  # who: a person's id, or the scheduled job
    reason: str  # why
    forced: bool  # promoted although the gate failed
    gate_passed: bool
    gate_reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["gate_reasons"] = list(self.gate_reasons)
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Promotion:
        return cls(
            family=str(raw["family"]),
            version=str(raw["version"]),
            previous=None if raw.get("previous") is None else str(raw["previous"]),
            at=str(raw["at"]),
            actor=str(raw["actor"]),
            reason=str(raw["reason"]),
            forced=bool(raw["forced"]),
            gate_passed=bool(raw["gate_passed"]),
            gate_reasons=tuple(str(r) for r in raw.get("gate_reasons", ())),
        )


class ChampionChanged(RuntimeError):
    """The champion changed between reading it and swapping it (nothing was written)."""


class ModelRegistry(Protocol):
    def register(self, record: ModelRecord, artefact: bytes) -> None: ...

    def records(self, family: str) -> list[ModelRecord]: ...

    def artefact(self, family: str, version: str) -> bytes: ...

    def set_role(self, family: str, version: str, role: Role) -> None: ...

    def swap_champion(self, promotion: Promotion) -> None:
        """All or nothing: ``promotion.previous`` (if any, and still champion) becomes a
        challenger, ``promotion.version`` the champion, and the promotion is recorded.
        Raises ChampionChanged when ``previous`` is no longer the champion."""
        ...

    def promotions(self, family: str) -> list[Promotion]: ...


def sha256_hex(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def champion(registry: ModelRegistry, family: str) -> ModelRecord | None:
    return next((r for r in registry.records(family) if r.role == "champion"), None)


def challengers(registry: ModelRegistry, family: str) -> list[ModelRecord]:
    return [r for r in registry.records(family) if r.role == "challenger"]


# ---------------------------------------------------------------- promotion gate
@dataclass(frozen=True, slots=True)
class GateResult:
    passed: bool
    reasons: list[str]


def _metrics(record: ModelRecord | Mapping[str, float] | None) -> Mapping[str, float]:
    if record is None:
        return {}
    return record.metrics if isinstance(record, ModelRecord) else record


def promotion_gate(
    candidate: ModelRecord | Mapping[str, float],
    incumbent: ModelRecord | Mapping[str, float] | None,
    *,
    floor: float = DEFAULT_AUC_FLOOR,
) -> GateResult:
    """Promote only on evidence from the candidate's holdout (lending.modelling.validation):

    1. its holdout AUC is at or above the family's absolute floor (no ratchet down);
    2. against the champion: where the champion was scored on the same holdout (the record
       notes ``compared_with``), the 95% paired-bootstrap interval of the AUC difference
       must reach 0 (the candidate is not shown worse); otherwise, where the champion's
       own holdout AUC is recorded, the candidate's 95% interval must reach it; a champion
       with no recorded evidence leaves the floor and calibration to decide;
    3. calibration: ECE within what a perfectly calibrated model shows on this many rows
       (``holdout_ece_limit``), and the calibration slope's 99% interval reaching into
       SLOPE_BOUNDS.
    """
    m = _metrics(candidate)
    missing = [k for k in GATE_EVIDENCE if k not in m]
    if missing:
        return GateResult(False, [f"candidate lacks gate evidence: {', '.join(missing)}"])
    reasons: list[str] = []
    checks: list[bool] = []
    auc, lo, hi = m["holdout_auc"], m["holdout_auc_lo"], m["holdout_auc_hi"]
    ok = auc >= floor
    checks.append(ok)
    reasons.append(
        f"holdout AUC {auc:.4f} [{lo:.4f}, {hi:.4f}] {'>=' if ok else '<'} floor {floor:.2f}"
    )
    inc = _metrics(incumbent)
    inc_version = incumbent.version if isinstance(incumbent, ModelRecord) else "champion"
    notes = candidate.notes if isinstance(candidate, ModelRecord) else {}
    if incumbent is None:
        reasons.append("no champion to compare against")
    elif notes.get("compared_with") == inc_version and "auc_diff_hi" in m:
        ok = m["auc_diff_hi"] >= 0.0
        checks.append(ok)
        reasons.append(
            f"AUC vs champion {inc_version} on the same holdout: {m['auc_diff']:+.4f} "
            f"[{m['auc_diff_lo']:+.4f}, {m['auc_diff_hi']:+.4f}] (paired bootstrap, 95%): "
            + ("not shown worse" if ok else "worse")
        )
    elif "holdout_auc" in inc:
        ok = hi >= inc["holdout_auc"]
        checks.append(ok)
        reasons.append(
            f"no paired comparison with {inc_version} (not scored on this holdout): "
            f"candidate AUC interval upper {hi:.4f} {'>=' if ok else '<'} its recorded "
            f"holdout AUC {inc['holdout_auc']:.4f}"
        )
    else:
        reasons.append(f"champion {inc_version} has no recorded evidence: floor and calibration")
    ece, limit = m["holdout_ece"], m["holdout_ece_limit"]
    ok = ece <= limit
    checks.append(ok)
    reasons.append(
        f"ECE {ece:.4f} {'<=' if ok else '>'} {limit:.4f} (perfect calibration's 99th "
        "percentile on this many rows, or the tolerance)"
    )
    s_lo, s_hi = m["calibration_slope_lo"], m["calibration_slope_hi"]
    ok = s_lo <= SLOPE_BOUNDS[1] and s_hi >= SLOPE_BOUNDS[0]
    checks.append(ok)
    reasons.append(
        f"calibration slope {m['calibration_slope']:.3f} [{s_lo:.3f}, {s_hi:.3f}] "
        f"{'reaches' if ok else 'outside'} [{SLOPE_BOUNDS[0]}, {SLOPE_BOUNDS[1]}]"
    )
    return GateResult(all(checks), reasons)


def promote(
    registry: ModelRegistry,
    family: str,
    version: str,
    *,
    force: bool = False,
    actor: str = "unattributed",
    reason: str = "",
    at: datetime | None = None,
) -> GateResult:
    """Gate, then make `version` the champion in one atomic swap that also records who
    promoted it and why (forced promotions too); the old champion keeps scoring in shadow."""
    records = {r.version: r for r in registry.records(family)}
    if version not in records:
        raise KeyError(f"{family}/{version} is not registered")
    if records[version].algorithm != "scorecard":
        # Decisions need points and reason codes; trees stay challengers in shadow.
        return GateResult(False, ["only a scorecard can be champion"])
    current = champion(registry, family)
    if current is not None and current.version == version:
        return GateResult(True, ["already champion"])
    gate = promotion_gate(records[version], current, floor=auc_floor(family))
    if not gate.passed and not force:
        return gate
    forced = not gate.passed
    why = reason or ("forced past the gate, no reason given" if forced else "gate passed")
    registry.swap_champion(
        Promotion(
            family=family,
            version=version,
            previous=None if current is None else current.version,
            at=(at or datetime.now(UTC)).isoformat(timespec="seconds"),
            actor=actor,
            reason=why,
            forced=forced,
            gate_passed=gate.passed,
            gate_reasons=tuple(gate.reasons),
        )
    )
    return GateResult(True, [*gate.reasons, *(["forced past the gate"] if forced else [])])


# ---------------------------------------------------------------- serving side
class ShadowModel(Protocol):
    version: str

    def probability_of_default(self, features: Mapping[str, FeatureValue]) -> float: ...


class ScorecardShadow:
    def __init__(self, card: Scorecard) -> None:
        self.card = card
        self.version = card.version

    def probability_of_default(self, features: Mapping[str, FeatureValue]) -> float:
        return self.card.probability_of_default(features)


@dataclass(frozen=True, slots=True)
class ShadowScore:
    model_version: str
    probability_of_default: float | None  # None: the challenger failed (never blocks a decision)


def shadow_scores(
    models: Sequence[ShadowModel], features: Mapping[str, FeatureValue]
) -> list[ShadowScore]:
    out = []
    for m in models:
        try:
            pd = round(m.probability_of_default(features), 6)
        except Exception:
            pd = None
        out.append(ShadowScore(m.version, pd))
    return out


def load_model(record: ModelRecord, blob: bytes) -> Scorecard | TreeEnsemble:
    if sha256_hex(blob) != record.sha256:
        raise ValueError(f"artefact {record.family}/{record.version} fails its sha256 check")
    data = json.loads(blob)
    if record.algorithm == "scorecard":
        return Scorecard.load(data)
    return TreeEnsemble.load(data)


def as_shadow(model: Scorecard | TreeEnsemble) -> ShadowModel:
    return ScorecardShadow(model) if isinstance(model, Scorecard) else model


def load_champion(registry: ModelRegistry, family: str, fallback: Scorecard) -> Scorecard:
    """The family's champion scorecard, or the packaged fallback when none is registered.

    Only scorecards can be champions in the decision path: their points and reason codes
    are what adverse-action notices and pricing reasons are built from.
    """
    record = champion(registry, family)
    if record is None or record.algorithm != "scorecard":
        return fallback
    model = load_model(record, registry.artefact(family, record.version))
    assert isinstance(model, Scorecard)
    return model


def champion_artefact(
    registry: ModelRegistry | None, family: str, fallback: Path
) -> dict[str, Any]:
    """The champion scorecard's artefact as JSON (sha256-checked), or the packaged one; the
    weekly stability check reads its development reference from here."""
    record = None if registry is None else champion(registry, family)
    if registry is None or record is None or record.algorithm != "scorecard":
        data: dict[str, Any] = json.loads(fallback.read_text("utf-8"))
        return data
    blob = registry.artefact(family, record.version)
    if sha256_hex(blob) != record.sha256:
        raise ValueError(f"artefact {family}/{record.version} fails its sha256 check")
    data = json.loads(blob)
    return data


def load_challengers(registry: ModelRegistry, family: str) -> list[ShadowModel]:
    return [
        as_shadow(load_model(r, registry.artefact(family, r.version)))
        for r in challengers(registry, family)
    ]


# ---------------------------------------------------------------- local adapter
class LocalModelRegistry:
    """A directory: <root>/<family>/<version>.json artefacts plus <family>/index.json."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _index_path(self, family: str) -> Path:
        return self.root / family / "index.json"

    def records(self, family: str) -> list[ModelRecord]:
        path = self._index_path(family)
        if not path.is_file():
            return []
        return [ModelRecord.from_json(r) for r in json.loads(path.read_text("utf-8"))]

    def _write(self, family: str, records: list[ModelRecord]) -> None:
        path = self._index_path(family)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([r.to_json() for r in records], indent=1) + "\n", "utf-8")

    def register(self, record: ModelRecord, artefact: bytes) -> None:
        if sha256_hex(artefact) != record.sha256:
            raise ValueError("sha256 does not match the artefact")
        path = self.root / record.family / f"{record.version}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(artefact)
        rest = [r for r in self.records(record.family) if r.version != record.version]
        self._write(record.family, [*rest, record])

    def artefact(self, family: str, version: str) -> bytes:
        return (self.root / family / f"{version}.json").read_bytes()

    def set_role(self, family: str, version: str, role: Role) -> None:
        records = self.records(family)
        if version not in {r.version for r in records}:
            raise KeyError(f"{family}/{version} is not registered")
        self._write(family, [replace(r, role=role) if r.version == version else r for r in records])

    def _promotions_path(self, family: str) -> Path:
        return self.root / family / "promotions.json"

    def promotions(self, family: str) -> list[Promotion]:
        path = self._promotions_path(family)
        if not path.is_file():
            return []
        return [Promotion.from_json(p) for p in json.loads(path.read_text("utf-8"))]

    def swap_champion(self, promotion: Promotion) -> None:
        family = promotion.family
        records = self.records(family)
        if promotion.version not in {r.version for r in records}:
            raise KeyError(f"{family}/{promotion.version} is not registered")
        current = next((r.version for r in records if r.role == "champion"), None)
        if current != promotion.previous:
            raise ChampionChanged(f"{family}: champion is {current}, not {promotion.previous}")
        history = [p.to_json() for p in self.promotions(family)]
        path = self._promotions_path(family)
        path.write_text(json.dumps([*history, promotion.to_json()], indent=1) + "\n", "utf-8")

        def role(r: ModelRecord) -> ModelRecord:
            if r.version == promotion.version:
                return replace(r, role="champion")
            if r.version == promotion.previous:
                return replace(r, role="challenger")
            return r

        self._write(family, [role(r) for r in records])  # one write: both roles at once
