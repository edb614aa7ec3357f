"""``lending`` command line: model development and the model registry.

  lending models train    [--datasets german,bloan,sba,credit_data,lending_club]
                          [--registry DIR] [--reports DIR]
  lending models evaluate [--datasets ...] [--reports DIR]        (no registration)
  lending models promote  --family admission-german (--version V | --best) --by WHO
                          [--why WHY] [--force]   (who and why are recorded)
  lending models list     --family admission-german
  lending models retrain  --family admission-german [--force] [--registry DIR|aws]
                          (what the scheduled retrain function runs: only if the champion
                          is older than 90 days unless --force; the promotion gate decides)

Training is seeded and single-threaded (n_jobs=1). The registry defaults to a local
directory; the deployed registry (S3 + DynamoDB) is reached with ``--registry aws``, using
the same settings as the functions (MODEL_REGISTRY_TABLE, DOCUMENTS_BUCKET, region).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lending.scoring.registry import LocalModelRegistry, ModelRegistry, champion, promote

DEFAULT_REGISTRY = Path("reports/registry")
DEFAULT_REPORTS = Path("reports")


def _registry(where: str) -> ModelRegistry:
    if where == "aws":
        from lending.aws import wiring

        return wiring.model_registry()
    return LocalModelRegistry(Path(where))


def _datasets(raw: str) -> list[str]:
    from lending.modelling.datasets import DATASETS, available

    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise SystemExit(f"unknown data set(s): {unknown}; known: {sorted(DATASETS)}")
    keep = []
    for n in names:
        if available(n):
            keep.append(n)
        else:
            print(f"skipping {n}: its data package is not installed", file=sys.stderr)
    return keep


def _fmt_run(name: str, res: dict[str, Any]) -> str:
    lines = [f"== {name}: {res['dataset']['name']}  ({res['dataset']['split']})"]
    lines.append(
        "  model              CV AUC          hold AUC  KS      Gini    Brier    ECE      "
        "PSI     approve<  decline>  auto    approved  bad|appr"
    )
    for algo, m in res["models"].items():
        cv, h, pol = m["cv"], m["holdout"], m["policy_holdout"]
        lines.append(
            f"  {algo:18s} {cv['auc_mean']:.4f}±{cv['auc_std']:.4f}  {h['auc']:.4f}    "
            f"{h['ks']:.4f}  {h['gini']:.4f}  {h['brier']:.5f}  {h['ece']:.5f}  "
            f"{m['score_psi']:.4f}  {m['cutoffs']['approve_pd_below']:.4f}    "
            f"{m['cutoffs']['decline_pd_above']:.4f}    {pol['automation_share']:6.1%}  "
            f"{pol['approval_rate']:6.1%}    {pol['bad_rate_approved']:6.1%}"
        )
        if "holdout_recalibrated" in m:
            r = m["holdout_recalibrated"]
            lines.append(
                f"  {'':18s} OOT calibration: mean PD {h['mean_pd']:.4f} ECE {h['ece']:.4f} -> "
                f"recalibrated mean PD {r['mean_pd']:.4f} ECE {r['ece']:.4f} "
                f"(bad rate {res['dataset']['bad_rate_holdout']:.4f})"
            )
    return "\n".join(lines)


def cmd_train(args: argparse.Namespace, *, register: bool) -> int:
    from tqdm import tqdm

    from lending.modelling import pipeline
    from lending.modelling.report import write_report

    now = datetime.now(UTC).replace(microsecond=0)
    names = _datasets(args.datasets)
    runs = []
    summary: dict[str, Any] = {"generated_at": now.isoformat(), "datasets": {}}
    for name in tqdm(names, desc="data sets", unit="set"):
        run = pipeline.run_dataset(name, now=now)
        runs.append(run)
        summary["datasets"][name] = run.results
        print(_fmt_run(name, run.results))
        if register:
            records = pipeline.register(run, _registry(args.registry), now)
            print(f"  registered as challengers: {[r.version for r in records]}")
    page = write_report(runs, Path(args.reports), summary)
    print(f"report: {page}  figures: {Path(args.reports) / 'models.json'}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    if args.force and not args.why:
        raise SystemExit("a forced promotion says why: --why")
    registry = _registry(args.registry)
    records = registry.records(args.family)
    if not records:
        raise SystemExit(f"nothing registered for {args.family}")
    version = args.version
    if args.best:
        cards = [r for r in records if r.algorithm == "scorecard"]
        version = max(
            cards, key=lambda r: (r.metrics.get("holdout_auc", 0.0), r.created_at)
        ).version
    if not version:
        raise SystemExit("give --version or --best")
    current = champion(registry, args.family)
    result = promote(
        registry, args.family, version, force=args.force, actor=args.by, reason=args.why
    )
    print(f"{args.family}: {version} vs champion {current.version if current else None}")
    for reason in result.reasons:
        print("  " + reason)
    print("promoted" if result.passed else "NOT promoted (gate failed)")
    return 0 if result.passed else 1


def cmd_list(args: argparse.Namespace) -> int:
    for r in _registry(args.registry).records(args.family):
        print(json.dumps(r.to_json()))
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    from lending.modelling.retrain import Retrainer
    from lending.ports import SystemClock

    retrainer = Retrainer(_registry(args.registry), SystemClock(), max_age_days=args.max_age_days)
    outcome = retrainer.run(args.family, force=args.force, dataset=args.dataset)
    print(json.dumps(outcome.to_json(), indent=1))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lending", description=__doc__.splitlines()[0])
    top = parser.add_subparsers(dest="group", required=True)
    models = top.add_parser("models", help="train, evaluate and promote admission models")
    sub = models.add_subparsers(dest="command", required=True)
    for name in ("train", "evaluate"):
        p = sub.add_parser(name)
        p.add_argument("--datasets", default="german,bloan,sba,credit_data,lending_club")
        p.add_argument("--reports", default=str(DEFAULT_REPORTS))
        p.add_argument("--registry", default=str(DEFAULT_REGISTRY), help="a directory or 'aws'")
    p = sub.add_parser("promote")
    p.add_argument("--family", required=True)
    p.add_argument("--version")
    p.add_argument("--best", action="store_true", help="the scorecard with the best holdout AUC")
    p.add_argument("--force", action="store_true", help="override a failed gate (audited)")
    p.add_argument("--by", required=True, help="who promotes (recorded with the promotion)")
    p.add_argument("--why", default="", help="why (recorded; required with --force)")
    p.add_argument("--registry", default=str(DEFAULT_REGISTRY))
    p = sub.add_parser("list")
    p.add_argument("--family", required=True)
    p.add_argument("--registry", default=str(DEFAULT_REGISTRY))
    p = sub.add_parser("retrain")
    p.add_argument("--family", required=True)
    p.add_argument("--dataset", help="data set to train on (default: from the family name)")
    p.add_argument("--force", action="store_true", help="retrain whatever the champion's age")
    p.add_argument("--max-age-days", type=int, default=90)
    p.add_argument("--registry", default=str(DEFAULT_REGISTRY))
    args = parser.parse_args(argv)
    if args.command == "train":
        return cmd_train(args, register=True)
    if args.command == "evaluate":
        return cmd_train(args, register=False)
    if args.command == "promote":
        return cmd_promote(args)
    if args.command == "retrain":
        return cmd_retrain(args)
    return cmd_list(args)


if __name__ == "__main__":
    raise SystemExit(main())
