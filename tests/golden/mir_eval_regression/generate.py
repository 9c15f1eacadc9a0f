#!/usr/bin/env python3
"""mir_eval's own regression data, as a golden for `mirlens score` and the annotation readers.

Pinned: mir_eval 0.8.2 (tag `0.8.2` of https://github.com/mir-evaluation/mir_eval), numpy 2.4.6.
Usage: generate.py /path/to/mir_eval/checkout  (a clone of the repository; the files are read at tag 0.8.2)

Copies tests/data/{key,beat,onset,transcription,chord,melody}/ (reference, estimate and expected-output files,
unchanged) from the mir_eval repository at tag 0.8.2 into this folder, with mir_eval's licence (MIT, in
LICENSE-mir_eval.txt), then re-runs each kind's loader and `evaluate` with the installed mir_eval 0.8.2 and checks
that it reproduces the stored outputs (so the golden is what mir_eval 0.8.2 computes). Writes PROVENANCE.json.
Deterministic: re-running gives identical files.
"""
import glob
import hashlib
import json
import os
import subprocess
import sys
import warnings

import mir_eval
import numpy as np

assert mir_eval.__version__ == "0.8.2", mir_eval.__version__
warnings.filterwarnings("ignore")
TAG = "0.8.2"
KINDS = {"key": "txt", "beat": "txt", "onset": "txt", "transcription": "txt", "chord": "lab", "melody": "txt"}
here = os.path.dirname(os.path.abspath(__file__))
src = sys.argv[1]


def git(*args):
    return subprocess.run(["git", "-C", src, *args], check=True, capture_output=True).stdout


files = {}
for kind in KINDS:
    names = [p for p in git("ls-tree", "--name-only", TAG, f"tests/data/{kind}/").decode().split("\n") if p]
    os.makedirs(os.path.join(here, kind), exist_ok=True)
    for p in sorted(names):
        data = git("show", f"{TAG}:{p}")
        dst = os.path.join(here, kind, os.path.basename(p))
        with open(dst, "wb") as f:
            f.write(data)
        files[f"{kind}/{os.path.basename(p)}"] = hashlib.sha256(data).hexdigest()
with open(os.path.join(here, "LICENSE-mir_eval.txt"), "wb") as f:
    f.write(git("show", f"{TAG}:LICENSE.txt"))


def evaluate(kind, ref, est):
    io = mir_eval.io
    if kind == "key":
        return mir_eval.key.evaluate(io.load_key(ref), io.load_key(est))
    if kind == "beat":
        return mir_eval.beat.evaluate(io.load_events(ref), io.load_events(est))
    if kind == "onset":
        return mir_eval.onset.evaluate(io.load_events(ref), io.load_events(est))
    if kind == "transcription":
        ri, rp = io.load_valued_intervals(ref)
        ei, ep = io.load_valued_intervals(est)
        return mir_eval.transcription.evaluate(ri, rp, ei, ep)
    if kind == "chord":
        ri, rl = io.load_labeled_intervals(ref)
        ei, el = io.load_labeled_intervals(est)
        return mir_eval.chord.evaluate(ri, rl, ei, el)
    if kind == "melody":
        rt, rf = io.load_time_series(ref)
        et, ef = io.load_time_series(est)
        return mir_eval.melody.evaluate(rt, rf, et, ef)


worst = 0.0
cases = 0
for kind, ext in KINDS.items():
    for out in sorted(glob.glob(os.path.join(here, kind, "output*.json"))):
        n = os.path.basename(out)[len("output"):-len(".json")]
        ref = os.path.join(here, kind, f"ref{n}.{ext}")
        est = os.path.join(here, kind, f"est{n}.{ext}")
        if not (os.path.exists(ref) and os.path.exists(est)):
            continue
        stored = json.load(open(out))
        got = evaluate(kind, ref, est)
        for k, v in stored.items():
            err = abs(float(got[k]) - float(v))
            worst = max(worst, err)
            assert err < 1e-6, (kind, n, k, got[k], v)
        cases += 1

json.dump({"source": "https://github.com/mir-evaluation/mir_eval", "tag": TAG, "license": "MIT (LICENSE-mir_eval.txt)",
           "files_sha256": files, "cases": cases,
           "mir_eval_0.8.2_reproduces_outputs_max_abs_error": worst,
           "versions": {"mir_eval": mir_eval.__version__, "numpy": np.__version__}},
          open(os.path.join(here, "PROVENANCE.json"), "w"), indent=1, sort_keys=True)
print(f"{cases} cases; mir_eval {mir_eval.__version__} reproduces the stored outputs within {worst:.3g}")
