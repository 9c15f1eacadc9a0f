#!/usr/bin/env python3
# Reads the mirlens activation store in fixture_store/ with json + numpy + safetensors only, and writes what it read
# to python_read.safetensors; the Rust test crates/mirlens-store/tests/it/python.rs compares it with the Rust reader.
#
# Pinned versions: python 3.12, numpy 2.4.6, safetensors 0.8.0.
# Regenerate:
#   fixture_store/ is frozen:
#   (the fixture was written by the format-1 writer, commit 7973b7e; this version no longer writes format 1)
#   /work/pyref/bin/python tests/golden/store/read_store.py
import json
import os

import numpy as np
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def read_store(store):
    """Return (manifest, {layer: float32 array [rows, hidden]}, rows metadata list, {layer: stats dict})."""
    with open(os.path.join(store, "manifest.json")) as f:
        manifest = json.load(f)
    assert manifest["format"] == "mirlens-store/1", manifest["format"]
    assert manifest["complete"], "store is not finalised"
    layers = {}
    rows = []
    for shard in manifest["shards"]:  # ascending shard index = store row order
        k = shard["index"]
        with open(os.path.join(store, "rows", f"shard-{k:05d}.jsonl")) as f:
            rows.extend(json.loads(line) for line in f)
        for layer in manifest["layers"]:
            t = load_file(os.path.join(store, f"layer-{layer:03d}", f"shard-{k:05d}.safetensors"))["activations"]
            layers.setdefault(layer, []).append(t.astype(np.float32))
    layers = {l: np.concatenate(v, axis=0) for l, v in layers.items()}
    stats = {l: load_file(os.path.join(store, "stats", f"layer-{l:03d}.safetensors")) for l in manifest["layers"]}
    return manifest, layers, rows, stats


def main():
    manifest, layers, rows, stats = read_store(os.path.join(HERE, "fixture_store"))
    out = {}
    for l, x in layers.items():
        assert x.shape == (manifest["num_rows"], manifest["hidden_size"])
        out[f"layer_{l}"] = x
        out[f"mean_{l}"] = stats[l]["mean"].astype(np.float32)
        # the stored statistics agree with numpy's
        np.testing.assert_allclose(stats[l]["mean"], x.astype(np.float64).mean(0), atol=1e-12)
        np.testing.assert_allclose(stats[l]["var"], x.astype(np.float64).var(0), atol=1e-12)
    out["pitch"] = np.array([r["labels"]["pitch"] for r in rows], dtype=np.float32)
    out["clip_index"] = np.array([r["clip_index"] for r in rows], dtype=np.float32)
    meta = {"model": manifest["model"], "numpy": np.__version__, "bad_clips": str(len(manifest["bad_clips"]))}
    save_file(out, os.path.join(HERE, "python_read.safetensors"), metadata=meta)
    print(f"read {manifest['num_rows']} rows x {manifest['hidden_size']} from layers {manifest['layers']}")


if __name__ == "__main__":
    main()
