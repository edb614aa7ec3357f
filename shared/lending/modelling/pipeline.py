"""Train, evaluate and register the admission models for one data set.

Per data set: a seeded development/holdout split (random stratified 80/20; SBA: by approval
vintage, out of time), stratified 5-fold CV on development for all three algorithms, final
fits on development, holdout metrics, score and feature PSI (development -> holdout),
cut-offs chosen on out-of-fold PDs and simulated on the holdout, and JSON artefacts whose
serving scorers are checked against scikit-learn before they are registered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from tqdm import tqdm

from lending.modelling import evidence, metrics, policy, validation
from lending.modelling import scorecard_training as sc
from lending.modelling.challengers import SEED, build_boosting, build_forest, export_ensemble
from lending.modelling.datasets import DATASETS, DatasetSpec, Frame
from lending.scoring.decision import DecisionPolicy
from lending.scoring.monitoring import (
    LiveScore,
    Reference,
    StabilityReport,
    stability_report,
)
from lending.scoring.registry import (
    SHADOW_AUC_FLOOR,
    Algorithm,
    LocalModelRegistry,
    ModelRecord,
    ModelRegistry,
    Role,
    champion,
    load_model,
    sha256_hex,
)
from lending.scoring.scorecard import Scorecard

ALGORITHMS: tuple[Algorithm, ...] = ("scorecard", "random-forest", "gradient-boosting")
SHORT = {"scorecard": "lr", "random-forest": "rf", "gradient-boosting": "gb"}
N_SPLITS = 5
HOLDOUT = 0.2
PARITY_TOLERANCE = 1e-9
# Risk appetite for auto-approval, per data set (its base bad rate differs a lot).
TARGET_BAD_RATE = {
    "german": 0.12,
    "bloan": 0.025,
    "sba": 0.06,
    "credit_data": 0.12,
    "lending_club": 0.03,
}
TRADEOFF_GRID = {
    "credit_data": (0.08, 0.10, 0.12, 0.14, 0.16),
    "lending_club": (0.02, 0.025, 0.03, 0.035, 0.04),
    "german": (0.08, 0.10, 0.12, 0.14, 0.16),
    "bloan": (0.015, 0.02, 0.025, 0.03, 0.04),
    "sba": (0.04, 0.05, 0.06, 0.08, 0.10),
}
# Repeats of the scorecard's stratified 5-fold CV (cut-offs from all of them pooled); fewer
# where a fold already holds thousands of rows and a fit takes seconds.
REPEATS = {"german": 5, "credit_data": 3, "lending_club": 3, "bloan": 2, "sba": 2}
# The whole cut-off procedure replayed on fresh 80/20 splits (small data sets only: 220 fits).
FRESH_SPLIT_DATASETS = ("german",)
# Binning settings chosen by nested CV: the published bloan settings against the defaults
# they were tuned against on the reported folds (issue 12, point 8).
NESTED_GRID = {
    "bloan": {
        "published (2% bins, 50 atoms)": sc.ScorecardSettings(
            min_bin_frac=0.02,
            max_bins=6,
            n_prebins=50,
            non_monotone=("debrate",),
            C_grid=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
        ),
        "defaults (5% bins, 20 atoms)": sc.ScorecardSettings(
            non_monotone=("debrate",), C_grid=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
        ),
    }
}
SBA_DEV_YEARS = (1995, 2002)
SBA_RECAL_YEAR = 2003
SBA_OOT_YEARS = (2004, 2005)
SBA_DEV_ROWS = 60_000
SBA_OOT_ROWS = 30_000


@dataclass(slots=True)
class DatasetRun:
    name: str
    spec: DatasetSpec
    y_dev: np.ndarray
    y_hold: np.ndarray
    folds: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    oof: dict[str, np.ndarray] = field(default_factory=dict)
    p_dev: dict[str, np.ndarray] = field(default_factory=dict)
    p_hold: dict[str, np.ndarray] = field(default_factory=dict)
    fitted: dict[str, Pipeline] = field(default_factory=dict)
    artefacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    X_hold: pd.DataFrame | None = None


def builders(spec: DatasetSpec, n_rows: int) -> dict[str, Callable[[], Pipeline]]:
    return {
        "scorecard": lambda: sc.build_pipeline(spec.features, spec.scorecard),
        "random-forest": lambda: build_forest(spec.features, n_rows=n_rows),
        "gradient-boosting": lambda: build_boosting(spec.features, n_rows=n_rows),
    }


def split(name: str, frame: Frame) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    if name == "sba":
        assert frame.vintage is not None
        rng = np.random.default_rng(SEED)
        lo, hi = SBA_DEV_YEARS
        dev = np.nonzero((frame.vintage >= lo) & (frame.vintage <= hi))[0]
        dev = np.sort(rng.choice(dev, size=min(SBA_DEV_ROWS, dev.size), replace=False))
        # Holdout: the recalibration vintage first, then the out-of-time vintages.
        recal = np.nonzero(frame.vintage == SBA_RECAL_YEAR)[0]
        oot = np.nonzero((frame.vintage >= SBA_OOT_YEARS[0]) & (frame.vintage <= SBA_OOT_YEARS[1]))[
            0
        ]
        recal = np.sort(rng.choice(recal, size=min(SBA_OOT_ROWS // 2, recal.size), replace=False))
        oot = np.sort(rng.choice(oot, size=min(SBA_OOT_ROWS, oot.size), replace=False))
        hold = np.concatenate([recal, oot])
        return frame.X.iloc[dev], frame.y[dev], frame.X.iloc[hold], frame.y[hold]
    X_dev, X_hold, y_dev, y_hold = train_test_split(
        frame.X, frame.y, test_size=HOLDOUT, stratify=frame.y, random_state=SEED
    )
    return X_dev, np.asarray(y_dev), X_hold, np.asarray(y_hold)


def _fold_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    s = metrics.summary(y, p)
    return {k: s[k] for k in ("auc", "ks", "gini", "brier")}


def _cv_summary(folds: list[dict[str, float]], y: np.ndarray, oof: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {"n_splits": N_SPLITS, "seed": SEED, "folds": folds}
    for key in ("auc", "ks", "gini", "brier"):
        vals = np.array([f[key] for f in folds])
        out[f"{key}_mean"] = round(float(vals.mean()), 4 if key != "brier" else 5)
        out[f"{key}_std"] = round(float(vals.std()), 4 if key != "brier" else 5)
    out["pooled_oof"] = {k: v for k, v in metrics.summary(y, oof).items() if k != "calibration"}
    return out


def _policy(
    name: str, algo: str, oof: np.ndarray, y: np.ndarray
) -> tuple[DecisionPolicy, list[Any]]:
    """Cut-offs on out-of-fold PDs (for the scorecard: all repeats pooled, `oof` is R x n),
    refused when they automate less than the floor."""
    pooled, y_pooled = oof.ravel(), np.tile(y, oof.size // len(y))
    chosen = sc.choose_cutoffs(pooled, y_pooled, target_bad_rate=TARGET_BAD_RATE[name])
    policy.enforce_automation_floor(
        sc.tradeoff(pooled, y_pooled, chosen), f"{name} {algo} out-of-fold"
    )
    rows = [
        sc.tradeoff(pooled, y_pooled, sc.choose_cutoffs(pooled, y_pooled, target_bad_rate=t))
        for t in TRADEOFF_GRID[name]
    ]
    return chosen, rows


def _recalibrate(p_fit: np.ndarray, y_fit: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Platt recalibration (logistic on the logit of the PD) fitted on a recent vintage."""

    def logit(q: np.ndarray) -> np.ndarray:
        c = np.clip(q, 1e-9, 1 - 1e-9)
        out: np.ndarray = np.log(c / (1 - c)).reshape(-1, 1)
        return out

    lr = LogisticRegression(C=1e6, max_iter=1000).fit(logit(p_fit), y_fit)
    return np.asarray(lr.predict_proba(logit(p))[:, 1])


