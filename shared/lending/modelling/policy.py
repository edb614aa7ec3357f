"""Cut-offs chosen with their uncertainty (issue 12, point 1).

One 5-fold CV gives one out-of-fold PD per row, and cut-offs fitted to that one draw meet
the bad-rate target on it by construction. Here:

- repeated stratified K-fold gives R out-of-fold PDs per row (bins and regression refit in
  every fold); the cut-offs are chosen on all R x n of them pooled, which averages the
  fold-assignment noise out of the choice;
- the chance of meeting each target (bad rate among the auto-approved <= target, share of
  automatic decisions >= the floor) is counted over the R x K test folds, each a batch of
  n / K applicants the policy never saw while its model was fitted, with a Wilson 95%
  interval on that share; and, for the long run, the posterior probability (Jeffreys,
  Beta(bads + 1/2, goods + 1/2) on the approved rows of one repeat) that the approved
  population's bad rate is within the target;
- for small data sets the whole procedure is replayed on fresh seeded 80/20 splits (cut-offs
  chosen on the 80%, judged on the untouched 20%), as the validator did: the previous
  procedure (one 5-fold CV) and this one side by side.

The automation floor is enforced on every training path: `enforce_automation_floor`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from tqdm import tqdm

from lending.modelling import metrics
from lending.modelling import scorecard_training as sc
from lending.scoring.decision import DecisionPolicy

SEED = sc.SEED
N_SPLITS = 5
FRESH_SPLITS = 20
FRESH_REPEATS = 2  # repeats inside each fresh split's 80% (cost: 20 x (2 x 5 + 1) fits)
FRESH_TEST = 0.2

# How the policy treats age (issue 12, point 3), stated once and copied into the reports.
AGE_POLICY = (
    "Age is scored, as an ordered risk factor only: the bins may lower the points of younger "
    "applicants but never of older ones (the business direction is forced: risk may only "
    "fall as age rises), and above the top bin's lower edge every age scores the same, so "
    "age earns nothing further past mid-career. Why: age carries repayment-capacity "
    "information (income history, tenure) that the bureau does not report otherwise, and it "
    "is not among the attributes our policy excludes (sex and foreign-worker status are never "
    "inputs); eligibility bounds it (18 and over). The approval rate by age band is reported "
    "beside the model so its effect is visible at every review."
)


class AutomationFloorError(RuntimeError):
    """Cut-offs that would send more than 1 - MIN_AUTOMATION of decisions to manual review."""


def enforce_automation_floor(
    row: dict[str, float], where: str, floor: float = sc.MIN_AUTOMATION
) -> None:
    if row["automation_share"] < floor:
        raise AutomationFloorError(
            f"{where}: cut-offs automate {row['automation_share']:.1%} of decisions (< {floor:.0%})"
        )


@dataclass(frozen=True, slots=True)
class RepeatedCv:
    oof: np.ndarray  # repeats x n: each repeat's out-of-fold PDs
    folds: list[tuple[int, np.ndarray]]  # (repeat, test row indices)
    fold_auc: np.ndarray

    @property
    def repeats(self) -> int:
        return int(self.oof.shape[0])

    def summary(self, y: np.ndarray) -> dict[str, Any]:
        lo, hi = np.quantile(self.fold_auc, [0.025, 0.975])
        per_repeat = [metrics.summary(y, p)["auc"] for p in self.oof]
        return {
            "repeats": self.repeats,
            "n_splits": N_SPLITS,
            "seed": SEED,
            "fold_auc_mean": round(float(self.fold_auc.mean()), 4),
            "fold_auc_std": round(float(self.fold_auc.std()), 4),
            "fold_auc_95": [round(float(lo), 4), round(float(hi), 4)],
            "pooled_auc_per_repeat_mean": round(float(np.mean(per_repeat)), 4),
            "pooled_auc_per_repeat_range": [
                round(float(min(per_repeat)), 4),
                round(float(max(per_repeat)), 4),
            ],
        }


def repeated_cv(
    build: Callable[[], Pipeline],
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    repeats: int,
    seed: int = SEED,
    desc: str = "repeated CV",
    quiet: bool = False,
) -> RepeatedCv:
    rskf = RepeatedStratifiedKFold(n_splits=N_SPLITS, n_repeats=repeats, random_state=seed)
    oof = np.zeros((repeats, len(y)))
    folds: list[tuple[int, np.ndarray]] = []
    aucs = []
    for k, (tr, te) in enumerate(
        tqdm(
            rskf.split(X, y),
            total=repeats * N_SPLITS,
            desc=desc,
            unit="fit",
            disable=quiet,
            leave=False,
        )
    ):
        r = k // N_SPLITS
        p = build().fit(X.iloc[tr], y[tr]).predict_proba(X.iloc[te])[:, 1]
        oof[r, te] = p
        folds.append((r, te))
        aucs.append(metrics.summary(y[te], p)["auc"])
    return RepeatedCv(oof, folds, np.array(aucs))


def choose_on_repeats(cv: RepeatedCv, y: np.ndarray, target: float) -> DecisionPolicy:
    """Cut-offs from all repeats' out-of-fold PDs pooled (each row counted R times)."""
    return sc.choose_cutoffs(cv.oof.ravel(), np.tile(y, cv.repeats), target_bad_rate=target)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def _share(hits: int, n: int) -> dict[str, Any]:
    lo, hi = wilson(hits, n)
    return {
        "met": hits,
        "of": n,
        "chance": round(hits / n, 4),
        "wilson_95": [round(lo, 4), round(hi, 4)],
    }


