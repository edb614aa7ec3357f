"""Evidence for the promotion gate (lending.scoring.registry.promotion_gate), from a holdout.

All by a seeded bootstrap of the holdout rows (multinomial weights, so every statistic of
one resample sees the same rows), vectorised in numpy:

- the candidate's AUC with its 95% interval, and, against a champion scored on the same
  rows, the paired AUC difference with its 95% interval;
- calibration: ECE over PD deciles (as lending.modelling.metrics reports it) against the
  ECE a perfectly calibrated model shows on this many rows (consistency resampling: outcomes
  drawn from the model's own PDs; the limit is its 99th percentile, or ECE_TOLERANCE when
  that is larger), and the calibration slope (logistic regression of the outcome on the
  PD's logit) with its 99% interval.

The gate reads these as the registry record's metrics; nothing here decides.
"""

from __future__ import annotations

import numpy as np

from lending.scoring.registry import ECE_TOLERANCE

N_BOOT = 1000
SEED = 20240601
ECE_BINS = 10
MAX_CELLS = 2_000_000  # resamples x rows held at once


def _weights(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap resamples as counts per row (n_boot x n)."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)


def weighted_auc(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AUC (ties count half) of each weight row of ``w`` (k x n): Mann-Whitney on weights."""
    values, inverse = np.unique(p, return_inverse=True)
    u = len(values)
    bad = np.zeros((w.shape[0], u))
    good = np.zeros((w.shape[0], u))
    np.add.at(bad.T, inverse[y == 1], w[:, y == 1].T)
    np.add.at(good.T, inverse[y == 0], w[:, y == 0].T)
    below = np.cumsum(good, axis=1) - good
    pairs = bad.sum(axis=1) * good.sum(axis=1)
    out: np.ndarray = (bad * (below + 0.5 * good)).sum(axis=1) / np.where(pairs > 0, pairs, np.nan)
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    c = np.clip(p, 1e-9, 1 - 1e-9)
    out: np.ndarray = np.log(c / (1 - c))
    return out


def calibration_slope(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Slope b of logit P(bad) = a + b * logit(PD) per weight row (Newton, vectorised)."""
    x = _logit(p)
    k = w.shape[0]
    a = np.zeros(k)
    b = np.ones(k)
    for _ in range(25):
        mu = 1.0 / (1.0 + np.exp(-np.clip(a[:, None] + b[:, None] * x, -30.0, 30.0)))
        r = w * (y - mu)
        v = w * mu * (1 - mu)
        g0, g1 = r.sum(axis=1), (r * x).sum(axis=1)
        h00, h01, h11 = v.sum(axis=1), (v * x).sum(axis=1), (v * x * x).sum(axis=1)
        det = h00 * h11 - h01 * h01
        det = np.where(np.abs(det) > 1e-12, det, np.nan)
        da = np.clip((h11 * g0 - h01 * g1) / det, -5.0, 5.0)
        db = np.clip((h00 * g1 - h01 * g0) / det, -5.0, 5.0)
        a, b = a + np.nan_to_num(da), b + np.nan_to_num(db)
        if not (np.abs(np.concatenate([da, db])) >= 1e-10).any():  # converged (or stuck)
            break
    return b


def ece(y: np.ndarray, p: np.ndarray) -> float:
    """Count-weighted |mean PD - bad rate| over equal-count PD deciles (metrics.summary's)."""
    order = np.argsort(p, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, ECE_BINS):
        if chunk.size:
            total += abs(float(p[chunk].sum()) - float(y[chunk].sum()))
    return total / len(y)


def ece_null_quantile(
    p: np.ndarray, q: float = 0.99, n_boot: int = N_BOOT, seed: int = SEED
) -> float:
    """The ECE a perfectly calibrated model exceeds with probability 1 - q on these PDs."""
    rng = np.random.default_rng(seed)
    chunks = [c for c in np.array_split(np.argsort(p, kind="stable"), ECE_BINS) if c.size]
    per_chunk = max(1, MAX_CELLS // len(p))
    values = []
    for start in range(0, n_boot, per_chunk):
        draws = rng.random((min(per_chunk, n_boot - start), len(p))) < p
        total = sum(np.abs(p[c].sum() - draws[:, c].sum(axis=1)) for c in chunks)
        values.append(np.asarray(total) / len(p))
    return float(np.quantile(np.concatenate(values), q))


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2
    lo, hi = np.nanquantile(values, [tail, 1 - tail])
    return float(lo), float(hi)


def gate_evidence(
    y: np.ndarray,
    p: np.ndarray,
    champion_p: np.ndarray | None = None,
    *,
    n_boot: int = N_BOOT,
    seed: int = SEED,
) -> dict[str, float]:
    """The metrics the promotion gate reads, rounded for the record."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    c = None if champion_p is None else np.asarray(champion_p, dtype=float)
    rng = np.random.default_rng(seed)
    aucs, diffs, slopes = [], [], []
    per_chunk = max(1, MAX_CELLS // len(y))  # bounded memory on large holdouts
    for start in range(0, n_boot, per_chunk):
        w = _weights(len(y), min(per_chunk, n_boot - start), rng)
        a = weighted_auc(y, p, w)
        aucs.append(a)
        slopes.append(calibration_slope(y, p, w))
        if c is not None:
            diffs.append(a - weighted_auc(y, c, w))
    ones = np.ones((1, len(y)))
    auc = float(weighted_auc(y, p, ones)[0])
    auc_lo, auc_hi = _interval(np.concatenate(aucs), 0.95)
    slope = float(calibration_slope(y, p, ones)[0])
    slope_lo, slope_hi = _interval(np.concatenate(slopes), 0.99)
    out = {
        "holdout_auc": round(auc, 4),
        "holdout_auc_lo": round(auc_lo, 4),
        "holdout_auc_hi": round(auc_hi, 4),
        "holdout_ece": round(ece(y, p), 5),
        "holdout_ece_limit": round(max(ECE_TOLERANCE, ece_null_quantile(p, seed=seed)), 5),
        "calibration_slope": round(slope, 4),
        "calibration_slope_lo": round(slope_lo, 4),
        "calibration_slope_hi": round(slope_hi, 4),
        "evidence_rows": float(len(y)),
    }
    if c is not None:
        lo, hi = _interval(np.concatenate(diffs), 0.95)
        out["auc_diff"] = round(auc - float(weighted_auc(y, c, ones)[0]), 4)
        out["auc_diff_lo"] = round(lo, 4)
        out["auc_diff_hi"] = round(hi, 4)
    return out
