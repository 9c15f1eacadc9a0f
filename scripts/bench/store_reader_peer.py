#!/usr/bin/env python3
"""Store reader throughput (rows/s): mirlens `Store::read_layer` / batch iteration vs numpy + safetensors reading the
same files, interleaved A B A B in one run.

Pinned: numpy 2.4.6, safetensors 0.8.0 (run with /work/pyref/bin/python).

The store (8 shards x 4096 rows x 768, seeded uniform values) is written by the mirlens example
`bench_reader` (release build) on first use. The peer reads every shard with `safetensors.numpy.load_file` and
concatenates them into one float32 [rows, 768] array (f16 stores are converted with `astype(np.float32)`), exactly
what `tests/golden/store/read_store.py` does. Both sides are timed inside their own process (start-up excluded).

    cargo build --release -p mirlens-store --example bench_reader
    python scripts/bench/store_reader_peer.py [--dtype f32|f16] [--reps 7]
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
from safetensors.numpy import load_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def peer(store):
    m = json.load(open(os.path.join(store, "manifest.json")))
    t = time.perf_counter()
    parts = [load_file(os.path.join(store, "layer-000", f"shard-{s['index']:05d}.safetensors"))["activations"]
             for s in m["shards"]]
    x = np.concatenate(parts).astype(np.float32, copy=False)
    return time.perf_counter() - t, x.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="f32")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "examples", "bench_reader"))
    a = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "store")
        subprocess.run([a.bin, store, a.dtype, "1"], check=True, stdout=subprocess.DEVNULL)  # build + warm-up
        peer(store)
        ours = {"read_layer": [], "batches": [], "batches_shuffled": []}
        theirs = []
        rows = 0
        for _ in range(a.reps):
            out = subprocess.run([a.bin, store, a.dtype, "1"], check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                r = json.loads(line)
                ours[r["what"]].append(r["secs"])
                rows = r["rows"]
            t, _ = peer(store)
            theirs.append(t)
    med = {k: statistics.median(v) for k, v in ours.items()}
    print(f"{rows} rows x 768, {a.dtype}, {a.reps} interleaved repetitions")
    for k, v in ours.items():
        print(f"  mirlens {k:17s} median {med[k] * 1e3:7.1f} ms, min {min(v) * 1e3:7.1f} ms "
              f"-> {rows / med[k] / 1e3:8.0f} k rows/s")
    print(f"  numpy+safetensors read  median {statistics.median(theirs) * 1e3:7.1f} ms, min {min(theirs) * 1e3:7.1f} ms "
          f"-> {rows / statistics.median(theirs) / 1e3:8.0f} k rows/s")
    ratios = [p / m for p, m in zip(theirs, ours["read_layer"])]
    print(f"  ratio peer/mirlens (read_layer): median {statistics.median(ratios):.2f}, min {min(ratios):.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
