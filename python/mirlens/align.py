"""Cross-modal similarity of paired representations: CKA, debiased CKA, RSA, mutual/cycle kNN, CKNNA, CCA, SVCCA,
PWCCA, Procrustes and the angular shape metric, each with a permutation null and a bootstrap CI."""

import json
from dataclasses import asdict, dataclass
from typing import List, Optional

import numpy as np

from . import _mirlens
from ._mirlens import MirlensError

METRICS = ("cka", "cka_debiased", "rsa", "mutual_knn", "cycle_knn", "cknna", "cca", "svcca", "pwcca",
           "procrustes", "angular")


def _f64(a, name):
    a = np.ascontiguousarray(np.asarray(a), dtype=np.float64)
    if a.ndim != 2:
        raise MirlensError(f"`{name}` must be a 2-D array [items, dim], got shape {a.shape}")
    return a


@dataclass
class ScoreResult:
    """One measure on one pairing (the fields of ``mirlens align score``'s ``result.json``)."""

    metric: str
    value: float
    p_value: Optional[float]
    ci: Optional[List[float]]
    n: int
    permutations: int
    bootstrap: int
    confidence: float
    seed: int
    null_mean: Optional[float]
    null_sd: Optional[float]
    higher_is_similar: bool

    def to_dict(self):
        return asdict(self)


def score(x, y, *, metric="cka", k=10, permutations=1000, bootstrap=1000, seed=0, confidence=0.95, groups=None):
    """Similarity of ``x [n, p]`` and ``y [n, q]`` (rows paired in order) with a permutation p-value and a bootstrap
    CI. ``groups`` (one integer per item, e.g. the clip) keeps permutations within groups."""
    g = None if groups is None else np.ascontiguousarray(np.asarray(groups), dtype=np.int64)
    js = _mirlens.align_score(_f64(x, "x"), _f64(y, "y"), metric=metric, k=k, permutations=permutations,
                              bootstrap=bootstrap, seed=seed, confidence=confidence, groups=g)
    d = json.loads(js)
    fields = ScoreResult.__dataclass_fields__
    return ScoreResult(**{key: d.get(key) for key in fields})


class LayersResult:
    """A layer × layer matrix: ``values`` ``[len(xs), len(ys)]``, the best value and pair (platonic-rep reports the
    max), and the full result as ``to_dict()``."""

    def __init__(self, d):
        self._d = d
        self.metric = d["metric"]
        self.x_layers = d["x_layers"]
        self.y_layers = d["y_layers"]
        self.values = np.array(d["values"], dtype=np.float64).reshape(len(self.x_layers), len(self.y_layers))
        self.best = d["best"]
        self.best_pair = tuple(d["best_pair"])

    def to_dict(self):
        return dict(self._d)

    def __repr__(self):
        return f"LayersResult(metric={self.metric!r}, shape={self.values.shape}, best={self.best:.4f} at {self.best_pair})"


def layers(xs, ys, *, metric="cka", k=10, x_names=None, y_names=None):
    """Every pair of views ``xs[i]``, ``ys[j]`` (all with the same paired rows)."""
    xs = [_f64(a, f"xs[{i}]") for i, a in enumerate(xs)]
    ys = [_f64(a, f"ys[{i}]") for i, a in enumerate(ys)]
    return LayersResult(json.loads(_mirlens.align_layers(xs, ys, metric=metric, k=k, x_names=x_names,
                                                         y_names=y_names)))
