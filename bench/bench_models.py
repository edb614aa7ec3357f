"""Serving cost of the three admission models per application, and scoring cold start.

Run: make bench-models  (or python bench/bench_models.py) -- single-threaded, no assertions.
Writes reports/models-bench.json: p50/p99 per application for the scorecard, forest and
boosting scorers (plain Python, from their JSON artefacts) and all three together, the
scikit-learn DataFrame pipelines' per-row time side by side, and the cold start (import +
load of all three artefacts) measured in fresh interpreters.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lending.modelling import scorecard_training as sc
from lending.modelling.challengers import export_ensemble
from lending.modelling.datasets import DATASETS, available
from lending.modelling.pipeline import ALGORITHMS, builders
from lending.scoring.decision import DecisionPolicy
from lending.scoring.registry import as_shadow, shadow_scores
from lending.scoring.scorecard import Scorecard
from lending.scoring.trees import TreeEnsemble

OUT = Path("reports/models-bench.json")
ART_DIR = Path("reports/bench-artefacts")
N_APPS = 2000
SKLEARN_ROWS = 200
COLD_RUNS = 5

COLD = """
import time, json, sys
t0 = time.perf_counter()
from lending.scoring.scorecard import Scorecard
from lending.scoring.trees import TreeEnsemble
t1 = time.perf_counter()
card = Scorecard.load(sys.argv[1])
rf = TreeEnsemble.load(sys.argv[2])
gb = TreeEnsemble.load(sys.argv[3])
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "load_ms": (t2 - t1) * 1e3,
                  "heavy": [m for m in ("numpy", "pandas", "sklearn") if m in sys.modules]}))
"""


def pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def bench_dataset(name: str) -> dict[str, Any]:  # noqa: PLR0915 - one linear measurement script
    spec = DATASETS[name]
    frame = spec.load()
    X, y = frame.X, frame.y
    if name == "sba":
        X, y = X.iloc[:60_000], y[:60_000]
    build = builders(spec, len(y))
    fitted = {a: build[a]().fit(X, y) for a in ALGORITHMS}
    ART_DIR.mkdir(parents=True, exist_ok=True)
    paths = {}
    for algo, model in fitted.items():
        if algo == "scorecard":
            art = sc.export_artefact(
                model,
                metrics={},
                policy=DecisionPolicy(0.1, 0.5),
                tradeoffs=[{"approve_pd_below": 0.1}],
                dataset={},
                trained_at=sc.datetime.now(sc.UTC),
                version=f"bench-{name}-lr",
            )
        else:
            art = export_ensemble(model, version=f"bench-{name}-{algo}", dataset={}, metrics={})
        paths[algo] = ART_DIR / f"{name}-{algo}.json"
        paths[algo].write_text(json.dumps(art))
    card = Scorecard.load(paths["scorecard"])
    rf = TreeEnsemble.load(paths["random-forest"])
    gb = TreeEnsemble.load(paths["gradient-boosting"])
    served = {"scorecard": as_shadow(card), "random-forest": rf, "gradient-boosting": gb}
    shadows = [rf, gb]
    rows = X.sample(n=min(N_APPS, len(X)), random_state=1).to_dict("records")
    timings: dict[str, list[float]] = {a: [] for a in (*ALGORITHMS, "all-three")}
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()  # a collection pause is the runtime's, not the scorer's; reported separately
    for _ in range(2):  # warm-up, then measured
        for samples in timings.values():
            samples.clear()
        for r in rows:
            for algo, m in served.items():
                t = clock()
                m.probability_of_default(r)
                timings[algo].append((clock() - t) / 1e3)
            t = clock()
            card.score(r)
            shadow_scores(shadows, r)
            timings["all-three"].append((clock() - t) / 1e3)
    gc.enable()
    result: dict[str, Any] = {
        key: {"p50_us": pct(v, 50), "p99_us": pct(v, 99), "mean_us": round(statistics.fmean(v), 2)}
        for key, v in timings.items()
    }
    # scikit-learn side by side: one application as a one-row DataFrame through the pipeline.
    import pandas as pd

    sk: dict[str, list[float]] = {a: [] for a in ALGORITHMS}
    for r in rows[:SKLEARN_ROWS]:
        frame_1 = pd.DataFrame([r], columns=X.columns)
        for algo, model in fitted.items():
            t = clock()
            model.predict_proba(frame_1)
            sk[algo].append((clock() - t) / 1e3)
    for algo in ALGORITHMS:
        p50 = pct(sk[algo], 50)
        result[algo]["sklearn_pipeline_p50_us"] = p50
        result[algo]["sklearn_over_serving_p50"] = round(p50 / result[algo]["p50_us"], 1)
    sk_all = [sum(x) for x in zip(*sk.values(), strict=True)]
    result["all-three"]["sklearn_pipeline_p50_us"] = pct(sk_all, 50)
    result["all-three"]["sklearn_over_serving_p50"] = round(
        pct(sk_all, 50) / result["all-three"]["p50_us"], 1
    )
    colds = []
    for _ in range(COLD_RUNS):
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD, *(str(paths[a]) for a in ALGORITHMS)],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = (time.perf_counter() - t) * 1e3
        c = json.loads(out.stdout)
        colds.append({**c, "process_wall_ms": wall})
    result["cold_start"] = {
        "import_plus_load_ms_median": round(
            statistics.median(c["import_ms"] + c["load_ms"] for c in colds), 1
        ),
        "import_ms_median": round(statistics.median(c["import_ms"] for c in colds), 1),
        "load_ms_median": round(statistics.median(c["load_ms"] for c in colds), 1),
        "interpreter_wall_ms_median": round(
            statistics.median(c["process_wall_ms"] for c in colds), 1
        ),
        "heavy_modules_imported": colds[0]["heavy"],
        "artefact_bytes": {a: paths[a].stat().st_size for a in ALGORITHMS},
    }
    result["n_applications"] = len(rows)
    result["note"] = (
        "all-three = champion score() with points and reasons + two shadow PDs through "
        "registry.shadow_scores (as the score step runs them); "
        "gc disabled while timing; 2 shared cores"
    )
    return result


def main() -> None:
    report: dict[str, Any] = {"python": sys.version.split()[0], "datasets": {}}
    for name in ("german", "bloan"):
        if not available(name):
            print(f"skip {name}: data package not installed")
            continue
        res = bench_dataset(name)
        report["datasets"][name] = res
        allr, cold = res["all-three"], res["cold_start"]
        print(f"{name}:")
        for key in (*ALGORITHMS, "all-three"):
            r = res[key]
            print(
                f"  {key:18s} p50 {r['p50_us']:7.1f} us  p99 {r['p99_us']:7.1f} us   "
                f"sklearn p50 {r['sklearn_pipeline_p50_us']:9.1f} us "
                f"({r['sklearn_over_serving_p50']}x)"
            )
        print(
            f"  cold start import+load {cold['import_plus_load_ms_median']} ms "
            f"(import {cold['import_ms_median']} + load {cold['load_ms_median']}); "
            f"heavy modules: {cold['heavy_modules_imported']}; all three p99 {allr['p99_us']} us"
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
