"""Shared helpers of the peer benchmark scripts: the repository root, the test chord, and the path of a built
criterion bench binary."""
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def bench_binary(package, bench):
    """`cargo bench -p PACKAGE --bench BENCH --no-run`, then the path of the built executable."""
    out = subprocess.run(
        ["cargo", "bench", "-p", package, "--bench", bench, "--no-run", "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        try:
            m = json.loads(line)
        except json.JSONDecodeError:
            continue
        if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == bench and m.get("executable"):
            return m["executable"]
    sys.exit(f"could not find the {bench} bench executable of {package}")


def chord(sr, seconds):
    """C major triad with 5 harmonics per note plus seeded noise, peak ≈ 0.9, float32 (the benchmark signal)."""
    import numpy as np

    n = int(sr * seconds)
    t = np.arange(n) / sr
    y = np.zeros(n)
    for f0 in (261.63, 329.63, 392.0):
        for h in range(1, 6):
            if f0 * h < sr / 2:
                y += np.sin(2 * np.pi * f0 * h * t) / h
    y = 0.9 * y / np.max(np.abs(y)) + 0.01 * np.random.default_rng(0).standard_normal(n)
    return y.astype(np.float32)
