#!/usr/bin/env python3
"""Side-by-side TopK-SAE training throughput: PyTorch (sparse-gather decode) vs mirlens-sae, same data, same run.

Pinned: torch==2.11.0, numpy==2.4.6, safetensors==0.8.0 (Python 3.11; /work/pyref/bin/python).

Shape (peers-measured.md §4): d = 768, n = 12,288, k = 32, batch 4,096, Adam, fp32, 2 threads on both sides.
Both sides do the same maths: pre = W_enc (x − b_dec) + b_enc, ReLU then top-k, x̂ = b_dec + Σ z_i d_i (gather),
loss = Σ‖x − x̂‖² / Σ‖x − x̄_B‖² (batch FVU), unit-norm decoder rows with gradient projection, b_dec = data mean,
tied init, lr 2e-4/√(n/2^14) constant (no warm-up/decay), AuxK off (no latent can be dead within a few steps).
Data: planted sparse combinations (8,192 random unit directions, 32 active, coefficients 1 + |N(0,1)|, noise 0.05),
scaled to mean norm √d; 36,864 rows, the same file read by both.

Runs interleave (torch, mirlens) × REPS; each run trains STEPS steps from its own seeded init; the first step of
each run is reported separately (warm-up). Prints per-pair ratios t_torch/t_mirlens (median and min over pairs)
and the held-out FVU of both after equal tokens.

usage: /work/pyref/bin/python scripts/bench/peer_sae.py [--reps 2] [--steps 8] [--release-dir target/release]
"""
import argparse
import json
import os
import subprocess
import time

import numpy as np
import torch
from safetensors.numpy import save_file

D, N, K, B = 768, 12288, 32, 4096
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def make_data(path, rows=36864, n_true=8192, k_true=32, seed=0):
    rng = np.random.default_rng(seed)
    dic = rng.standard_normal((n_true, D)).astype(np.float32)
    dic /= np.linalg.norm(dic, axis=1, keepdims=True)
    idx = np.stack([rng.choice(n_true, k_true, replace=False) for _ in range(rows)])
    coef = (1.0 + np.abs(rng.standard_normal((rows, k_true)))).astype(np.float32)
    x = np.einsum("rk,rkd->rd", coef, dic[idx]) + 0.05 * rng.standard_normal((rows, D)).astype(np.float32)
    x *= np.sqrt(D) / np.linalg.norm(x, axis=1).mean()
    save_file({"x": np.ascontiguousarray(x.astype(np.float32))}, path)
    return x.astype(np.float32)


