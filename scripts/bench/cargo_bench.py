"""Shared helper of the peer benchmark scripts: build a criterion bench binary and return its path."""
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
