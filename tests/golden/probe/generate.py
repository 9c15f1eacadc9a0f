#!/usr/bin/env python3
"""Logistic-regression parity fixture for mirlens-probe.

Pinned: scikit-learn 1.9.1, numpy 2.4.6, safetensors 0.8.0 (run with /work/pyref/bin/python).
Data recipe (scaled-down version of the benchmark's): X ~ N(0, 1) stored as float32; 5 classes with
y = argmax(X·W + 0.5·noise), W random with ~10 % informative rows; a binary task y_bin = (y == 0).
sklearn fits on exactly the float32 values (cast to float64). Writes lr.safetensors next to this file.
"""
import os

import numpy as np
import sklearn
from safetensors.numpy import save_file
from sklearn.linear_model import LogisticRegression

assert sklearn.__version__ == "1.9.1", sklearn.__version__
rng = np.random.default_rng(7)
n_train, n_test, d, k = 2000, 1000, 64, 5
W = np.zeros((d, k))
inf = rng.choice(d, size=max(1, d // 10), replace=False)
W[inf] = rng.normal(0, 1, (len(inf), k))
X = rng.normal(0, 1, (n_train + n_test, d)).astype(np.float32)
y = np.argmax(X.astype(np.float64) @ W + 0.5 * rng.normal(0, 1, (n_train + n_test, k)), axis=1)
Xd = X.astype(np.float64)
Xtr, Xte, ytr, yte = Xd[:n_train], Xd[n_train:], y[:n_train], y[n_train:]
ybtr, ybte = (ytr == 0).astype(int), (yte == 0).astype(int)

acc = {}
coef = {}
m = LogisticRegression(C=1.0, max_iter=1000, tol=1e-6).fit(Xtr, ytr)
acc["multi_l2"] = m.score(Xte, yte)
coef["multi_l2"] = m.coef_.T.astype(np.float32)  # d x k
m = LogisticRegression(C=0.05, solver="saga", l1_ratio=1.0, max_iter=5000, tol=1e-6).fit(Xtr, ytr)
acc["multi_l1"] = m.score(Xte, yte)
coef["multi_l1_nonzero"] = np.array([(np.abs(m.coef_) > 0).any(axis=0).sum()], dtype=np.float32)
m = LogisticRegression(C=1.0, max_iter=1000, tol=1e-6).fit(Xtr, ybtr)
acc["binary_l2"] = m.score(Xte, ybte)
coef["binary_l2"] = m.coef_.T.astype(np.float32)
# saga, not liblinear: liblinear also penalises the intercept, a different objective.
m = LogisticRegression(C=0.05, solver="saga", l1_ratio=1.0, tol=1e-6, max_iter=5000).fit(Xtr, ybtr)
acc["binary_l1"] = m.score(Xte, ybte)

tensors = {
    "x_train": X[:n_train], "x_test": X[n_train:],
    "y_train": ytr.astype(np.int64), "y_test": yte.astype(np.int64),
    "acc": np.array([acc["multi_l2"], acc["multi_l1"], acc["binary_l2"], acc["binary_l1"]], dtype=np.float64),
    "coef_multi_l2": coef["multi_l2"], "coef_binary_l2": coef["binary_l2"],
    "multi_l1_nonzero": coef["multi_l1_nonzero"],
}
meta = {"sklearn": sklearn.__version__, "numpy": np.__version__, "acc_order": "multi_l2,multi_l1,binary_l2,binary_l1",
        "C_l2": "1.0", "C_l1": "0.05", "binary_task": "y == 0"}
save_file(tensors, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lr.safetensors"), metadata=meta)
print(acc, coef["multi_l1_nonzero"])
