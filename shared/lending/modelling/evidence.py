"""Validation evidence beside the fitted scorecard (issue 12, points 2, 3 and 8).

- `bin_constraints`: each feature's business constraint, every override of the data, and
  the cost of the constraints (the same recipe with data-driven bins, side by side);
- `reject_inference`: parcelling shown on German, where the declines are simulated by a
  previous judgmental policy so their true outcomes are known and the method can be judged;
- `age_bands`: the chosen policy's approval rate by age band (how the policy treats age);
- `amount_mapping`: our consumer amounts read 1:1 as DM (before) against quantile-mapped;
- `nested_cv`: binning settings chosen inside each outer fold, so the published AUC is
  not scored on the folds that picked the settings.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from tqdm import tqdm

from lending.modelling import metrics
from lending.modelling import scorecard_training as sc
from lending.scoring.decision import DecisionPolicy
from lending.scoring.profile import CONSUMER_AMOUNT_YUAN, model_amount

SEED = sc.SEED
Build = Callable[[], Pipeline]


# ---------------------------------------------------------------- bins and their constraints
def bin_constraints(model: Pipeline) -> list[dict[str, Any]]:
    binner: sc.WoeBinner = model.named_steps["woe"]
    kept = {fb.spec.name for fb in binner.bins_}
    out = []
    for fb in binner.all_bins_:
        n = [g + b for g, b in zip(fb.goods, fb.bads, strict=True)]
        out.append(
            {
                "feature": fb.spec.name,
                "constraint": fb.constraint,
                "overrides": fb.overrides,
                "iv": round(fb.iv, 4),
                "kept": fb.spec.name in kept,
                "bins": [
                    {"label": lab, "rows": k, "bad_rate": round(b / k, 4), "woe": round(w, 4)}
                    for lab, k, b, w in zip(fb.labels(), n, fb.bads, fb.woe, strict=True)
                ],
            }
        )
    return out


def constraint_cost(
    constrained: Build,
    unconstrained: Build,
    *,
    X_dev: pd.DataFrame,
    y_dev: np.ndarray,
    X_hold: pd.DataFrame,
    y_hold: np.ndarray,
    target: float,
) -> dict[str, Any]:
    """5-fold CV and holdout of the recipe with and without the business constraints."""
    skf = StratifiedKFold(n_splits=sc.N_SPLITS, shuffle=True, random_state=SEED)
    out: dict[str, Any] = {}
    for key, build in (("constrained", constrained), ("data_driven_as_before", unconstrained)):
        oof = np.zeros(len(y_dev))
        aucs = []
        for tr, te in skf.split(X_dev, y_dev):
            oof[te] = build().fit(X_dev.iloc[tr], y_dev[tr]).predict_proba(X_dev.iloc[te])[:, 1]
            aucs.append(metrics.summary(y_dev[te], oof[te])["auc"])
        p_hold = build().fit(X_dev, y_dev).predict_proba(X_hold)[:, 1]
        policy = sc.choose_cutoffs(oof, y_dev, target_bad_rate=target)
        out[key] = {
            "cv_auc_mean": round(float(np.mean(aucs)), 4),
            "cv_auc_std": round(float(np.std(aucs)), 4),
            "holdout_auc": metrics.summary(y_hold, p_hold)["auc"],
            "oof_approval_rate_at_target": sc.tradeoff(oof, y_dev, policy)["approval_rate"],
            "holdout_policy": sc.tradeoff(p_hold, y_hold, policy),
        }
    return out


# ---------------------------------------------------------------- reject inference
PARCEL_FACTOR = 1.5  # rejects are riskier than accepts at the same score (a common prudence)
PARCEL_BANDS = 10


def previous_policy_declines(X: pd.DataFrame) -> np.ndarray:
    """A judgmental policy of the kind scorecards replace: one point for each of a long
    term, an overdrawn account, thin savings, a large amount and a new job; 3+ declined."""
    points = (
        (X["duration_in_month"] >= 24).astype(int)
        + (X["status_of_existing_checking_account"] == "... < 0 DM").astype(int)
        + (X["savings_account_and_bonds"] == "... < 100 DM").astype(int)
        + (X["credit_amount"] >= 4000).astype(int)
        + (X["present_employment_since"].isin(["unemployed", "... < 1 year"])).astype(int)
    )
    out: np.ndarray = (points >= 3).to_numpy()
    return out


def parcel(
    p_accepted: np.ndarray, y_accepted: np.ndarray, p_rejected: np.ndarray, seed: int = SEED
) -> np.ndarray:
    """Parcelling: rejects fall in the accepted applicants' PD bands and are drawn bad at
    the band's bad rate times PARCEL_FACTOR (seeded)."""
    edges = np.quantile(p_accepted, np.linspace(0, 1, PARCEL_BANDS + 1)[1:-1])
    band_acc = np.searchsorted(edges, p_accepted, side="right")
    band_rej = np.searchsorted(edges, p_rejected, side="right")
    rates = np.array(
        [
            y_accepted[band_acc == b].mean() if (band_acc == b).any() else 0.0
            for b in range(PARCEL_BANDS)
        ]
    )
    prob = np.minimum(rates[band_rej] * PARCEL_FACTOR, 0.95)
    out: np.ndarray = (np.random.default_rng(seed).random(len(p_rejected)) < prob).astype(int)
    return out


