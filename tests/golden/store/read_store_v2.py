#!/usr/bin/env python3
# Reads the format-2 mirlens activation store in fixture_store_v2/ with json + numpy + safetensors only (no mirlens),
# joins the row table with the clip table, decodes every label, and writes what it read to python_read_v2.safetensors;
# the Rust test crates/mirlens-store/tests/it/python.rs compares it with the Rust reader.
#
# Pinned versions: python 3.11, numpy 2.4.6, safetensors 0.8.0.
# Regenerate (from the repository root):
#   rm -rf tests/golden/store/fixture_store_v2
#   cargo run -p mirlens-store --example write_fixture_store_v2 -- tests/golden/store/fixture_store_v2
#   /work/pyref/bin/python tests/golden/store/read_store_v2.py
import json
import os

import numpy as np
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def strings(t, name):
    """Decode a string column (UTF-8 bytes + int64 offsets)."""
    b, o = t[f"clip.{name}.bytes"].tobytes(), t[f"clip.{name}.offsets"]
    return [b[o[i]:o[i + 1]].decode("utf-8") for i in range(len(o) - 1)]


def read_store(store):
    """Return (manifest, {layer: float32 [rows, hidden]}, row columns dict, clip table dict)."""
    with open(os.path.join(store, "manifest.json")) as f:
        m = json.load(f)
    assert m["format"] == "mirlens-store/2", m["format"]
    assert m["complete"], "store is not finalised"
    schema = {f["name"]: f for f in m["label_schema"]}
    rows, clips, layers = {}, {}, {}
    for shard in m["shards"]:  # ascending shard index = store row order
        k = shard["index"]
        t = load_file(os.path.join(store, "rows", f"shard-{k:05d}.safetensors"))
        for name, a in t.items():
            if name.startswith("row."):
                rows.setdefault(name[4:], []).append(a)
        clips.setdefault("index", []).append(t["clip.index"])
        for s in ("id", "split", "source"):
            clips.setdefault(s, []).extend(strings(t, s))
        for name, f in schema.items():
            if f["level"] == "clip":
                clips.setdefault("label." + name, []).append(t[f"clip.label.{name}"])
        for layer in m["layers"]:
            a = load_file(os.path.join(store, f"layer-{layer:03d}", f"shard-{k:05d}.safetensors"))["activations"]
            layers.setdefault(layer, []).append(a.astype(np.float32))
    rows = {k: np.concatenate(v) for k, v in rows.items()}
    clips = {k: (np.concatenate(v) if isinstance(v[0], np.ndarray) else v) for k, v in clips.items()}
    layers = {l: np.concatenate(v) for l, v in layers.items()}
    return m, schema, layers, rows, clips


def decode(field, a):
    """A label column as float32 for comparison: categorical → code (-1 missing), integer → value (NaN missing),
    real → value, multi-hot → 0/1 (NaN missing), vector → values."""
    kind = field["type"]
    if kind == "categorical":
        a = a.astype(np.int64)
        return np.where(a == 0xFFFFFFFF, -1, a).astype(np.float32)
    if kind == "integer":
        return np.where(a == np.iinfo(np.int64).min, np.nan, a.astype(np.float64)).astype(np.float32)
    if kind == "multi_hot":
        missing = np.all(a == 255, axis=1, keepdims=True)
        return np.where(missing, np.nan, a.astype(np.float32)).astype(np.float32)
    return a.astype(np.float32)


def main():
    m, schema, layers, rows, clips = read_store(os.path.join(HERE, "fixture_store_v2"))
    n = m["num_rows"]
    # join rows to their clips: row.clip holds the dataset clip index, clip.index is ascending
    pos = np.searchsorted(clips["index"], rows["clip"])
    assert np.all(clips["index"][pos] == rows["clip"])
    out = {
        "row_clip": rows["clip"].astype(np.float32),
        "position": rows["position"].astype(np.float32),
        "span_start": rows["span_start"].astype(np.float32),
        "span_end": rows["span_end"].astype(np.float32),
    }
    for l, x in layers.items():
        assert x.shape == (n, m["hidden_size"])
        out[f"layer_{l}"] = x
        st = load_file(os.path.join(HERE, "fixture_store_v2", "stats", f"layer-{l:03d}.safetensors"))
        np.testing.assert_allclose(st["mean"], x.astype(np.float64).mean(0), atol=1e-12)
        np.testing.assert_allclose(st["var"], x.astype(np.float64).var(0), atol=1e-12)
        out[f"mean_{l}"] = st["mean"].astype(np.float32)
    names = {}
    for name, f in schema.items():
        if f["level"] == "clip":
            a = clips["label." + name][pos]  # clip-level labels repeated over the clip's rows
        else:
            a = rows["label." + name]
        out["label_" + name] = decode(f, a)
        if f["type"] == "categorical":
            names[name] = "|".join("" if c == 0xFFFFFFFF else f["classes"][c] for c in a)
    meta = {
        "clip_ids": "|".join(clips["id"][p] for p in pos),
        "splits": "|".join(clips["split"][p] for p in pos),
        "sources": "|".join(clips["source"][p] for p in pos),
        "modality": m["modality"],
        "row_unit": json.dumps(m["row_unit"]),
        "architecture": m["model_card"]["architecture"],
        "numpy": np.__version__,
    }
    meta.update({f"names_{k}": v for k, v in names.items()})
    save_file(out, os.path.join(HERE, "python_read_v2.safetensors"), metadata=meta)
    print(f"read {n} rows x {m['hidden_size']} from layers {m['layers']}, labels {list(schema)}")


if __name__ == "__main__":
    main()
