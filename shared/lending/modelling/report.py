"""Model report: one PNG per data set (ROC, KS, score distribution by outcome, calibration,
approval rate vs bad rate) plus an HTML page and reports/models.json with every figure."""

from __future__ import annotations

import html
import json
import math
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


def plot_bins(run: DatasetRun, out: Path) -> Path:
    """One bar chart per scorecard feature: bad rate per bin (bars) and WOE (line), the
    business constraint in the title and the number of overrides of the data."""
    bins = run.results["validation"]["bins"]
    cols = 4
    rows = math.ceil(len(bins) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    for ax, f in zip(axes.ravel(), bins, strict=False):
        x = np.arange(len(f["bins"]))
        ax.bar(x, [b["bad_rate"] for b in f["bins"]], color="#4c72b0" if f["kept"] else "#bbb")
        ax.set_xticks(x, [b["label"][:18] for b in f["bins"]], rotation=35, ha="right", fontsize=6)
        ax.set_ylabel("bad rate", fontsize=7)
        twin = ax.twinx()
        twin.plot(x, [b["woe"] for b in f["bins"]], "k.-", lw=0.8)
        twin.tick_params(labelsize=6)
        kind = f["constraint"].split(":")[0]
        flag = f", {len(f['overrides'])} override(s)" if f["overrides"] else ""
        kept = "" if f["kept"] else ", dropped"
        ax.set_title(f"{f['feature'][:30]}\nIV {f['iv']:.3f}, {kind}{flag}{kept}", fontsize=7)
    for ax in axes.ravel()[len(bins) :]:
        ax.axis("off")
    fig.suptitle(f"{run.spec.title}: scorecard bins and their constraints", fontsize=10)
    fig.tight_layout()
    path = out / f"{run.name}-bins.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _spread(b: dict[str, float]) -> str:
    return f"{b['mean']:.1%} ± {b['std']:.1%} ({b['min']:.1%}-{b['max']:.1%})"


def _chance(c: dict[str, Any]) -> str:
    lo, hi = c["wilson_95"]
    return f"{c['met']}/{c['of']} ({lo:.0%}-{hi:.0%})"


def validation_section(run: DatasetRun, bins_png: Path) -> str:
    """The report's validation section of one data set (issue 12)."""
    v = run.results["validation"]
    parts = [f"<h3>Validation: {html.escape(run.name)} scorecard</h3>"]
    rc = v["repeated_cv"]
    parts.append(
        f"<p>Repeated CV: {rc['repeats']} x {rc['n_splits']}-fold, fold AUC "
        f"{rc['fold_auc_mean']:.4f} ± {rc['fold_auc_std']:.4f} (95% of folds "
        f"{rc['fold_auc_95'][0]:.4f}-{rc['fold_auc_95'][1]:.4f}); holdout AUC "
        f"{run.results['models']['scorecard']['holdout']['auc']:.4f}.</p>"
    )
    ch = v["policy_chance"]
    parts.append(
        "<h4>The policy's chance of meeting each target</h4>"
        + _table(
            [
                [
                    f"bad rate among auto-approved <= {ch['target_bad_rate_approved']:.1%}",
                    _chance(ch["chance_bad_rate_within_target"]),
                    f"{ch['bad_rate_approved']['mean']:.1%} (5-95%: "
                    f"{ch['bad_rate_approved']['p05']:.1%}-{ch['bad_rate_approved']['p95']:.1%})",
                    f"{ch['long_run_probability_bad_rate_within_target']:.0%}",
                ],
                [
                    f"automatic decisions >= {ch['automation_floor']:.0%}",
                    _chance(ch["chance_automation_at_floor"]),
                    f"{ch['automation_share']['mean']:.1%} (5-95%: "
                    f"{ch['automation_share']['p05']:.1%}-{ch['automation_share']['p95']:.1%})",
                    "",
                ],
            ],
            [
                "target",
                f"met in test folds of {ch['batch_rows']} (Wilson 95%)",
                "per fold",
                "long run P(met)",
            ],
        )
    )
    if "fresh_splits" in v:
        fs = v["fresh_splits"]
        rows = [
            [
                key.replace("_", " "),
                _chance(fs[key]["chance_bad_rate_within_target"]),
                _spread(fs[key]["bad_rate_approved"]),
                _chance(fs[key]["chance_automation_at_floor"]),
                _pct(fs[key]["approval_rate"]["mean"]),
            ]
            for key in ("single_cv", "repeated_cv")
        ]
        parts.append(
            f"<h4>The procedure on {fs['splits']} fresh 80/20 splits (judged on the 20%)</h4>"
            + _table(
                rows,
                [
                    "cut-offs from",
                    "bad|approved within target",
                    "bad|approved",
                    "automation at floor",
                    "approved",
                ],
            )
        )
    cal = v["calibration"]
    parts.append(
        f"<p>Calibration on the holdout: ECE {cal['holdout_ece']:.4f} (limit "
        f"{cal['holdout_ece_limit']:.4f}), slope {cal['calibration_slope']:.3f} (99%: "
        f"{cal['calibration_slope_99'][0]:.3f}-{cal['calibration_slope_99'][1]:.3f}).</p>"
    )
    brows = [
        [
            f["feature"],
            f["iv"],
            "yes" if f["kept"] else "no",
            f["constraint"],
            "; ".join(f["overrides"]),
        ]
        for f in v["bins"]
    ]
    parts.append(
        "<h4>Bins, their constraints and every override</h4>"
        + _table(brows, ["feature", "IV", "scored", "constraint", "overrides of the data"])
    )
    if "constraint_cost" in v:
        cc = v["constraint_cost"]
        parts.append(
            "<h4>Cost of the constraints</h4>"
            + _table(
                [
                    [
                        k.replace("_", " "),
                        f"{c['cv_auc_mean']:.4f} ± {c['cv_auc_std']:.4f}",
                        c["holdout_auc"],
                        _pct(c["oof_approval_rate_at_target"]),
                    ]
                    for k, c in cc.items()
                ],
                ["bins", "5-fold CV AUC", "holdout AUC", "approval rate at the target (OOF)"],
            )
        )
    parts.append(f"<img src='{bins_png.name}' width='100%'>")
    if "reject_inference" in v:
        ri = v["reject_inference"]
        parts.append(
            "<h4>Reject inference</h4><p>"
            + html.escape(
                f"{ri['method']}. Simulated previous policy ({ri['previous_policy']}) declines "
                f"{ri['declined_share']:.0%} of development rows; their true bad rate "
                f"{ri['rejects_true_bad_rate']:.1%}, parcelled "
                f"{ri['rejects_parcelled_bad_rate']:.1%}, the accepts-only model's mean PD for "
                f"them {ri['rejects_kgb_mean_pd']:.1%}."
            )
            + "</p>"
            + _table(
                [
                    [
                        k.replace("_", " "),
                        ri[k]["holdout_auc"],
                        _pct(ri[k]["holdout_mean_pd"]),
                        _pct(ri[k]["holdout_bad_rate_among_approved"]),
                    ]
                    for k in ("known_good_bad", "with_reject_inference", "full_information")
                ],
                [
                    "model",
                    "holdout AUC",
                    f"mean PD (bad rate {ri['holdout_bad_rate']:.1%})",
                    f"bad|approved at {ri['approval_rate']:.0%} approved",
                ],
            )
        )
    if v.get("age_bands"):
        parts.append(
            f"<h4>Age</h4><p>{html.escape(v['age_policy'])}</p>"
            + _table(
                [
                    [b["band"], b["rows"], _pct(b["approval_rate"]), _pct(b["mean_pd"])]
                    for b in v["age_bands"]["bands"]
                ],
                ["age", "rows", "approved (OOF)", "mean PD"],
            )
        )
    if "amount_mapping" in v:
        am = v["amount_mapping"]
        parts.append(
            "<h4>Our amounts on the training population</h4>"
            + _table(
                [
                    [lab, _pct(a), _pct(b), _pct(g)]
                    for lab, a, b, g in zip(
                        am["bins"],
                        am["applicant_share_per_bin_read_1_to_1_as_before"],
                        am["applicant_share_per_bin_quantile_mapped"],
                        am["german_share_per_bin"],
                        strict=True,
                    )
                ],
                [
                    "amount bin (DM)",
                    "our applicants, yuan read as DM (before)",
                    "quantile-mapped (now)",
                    "German rows",
                ],
            )
        )
    if "nested_cv" in v:
        nc = v["nested_cv"]
        parts.append(
            f"<p>Nested CV (binning settings chosen inside each outer fold from {nc['grid']}): "
            f"AUC {nc['auc_mean']:.4f} ± {nc['auc_std']:.4f}; the published non-nested figure "
            f"{nc['published_non_nested_auc_mean']:.4f}; chosen per fold: "
            f"{html.escape(str([f['chosen'] for f in nc['folds']]))}.</p>"
        )
    return "\n".join(parts)


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
        if "validation" in res:
            parts.append(validation_section(run, plot_bins(run, fig_dir)))
    parts.append("</body></html>")
    page = fig_dir / "index.html"
    page.write_text("\n".join(parts), "utf-8")
    (out_dir / "models.json").write_text(json.dumps(summary, indent=1) + "\n", "utf-8")
    return page