def check_parity(artefact: dict[str, Any], algo: str, model: Pipeline, X: pd.DataFrame) -> float:
    """Max |serving PD - scikit-learn PD| over the rows (through JSON text, as deployed)."""
    blob = json.dumps(artefact).encode()
    served = load_model(
        ModelRecord("parity", artefact["version"], algo, "challenger", sha256_hex(blob), ""),  # type: ignore[arg-type]
        blob,
    )
    rows = X.to_dict("records")
    if isinstance(served, Scorecard):
        got = np.array([served.score(r).probability_of_default for r in rows])
    else:
        got = np.array([served.probability_of_default(r) for r in rows])
    return float(np.max(np.abs(got - model.predict_proba(X)[:, 1])))


def _fit_all(
    run: DatasetRun,
    build: dict[str, Callable[[], Pipeline]],
    X_dev: pd.DataFrame,
    X_hold: pd.DataFrame,
    *,
    quiet: bool,
) -> None:
    """Seeded 5-fold CV of every algorithm on development, then the final fits."""
    name, y_dev = run.name, run.y_dev
    skf = StratifiedKFold(n_splits=N_SPLITS, shuffle=True, random_state=SEED)
    bar = tqdm(
        total=N_SPLITS * len(ALGORITHMS) + len(ALGORITHMS),
        desc=f"{name}: 5-fold CV + final fits",
        unit="fit",
        disable=quiet,
    )
    for algo in ALGORITHMS:
        run.oof[algo] = np.zeros(len(y_dev))
        run.folds[algo] = []
    for tr, te in skf.split(X_dev, y_dev):
        for algo in ALGORITHMS:
            m = build[algo]().fit(X_dev.iloc[tr], y_dev[tr])
            p = m.predict_proba(X_dev.iloc[te])[:, 1]
            run.oof[algo][te] = p
            run.folds[algo].append(_fold_metrics(y_dev[te], p))
            bar.update()
    for algo in ALGORITHMS:
        run.fitted[algo] = build[algo]().fit(X_dev, y_dev)
        run.p_dev[algo] = run.fitted[algo].predict_proba(X_dev)[:, 1]
        run.p_hold[algo] = run.fitted[algo].predict_proba(X_hold)[:, 1]
        bar.update()
    bar.close()


