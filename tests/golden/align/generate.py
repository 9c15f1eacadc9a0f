#!/usr/bin/env python3
"""Parity fixtures for mirlens-align: similarity measures, shape metrics, CCA, ridge and Procrustes on generated data.

Pinned versions: numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1, torch 2.11.0 (CPU, float64).
Reference code, run from snapshots of the public repositories (never copied into this tree):
  minyoungg/platonic-rep @ dcd76ba  metrics.py (AlignmentMetrics.mutual_knn / cycle_knn / cka / unbiased_cka / cknna /
                                    svcca, remove_outliers(exact=True) as platonic/alignment.py calls it)
  ahwillia/netrep        @ 0186b8a  netrep/metrics/linear.py LinearMetric, netrep/metrics/cka.py LinearCKA
  google/svcca           @ 1f3fbf1  cca_core.py get_cca_similarity, pwcca.py compute_pwcca
Point the environment variables PLATONIC_SRC, NETREP_SRC and SVCCA_SRC at checkouts of those commits, then run
  /work/pyref/bin/python tests/golden/align/generate.py

Departures from the peers' own pipelines, so that values are comparable at float64 precision:
  * platonic-rep casts features to float32 (`prepare_features`); here the same functions run on float64 tensors.
  * metrics.py imports torchaudio only for edit_distance_knn; a stub module stands in for it.
  * PWCCA has no peer without the `acts1`/`acts2` bug of google/svcca: `pwcca_fixed` below is google's compute_pwcca
    with that one line corrected (and the canonical variates whitened, as Morcos et al. define them); google's own
    output is recorded beside it on inputs whose columns are white, where the two coincide in the branch it gets right.
  * Reduced-rank regression has no packaged peer: `rrr` below is the textbook formula in numpy.

Seeded with numpy default_rng(14). Writes cases.json next to itself.
"""
import json
import os
import sys
import types

import numpy as np
import scipy
import scipy.linalg
import scipy.stats
import sklearn
from scipy.spatial.distance import pdist
from sklearn.cross_decomposition import CCA
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import KFold

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(14)

sys.modules["torchaudio"] = types.ModuleType("torchaudio")
sys.modules["torchaudio.functional"] = types.ModuleType("torchaudio.functional")
sys.modules["torchaudio"].functional = sys.modules["torchaudio.functional"]
sys.path.insert(0, os.environ["PLATONIC_SRC"])
sys.path.insert(0, os.environ["NETREP_SRC"])
sys.path.insert(0, os.environ["SVCCA_SRC"])
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import metrics as prh  # noqa: E402  platonic-rep metrics.py
from netrep.metrics.linear import LinearMetric  # noqa: E402
from netrep.metrics.cka import LinearCKA  # noqa: E402
import cca_core  # noqa: E402
import pwcca as google_pwcca  # noqa: E402


def t(a):
    return torch.tensor(a, dtype=torch.float64)


def platonic_prepare(a):
    """remove_outliers(q=0.95, exact=True) then F.normalize(p=2, dim=-1), as platonic/alignment.py does."""
    f = prh.remove_outliers(t(a), q=0.95, exact=True)
    return F.normalize(f, p=2, dim=-1)


def noeps(hsic, a, b):
    k, l = a @ a.T, b @ b.T
    return float(hsic(k, l) / torch.sqrt(hsic(k, k) * hsic(l, l)))


def platonic_block(x, y):
    px, py = platonic_prepare(x), platonic_prepare(y)
    out = {
        "mutual_knn": prh.AlignmentMetrics.mutual_knn(px, py, topk=10),
        "cycle_knn": prh.AlignmentMetrics.cycle_knn(px, py, topk=10),
        "cycle_knn_yx": prh.AlignmentMetrics.cycle_knn(py, px, topk=10),
        "cknna": prh.AlignmentMetrics.cknna(px, py, topk=10),
        "cka_prepared": prh.AlignmentMetrics.cka(px, py),
        "unbiased_cka_prepared": prh.AlignmentMetrics.unbiased_cka(px, py),
        "cka_raw": prh.AlignmentMetrics.cka(t(x), t(y)),
        "unbiased_cka_raw": prh.AlignmentMetrics.unbiased_cka(t(x), t(y)),
        "mutual_knn_k5": prh.AlignmentMetrics.mutual_knn(px, py, topk=5),
        # platonic-rep's own HSIC estimators, without the +1e-6 its `cka` adds to the denominator.
        "cka_prepared_noeps": noeps(prh.hsic_biased, px, py),
        "unbiased_cka_prepared_noeps": noeps(prh.hsic_unbiased, px, py),
        "cka_raw_noeps": noeps(prh.hsic_biased, t(x), t(y)),
        "unbiased_cka_raw_noeps": noeps(prh.hsic_unbiased, t(x), t(y)),
        "prepared_x_row0": px[0].tolist(),
    }
    return out


