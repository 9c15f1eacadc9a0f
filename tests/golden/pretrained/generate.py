"""Interop golden of the shipped pretrained model: transformers' HubertModel on models/mirlens-music-small.

Loads the final weights (models/mirlens-music-small) and every shipped checkpoint
(models/mirlens-music-small/checkpoints/step-*) with `HubertModel.from_pretrained` in float32 and writes their
hidden states on one deterministic 0.6 s input to hidden_states.safetensors:

    input                      raw 24 kHz waveform (f32, before the per-clip normalisation the model's
                               preprocessor_config.json asks for; the test applies mirlens' own)
    <model>.layer_<i>          hidden state i of <model> ("final" or "step-NNNNNN"), [frames, hidden]

Metadata: the SHA-256 of each model.safetensors, so a test can tell a stale golden from a wrong loader.

Run from the repository root:  python tests/golden/pretrained/generate.py
Versions used: python 3, numpy 2.4.6, torch 2.11.0 (CPU), transformers 5.23.0, safetensors 0.8.0.
"""

import hashlib
import json
import pathlib

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import HubertModel, Wav2Vec2FeatureExtractor

ROOT = pathlib.Path(__file__).resolve().parents[3]
MODEL = ROOT / "models" / "mirlens-music-small"
OUT = pathlib.Path(__file__).resolve().parent / "hidden_states.safetensors"
SR = 24000


def signal():
    rng = np.random.default_rng(20261121)
    t = np.arange(int(0.6 * SR)) / SR
    # A plucked A3 with harmonics, a second note entering at 0.3 s, and a little noise.
    x = np.zeros_like(t)
    for k, a in enumerate([1.0, 0.5, 0.33, 0.25, 0.2], start=1):
        x += a * np.sin(2 * np.pi * 220.0 * k * t) * np.exp(-3.0 * t)
    late = t >= 0.3
    x[late] += 0.6 * np.sin(2 * np.pi * 329.63 * (t[late] - 0.3)) * np.exp(-4.0 * (t[late] - 0.3))
    x += 0.01 * rng.standard_normal(t.shape)
    return (0.3 * x).astype(np.float32)


def main():
    torch.manual_seed(0)
    x = signal()
    tensors = {"input": x}
    meta = {}
    models = [("final", MODEL)] + [
        (d.name, d) for d in sorted((MODEL / "checkpoints").iterdir()) if (d / "config.json").is_file()
    ]
    for name, d in models:
        m = HubertModel.from_pretrained(d, dtype=torch.float32).eval()
        fe = Wav2Vec2FeatureExtractor.from_pretrained(d)
        inp = fe(x, sampling_rate=SR, return_tensors="pt")["input_values"]
        with torch.no_grad():
            hs = m(inp, output_hidden_states=True).hidden_states
        for i, h in enumerate(hs):
            tensors[f"{name}.layer_{i}"] = h[0].numpy().astype(np.float32)
        meta[name] = hashlib.sha256((d / "model.safetensors").read_bytes()).hexdigest()
        print(name, len(hs), "hidden states of", tuple(hs[0].shape[1:]))
    save_file(tensors, str(OUT), metadata={"sha256": json.dumps(meta, sort_keys=True), "sample_rate": str(SR)})
    print("wrote", OUT)


if __name__ == "__main__":
    main()