def run_dataset(name: str, *, now: datetime | None = None, quiet: bool = False) -> DatasetRun:
    spec = DATASETS[name]
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    frame = spec.load()
    X_dev, y_dev, X_hold, y_hold = split(name, frame)
    run = DatasetRun(name, spec, y_dev, y_hold, X_hold=X_hold)
    build = builders(spec, len(y_dev))
    _fit_all(run, build, X_dev, X_hold, quiet=quiet)
    rcv = policy.repeated_cv(
        build["scorecard"],
        X_dev,
        y_dev,
        repeats=REPEATS.get(name, 2),
        desc=f"{name}: scorecard repeated CV",
        quiet=quiet,
    )

    n_recal = int((run_vintages(frame, X_hold) == SBA_RECAL_YEAR).sum()) if name == "sba" else 0
    feature_psi = metrics.feature_psi(X_dev, X_hold.iloc[n_recal:], spec.features)
    dataset_info = {
        "name": spec.title,
        "product": spec.product,
        "rows_total": len(frame.y),
        "rows_dev": len(y_dev),
        "rows_holdout": len(y_hold) - n_recal,
        "bad_rate_dev": round(float(y_dev.mean()), 4),
        "bad_rate_holdout": round(float(y_hold[n_recal:].mean()), 4),
        "split": (
            f"out of time: develop FY{SBA_DEV_YEARS[0]}-{SBA_DEV_YEARS[1]}, recalibrate on "
            f"FY{SBA_RECAL_YEAR}, test FY{SBA_OOT_YEARS[0]}-{SBA_OOT_YEARS[1]}"
            if name == "sba"
            else f"stratified random {1 - HOLDOUT:.0%}/{HOLDOUT:.0%}, seed {SEED}"
        ),
        "excluded_protected": list(spec.excluded),
    }
    models: dict[str, Any] = {}
    for algo in ALGORITHMS:
        y_h, p_h = y_hold[n_recal:], run.p_hold[algo][n_recal:]
        oof = rcv.oof if algo == "scorecard" else run.oof[algo][None, :]
        chosen, rows = _policy(name, algo, oof, y_dev)
        holdout = metrics.summary(y_h, p_h)
        on_holdout = sc.tradeoff(p_h, y_h, chosen)
        entry: dict[str, Any] = {
            "cv": _cv_summary(run.folds[algo], y_dev, run.oof[algo]),
            "holdout": holdout,
            "score_psi": round(metrics.psi(run.p_dev[algo], p_h), 4),
            "cutoffs": {
                "approve_pd_below": chosen.approve_pd_below,
                "decline_pd_above": chosen.decline_pd_above,
                "target_bad_rate_approved": TARGET_BAD_RATE[name],
                "chosen_on": (
                    f"development out-of-fold PDs, {rcv.repeats} repeats of 5-fold CV pooled"
                    if algo == "scorecard"
                    else "development out-of-fold PDs (5-fold CV)"
                ),
            },
            "policy_oof_alternatives": rows,
            "policy_holdout": {
                **on_holdout,
                "automation_floor_met": on_holdout["automation_share"] >= sc.MIN_AUTOMATION,
            },
        }
        if algo == "scorecard":
            entry["repeated_cv"] = rcv.summary(y_dev)
            entry["policy_chance"] = policy.target_chance(rcv, y_dev, chosen, TARGET_BAD_RATE[name])
        if name == "sba":
            recal = _recalibrate(run.p_hold[algo][:n_recal], y_hold[:n_recal], p_h)
            entry["holdout_recalibrated"] = {k: v for k, v in metrics.summary(y_h, recal).items()}
            run.p_hold[algo + ":recalibrated"] = np.concatenate([run.p_hold[algo][:n_recal], recal])
        version = f"admission-{name}-{SHORT[algo]}-{stamp}"
        info = {**dataset_info, "rows": len(y_dev)}
        if algo == "scorecard":
            art = sc.export_artefact(
                run.fitted[algo],
                metrics={"cv": entry["cv"], "holdout": holdout, "score_psi": entry["score_psi"]},
                policy=chosen,
                tradeoffs=rows,
                dataset=info,
                trained_at=now or datetime.now(UTC),
                version=version,
                excluded=spec.excluded,
                chosen_on=entry["cutoffs"]["chosen_on"],
                reference_pd=run.p_dev[algo].tolist(),
            )
            art["scaling"]["note"] = "600 points at 50:1 good:bad odds, 20 points to double"
        else:
            art = export_ensemble(
                run.fitted[algo],
                version=version,
                dataset=info,
                metrics={"cv": entry["cv"], "holdout": holdout, "score_psi": entry["score_psi"]},
            )
        entry["version"] = version
        entry["parity_max_abs_diff"] = check_parity(art, algo, run.fitted[algo], X_hold)
        if entry["parity_max_abs_diff"] > PARITY_TOLERANCE:
            raise RuntimeError(f"{version}: serving scorer disagrees with scikit-learn")
        entry["artefact_bytes"] = len(json.dumps(art))
        run.artefacts[algo] = art
        models[algo] = entry
    run.results = {
        "dataset": dataset_info,
        **_validation_figures(run, models, X_dev, X_hold, n_recal),
        "validation": scorecard_evidence(
            run, models, rcv, X_dev=X_dev, X_hold=X_hold, n_recal=n_recal, quiet=quiet
        ),
        "feature_psi": feature_psi,
        "models": models,
        "scorecard_iv": {f["name"]: f["iv"] for f in run.artefacts["scorecard"]["features"]},
        "scorecard_dropped_low_iv": run.artefacts["scorecard"]["model"]["dropped_low_iv"],
    }
    return run