def netrep_block(x, y):
    out = {"linear_cka_arccos": float(LinearCKA().score(x, y))}
    for alpha in (1.0, 0.5):
        out[f"angular_alpha_{alpha}"] = float(LinearMetric(alpha=alpha, score_method="angular").fit_score(x, y))
        out[f"euclidean_alpha_{alpha}"] = float(LinearMetric(alpha=alpha, score_method="euclidean").fit_score(x, y))
    if x.shape[1] == y.shape[1]:
        out["angular_alpha_0.0"] = float(LinearMetric(alpha=0.0, score_method="angular").fit_score(x, y))
    return out


def rsa_block(x, y):
    return {
        "rsa_euclidean": float(scipy.stats.spearmanr(pdist(x, "euclidean"), pdist(y, "euclidean")).statistic),
        "rsa_correlation": float(scipy.stats.spearmanr(pdist(x, "correlation"), pdist(y, "correlation")).statistic),
    }


def cca_block(x, y):
    r = cca_core.get_cca_similarity(x.T, y.T, epsilon=0.0, verbose=False)
    k = min(x.shape[1], y.shape[1])
    cca = CCA(n_components=k, max_iter=5000, tol=1e-12).fit(x, y)
    xs, ys = cca.transform(x, y)
    sk = [float(np.corrcoef(xs[:, i], ys[:, i])[0, 1]) for i in range(k)]
    return {"google_cca_rho": [float(v) for v in r["cca_coef1"]], "sklearn_cca_rho": sk}


