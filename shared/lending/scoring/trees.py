"""Serve tree-ensemble challengers (random forest, gradient boosting) from array artefacts.

Plain Python, no numpy/scikit-learn: the artefact holds every tree as flat arrays (children,
feature, threshold, leaf value) plus the feature encoder fitted at training time. At load the
arrays are compiled once into one straight-line Python function per ensemble (nested ``if``
on the arrays' own thresholds), which scores an application in tens of microseconds.

Exactness: scikit-learn compares ``float32(x) <= threshold`` in float64 and sums/averages the
trees in index order; this module does the same, so probabilities match ``predict_proba`` to
floating-point noise (tested at <= 1e-9).
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lending.scoring.scorecard import InvalidFeatureValue, refusal

ARTEFACT_DIR = Path(__file__).parent / "artefacts"
# scikit-learn's trees read their input as float32 and refuse anything beyond its range.
FLOAT32_MAX = 3.4028234663852886e38
EnsembleKind = Literal["random-forest", "gradient-boosting"]


def tree_refusal(kind: Literal["numeric", "categorical"], value: object) -> str | None:
    """The scorecard's refusals (scorecard.refusal), and numbers beyond float32's range,
    which scikit-learn's trees refuse too."""
    why = refusal(kind, value)
    if why is None and kind == "numeric" and isinstance(value, float) and abs(value) > FLOAT32_MAX:
        return "beyond the float32 range the trees read"
    return why


@dataclass(frozen=True, slots=True)
class EncodedFeature:
    """Raw application value -> the float the trees were trained on.

    Numeric: the number itself. Categorical: the category's rank by training bad rate.
    Missing (None, NaN) or unseen values take ``fill`` (the riskiest value seen in training);
    values the training pipeline would read otherwise are refused (scorecard.refusal).
    """

    name: str
    kind: Literal["numeric", "categorical"]
    fill: float
    codes: Mapping[str, float]

    def encode(self, value: object) -> float:
        """Refuses (InvalidFeatureValue) what the scorecard refuses, so a shadow model reads
        an application exactly as its training pipeline would, or not at all."""
        if value is None:
            return self.fill
        why = tree_refusal(self.kind, value)
        if why is not None:
            raise InvalidFeatureValue({self.name: why})
        if self.kind == "categorical":
            return self.codes.get(str(value), self.fill)
        assert isinstance(value, int | float)
        number = float(value)
        return number if math.isfinite(number) else self.fill


@dataclass(frozen=True, slots=True)
class Tree:
    left: Sequence[int]  # -1 at a leaf
    right: Sequence[int]
    feature: Sequence[int]
    threshold: Sequence[float]
    value: Sequence[float]  # leaf output (RF: P(bad) of the leaf; GB: learning rate x step)

    def predict(self, x: Sequence[float]) -> float:
        """Reference traversal (the compiled scorer must agree with it)."""
        node = 0
        left, right, feature, threshold = self.left, self.right, self.feature, self.threshold
        while left[node] != -1:
            node = left[node] if x[feature[node]] <= threshold[node] else right[node]
        return self.value[node]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _tree_source(tree: Tree, out: list[str], depth: int) -> None:
    def emit(node: int, indent: int) -> None:
        pad = "    " * indent
        if tree.left[node] == -1:
            out.append(f"{pad}s += {tree.value[node]!r}")
            return
        out.append(f"{pad}if x{tree.feature[node]} <= {tree.threshold[node]!r}:")
        emit(tree.left[node], indent + 1)
        out.append(f"{pad}else:")
        emit(tree.right[node], indent + 1)

    emit(0, depth)


def compile_trees(
    trees: Sequence[Tree], start: float = 0.0, n_features: int | None = None
) -> Callable[[Sequence[float]], float]:
    """One function adding every tree's leaf value to ``start`` in index order, as
    scikit-learn accumulates them (so the float sums are bit-identical). The row is unpacked
    into locals once, so each split is a local compare rather than an index lookup."""
    width = n_features
    if width is None:
        width = 1 + max((f for t in trees for f in t.feature), default=0)
    names = ", ".join(f"x{i}" for i in range(width))
    lines = ["def _ensemble(x):", f"    {names}, = x", f"    s = {start!r}"]
    for tree in trees:
        _tree_source(tree, lines, 1)
    lines.append("    return s")
    namespace: dict[str, Any] = {"inf": math.inf}
    exec(compile("\n".join(lines), "<tree-ensemble>", "exec"), namespace)
    fn: Callable[[Sequence[float]], float] = namespace["_ensemble"]
    return fn


class TreeEnsemble:
    def __init__(
        self,
        *,
        version: str,
        kind: EnsembleKind,
        features: tuple[EncodedFeature, ...],
        trees: tuple[Tree, ...],
        init_raw: float = 0.0,
    ) -> None:
        self.version = version
        self.kind = kind
        self.features = features
        self.trees = trees
        self.init_raw = init_raw
        # RF: mean of leaf P(bad). GB: sigmoid(init + sum of leaf steps, pre-scaled by the rate).
        self._sum = compile_trees(
            trees, 0.0 if kind == "random-forest" else init_raw, n_features=len(features)
        )

    @classmethod
    def load(cls, source: str | Path | Mapping[str, Any]) -> TreeEnsemble:
        data: Mapping[str, Any]
        if isinstance(source, Mapping):
            data = source
        else:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        features = tuple(
            EncodedFeature(
                name=str(f["name"]),
                kind=f["kind"],
                fill=float(f["fill"]),
                codes={str(k): float(v) for k, v in f.get("codes", {}).items()},
            )
            for f in data["features"]
        )
        trees = tuple(
            Tree(
                left=t["left"],
                right=t["right"],
                feature=t["feature"],
                threshold=[float(v) for v in t["threshold"]],
                value=[float(v) for v in t["value"]],
            )
            for t in data["trees"]
        )
        return cls(
            version=str(data["version"]),
            kind=data["kind"],
            features=features,
            trees=trees,
            init_raw=float(data.get("init_raw", 0.0)),
        )

    def encode(self, features: Mapping[str, object]) -> list[float]:
        """Encoded row, rounded through float32 exactly as scikit-learn's trees see it."""
        try:
            row = [f.encode(features.get(f.name)) for f in self.features]
        except InvalidFeatureValue:
            problems = {
                f.name: why
                for f in self.features
                if (why := tree_refusal(f.kind, features.get(f.name))) is not None
            }
            raise InvalidFeatureValue(problems) from None
        return array("f", row).tolist()

    def _from_encoded(self, x: Sequence[float]) -> float:
        if self.kind == "random-forest":
            return self._sum(x) / len(self.trees)
        return _sigmoid(self._sum(x))

    def probability_of_default(self, features: Mapping[str, object]) -> float:
        return self._from_encoded(self.encode(features))

    def reference_probability(self, features: Mapping[str, object]) -> float:
        """The same number by plain array traversal (used to test the compiled scorer)."""
        x = self.encode(features)
        if self.kind == "random-forest":
            total = 0.0
            for tree in self.trees:
                total += tree.predict(x)
            return total / len(self.trees)
        raw = self.init_raw
        for tree in self.trees:
            raw += tree.predict(x)
        return _sigmoid(raw)