def _validation_figures(
    run: DatasetRun,
    models: dict[str, Any],
    X_dev: pd.DataFrame,
    X_hold: pd.DataFrame,
    n_recal: int,
) -> dict[str, Any]:
    """Gate evidence and registration role per model; the points table and PSI figures."""
    card = Scorecard.load(json.loads(json.dumps(run.artefacts["scorecard"])))
    models["scorecard"]["gate_evidence"] = validation.gate_evidence(
        run.y_hold[n_recal:], run.p_hold["scorecard"][n_recal:]
    )
    for algo in ALGORITHMS:
        auc = models[algo]["holdout"]["auc"]
        models[algo]["registration"] = {
            "shadow_auc_floor": SHADOW_AUC_FLOOR,
            "role": "challenger" if auc >= SHADOW_AUC_FLOOR else "retired",
        }
    rows = [*X_dev.to_dict("records"), *X_hold.to_dict("records")]
    return {
        "points_table": points_table(card, rows),
        "monitoring": monitoring_figures(run.artefacts["scorecard"], card, X_dev),
    }


def scorecard_evidence(
    run: DatasetRun,
    models: dict[str, Any],
    rcv: policy.RepeatedCv,
    *,
    X_dev: pd.DataFrame,
    X_hold: pd.DataFrame,
    n_recal: int,
    quiet: bool = False,
) -> dict[str, Any]:
    """The report's validation section for the scorecard (issue 12, points 1-3 and 8)."""
    name, spec, m = run.name, run.spec, models["scorecard"]
    y_dev, y_h = run.y_dev, run.y_hold[n_recal:]
    X_h = X_hold.iloc[n_recal:]
    target = TARGET_BAD_RATE[name]
    chosen = DecisionPolicy(m["cutoffs"]["approve_pd_below"], m["cutoffs"]["decline_pd_above"])
    build = builders(spec, len(y_dev))["scorecard"]
    gate = m["gate_evidence"]
    out: dict[str, Any] = {
        "repeated_cv": m["repeated_cv"],
        "policy_chance": m["policy_chance"],
        "calibration": {
            "holdout_deciles": m["holdout"]["calibration"],
            "holdout_ece": gate["holdout_ece"],
            "holdout_ece_limit": gate["holdout_ece_limit"],
            "calibration_slope": gate["calibration_slope"],
            "calibration_slope_99": [gate["calibration_slope_lo"], gate["calibration_slope_hi"]],
        },
        "bins": evidence.bin_constraints(run.fitted["scorecard"]),
        "age_policy": policy.AGE_POLICY,
        "age_bands": evidence.age_bands(X_dev, rcv.oof.mean(axis=0), chosen),
    }
    if any(f.order or f.risk_rises is not None for f in spec.features):
        free = replace(spec.scorecard, constrained=False)
        out["constraint_cost"] = evidence.constraint_cost(
            build,
            lambda: sc.build_pipeline(spec.features, free),
            X_dev=X_dev,
            y_dev=y_dev,
            X_hold=X_h,
            y_hold=y_h,
            target=target,
        )
    if name in FRESH_SPLIT_DATASETS:
        X_all = pd.concat([X_dev, X_h])
        y_all = np.concatenate([y_dev, y_h])
        out["fresh_splits"] = policy.fresh_split_chance(build, X_all, y_all, target, quiet=quiet)
    if name == "german":
        approval = m["policy_holdout"]["approval_rate"]
        out["reject_inference"] = evidence.reject_inference(
            build, X_dev=X_dev, y_dev=y_dev, X_hold=X_h, y_hold=y_h, approval_rate=approval
        )
        out["amount_mapping"] = evidence.amount_mapping(run.fitted["scorecard"])
    if name in NESTED_GRID:
        out["nested_cv"] = {
            **evidence.nested_cv(spec.features, NESTED_GRID[name], X_dev, y_dev, quiet=quiet),
            "published_non_nested_auc_mean": m["cv"]["auc_mean"],
        }
    return out


