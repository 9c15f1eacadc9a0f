"""Layer sweeps: one L2 logistic probe per layer, k-fold cross-validation grouped by clip."""

import json
from dataclasses import asdict, dataclass, field
from typing import List, Optional

from . import _mirlens
from ._util import f32_2d, i64_1d


@dataclass
class LayerResult:
    """Accuracy of one layer: mean over folds, its spread and 95 % interval, and each fold's accuracy."""

    layer: str
    accuracy: float
    std: float
    ci_low: float
    ci_high: float
    folds: List[float] = field(default_factory=list)

    def to_dict(self):
        return asdict(self)


@dataclass
class SweepResult:
    """Results of a layer sweep, in layer order, with the class names."""

    layers: List[LayerResult]
    classes: List[str]
    label: Optional[str] = None

    @property
    def best(self):
        return max(self.layers, key=lambda r: r.accuracy)

    def accuracy(self, layer):
        for r in self.layers:
            if r.layer == str(layer):
                return r.accuracy
        raise KeyError(layer)

    def to_dict(self):
        """The same fields as ``mirlens probe sweep``'s ``summary.json`` (``label``, ``classes``, ``best_layer``,
        ``best_accuracy``, ``layers`` with ``layer``/``accuracy``/``ci``)."""
        best = self.best
        return {
            "label": self.label,
            "classes": list(self.classes),
            "best_layer": best.layer,
            "best_accuracy": best.accuracy,
            "layers": [{"layer": r.layer, "accuracy": r.accuracy, "ci": [r.ci_low, r.ci_high]} for r in self.layers],
        }


def _results(js):
    return [LayerResult(**r) for r in json.loads(js)]


def sweep(store, label, *, layers=None, pooling="mean", folds=5, seed=0, c=1.0):
    """Layer sweep of ``label`` on a :class:`mirlens.Store` (what ``mirlens probe sweep`` runs)."""
    s = store._s if hasattr(store, "_s") else store
    js, classes = _mirlens.sweep_store(s, label, layers=None if layers is None else [int(l) for l in layers],
                                       pooling=pooling, folds=folds, seed=seed, c=c)
    return SweepResult(_results(js), classes, label)


def sweep_arrays(xs, y, groups, *, names=None, folds=5, seed=0, c=1.0):
    """Layer sweep on arrays: ``xs`` a list of ``[rows, dim]`` arrays (one per layer), ``y`` class indices,
    ``groups`` the row grouping (e.g. clip index) that folds never split."""
    xs = [f32_2d(x, f"xs[{i}]") for i, x in enumerate(xs)]
    js = _mirlens.sweep(xs, i64_1d(y, "y"), i64_1d(groups, "groups"), names=names, folds=folds, seed=seed, c=c)
    return SweepResult(_results(js), sorted({str(v) for v in y}))