def pwcca_fixed(x, y):
    """google/svcca compute_pwcca with rows = items, the acts1/acts2 slip corrected and whitened variates."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    n = x.shape[0]
    sxx, syy, sxy = xc.T @ xc / (n - 1), yc.T @ yc / (n - 1), xc.T @ yc / (n - 1)

    def isqrt(s):
        w, v = np.linalg.eigh(s)
        return (v / np.sqrt(w)) @ v.T

    ix, iy = isqrt(sxx), isqrt(syy)
    u, s, vt = np.linalg.svd(ix @ sxy @ iy)
    if x.shape[1] <= y.shape[1]:
        h = xc @ ix @ u[:, : len(s)]
        acts = xc
    else:
        h = yc @ iy @ vt.T[:, : len(s)]
        acts = yc
    h = h / np.linalg.norm(h, axis=0)
    w = np.abs(h.T @ acts).sum(axis=1)
    w = w / w.sum()
    return float(np.sum(w * s)), [float(v) for v in w]


def svcca_99(x, y):
    def keep(a):
        ac = a - a.mean(0)
        u, s, _ = np.linalg.svd(ac, full_matrices=False)
        var = s**2
        c = np.cumsum(var) / var.sum()
        k = int(np.searchsorted(c, 0.99) + 1)
        return u[:, :k] * s[:k], k

    xr, kx = keep(x)
    yr, ky = keep(y)
    qx, _ = np.linalg.qr(xr)
    qy, _ = np.linalg.qr(yr)
    rho = np.linalg.svd(qx.T @ qy, compute_uv=False)
    return float(rho.mean()), kx, ky


def procrustes_block(x, y):
    xc, yc = x - x.mean(0), y - y.mean(0)
    r, scale = scipy.linalg.orthogonal_procrustes(xc, yc)
    xn, yn = xc / np.linalg.norm(xc), yc / np.linalg.norm(yc)
    _, nuc = scipy.linalg.orthogonal_procrustes(xn, yn)
    return {
        "rotation": r.tolist(),
        "nuclear_centred": float(scale),
        "residual_centred": float(np.linalg.norm(xc @ r - yc)),
        "procrustes_normalised": float(np.sqrt(max(2.0 - 2.0 * nuc, 0.0))),
        "angular_normalised": float(np.arccos(np.clip(nuc, -1, 1))),
    }


def ridge_block(x, y, lam):
    m = Ridge(alpha=lam, fit_intercept=True, solver="svd").fit(x, y)
    p = x.shape[1]
    scale = np.trace((x - x.mean(0)).T @ (x - x.mean(0))) / p
    grid = scale * np.logspace(-4, 2, 13)
    cv = RidgeCV(alphas=grid, fit_intercept=True, cv=KFold(5)).fit(x, y)
    return {
        "lambda": lam,
        "coef": m.coef_.T.tolist(),  # [p, q]
        "intercept": m.intercept_.tolist(),
        "cv_grid": grid.tolist(),
        "cv_alpha": float(cv.alpha_),
    }


def rrr(x, y, rank, lam):
    xc, yc = x - x.mean(0), y - y.mean(0)
    w = np.linalg.solve(xc.T @ xc + lam * np.eye(x.shape[1]), xc.T @ yc)
    _, _, vt = np.linalg.svd(xc @ w, full_matrices=False)
    v = vt[:rank].T
    return (w @ v @ v.T).tolist()


def views(n, dx, dy, r, noise_x, noise_y):
    z = rng.standard_normal((n, r))
    x = z @ rng.standard_normal((r, dx)) + noise_x * rng.standard_normal((n, dx)) + 0.3
    y = z @ rng.standard_normal((r, dy)) + noise_y * rng.standard_normal((n, dy)) - 1.0
    return x, y


cases = {}

# 1. A shared 6-dim latent seen through unequal widths, with heavy-ish tails in X.
x, y = views(80, 16, 12, 6, 0.7, 1.0)
x[rng.random(x.shape) < 0.03] *= 6.0
cases["main"] = {"x": x, "y": y}

# 2. Exact rank 10 in both views: platonic-rep's svcca (svd_lowrank q=10 + sklearn CCA(10)) is then the plain CCA of
#    the two column spaces, so its value is comparable with an exact estimator.
z = rng.standard_normal((90, 10))
x = z @ rng.standard_normal((10, 24))
y = (z + 0.8 * rng.standard_normal((90, 10))) @ rng.standard_normal((10, 20))
cases["rank10"] = {"x": x, "y": y}

# 3. Equal widths, Y = X R + noise (orthogonal Procrustes, LinearMetric alpha = 0).
x = rng.standard_normal((50, 8)) * np.linspace(2.0, 0.5, 8)
q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
y = x @ q + 0.3 * rng.standard_normal((50, 8)) + 2.0
cases["rotated"] = {"x": x, "y": y, "true_rotation": q}

# 4. White X (centred columns orthogonal with equal norms) and a wider Y: google/svcca's pwcca uses whitened and
#    unwhitened variates alike there; in the ordering (Y, X) it hits its acts1/acts2 slip.
a = rng.standard_normal((70, 5))
a -= a.mean(0)
qa, _ = np.linalg.qr(a)
xw = qa * np.sqrt(69.0)  # zero column means: google adds the means back to its variates
yw = xw[:, :3] @ rng.standard_normal((3, 9)) + 0.9 * rng.standard_normal((70, 9))
cases["white"] = {"x": xw, "y": yw}

out = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
                    "torch": torch.__version__}}
for name, c in cases.items():
    x, y = c["x"], c["y"]
    rec = {"x": x.tolist(), "y": y.tolist()}
    rec["platonic"] = platonic_block(x, y)
    rec["netrep"] = netrep_block(x, y)
    rec["rsa"] = rsa_block(x, y)
    if np.linalg.matrix_rank(x) == x.shape[1] and np.linalg.matrix_rank(y) == y.shape[1]:
        rec["cca"] = cca_block(x, y)
        rec["pwcca_fixed"], rec["pwcca_fixed_weights"] = pwcca_fixed(x, y)
        rec["pwcca_fixed_yx"], _ = pwcca_fixed(y, x)
    rec["svcca99"], rec["svcca99_kx"], rec["svcca99_ky"] = svcca_99(x, y)
    if "true_rotation" in c:
        rec["true_rotation"] = c["true_rotation"].tolist()
    if x.shape[1] == y.shape[1]:
        rec["procrustes"] = procrustes_block(x, y)
    rec["ridge"] = ridge_block(x, y, 3.0)
    rec["rrr_rank2_lam1"] = rrr(x, y, 2, 1.0)
    cases[name] = rec

# platonic-rep svcca (random svd_lowrank; exact on rank-10 inputs).
torch.manual_seed(0)
np.random.seed(0)
c = cases["rank10"]
cases["rank10"]["platonic"]["svcca"] = float(prh.AlignmentMetrics.svcca(t(np.array(c["x"])), t(np.array(c["y"])),
                                                                         cca_dim=10))
# google/svcca compute_pwcca on white X, both orderings (rows = neurons there).
c = cases["white"]
xw, yw = np.array(c["x"]), np.array(c["y"])
cases["white"]["google_pwcca_xy"] = float(google_pwcca.compute_pwcca(xw.T, yw.T, epsilon=0.0)[0])
try:
    cases["white"]["google_pwcca_yx"] = float(google_pwcca.compute_pwcca(yw.T, xw.T, epsilon=0.0)[0])
except IndexError as e:  # the slip: acts1 indexed with acts2's kept dimensions
    cases["white"]["google_pwcca_yx"] = f"IndexError: {e}"

out["cases"] = cases
with open(os.path.join(HERE, "cases.json"), "w") as f:
    json.dump(out, f, indent=None, separators=(",", ":"))
    f.write("\n")
print("wrote", os.path.join(HERE, "cases.json"))
