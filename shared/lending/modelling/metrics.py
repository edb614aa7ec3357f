"""Discrimination, calibration and stability measures (training side, numpy/scikit-learn)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from lending.modelling.scorecard_training import FeatureSpec

EPS = 1e-6


def ks_stat(y: np.ndarray, p: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Equal-count bins of predicted PD: mean PD against the observed bad rate."""
    order = np.argsort(p, kind="stable")
    rows = []
    for chunk in np.array_split(order, bins):
        if chunk.size:
            rows.append(
                {
                    "n": int(chunk.size),
                    "mean_pd": round(float(p[chunk].mean()), 5),
                    "bad_rate": round(float(y[chunk].mean()), 5),
                }
            )
    return rows


def summary(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    auc = float(roc_auc_score(y, p))
    table = calibration_table(y, p)
    return {
        "n": len(y),
        "bad_rate": round(float(y.mean()), 5),
        "auc": round(auc, 4),
        "gini": round(2 * auc - 1, 4),
        "ks": round(ks_stat(y, p), 4),
        "brier": round(float(brier_score_loss(y, p)), 5),
        "mean_pd": round(float(p.mean()), 5),
        # Expected calibration error: count-weighted |mean PD - bad rate| over PD deciles.
        "ece": round(sum(r["n"] * abs(r["mean_pd"] - r["bad_rate"]) for r in table) / len(y), 5),
        "calibration": table,
    }


def psi_from_counts(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(expected / expected.sum(), EPS)
    a = np.maximum(actual / actual.sum(), EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """Population stability index of a continuous score, deciles of the expected sample."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1)
    return psi_from_counts(e.astype(float), a.astype(float))


def feature_psi(
    dev: pd.DataFrame, recent: pd.DataFrame, features: tuple[FeatureSpec, ...]
) -> dict[str, float]:
    out = {}
    for spec in features:
        if spec.kind == "numeric":
            e = pd.to_numeric(dev[spec.name], errors="coerce").to_numpy(dtype=float)
            a = pd.to_numeric(recent[spec.name], errors="coerce").to_numpy(dtype=float)
            # Missing is its own bucket (a sentinel that sorts first).
            out[spec.name] = round(
                psi(np.nan_to_num(e, nan=-1e300), np.nan_to_num(a, nan=-1e300)), 4
            )
        else:
            e_s = dev[spec.name].astype(str).value_counts()
            a_s = recent[spec.name].astype(str).value_counts()
            levels = sorted(set(e_s.index) | set(a_s.index))
            out[spec.name] = round(
                psi_from_counts(
                    e_s.reindex(levels, fill_value=0).to_numpy(dtype=float),
                    a_s.reindex(levels, fill_value=0).to_numpy(dtype=float),
                ),
                4,
            )
    return out