def reject_inference(
    build: Build,
    *,
    X_dev: pd.DataFrame,
    y_dev: np.ndarray,
    X_hold: pd.DataFrame,
    y_hold: np.ndarray,
    approval_rate: float,
) -> dict[str, Any]:
    """Known-good-bad model (accepts only), the same after parcelling the rejects in, and the
    full-information model (possible only in this simulation), judged on the whole holdout
    (the through-the-door population) at the same approval rate."""
    declined = previous_policy_declines(X_dev)
    Xa, ya, Xr = X_dev[~declined], y_dev[~declined], X_dev[declined]
    kgb = build().fit(Xa, ya)
    inferred = parcel(kgb.predict_proba(Xa)[:, 1], ya, kgb.predict_proba(Xr)[:, 1])
    augmented = build().fit(pd.concat([Xa, Xr]), np.concatenate([ya, inferred]))
    full = build().fit(X_dev, y_dev)

    def judged(model: Pipeline) -> dict[str, Any]:
        p = model.predict_proba(X_hold)[:, 1]
        n = math.floor(approval_rate * len(p))
        order = np.argsort(p, kind="stable")
        binner: sc.WoeBinner = model.named_steps["woe"]
        return {
            "holdout_auc": metrics.summary(y_hold, p)["auc"],
            "holdout_mean_pd": round(float(p.mean()), 4),
            "holdout_bad_rate_among_approved": round(float(y_hold[order[:n]].mean()), 4),
            "features": [fb.spec.name for fb in binner.bins_],
        }

    return {
        "method": (
            f"parcelling: {PARCEL_BANDS} PD bands of the accepts, rejects drawn bad at "
            f"{PARCEL_FACTOR}x the band's bad rate (seed {SEED})"
        ),
        "previous_policy": "1 point each: term >= 24 months, checking < 0 DM, savings < 100 "
        "DM, amount >= 4,000, employed < 1 year or unemployed; 3+ declined",
        "dev_rows": len(y_dev),
        "declined_share": round(float(declined.mean()), 4),
        "accepted_bad_rate": round(float(ya.mean()), 4),
        "rejects_true_bad_rate": round(float(y_dev[declined].mean()), 4),
        "rejects_parcelled_bad_rate": round(float(inferred.mean()), 4),
        "rejects_kgb_mean_pd": round(float(kgb.predict_proba(Xr)[:, 1].mean()), 4),
        "holdout_bad_rate": round(float(y_hold.mean()), 4),
        "approval_rate": approval_rate,
        "known_good_bad": judged(kgb),
        "with_reject_inference": judged(augmented),
        "full_information": judged(full),
    }


# ---------------------------------------------------------------- age
AGE_FEATURES = ("age_in_years", "age", "Age")
AGE_BANDS = (18, 25, 30, 35, 45, 55, 200)


