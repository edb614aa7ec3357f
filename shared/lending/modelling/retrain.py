"""Scheduled retraining (at most a 3-month cycle) of a model family.

The retrain function (a container image: it carries scikit-learn, which the serving layer
never ships) runs this every 90 days and on demand; ``lending models retrain`` runs the same
code from a shell or a CI job. Steps:

1. due?  the champion is older than ``max_age_days`` (or there is none), or forced;
2. train the family's data set (5-fold CV, holdout, parity-checked artefacts) and register
   every new version as a *challenger* (retired instead when its holdout AUC is below the
   shadow floor, registry.SHADOW_AUC_FLOOR), with the promotion gate's evidence;
3. retire the challengers the new versions supersede (same algorithm), so shadow scoring
   keeps one challenger per algorithm plus the demoted champion;
4. hand the new scorecard to the promotion gate (absolute AUC floor, bootstrap interval of
   the AUC difference against the champion, calibration: registry.promotion_gate): it
   becomes champion only if the gate passes, in one atomic swap recorded with who (this
   job) and why; otherwise it keeps scoring in shadow and an operator can force it, which
   is recorded too.

The data sets are the packaged ones (static snapshots), so a retrain here reproduces the same
fit with a new version stamp; in production the job reads the latest matured outcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lending.ports import Clock
from lending.scoring.registry import ModelRecord, ModelRegistry, champion, promote

if TYPE_CHECKING:
    from lending.modelling.pipeline import DatasetRun

MAX_AGE_DAYS = 90
FAMILY_PREFIX = "admission-"
ACTOR = "scheduled-retrain"

Trainer = Callable[[str, datetime], "DatasetRun"]


def _age_days(record: ModelRecord, now: datetime) -> float:
    created = datetime.fromisoformat(record.created_at)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return (now - created).total_seconds() / 86400


def retrain_due(
    records: list[ModelRecord], now: datetime, max_age_days: int = MAX_AGE_DAYS
) -> tuple[bool, str]:
    current = next((r for r in records if r.role == "champion"), None)
    if current is None:
        return True, "no champion registered"
    age = _age_days(current, now)
    if age > max_age_days:
        return True, f"champion {current.version} is {age:.0f} days old (> {max_age_days})"
    return False, f"champion {current.version} is {age:.0f} days old (<= {max_age_days})"


@dataclass(slots=True)
class RetrainOutcome:
    family: str
    dataset: str
    due: bool
    forced: bool
    reason: str
    champion_before: str | None
    champion_age_days: float | None
    registered: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    gate_passed: bool | None = None
    gate_reasons: list[str] = field(default_factory=list)
    champion_after: str | None = None
    holdout_auc: dict[str, float] = field(default_factory=dict)

    @property
    def trained(self) -> bool:
        return bool(self.registered)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "trained": self.trained}


def _train_dataset(dataset: str, now: datetime) -> DatasetRun:
    from lending.modelling import pipeline

    return pipeline.run_dataset(dataset, now=now, quiet=True)


class Retrainer:
    def __init__(
        self,
        registry: ModelRegistry,
        clock: Clock,
        *,
        max_age_days: int = MAX_AGE_DAYS,
        trainer: Trainer = _train_dataset,
        actor: str = ACTOR,
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.max_age_days = max_age_days
        self.trainer = trainer
        self.actor = actor

    @staticmethod
    def dataset_of(family: str) -> str:
        from lending.modelling.datasets import DATASETS

        name = family.removeprefix(FAMILY_PREFIX)
        if name not in DATASETS:
            raise ValueError(f"no data set for family {family!r}: known {sorted(DATASETS)}")
        return name

    def run(
        self, family: str, *, force: bool = False, dataset: str | None = None
    ) -> RetrainOutcome:
        from lending.modelling import pipeline

        now = self.clock.now().astimezone(UTC).replace(microsecond=0)
        name = dataset or self.dataset_of(family)
        before = self.registry.records(family)
        current = champion(self.registry, family)
        due, reason = retrain_due(before, now, self.max_age_days)
        outcome = RetrainOutcome(
            family=family,
            dataset=name,
            due=due,
            forced=force,
            reason=reason,
            champion_before=current.version if current else None,
            champion_age_days=None if current is None else round(_age_days(current, now), 2),
        )
        if not (due or force):
            outcome.champion_after = outcome.champion_before
            return outcome
        run = self.trainer(name, now)
        records = pipeline.register(run, self.registry, now, family=family)
        outcome.registered = [r.version for r in records]
        outcome.holdout_auc = {r.algorithm: r.metrics["holdout_auc"] for r in records}
        active = {r.algorithm for r in records if r.role == "challenger"}
        for old in before:
            if old.role == "challenger" and old.algorithm in active:
                self.registry.set_role(family, old.version, "retired")
                outcome.retired.append(old.version)
        card = next(r for r in records if r.algorithm == "scorecard")
        if card.role != "challenger":
            outcome.gate_passed = False
            outcome.gate_reasons = [f"{card.version} registered {card.role}: {dict(card.notes)}"]
        else:
            gate = promote(
                self.registry,
                family,
                card.version,
                actor=self.actor,
                reason=f"retrained: {reason}" + (" (forced run)" if force else ""),
                at=now,
            )
            outcome.gate_passed = gate.passed
            outcome.gate_reasons = gate.reasons
        after = champion(self.registry, family)
        outcome.champion_after = after.version if after else None
        return outcome
