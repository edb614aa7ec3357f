"""Model report: one PNG per data set (ROC, KS, score distribution by outcome, calibration,
approval rate vs bad rate) plus an HTML page and reports/models.json with every figure."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_curve

from lending.modelling.pipeline import ALGORITHMS, DatasetRun


def approval_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Approving the lowest-PD share a of applicants: bad rate among the approved."""
    order = np.argsort(p, kind="stable")
    n = np.arange(1, len(y) + 1)
    return n / len(y), np.cumsum(y[order]) / n


def plot_run(run: DatasetRun, out: Path) -> Path:  # noqa: PLR0915 - six panels, one figure
    y = run.y_hold
    n_recal = len(y) - run.results["dataset"]["rows_holdout"]
    y = y[n_recal:]
    fig, axes = plt.subplots(2, 3, figsize=(15, 9))
    ax_roc, ax_ks, ax_dist, ax_cal, ax_appr, ax_cut = axes.ravel()
    for algo in ALGORITHMS:
        p = run.p_hold[algo][n_recal:]
        auc = run.results["models"][algo]["holdout"]["auc"]
        fpr, tpr, _ = roc_curve(y, p)
        ax_roc.plot(fpr, tpr, label=f"{algo} AUC {auc:.3f}")
        cal = run.results["models"][algo]["holdout"]["calibration"]
        ax_cal.plot([c["mean_pd"] for c in cal], [c["bad_rate"] for c in cal], "o-", label=algo)
        a, b = approval_curve(y, p)
        ax_appr.plot(a, b, label=algo)
        if f"{algo}:recalibrated" in run.p_hold:
            rc = run.results["models"][algo]["holdout_recalibrated"]["calibration"]
            ax_cal.plot(
                [c["mean_pd"] for c in rc],
                [c["bad_rate"] for c in rc],
                "x--",
                label=f"{algo} recalibrated",
            )
    ax_roc.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax_roc.set(title="ROC (holdout)", xlabel="false positive rate", ylabel="true positive rate")
    ax_roc.legend(fontsize=8)
    # KS of the champion scorecard: cumulative shares of bads and goods by PD.
    p = run.p_hold["scorecard"][n_recal:]
    order = np.argsort(-p, kind="stable")
    cb = np.cumsum(y[order]) / max(1, y.sum())
    cg = np.cumsum(1 - y[order]) / max(1, (1 - y).sum())
    k = int(np.argmax(cb - cg))
    share = np.arange(1, len(y) + 1) / len(y)
    ax_ks.plot(share, cb, label="bads")
    ax_ks.plot(share, cg, label="goods")
    ax_ks.vlines(
        share[k], cg[k], cb[k], colors="k", linestyles="--", label=f"KS {cb[k] - cg[k]:.3f}"
    )
    ax_ks.set(title="KS, scorecard (holdout, riskiest first)", xlabel="share of applicants")
    ax_ks.legend(fontsize=8)
    scaling = run.artefacts["scorecard"]["scaling"]
    points = scaling["offset"] - scaling["factor"] * np.log(p / (1 - p))
    bins = np.linspace(np.percentile(points, 0.5), np.percentile(points, 99.5), 40)
    ax_dist.hist(points[y == 0], bins=bins, alpha=0.6, density=True, label="good")
    ax_dist.hist(points[y == 1], bins=bins, alpha=0.6, density=True, label="bad")
    ax_dist.set(title="Scorecard points by outcome (600 @ 50:1, PDO 20)", xlabel="points")
    ax_dist.legend(fontsize=8)
    top = max(c["bad_rate"] for c in run.results["models"]["scorecard"]["holdout"]["calibration"])
    ax_cal.plot([0, top], [0, top], "k:", lw=0.8)
    ax_cal.set(title="Calibration (PD deciles)", xlabel="mean predicted PD", ylabel="bad rate")
    ax_cal.legend(fontsize=8)
    ax_appr.set(title="Approval rate vs bad rate among approved", xlabel="approval rate")
    ax_appr.legend(fontsize=8)
    rows = run.results["models"]["scorecard"]["policy_oof_alternatives"]
    ax_cut.plot(
        [r["approval_rate"] for r in rows],
        [r["bad_rate_approved"] for r in rows],
        "o-",
        label="bad | approved",
    )
    ax_cut.plot(
        [r["approval_rate"] for r in rows],
        [r["automation_share"] for r in rows],
        "s-",
        label="automation share",
    )
    ax_cut.axhline(0.8, color="k", ls=":", lw=0.8)
    ax_cut.set(title="Scorecard cut-off alternatives (OOF)", xlabel="approval rate")
    ax_cut.legend(fontsize=8)
    fig.suptitle(run.spec.title)
    fig.tight_layout()
    path = out / f"{run.name}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _table(rows: list[list[Any]], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def write_report(runs: list[DatasetRun], out_dir: Path, summary: dict[str, Any]) -> Path:
    fig_dir = out_dir / "models"
    fig_dir.mkdir(parents=True, exist_ok=True)
    parts = [
        "<html><head><meta charset='utf-8'><title>Admission models</title><style>"
        "body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:3px 8px}"
        "table{border-collapse:collapse;margin:1em 0}</style></head><body>",
        "<h1>Admission models: scorecard champion, forest and boosting challengers</h1>",
    ]
    for run in runs:
        png = plot_run(run, fig_dir)
        res = run.results
        parts.append(f"<h2>{html.escape(run.spec.title)}</h2>")
        parts.append(f"<p>{html.escape(json.dumps(res['dataset']))}</p>")
        rows = []
        for algo in ALGORITHMS:
            m = res["models"][algo]
            cv, h, pol = m["cv"], m["holdout"], m["policy_holdout"]
            rows.append(
                [
                    algo,
                    f"{cv['auc_mean']:.4f} ± {cv['auc_std']:.4f}",
                    h["auc"],
                    h["ks"],
                    h["gini"],
                    h["brier"],
                    h["ece"],
                    m["score_psi"],
                    f"{m['cutoffs']['approve_pd_below']:.4f} / "
                    f"{m['cutoffs']['decline_pd_above']:.4f}",
                    f"{pol['automation_share']:.1%}",
                    f"{pol['approval_rate']:.1%}",
                    f"{pol['bad_rate_approved']:.1%}",
                    f"{m['parity_max_abs_diff']:.1e}",
                ]
            )
        parts.append(
            _table(
                rows,
                [
                    "model",
                    "CV AUC",
                    "holdout AUC",
                    "KS",
                    "Gini",
                    "Brier",
                    "ECE",
                    "score PSI",
                    "approve< / decline>",
                    "automated",
                    "approved",
                    "bad|approved",
                    "serving parity",
                ],
            )
        )
        if "holdout_recalibrated" in res["models"]["scorecard"]:
            rec = [
                [
                    a,
                    res["models"][a]["holdout"]["mean_pd"],
                    res["models"][a]["holdout"]["ece"],
                    res["models"][a]["holdout"]["brier"],
                    res["models"][a]["holdout_recalibrated"]["mean_pd"],
                    res["models"][a]["holdout_recalibrated"]["ece"],
                    res["models"][a]["holdout_recalibrated"]["brier"],
                    res["dataset"]["bad_rate_holdout"],
                ]
                for a in ALGORITHMS
            ]
            parts.append("<h3>Out-of-time calibration before / after recalibration</h3>")
            parts.append(
                _table(
                    rec,
                    [
                        "model",
                        "mean PD",
                        "ECE",
                        "Brier",
                        "mean PD (recal)",
                        "ECE (recal)",
                        "Brier (recal)",
                        "bad rate",
                    ],
                )
            )
        psi_rows = sorted(res["feature_psi"].items(), key=lambda kv: -kv[1])
        parts.append(
            "<h3>Feature PSI, development → holdout</h3>"
            + _table([list(r) for r in psi_rows], ["feature", "PSI"])
        )
        parts.append(f"<img src='{png.name}' width='100%'>")
    parts.append("</body></html>")
    page = fig_dir / "index.html"
    page.write_text("\n".join(parts), "utf-8")
    (out_dir / "models.json").write_text(json.dumps(summary, indent=1) + "\n", "utf-8")
    return page