def age_bands(X: pd.DataFrame, pd_: np.ndarray, policy: DecisionPolicy) -> dict[str, Any] | None:
    col = next((c for c in AGE_FEATURES if c in X.columns), None)
    if col is None:
        return None
    age = pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float)
    out = []
    for lo, hi in itertools.pairwise(AGE_BANDS):
        m = (age >= lo) & (age < hi)
        if m.any():
            out.append(
                {
                    "band": f"{lo}-{hi - 1}" if hi < 200 else f"{lo}+",
                    "rows": int(m.sum()),
                    "approval_rate": round(float((pd_[m] < policy.approve_pd_below).mean()), 4),
                    "mean_pd": round(float(pd_[m].mean()), 4),
                }
            )
    return {"feature": col, "basis": "out-of-fold PDs at the chosen cut-offs", "bands": out}


# ---------------------------------------------------------------- amounts
def amount_mapping(model: Pipeline) -> dict[str, Any]:
    """Where our consumer applicants' amounts land in the German card's amount bins: read 1:1
    as DM (before) and quantile-mapped (now), over the assumed applicant distribution."""
    binner: sc.WoeBinner = model.named_steps["woe"]
    fb = next((b for b in binner.all_bins_ if b.spec.name == "credit_amount"), None)
    lo, hi = CONSUMER_AMOUNT_YUAN[0], CONSUMER_AMOUNT_YUAN[-1]
    grid = lo * (hi / lo) ** ((np.arange(2000) + 0.5) / 2000)  # log-uniform, as assumed
    before = grid
    now = np.array([model_amount(round(a * 100)) for a in grid], dtype=float)
    if fb is None:
        return {"note": "credit_amount is not in this card"}
    edges = np.array(fb.splits)

    def shares(v: np.ndarray) -> list[float]:
        idx = np.searchsorted(edges, v, side="right")
        return [round(float((idx == i).mean()), 4) for i in range(len(fb.labels()))]

    return {
        "bins": fb.labels(),
        "applicant_share_per_bin_read_1_to_1_as_before": shares(before),
        "applicant_share_per_bin_quantile_mapped": shares(now),
        "german_share_per_bin": [
            round((g + b) / (sum(fb.goods) + sum(fb.bads)), 4)
            for g, b in zip(fb.goods, fb.bads, strict=True)
        ],
        "examples_yuan_to_model_dm": {
            str(a): model_amount(a * 100) for a in (1_000, 9_271, 10_000, 50_000, 200_000)
        },
        "how": "quantile mapping, lending.scoring.profile.model_amount",
    }


# ---------------------------------------------------------------- nested CV
def nested_cv(
    features: tuple[sc.FeatureSpec, ...],
    grid: dict[str, sc.ScorecardSettings],
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    inner_splits: int = 3,
    quiet: bool = False,
) -> dict[str, Any]:
    """Outer seeded 5-fold CV; inside each outer training part an inner stratified CV picks
    the binning settings (mean AUC) from `grid`, refitted there and scored on the outer
    test fold, which no choice has seen."""
    outer = StratifiedKFold(n_splits=sc.N_SPLITS, shuffle=True, random_state=SEED)
    bar = tqdm(
        total=sc.N_SPLITS * (len(grid) * inner_splits + 1),
        desc="nested CV",
        unit="fit",
        disable=quiet,
    )
    folds = []
    for tr, te in outer.split(X, y):
        Xt, yt = X.iloc[tr], y[tr]
        inner = StratifiedKFold(n_splits=inner_splits, shuffle=True, random_state=SEED + 1)
        scores = {}
        for name, settings in grid.items():
            aucs = []
            for itr, ite in inner.split(Xt, yt):
                m = sc.build_pipeline(features, settings).fit(Xt.iloc[itr], yt[itr])
                aucs.append(metrics.summary(yt[ite], m.predict_proba(Xt.iloc[ite])[:, 1])["auc"])
                bar.update()
            scores[name] = float(np.mean(aucs))
        best = max(scores, key=lambda k: scores[k])
        p = sc.build_pipeline(features, grid[best]).fit(Xt, yt).predict_proba(X.iloc[te])[:, 1]
        bar.update()
        folds.append(
            {"chosen": best, "inner_auc": scores, "outer_auc": metrics.summary(y[te], p)["auc"]}
        )
    bar.close()
    outer_auc = np.array([f["outer_auc"] for f in folds])
    return {
        "grid": list(grid),
        "inner_splits": inner_splits,
        "folds": folds,
        "auc_mean": round(float(outer_auc.mean()), 4),
        "auc_std": round(float(outer_auc.std()), 4),
    }
