#!/usr/bin/env python3
"""Side-by-side CPU timing of mirlens (candle) and transformers token language models, same run, interleaved.

Pinned: torch 2.11.0, transformers 5.23.0, safetensors 0.8.0, numpy 2.4.6 (run with /work/pyref/bin/python).

Cases (random init, fp32, batch 1, 512 tokens, every hidden state, eager attention on both sides):
  gpt2_small    GPT-2 small config (768 x 12, 12 heads, vocab 50257, 124 M parameters)
  llama_135m    SmolLM2-135M-like Llama (576 x 30, 9 heads / 3 kv heads, FFN 1536, vocab 49152, tied, 135 M)

Each model is saved with save_pretrained to a temporary folder; mirlens' timing server
(crates/mirlens-models/examples/time_text_model.rs, release build) loads the same checkpoint and the same ids, and
the two sides alternate A B A B after one untimed warm-up each, with the same thread count (--threads, default 2:
torch.set_num_threads and RAYON_NUM_THREADS). Parity of every hidden state is checked in the same run. Prints
per-pair ratios t_torch / t_mirlens (median, min, max) and the peak RSS of each process (the Python process holds
both checkpoints in turn, so its figure is an upper bound).

    python scripts/bench/peer_text_models.py [--cases gpt2_small,llama_135m] [--reps 3] [--threads 2] [--tokens 512]

CARGO_TARGET_DIR is honoured when locating the timing server.
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
from transformers import GPT2Config, GPT2Model, LlamaConfig, LlamaModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def make(case):
    if case == "gpt2_small":
        cfg = GPT2Config(n_embd=768, n_layer=12, n_head=12, vocab_size=50257, n_positions=1024,
                         resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
        return GPT2Model(cfg), cfg.vocab_size
    if case == "llama_135m":
        cfg = LlamaConfig(hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                          intermediate_size=1536, vocab_size=49152, max_position_embeddings=2048,
                          rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True)
        return LlamaModel(cfg), cfg.vocab_size
    raise SystemExit(f"unknown case {case}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="gpt2_small,llama_135m")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=512)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "mirlens-models", "--example", "time_text_model"],
                   cwd=ROOT, check=True, env=env)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "examples", "time_text_model")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, threads {args.threads}, "
          f"cpu {os.cpu_count()} cores, loadavg {os.getloadavg()}")
    results = {}
    for case in args.cases.split(","):
        torch.manual_seed(0)
        model, vocab = make(case)
        model.config._attn_implementation = "eager"
        model.eval()
        ids = np.random.default_rng(0).integers(0, vocab, args.tokens).astype(np.int64)
        with tempfile.TemporaryDirectory() as d:
            model.save_pretrained(d)
            save_file({"input_ids": ids}, os.path.join(d, "ids.safetensors"))
            out_path = os.path.join(d, "mirlens_hidden.safetensors")
            proc = subprocess.Popen([exe, d, os.path.join(d, "ids.safetensors"), out_path], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env=env)
            print(case, proc.stdout.readline().strip())

            def rs(cmd):
                proc.stdin.write(cmd + "\n")
                proc.stdin.flush()
                return proc.stdout.readline().strip()

            iv = torch.from_numpy(ids)[None]

            def torch_run():
                t0 = time.perf_counter()
                with torch.inference_mode():
                    out = model(iv, output_hidden_states=True)
                return time.perf_counter() - t0, out

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
            torch_median_s=statistics.median(pt), mirlens_median_s=statistics.median(mt),
            ratio_median=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios),
            parity_max_abs=worst, mirlens_peak_rss_mib=mem / 1024,
            python_peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            hidden_states=len(ref.hidden_states), tokens=args.tokens,
        )
        results[case] = res
        print(case, json.dumps(res, indent=1))
        del model, ref
    print(f"loadavg after {os.getloadavg()}")
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
