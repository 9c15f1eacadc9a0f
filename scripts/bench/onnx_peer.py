#!/usr/bin/env python3
"""PyTorch/transformers peer for `cargo bench -p mirlens-onnx --bench onnx` (HuBERT-base-size forward, 10 s @ 16 kHz,
batch 1, f32, every hidden state, `inference_mode`).

Pinned versions: torch 2.11.0, transformers 5.23.0, numpy 2.4.6.

Runs as a server driven by the Rust benchmark over stdin/stdout so the two sides can be timed interleaved in one run:

    ready <torch> <transformers>      (printed once the model is loaded and warmed up)
    run            -> "<seconds>"     one timed forward
    dump PATH      -> "ok"            writes all hidden states (13 x [frames, 768], f32 little endian) to PATH
    mem            -> "<bytes>"       peak resident memory of this process (ru_maxrss)
    quit

    python onnx_peer.py MODEL_DIR THREADS SAMPLES
"""

import resource
import sys
import time

import numpy as np
import torch
import transformers
from transformers import HubertModel


def bench_input(n, sr=16000):
    """Deterministic test signal, identical to the Rust benchmark's `bench_input`."""
    t = np.arange(n, dtype=np.float64) / sr
    x = 0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.2 * np.sin(2 * np.pi * 1234.5 * t + 0.3) + 0.05 * np.sin(2 * np.pi * 97.0 * t)
    return x.astype(np.float32)


def main():
    model_dir, threads, samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    model = HubertModel.from_pretrained(model_dir).eval()
    x = torch.from_numpy(bench_input(samples))[None, :]

    def forward():
        with torch.inference_mode():
            return model(x, output_hidden_states=True)

    forward()  # warm-up
    print(f"ready {torch.__version__} {transformers.__version__}", flush=True)
    for line in sys.stdin:
        cmd = line.strip().split(" ", 1)
        if cmd[0] == "run":
            t0 = time.perf_counter()
            forward()
            print(f"{time.perf_counter() - t0:.6f}", flush=True)
        elif cmd[0] == "dump":
            out = forward()
            with open(cmd[1], "wb") as f:
                for h in out.hidden_states:
                    f.write(h[0].contiguous().numpy().astype("<f4").tobytes())
            print("ok", flush=True)
        elif cmd[0] == "mem":
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, flush=True)
        elif cmd[0] == "quit":
            break


if __name__ == "__main__":
    main()
