"""Shared helpers: repository paths, a dependency-free safetensors reader, the mirlens CLI binary."""

import json
import os
import pathlib
import struct

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "U8": np.uint8, "U32": np.uint32, "I8": np.int8}


def read_safetensors(path):
    """{name: array} of a safetensors file, read with numpy only."""
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=_DTYPES[t["dtype"]])
        out[name] = arr.reshape(t["shape"])
    return out


@pytest.fixture(scope="session")
def cli():
    """Path of the mirlens binary (built by the Rust test run before pytest; MIRLENS_BIN overrides)."""
    p = os.environ.get("MIRLENS_BIN") or str(REPO / "target" / "debug" / "mirlens")
    if not os.path.exists(p):
        raise FileNotFoundError(f"mirlens binary not found at {p}: build it (cargo build) or set MIRLENS_BIN")
    return p