def _spread(values: list[float]) -> dict[str, float]:
    v = np.array(values)
    return {
        "mean": round(float(v.mean()), 4),
        "std": round(float(v.std()), 4),
        "min": round(float(v.min()), 4),
        "p05": round(float(np.quantile(v, 0.05)), 4),
        "p95": round(float(np.quantile(v, 0.95)), 4),
        "max": round(float(v.max()), 4),
    }


def target_chance(
    cv: RepeatedCv,
    y: np.ndarray,
    policy: DecisionPolicy,
    target: float,
    floor: float = sc.MIN_AUTOMATION,
) -> dict[str, Any]:
    """How often the policy meets each target on the R x K test folds (batches of n / K
    applicants), and the long-run probability that the approved bad rate is <= target."""
    bad, auto = [], []
    for r, te in cv.folds:
        row = sc.tradeoff(cv.oof[r, te], y[te], policy)
        bad.append(row["bad_rate_approved"])
        auto.append(row["automation_share"])
    pooled = [sc.tradeoff(p, y, policy) for p in cv.oof]
    approved = np.mean([r["approval_rate"] for r in pooled]) * len(y)
    bads = np.mean([r["bad_rate_approved"] * r["approval_rate"] for r in pooled]) * len(y)
    long_run = float(beta.cdf(target, bads + 0.5, approved - bads + 0.5))
    return {
        "target_bad_rate_approved": target,
        "automation_floor": floor,
        "batch_rows": round(len(y) / N_SPLITS),
        "batches": len(cv.folds),
        "bad_rate_approved": _spread(bad),
        "automation_share": _spread(auto),
        "chance_bad_rate_within_target": _share(sum(b <= target for b in bad), len(bad)),
        "chance_automation_at_floor": _share(sum(a >= floor for a in auto), len(auto)),
        "long_run_probability_bad_rate_within_target": round(long_run, 4),
        "long_run_basis": "Jeffreys posterior on the approved rows of one repeat (averaged)",
    }


def fresh_split_chance(
    build: Callable[[], Pipeline],
    X: pd.DataFrame,
    y: np.ndarray,
    target: float,
    *,
    splits: int = FRESH_SPLITS,
    repeats: int = FRESH_REPEATS,
    floor: float = sc.MIN_AUTOMATION,
    quiet: bool = False,
) -> dict[str, Any]:
    """The whole procedure on `splits` fresh seeded 80/20 splits: cut-offs from one 5-fold
    CV (as before) and from `repeats` pooled repeats (now), each judged on the untouched 20%
    with the model refitted on the 80%."""
    out: dict[str, dict[str, list[float]]] = {
        k: {"bad": [], "auto": [], "approved": []} for k in ("single_cv", "repeated_cv")
    }
    bar = tqdm(total=splits, desc="fresh 80/20 splits", unit="split", disable=quiet)
    for i in range(splits):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=FRESH_TEST, stratify=y, random_state=SEED + 1 + i
        )
        y_tr, y_te = np.asarray(y_tr), np.asarray(y_te)
        cv = repeated_cv(build, X_tr, y_tr, repeats=repeats, seed=SEED + 1 + i, quiet=True)
        p_te = build().fit(X_tr, y_tr).predict_proba(X_te)[:, 1]
        single = sc.choose_cutoffs(cv.oof[0], y_tr, target_bad_rate=target)
        for key, policy in (
            ("single_cv", single),
            ("repeated_cv", choose_on_repeats(cv, y_tr, target)),
        ):
            row = sc.tradeoff(p_te, y_te, policy)
            out[key]["bad"].append(row["bad_rate_approved"])
            out[key]["auto"].append(row["automation_share"])
            out[key]["approved"].append(row["approval_rate"])
        bar.update()
    bar.close()
    result: dict[str, Any] = {
        "splits": splits,
        "test_share": FRESH_TEST,
        "repeats_inside": repeats,
        "target_bad_rate_approved": target,
        "automation_floor": floor,
    }
    for key, v in out.items():
        result[key] = {
            "bad_rate_approved": _spread(v["bad"]),
            "approval_rate": _spread(v["approved"]),
            "automation_share": _spread(v["auto"]),
            "chance_bad_rate_within_target": _share(sum(b <= target for b in v["bad"]), splits),
            "chance_automation_at_floor": _share(sum(a >= floor for a in v["auto"]), splits),
        }
    return result
