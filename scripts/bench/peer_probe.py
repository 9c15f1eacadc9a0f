#!/usr/bin/env python3
"""Side-by-side benchmark: scikit-learn vs mirlens logistic regression on the same data, in the same run.

Pinned: scikit-learn 1.9.1, numpy 2.4.6. Data (peers-measured §5): X ~ N(0,1), 20,000 × 768 (float32 values, both
sides fit the same numbers), 12 classes, y = argmax(X·W + 0.5·noise), W with ~10 % informative rows; 5,000 test rows.
Fits, interleaved A B A B after one untimed warm-up each:
  L2: sklearn LogisticRegression(lbfgs, C=1) vs mirlens L-BFGS (C=1, tol 1e-4)
  L1: sklearn saga (l1_ratio=1, C=0.1, max_iter=100) and OneVsRest(liblinear L1, C=0.1) vs mirlens OWL-QN (C=0.1)
Usage: OMP_NUM_THREADS=2 python scripts/bench/peer_probe.py [--reps N] [--l1-reps M] [--skip-liblinear]
Builds the mirlens side with `cargo build --release -p mirlens-probe --example bench_logistic` first.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

ap = argparse.ArgumentParser()
ap.add_argument("--reps", type=int, default=7)
ap.add_argument("--l1-reps", type=int, default=2)
ap.add_argument("--skip-liblinear", action="store_true")
args = ap.parse_args()

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rng = np.random.default_rng(0)
n, nt, d, k = 20000, 5000, 768, 12
W = np.zeros((d, k))
inf = rng.choice(d, d // 10, replace=False)
W[inf] = rng.normal(0, 1, (len(inf), k))
X = rng.normal(0, 1, (n + nt, d)).astype(np.float32)
y = np.argmax(X.astype(np.float64) @ W + 0.5 * rng.normal(0, 1, (n + nt, k)), axis=1)
Xd = X.astype(np.float64)
tmp = tempfile.mkdtemp(prefix="mirlens-bench-")
X[:n].tofile(os.path.join(tmp, "x_train.f32"))
X[n:].tofile(os.path.join(tmp, "x_test.f32"))
y[:n].astype("<u4").tofile(os.path.join(tmp, "y_train.u32"))
y[n:].astype("<u4").tofile(os.path.join(tmp, "y_test.u32"))

subprocess.run(["cargo", "build", "--release", "-q", "-p", "mirlens-probe", "--example", "bench_logistic"], cwd=root, check=True)
exe = os.path.join(root, "target", "release", "examples", "bench_logistic")


def ours(fit):
    out = subprocess.run([exe, tmp, fit, "1"], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def peer(make):
    m = make()
    t = time.perf_counter()
    m.fit(Xd[:n], y[:n])
    s = time.perf_counter() - t
    coef = m.coef_ if hasattr(m, "coef_") else np.vstack([e.coef_ for e in m.estimators_])
    return {"seconds": s, "train_acc": m.score(Xd[:n], y[:n]), "test_acc": m.score(Xd[n:], y[n:]),
            "nonzero_frac": float((coef != 0).mean())}


def compare(name, make, fit, reps):
    peer(make), ours(fit)  # warm-up
    pairs = []
    for _ in range(reps):
        a = peer(make)
        b = ours(fit)
        pairs.append((a, b))
    ratios = sorted(a["seconds"] / b["seconds"] for a, b in pairs)
    res = {"name": name, "reps": reps, "peer_median_s": float(np.median([a["seconds"] for a, _ in pairs])),
           "mirlens_median_s": float(np.median([b["seconds"] for _, b in pairs])),
           "ratio_median": float(np.median(ratios)), "ratio_min": ratios[0], "ratio_max": ratios[-1],
           "peer_test_acc": pairs[-1][0]["test_acc"], "mirlens_test_acc": pairs[-1][1]["test_acc"],
           "peer_nonzero": pairs[-1][0]["nonzero_frac"], "mirlens_nonzero": pairs[-1][1]["nonzero_frac"],
           "mirlens_iterations": pairs[-1][1]["iterations"]}
    print(json.dumps(res), flush=True)
    return res


print(json.dumps({"sklearn": sklearn.__version__, "numpy": np.__version__, "loadavg_before": os.getloadavg(),
                  "threads": os.environ.get("OMP_NUM_THREADS"), "cpu": os.cpu_count()}), flush=True)
compare("L2 multinomial (sklearn lbfgs C=1)", lambda: LogisticRegression(C=1.0, max_iter=100), "l2", args.reps)
compare("L1 multinomial (sklearn saga C=0.1)", lambda: LogisticRegression(C=0.1, solver="saga", l1_ratio=1.0, max_iter=100, tol=1e-4), "l1", args.l1_reps)
if not args.skip_liblinear:
    compare("L1 one-vs-rest (sklearn liblinear C=0.1)",
            lambda: OneVsRestClassifier(LogisticRegression(C=0.1, solver="liblinear", l1_ratio=1.0)), "l1", args.l1_reps)
print(json.dumps({"loadavg_after": os.getloadavg()}))
