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
from pathlib import Path
from typing import Any, Literal, Protocol

from lending.scoring.scorecard import Scorecard
from lending.scoring.trees import TreeEnsemble

Algorithm = Literal["scorecard", "random-forest", "gradient-boosting"]
Role = Literal["champion", "challenger", "retired"]
FeatureValue = str | int | float | None

MAX_AUC_DROP = 0.01
MAX_PROMOTION_PSI = 0.10


@dataclass(frozen=True, slots=True)
class ModelRecord:
    family: str
    version: str
    algorithm: Algorithm
    role: Role
    sha256: str
    created_at: str
    metrics: Mapping[str, float] = field(default_factory=dict)  # holdout_auc, score_psi, ...

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = dict(self.metrics)
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
        )


class ModelRegistry(Protocol):
    def register(self, record: ModelRecord, artefact: bytes) -> None: ...

    def records(self, family: str) -> list[ModelRecord]: ...

    def artefact(self, family: str, version: str) -> bytes: ...

    def set_role(self, family: str, version: str, role: Role) -> None: ...


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


def promotion_gate(
    candidate: Mapping[str, float], incumbent: Mapping[str, float] | None
) -> GateResult:
    """Promote only if holdout AUC is not worse than the champion's by more than 0.01 and the
    candidate's score is stable between development and holdout (PSI < 0.1)."""
    reasons: list[str] = []
    auc = candidate.get("holdout_auc")
    psi = candidate.get("score_psi")
    if auc is None or psi is None:
        return GateResult(False, ["candidate lacks holdout_auc / score_psi"])
    if incumbent is not None and "holdout_auc" in incumbent:
        floor = incumbent["holdout_auc"] - MAX_AUC_DROP
        ok = auc >= floor
        reasons.append(
            f"holdout AUC {auc:.4f} {'>=' if ok else '<'} champion "
            f"{incumbent['holdout_auc']:.4f} - {MAX_AUC_DROP}"
        )
    else:
        ok = True
        reasons.append("no champion to compare against")
    stable = psi < MAX_PROMOTION_PSI
    reasons.append(f"score PSI {psi:.4f} {'<' if stable else '>='} {MAX_PROMOTION_PSI}")
    return GateResult(ok and stable, reasons)


def promote(
    registry: ModelRegistry, family: str, version: str, *, force: bool = False
) -> GateResult:
    """Gate, then make `version` the champion; the old champion keeps scoring in shadow."""
    records = {r.version: r for r in registry.records(family)}
    if version not in records:
        raise KeyError(f"{family}/{version} is not registered")
    if records[version].algorithm != "scorecard":
        # Decisions need points and reason codes; trees stay challengers in shadow.
        return GateResult(False, ["only a scorecard can be champion"])
    current = champion(registry, family)
    if current is not None and current.version == version:
        return GateResult(True, ["already champion"])
    gate = promotion_gate(records[version].metrics, current.metrics if current else None)
    if not gate.passed and not force:
        return gate
    if current is not None:
        registry.set_role(family, current.version, "challenger")
    registry.set_role(family, version, "champion")
    return GateResult(True, [*gate.reasons, *(["forced past the gate"] if not gate.passed else [])])


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
