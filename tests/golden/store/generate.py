#!/usr/bin/env python3
# Regenerates this golden case. Format 2 (current): writes fixture_store_v2/ with mirlens (Rust), then reads it back
# with read_store_v2.py (json + numpy + safetensors only) into python_read_v2.safetensors. Format 1: fixture_store/
# was written by the format-1 writer (commit 7973b7e) and is kept as it is, to test that old stores still open;
# read_store.py reads it into python_read.safetensors.
#
# Pinned versions: python 3.11, numpy 2.4.6, safetensors 0.8.0.
# Run from anywhere:  /work/pyref/bin/python tests/golden/store/generate.py
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def main():
    store = os.path.join(HERE, "fixture_store_v2")
    shutil.rmtree(store, ignore_errors=True)
    subprocess.run(
        ["cargo", "run", "-q", "-p", "mirlens-store", "--example", "write_fixture_store_v2", "--", store],
        cwd=ROOT,
        check=True,
    )
    sys.path.insert(0, HERE)
    import read_store  # noqa: E402
    import read_store_v2  # noqa: E402

    read_store.main()
    read_store_v2.main()


if __name__ == "__main__":
    main()
