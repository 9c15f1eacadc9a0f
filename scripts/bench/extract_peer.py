#!/usr/bin/env python3
"""End-to-end extraction throughput: `mirlens extract` vs a Python peer (soundfile + librosa/soxr + transformers),
same clips, same model checkpoint, same thread budget, interleaved A B A B.

Pinned: torch 2.11.0, transformers 5.23.0, safetensors 0.8.0, numpy 2.4.6, librosa 0.11.0, soxr 1.1.0,
soundfile 0.14.0 (run with /work/pyref/bin/python).

Cases:
  tiny   the tiny golden HuBERT (tests/golden/encoders/hubert_group_postln: hidden 32, 2 layers)
  base   a random HuBERT-base (768 x 12, FFN 3072, 7-layer conv; transformers' default HubertConfig), saved with
         save_pretrained to a temporary folder

Input: N clips of 1 s at 24 kHz (harmonic tones, seeded), 16-bit WAV + a JSONL manifest; both sides decode them,
resample 24 kHz -> 16 kHz (mirlens: rubato High; peer: soxr_hq), run the encoder with all hidden states, mean-pool
every layer over frames and write one safetensors file per layer and shard of 8 clips. mirlens is timed as a whole
process (`mirlens extract ... --pool mean`, model load included); the peer is timed inside this process (model load
included, interpreter start-up and imports excluded). Parity of the pooled activations is checked in the same run.

    python scripts/bench/extract_peer.py --mirlens target/release/mirlens [--cases tiny,base] [--reps 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def write_clips(folder, n, sr=24000):
    import soundfile as sf

    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(folder, "audio"), exist_ok=True)
    lines = [json.dumps({"mirlens_manifest": 1, "label_schema": {"pitch": "int"}})]
    t = np.arange(sr) / sr
    for i in range(n):
        pitch = int(rng.integers(40, 90))
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        x = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.28)) / h for h in range(1, 6))
        x = 0.3 * x * np.exp(-3 * t)
        path = os.path.join(folder, "audio", f"clip{i:04d}.wav")
        sf.write(path, x.astype(np.float32), sr, subtype="PCM_16")
        lines.append(json.dumps({"id": f"clip{i:04d}", "path": path, "labels": {"pitch": pitch}}))
    manifest = os.path.join(folder, "manifest.jsonl")
    with open(manifest, "w") as f:
        f.write("\n".join(lines) + "\n")
    return manifest, [json.loads(l)["path"] for l in lines[1:]]


def make_base(folder):
    import torch
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(0)
    cfg = HubertConfig(hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
                       layerdrop=0.0, mask_time_prob=0.0)
    HubertModel(cfg).eval().save_pretrained(folder, safe_serialization=True)
    return folder


def peer(model_dir, paths, out, per_shard=8):
    import librosa
    import soundfile as sf
    import torch
    from safetensors.numpy import save_file
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_dir).eval()
    os.makedirs(out, exist_ok=True)
    pooled = []
    with torch.inference_mode():
        for k in range(0, len(paths), per_shard):
            shard = []
            for p in paths[k:k + per_shard]:
                x, sr = sf.read(p, dtype="float32")
                x = librosa.resample(x, orig_sr=sr, target_sr=16000, res_type="soxr_hq")
                hs = model(torch.from_numpy(x)[None], output_hidden_states=True).hidden_states
                shard.append(np.stack([h[0].mean(0).numpy() for h in hs]))
            shard = np.stack(shard)  # [clips, layers, hidden]
            for l in range(shard.shape[1]):
                save_file({"activations": np.ascontiguousarray(shard[:, l])},
                          os.path.join(out, f"layer{l:03d}-shard{k // per_shard:05d}.safetensors"))
            pooled.append(shard)
    return np.concatenate(pooled)


def read_mirlens(store):
    from safetensors.numpy import load_file

    m = json.load(open(os.path.join(store, "manifest.json")))
    layers = []
    for l in m["layers"]:
        parts = [load_file(os.path.join(store, f"layer-{l:03d}", f"shard-{s['index']:05d}.safetensors"))["activations"]
                 for s in m["shards"]]
        layers.append(np.concatenate(parts))
    return np.stack(layers, axis=1)  # [clips, layers, hidden]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirlens", default=os.path.join(ROOT, "target", "release", "mirlens"))
    ap.add_argument("--cases", default="tiny,base")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clips-tiny", type=int, default=96)
    ap.add_argument("--clips-base", type=int, default=16)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    print(f"load average before: {os.getloadavg()}")
    for case in a.cases.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            n = a.clips_tiny if case == "tiny" else a.clips_base
            manifest, paths = write_clips(os.path.join(tmp, "data"), n)
            model_dir = (os.path.join(ROOT, "tests", "golden", "encoders", "hubert_group_postln") if case == "tiny"
                         else make_base(os.path.join(tmp, "base")))
            t_m, t_p = [], []
            for r in range(a.reps + 1):  # first pair is an untimed warm-up
                store = os.path.join(tmp, f"store{r}")
                t0 = time.perf_counter()
                subprocess.run([a.mirlens, "extract", "--model", model_dir, "--dataset", manifest, "--pool", "mean",
                                "--out", store, "--quiet", "--clips-per-shard", "8", "--threads", str(a.threads)],
                               check=True, env=env, stdout=subprocess.DEVNULL)
                tm = time.perf_counter() - t0
                t0 = time.perf_counter()
                ref = peer(model_dir, paths, os.path.join(tmp, f"peer{r}"))
                tp = time.perf_counter() - t0
                if r > 0:
                    t_m.append(tm)
                    t_p.append(tp)
            ours = read_mirlens(store)
            err = float(np.abs(ours - ref).max())
            scale = float(np.abs(ref).max())
            ratios = [p / m for p, m in zip(t_p, t_m)]
            print(f"[{case}] {n} clips x 1 s, {ours.shape[1]} layers x {ours.shape[2]}, mean-pooled")
            print(f"  mirlens: median {statistics.median(t_m):.2f} s, min {min(t_m):.2f} s -> "
                  f"{n / statistics.median(t_m):.1f} clips/s = {n / statistics.median(t_m):.1f} audio-s/s")
            print(f"  peer:    median {statistics.median(t_p):.2f} s, min {min(t_p):.2f} s -> "
                  f"{n / statistics.median(t_p):.1f} clips/s")
            print(f"  ratio peer/mirlens: median {statistics.median(ratios):.2f}, min {min(ratios):.2f}, "
                  f"max {max(ratios):.2f}")
            print(f"  parity: max |mirlens - peer| = {err:.2e} (max |value| {scale:.2f})")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