class TopKSAE(torch.nn.Module):
    def __init__(self, b_dec, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        w = torch.randn(N, D, generator=g)
        w /= w.norm(dim=1, keepdim=True)
        self.W_dec = torch.nn.Parameter(w.clone())
        self.W_enc = torch.nn.Parameter(w.clone())
        self.b_enc = torch.nn.Parameter(torch.zeros(N))
        self.b_dec = torch.nn.Parameter(b_dec.clone())

    def encode(self, x):
        pre = torch.relu((x - self.b_dec) @ self.W_enc.T + self.b_enc)
        return pre.topk(K, dim=-1, sorted=False)

    def forward(self, x):
        vals, idx = self.encode(x)
        return self.b_dec + torch.einsum("bk,bkd->bd", vals, self.W_dec[idx])


def torch_run(x, train_rows, eval_rows, steps, lr, seed):
    xt = torch.from_numpy(x)
    b_dec = xt[train_rows[:32768]].mean(0)
    sae = TopKSAE(b_dec, seed)
    opt = torch.optim.Adam(sae.parameters(), lr=lr)
    perm = np.random.default_rng(seed).permutation(train_rows)
    times = []
    for s in range(steps):
        t = time.perf_counter()
        xb = xt[perm[(s * B) % len(perm):][:B]]
        xhat = sae(xb)
        loss = ((xb - xhat) ** 2).sum() / ((xb - xb.mean(0)) ** 2).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            g, w = sae.W_dec.grad, sae.W_dec
            g -= (g * w).sum(1, keepdim=True) * w
        opt.step()
        with torch.no_grad():
            sae.W_dec /= sae.W_dec.norm(dim=1, keepdim=True)
        times.append(time.perf_counter() - t)
    with torch.no_grad():
        xe = xt[eval_rows]
        xh = sae(xe)
        fvu = float(((xe - xh) ** 2).sum() / ((xe - xe.mean(0)) ** 2).sum())
    return times, fvu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--release-dir", default=os.path.join(ROOT, "target", "release"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    work = "/tmp/mirlens_bench_sae"
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "data.safetensors")
    x = make_data(data)
    rows = x.shape[0]
    lr = 2e-4 / (N / 2 ** 14) ** 0.5
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "mirlens-sae", "--example", "bench_sae"], cwd=ROOT, check=True)
    exe = os.path.join(a.release_dir, "examples", "bench_sae")
    # the held-out split of the Rust side is a seeded permutation; torch uses the last 4096 rows
    eval_rows = np.arange(rows - 4096, rows)
    train_rows = np.arange(0, rows - 4096)
    load0 = os.getloadavg()
    pairs = []
    for rep in range(a.reps):
        tt, tf = torch_run(x, train_rows, eval_rows, a.steps, lr, seed=rep)
        out = subprocess.run([exe, data, str(N), str(K), str(B), str(a.steps), str(a.threads), repr(lr), str(rep)],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        pairs.append({"torch_step_s": tt, "torch_fvu": tf, "mirlens_step_s": r["step_s"], "mirlens_fvu": r["eval_fvu"],
                      "mirlens_l0": r["eval_l0"]})
        print(f"rep {rep}: torch median step {np.median(tt[1:]):.3f}s (first {tt[0]:.3f}s), FVU {tf:.4f} | "
              f"mirlens median step {np.median(r['step_s'][1:]):.3f}s (first {r['step_s'][0]:.3f}s), FVU {r['eval_fvu']:.4f}")
    load1 = os.getloadavg()
    ratios_med = [np.median(p["torch_step_s"][1:]) / np.median(p["mirlens_step_s"][1:]) for p in pairs]
    ratios_min = [np.min(p["torch_step_s"][1:]) / np.min(p["mirlens_step_s"][1:]) for p in pairs]
    tok = lambda s: B / s
    t_all = np.concatenate([p["torch_step_s"][1:] for p in pairs])
    m_all = np.concatenate([p["mirlens_step_s"][1:] for p in pairs])
    summary = {
        "shape": {"d": D, "n": N, "k": K, "batch": B, "threads": a.threads, "steps": a.steps, "reps": a.reps},
        "torch": {"version": torch.__version__, "median_step_s": float(np.median(t_all)), "min_step_s": float(np.min(t_all)),
                  "tokens_per_s_median": tok(float(np.median(t_all)))},
        "mirlens": {"median_step_s": float(np.median(m_all)), "min_step_s": float(np.min(m_all)),
                    "tokens_per_s_median": tok(float(np.median(m_all)))},
        "ratio_torch_over_mirlens": {"per_pair_median": ratios_med, "median": float(np.median(ratios_med)),
                                     "min_step_ratio": float(np.median(ratios_min))},
        "fvu_after_equal_tokens": {"tokens": a.steps * B, "torch": [p["torch_fvu"] for p in pairs],
                                   "mirlens": [p["mirlens_fvu"] for p in pairs]},
        "loadavg_before_after": [load0, load1],
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
        "cores": os.cpu_count(),
    }
    print(json.dumps(summary, indent=1))
    with open(os.path.join(work, "result.json"), "w") as f:
        json.dump({"summary": summary, "pairs": pairs}, f)


if __name__ == "__main__":
    main()
