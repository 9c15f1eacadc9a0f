#!/usr/bin/env python3
"""Golden values of the contrastive losses of mirlens-align (`contrastive::loss_value`).

Pinned versions: numpy 2.4.6 (nothing else). Run: /work/pyref/bin/python tests/golden/align/generate_contrastive.py
Seeded with numpy default_rng(20261203). Writes contrastive.json next to itself: small fixed inputs (X, Y, W_x, W_y,
t, b) and the symmetric InfoNCE (CLIP/CLAP: cross-entropy of the logits exp(t)·cos(XW_x, YW_y) against the
diagonal, rows and columns averaged) and SigLIP (−(1/n) Σ_ij log σ(z_ij (exp(t)·cos + b)), z = 2I − 1) losses.
"""

import json
import os

import numpy as np

rng = np.random.default_rng(20261203)


def cos_sims(x, y, wx, wy):
    u = x @ wx
    v = y @ wy
    a = u / np.linalg.norm(u, axis=1, keepdims=True)
    c = v / np.linalg.norm(v, axis=1, keepdims=True)
    return a @ c.T


def log_softmax(z, axis):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def infonce(x, y, wx, wy, t):
    logits = np.exp(t) * cos_sims(x, y, wx, wy)
    n = logits.shape[0]
    rows = -np.mean(log_softmax(logits, 1)[np.arange(n), np.arange(n)])
    cols = -np.mean(log_softmax(logits, 0)[np.arange(n), np.arange(n)])
    return 0.5 * (rows + cols)


def siglip(x, y, wx, wy, t, b):
    logits = np.exp(t) * cos_sims(x, y, wx, wy) + b
    n = logits.shape[0]
    z = 2.0 * np.eye(n) - 1.0
    # −log σ(zℓ) = log(1 + exp(−zℓ))
    return np.sum(np.logaddexp(0.0, -z * logits)) / n


cases = []
for name, (n, p, q, r) in {"small": (6, 4, 3, 2), "wider": (9, 7, 5, 4)}.items():
    x = rng.standard_normal((n, p))
    y = rng.standard_normal((n, q)) + 0.5 * x[:, :q]
    wx = rng.standard_normal((p, r)) / np.sqrt(p)
    wy = rng.standard_normal((q, r)) / np.sqrt(q)
    for t, b in [(np.log(1 / 0.07), 0.0), (np.log(10.0), -10.0), (0.3, 1.5)]:
        cases.append(
            {
                "name": f"{name}_t{t:.3f}",
                "x": x.tolist(),
                "y": y.tolist(),
                "wx": wx.tolist(),
                "wy": wy.tolist(),
                "t": float(t),
                "b": float(b),
                "infonce": float(infonce(x, y, wx, wy, t)),
                "siglip": float(siglip(x, y, wx, wy, t, b)),
            }
        )

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "contrastive.json"), "w") as f:
    json.dump({"numpy": np.__version__, "cases": cases}, f, indent=1)
print(len(cases), "cases")