def points_table(card: Scorecard, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The published points table against serving: base + the bins' points == the score
    for every row (issue 12, point 7), and how far the integer table sits from the exact
    scaled score offset - factor * ln(bad odds)."""
    table = {f.name: {b.label: b.points for b in (*f.bins, f.missing)} for f in card.features}
    off, gaps = 0, []
    for r in rows:
        s = card.score(r)
        if card.base_points + sum(table[k][v] for k, v in s.bins.items()) != s.points:
            off += 1
        gaps.append(s.points - card.exact_points(s.probability_of_default))
    g = np.array(gaps)
    return {
        "base_points": card.base_points,
        "rows_checked": len(rows),
        "rows_where_table_differs_from_score": off,
        "score_minus_exact_mean": round(float(g.mean()), 3),
        "score_minus_exact_max_abs": round(float(np.abs(g).max()), 3),
        "rule": "score = base_points + the integer points of each feature's bin",
    }


NO_DRIFT_WINDOWS = 200
NO_DRIFT_N = 100


def monitoring_figures(
    artefact: dict[str, Any], card: Scorecard, X_dev: pd.DataFrame
) -> dict[str, Any]:
    """The weekly PSI check replayed on the development rows themselves (no drift by
    construction): PSI with missing in its own bin (and without, as before), and how often
    windows of 100 of those rows report "watch" (issue 12, point 4)."""
    live = [
        LiveScore(card.version, s.probability_of_default, s.bins)
        for s in map(card.score, X_dev.to_dict("records"))
    ]
    t = datetime(2000, 1, 1, tzinfo=UTC)

    def report(ref: Reference, scores: list[LiveScore]) -> StabilityReport:
        return stability_report(ref, scores, window_start=t, window_end=t)

    ref = Reference.from_artefact(artefact)
    unmissing = {
        **artefact,
        "features": [
            {**f, "missing": {k: v for k, v in f["missing"].items() if not k.startswith("n_")}}
            for f in artefact["features"]
        ],
    }
    full, before = report(ref, live), report(Reference.from_artefact(unmissing), live)
    rng = np.random.default_rng(validation.SEED)
    windows = [
        report(ref, [live[i] for i in rng.integers(0, len(live), NO_DRIFT_N)])
        for _ in range(NO_DRIFT_WINDOWS)
    ]

    def old_rule(r: StabilityReport) -> bool:
        return (r.score_psi or 0.0) > 0.10 or any(v > 0.25 for v in r.feature_psi.values())

    return {
        "replay_development_rows": {
            "n": full.n_decisions,
            "status": full.status(),
            "score_psi": None if full.score_psi is None else round(full.score_psi, 4),
            "feature_psi": {k: round(v, 4) for k, v in sorted(full.feature_psi.items())},
            "max_feature_psi_missing_without_share_as_before": before.max_feature_psi
            and round(before.max_feature_psi, 4),
            "feature_psi_missing_without_share_as_before": {
                k: round(v, 4) for k, v in sorted(before.feature_psi.items())
            },
        },
        "no_drift_windows": {
            "windows": NO_DRIFT_WINDOWS,
            "n": NO_DRIFT_N,
            "seed": validation.SEED,
            "share_reporting_watch_or_alarm": round(
                sum(w.status() != "stable" for w in windows) / NO_DRIFT_WINDOWS, 4
            ),
            "share_alarm": round(sum(w.alarm for w in windows) / NO_DRIFT_WINDOWS, 4),
            "share_flagged_by_fixed_levels_as_before": round(
                sum(old_rule(w) for w in windows) / NO_DRIFT_WINDOWS, 4
            ),
            "levels_at_n": windows[0].to_json()["levels"],
        },
    }


def run_vintages(frame: Frame, X_hold: pd.DataFrame) -> np.ndarray:
    assert frame.vintage is not None
    out: np.ndarray = frame.vintage[np.asarray(X_hold.index)]
    return out


def _champion_on_holdout(
    run: DatasetRun, registry: ModelRegistry, family: str
) -> tuple[ModelRecord, np.ndarray | None] | None:
    """The family's champion and its PDs on this run's holdout, when it was developed on the
    same development rows (same data set and seeded split): only then is a paired
    comparison on this holdout clean. A champion trained on other rows (the packaged German
    card saw all 1,000, holdout included) gets None: its holdout AUC would be in-sample."""
    current = champion(registry, family)
    if current is None:
        return None
    blob = registry.artefact(family, current.version)
    theirs = json.loads(blob).get("dataset", {})
    mine = run.artefacts["scorecard"]["dataset"]
    same = all(theirs.get(k) == mine.get(k) for k in ("name", "split", "rows_total", "rows_dev"))
    if not same:
        return current, None
    model = load_model(current, blob)
    assert run.X_hold is not None
    n_recal = len(run.y_hold) - run.results["dataset"]["rows_holdout"]
    rows = run.X_hold.iloc[n_recal:].to_dict("records")
    return current, np.array([model.probability_of_default(r) for r in rows])


def register(
    run: DatasetRun, registry: ModelRegistry, created_at: datetime, *, family: str | None = None
) -> list[ModelRecord]:
    """Every new version enters as a challenger (shadow), unless its holdout AUC is below
    SHADOW_AUC_FLOOR: then it is registered retired (kept for the record, never scored).
    The scorecard carries the promotion gate's evidence (lending.modelling.validation),
    paired against the current champion where that is clean; `promote` decides."""
    name = family or f"admission-{run.name}"
    n_recal = len(run.y_hold) - run.results["dataset"]["rows_holdout"]
    evidence = dict(run.results["models"]["scorecard"].get("gate_evidence", {}))
    notes: dict[str, str] = {}
    compared = _champion_on_holdout(run, registry, name)
    if compared is not None and compared[1] is not None:
        evidence = validation.gate_evidence(
            run.y_hold[n_recal:], run.p_hold["scorecard"][n_recal:], compared[1]
        )
        notes["compared_with"] = compared[0].version
    elif compared is not None:
        notes["not_compared_with"] = compared[0].version
        notes["why_not_compared"] = "champion developed on other rows than this split"
    out = []
    for algo in ALGORITHMS:
        art = run.artefacts[algo]
        blob = json.dumps(art, ensure_ascii=False).encode()
        entry = run.results["models"][algo]
        auc = entry["holdout"]["auc"]
        role: Role = "challenger" if auc >= SHADOW_AUC_FLOOR else "retired"
        record = ModelRecord(
            family=name,
            version=art["version"],
            algorithm=algo,
            role=role,
            sha256=sha256_hex(blob),
            created_at=created_at.isoformat(timespec="seconds"),
            metrics={
                "holdout_auc": auc,
                "holdout_ks": entry["holdout"]["ks"],
                "holdout_brier": entry["holdout"]["brier"],
                "cv_auc": entry["cv"]["auc_mean"],
                "score_psi": entry["score_psi"],
                **(evidence if algo == "scorecard" else {}),
            },
            notes={
                **(notes if algo == "scorecard" else {}),
                **(
                    {"retired_because": f"holdout AUC {auc:.4f} < {SHADOW_AUC_FLOOR}"}
                    if role == "retired"
                    else {}
                ),
            },
        )
        registry.register(record, blob)
        out.append(record)
    return out


def local_registry(root: str) -> LocalModelRegistry:
    from pathlib import Path

    return LocalModelRegistry(Path(root))
