#!/usr/bin/env python3
"""Side-by-side benchmark: the layer × layer debiased-CKA and mutual-kNN matrices of platonic-rep (torch, CPU) vs
`mirlens align layers`, on the same per-layer .npy folders, in the same run.

Pinned: torch 2.11.0 (CPU), numpy 2.4.6; platonic-rep @ dcd76ba (`metrics.py`; point PLATONIC_SRC at a checkout of
that commit — its code is imported from there, never copied).
Data: Z ~ N(0, 1) [n, 16]; X layer l = Z·A_l + (0.5 + l)·noise, Y layer likewise; float32 .npy files.
Peer: for every (X layer, Y layer), platonic-rep's pipeline as `compute_score` runs it — `prepare_features`
(remove_outliers q = 0.95, exact) once per layer, then `F.normalize` and `AlignmentMetrics.unbiased_cka` /
`mutual_knn(topk=10)` per pair (it recomputes Gram matrices and neighbours for every pair).
mirlens: `mirlens align layers --metric cka_debiased,mutual_knn` (release build), which prepares each layer once.
Defaults are a reduced shape (n = 2,000, 6 × 8 layers of widths 256 / 384); `--full` is the shape of the target
(n = 10,000, 13 × 25 layers of widths 768 / 1,024). Threads: OMP_NUM_THREADS / torch.set_num_threads / RAYON_NUM_THREADS
all set to --threads (default 2).
Usage: PLATONIC_SRC=/path/to/platonic-rep python scripts/bench/align_peer.py [--full] [--reps N]
Prints one JSON line per measure with both timings and their ratio, and the largest value difference.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import types

ap = argparse.ArgumentParser()
ap.add_argument("--full", action="store_true")
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[v] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
sys.modules.setdefault("torchaudio", types.ModuleType("torchaudio"))
sys.modules.setdefault("torchaudio.functional", types.ModuleType("torchaudio.functional"))
sys.modules["torchaudio"].functional = sys.modules["torchaudio.functional"]
sys.path.insert(0, os.environ["PLATONIC_SRC"])
import metrics as prh  # noqa: E402

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
n, lx, ly, wx, wy = (10000, 13, 25, 768, 1024) if args.full else (2000, 6, 8, 256, 384)
rng = np.random.default_rng(0)
z = rng.standard_normal((n, 16))
tmp = tempfile.mkdtemp(prefix="mirlens-align-bench-")


def make(side, count, width):
    d = os.path.join(tmp, side)
    os.makedirs(d)
    out = []
    for l in range(count):
        m = (z @ rng.standard_normal((16, width)) + (0.5 + l) * rng.standard_normal((n, width))).astype(np.float32)
        np.save(os.path.join(d, f"layer-{l:02d}.npy"), m)
        out.append(torch.from_numpy(m))
    return d, out


dx, X = make("x", lx, wx)
dy, Y = make("y", ly, wy)

subprocess.run(["cargo", "build", "--release", "-q", "-p", "mirlens-cli"], cwd=root, check=True)
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
exe = os.path.join(target, "release", "mirlens")


def peer(metric):
    t = time.perf_counter()
    px = [prh.remove_outliers(x.float(), q=0.95, exact=True) for x in X]
    py = [prh.remove_outliers(y.float(), q=0.95, exact=True) for y in Y]
    out = np.zeros((lx, ly))
    for i, x in enumerate(px):
        for j, y in enumerate(py):
            xa, ya = F.normalize(x, p=2, dim=-1), F.normalize(y, p=2, dim=-1)
            if metric == "mutual_knn":
                out[i, j] = prh.AlignmentMetrics.mutual_knn(xa, ya, topk=10)
            else:
                out[i, j] = prh.AlignmentMetrics.unbiased_cka(xa, ya)
    return time.perf_counter() - t, out


def ours(metric):
    out = os.path.join(tmp, "out")
    t = time.perf_counter()
    subprocess.run([exe, "align", "layers", "--x", dx, "--y", dy, "--metric", metric, "--preprocess", "platonic",
                    "--out", out], check=True, capture_output=True)
    s = time.perf_counter() - t
    with open(os.path.join(out, f"{metric}.json")) as f:
        v = np.array(json.load(f)["values"]).reshape(lx, ly)
    return s, v


for metric in ("cka_debiased", "mutual_knn"):
    peer(metric) if not args.full else None  # warm-up (skipped at full size)
    ours(metric)
    pairs = [(peer(metric), ours(metric)) for _ in range(args.reps)]
    ratios = sorted(a[0] / b[0] for a, b in pairs)
    diff = float(np.max(np.abs(pairs[-1][0][1] - pairs[-1][1][1])))
    print(json.dumps({
        "metric": metric, "shape": f"{n}x({lx}x{wx})x({ly}x{wy})", "threads": args.threads, "reps": args.reps,
        "peer_median_s": float(np.median([a[0] for a, _ in pairs])),
        "mirlens_median_s": float(np.median([b[0] for _, b in pairs])),
        "ratio_median": float(np.median(ratios)), "ratio_min": ratios[0], "ratio_max": ratios[-1],
        "max_abs_value_diff": diff,
    }), flush=True)
