#!/usr/bin/env python3
"""Side-by-side CPU timing of mirlens (candle) and PyTorch/transformers encoders, same run, interleaved.

Pinned: torch 2.11.0, transformers 5.23.0, safetensors 0.8.0, numpy 2.4.6 (run with /work/pyref/bin/python).

Cases (random init + the golden perturbation, fp32, batch 1, all hidden states, eager attention on both sides):
  hubert_base   HuBERT-base config (768 x 12, FFN 3072, 7-layer conv), 10 s @ 16 kHz
  mert_330m     MERT-v1-330M-like (1024 x 24, FFN 4096, pre-LN, group-norm conv), 10 s @ 24 kHz

For each case the model is saved with save_pretrained to a temporary folder, mirlens' timing server
(crates/mirlens-models/examples/time_encoder.rs, release build) loads the same checkpoint, and the two sides
alternate A B A B after one untimed warm-up each. Both sides use the same thread count (--threads, default 2:
torch.set_num_threads and RAYON_NUM_THREADS). Parity of every hidden state is checked in the same run.
Prints per-pair ratios t_torch / t_mirlens (median, min, max) and peak RSS of each process.

    python scripts/bench/peer_encoders.py [--cases hubert_base,mert_330m] [--reps 3] [--threads 2]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file, save_file
from transformers import HubertConfig, HubertModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

NO_DROP = dict(hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
               final_dropout=0.0, layerdrop=0.0, mask_time_prob=0.0)
CASES = {
    "hubert_base": (dict(feat_extract_norm="group", do_stable_layer_norm=False), 16000),
    "mert_330m": (dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                       feat_extract_norm="group", do_stable_layer_norm=True), 24000),
}


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("layer_norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="hubert_base,mert_330m")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "mirlens-models", "--example", "time_encoder"],
                   cwd=ROOT, check=True, env=env)
    exe = os.path.join(ROOT, "target", "release", "examples", "time_encoder")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, threads {args.threads}, "
          f"cpu {os.cpu_count()} cores, loadavg {os.getloadavg()}")
    results = {}
    for case in args.cases.split(","):
        over, sr = CASES[case]
        cfg = HubertConfig(**NO_DROP, **over)
        torch.manual_seed(0)
        model = HubertModel(cfg)
        model.config._attn_implementation = "eager"
        perturb(model, 1)
        model.eval()
        rng = np.random.default_rng(0)
        n = int(args.seconds * sr)
        t = np.arange(n) / sr
        x = (np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(n)).astype(np.float32)
        with tempfile.TemporaryDirectory() as d:
            model.save_pretrained(d)
            with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
                json.dump({"sampling_rate": sr, "do_normalize": False}, f)
            save_file({"input_values": x}, os.path.join(d, "input.safetensors"))
            out_path = os.path.join(d, "mirlens_hidden.safetensors")
            proc = subprocess.Popen([exe, d, os.path.join(d, "input.safetensors"), out_path], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env=env)
            print(case, proc.stdout.readline().strip())

            def rs(cmd):
                proc.stdin.write(cmd + "\n")
                proc.stdin.flush()
                return proc.stdout.readline().strip()

            iv = torch.from_numpy(x)[None]

            def torch_run():
                t0 = time.perf_counter()
                with torch.inference_mode():
                    out = model(iv, output_hidden_states=True)
                return time.perf_counter() - t0, out

            # Warm-up (untimed) and parity.
            _, ref = torch_run()
            rs("run")
            rs("dump")
            ours = load_file(out_path)
            worst = max(float(np.abs(ours[f"hidden_states.{i}"] - ref.hidden_states[i][0].numpy()).max())
                        for i in range(len(ref.hidden_states)))
            pt, mt = [], []
            for _ in range(args.reps):
                tp, _ = torch_run()
                pt.append(tp)
                mt.append(float(rs("run").split()[1]))
            mem = int(rs("mem").split()[1])
            rs("quit")
            proc.wait()
        ratios = [a / b for a, b in zip(pt, mt)]
        res = dict(
            torch_median_s=statistics.median(pt), torch_min_s=min(pt),
            mirlens_median_s=statistics.median(mt), mirlens_min_s=min(mt),
            ratio_median=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios),
            parity_max_abs=worst, mirlens_peak_rss_mib=mem / 1024,
            torch_peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            hidden_states=len(ref.hidden_states), frames=int(ref.hidden_states[0].shape[1]),
        )
        results[case] = res
        print(case, json.dumps(res, indent=1))
        del model, ref
    print(f"loadavg after {os.getloadavg()}")
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
