"""Challenger models (random forest, gradient boosting) and their export to array artefacts.

Both run on the same raw application fields as the scorecard through ``TreeEncoder``, whose
fitted state (category ranks, fill values) goes into the artefact, so serving
(lending.scoring.trees) needs neither pandas nor scikit-learn.
"""

from __future__ import annotations

import math
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline

from lending.modelling.scorecard_training import FeatureSpec

SEED = 20240601
FILL_QUANTILES = 10


class TreeEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Numeric as is; categories as their rank by training bad rate (riskier = higher).

    Missing, junk and unseen values take ``fill_``: the riskiest value seen in training
    (top category rank; for numbers the median of the riskiest decile), so withholding data
    is treated like the scorecard treats it.
    """

    def __init__(self, features: tuple[FeatureSpec, ...] = ()) -> None:
        self.features = features

    def fit(self, X: pd.DataFrame, y: Any) -> Self:
        target = np.asarray(y, dtype=int)
        self.codes_: list[dict[str, float]] = []
        self.fill_: list[float] = []
        for spec in self.features:
            if spec.kind == "categorical":
                cats = X[spec.name].astype(str).to_numpy()
                levels = sorted(set(cats))
                rate = {
                    c: (target[cats == c].sum() + 0.5) / ((cats == c).sum() + 1) for c in levels
                }
                levels.sort(key=lambda c: (rate[c], c))
                codes = {c: float(i) for i, c in enumerate(levels)}
                self.codes_.append(codes)
                self.fill_.append(float(len(levels) - 1))
                continue
            values = pd.to_numeric(X[spec.name], errors="coerce").to_numpy(dtype=float)
            ok = np.isfinite(values)
            v, t = values[ok], target[ok]
            edges = np.unique(np.quantile(v, np.linspace(0, 1, FILL_QUANTILES + 1)[1:-1]))
            atom = np.searchsorted(edges, v, side="right")
            best, fill = -1.0, float(np.median(v))
            for i in range(len(edges) + 1):
                members = atom == i
                if members.sum() >= max(1, len(v) // (2 * FILL_QUANTILES)):
                    r = float(t[members].mean())
                    if r > best:
                        best, fill = r, float(np.median(v[members]))
            self.codes_.append({})
            self.fill_.append(fill)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        cols = []
        for spec, codes, fill in zip(self.features, self.codes_, self.fill_, strict=True):
            if spec.kind == "categorical":
                col = np.array([codes.get(c, fill) for c in X[spec.name].astype(str)], dtype=float)
            else:
                col = pd.to_numeric(X[spec.name], errors="coerce").to_numpy(dtype=float)
                col = np.where(np.isfinite(col), col, fill)
            cols.append(col)
        return np.column_stack(cols)

    def export(self) -> list[dict[str, Any]]:
        return [
            {"name": s.name, "kind": s.kind, "code": s.code, "fill": fill, "codes": codes}
            for s, codes, fill in zip(self.features, self.codes_, self.fill_, strict=True)
        ]


def build_forest(features: tuple[FeatureSpec, ...], *, n_rows: int) -> Pipeline:
    # Shallow, well-populated leaves: calibrated enough for shadow PDs, and a small artefact.
    return Pipeline(
        [
            ("enc", TreeEncoder(features)),
            (
                "model",
                RandomForestClassifier(
                    n_estimators=60,
                    max_depth=7,
                    min_samples_leaf=max(5, n_rows // 400),
                    max_features="sqrt",
                    n_jobs=1,
                    random_state=SEED,
                ),
            ),
        ]
    )


def build_boosting(features: tuple[FeatureSpec, ...], *, n_rows: int) -> Pipeline:
    return Pipeline(
        [
            ("enc", TreeEncoder(features)),
            (
                "model",
                GradientBoostingClassifier(
                    n_estimators=120,
                    max_depth=3,
                    learning_rate=0.05,
                    subsample=0.8,
                    min_samples_leaf=max(5, n_rows // 400),
                    random_state=SEED,
                ),
            ),
        ]
    )


def _tree_arrays(tree: Any, leaf_value: np.ndarray) -> dict[str, list[Any]]:
    left = tree.children_left.astype(int)
    leaf = left == -1
    return {
        "left": left.tolist(),
        "right": tree.children_right.astype(int).tolist(),
        "feature": np.where(leaf, 0, tree.feature).astype(int).tolist(),
        "threshold": np.where(leaf, 0.0, tree.threshold).astype(float).tolist(),
        "value": np.where(leaf, leaf_value, 0.0).astype(float).tolist(),
    }


def export_ensemble(
    pipeline: Pipeline, *, version: str, dataset: dict[str, Any], metrics: dict[str, Any]
) -> dict[str, Any]:
    enc: TreeEncoder = pipeline.named_steps["enc"]
    model = pipeline.named_steps["model"]
    trees: list[dict[str, list[Any]]] = []
    if isinstance(model, RandomForestClassifier):
        kind, init_raw = "random-forest", 0.0
        for est in model.estimators_:
            v = est.tree_.value[:, 0, :]
            # predict_proba re-normalises each leaf's class fractions: do the same, in numpy.
            trees.append(_tree_arrays(est.tree_, v[:, 1] / v.sum(axis=1)))
        params = {"n_estimators": model.n_estimators, "max_depth": model.max_depth}
    elif isinstance(model, GradientBoostingClassifier):
        kind = "gradient-boosting"
        probe = enc.transform(pd.DataFrame({s.name: [None] for s in enc.features}))
        init_raw = float(model._raw_predict_init(probe)[0, 0])
        for est in model.estimators_[:, 0]:
            # sklearn adds learning_rate * leaf value per stage; pre-multiply identically.
            trees.append(_tree_arrays(est.tree_, model.learning_rate * est.tree_.value[:, 0, 0]))
        params = {
            "n_estimators": model.n_estimators,
            "max_depth": model.max_depth,
            "learning_rate": model.learning_rate,
        }
    else:
        raise TypeError(f"cannot export {type(model).__name__}")
    if not math.isfinite(init_raw):
        raise ValueError("non-finite initial raw score")
    return {
        "version": version,
        "kind": kind,
        "target": "P(bad)",
        "dataset": dataset,
        "params": params,
        "metrics": metrics,
        "features": enc.export(),
        "init_raw": init_raw,
        "trees": trees,
    }
