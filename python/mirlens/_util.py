"""Input conversion shared by the wrappers."""

import numpy as np

from ._mirlens import MirlensError


def f32_1d(y, name="y"):
    a = np.ascontiguousarray(np.asarray(y), dtype=np.float32)
    if a.ndim != 1:
        raise MirlensError(f"`{name}` must be a 1-D array (mono samples), got shape {a.shape}")
    return a


def f32_2d(x, name="x"):
    a = np.ascontiguousarray(np.asarray(x), dtype=np.float32)
    if a.ndim != 2:
        raise MirlensError(f"`{name}` must be a 2-D array [rows, dim], got shape {a.shape}")
    if a.size and not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise MirlensError(f"`{name}` holds a non-finite value at row {bad[0]}, column {bad[1]}")
    return a


def i64_1d(v, name):
    a = np.asarray(v)
    if a.ndim != 1:
        raise MirlensError(f"`{name}` must be a 1-D array, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise MirlensError(f"`{name}` must hold integers, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.int64)
