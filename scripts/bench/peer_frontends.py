#!/usr/bin/env python3
"""Time librosa against mirlens on the same 60 s input, interleaved, and check numerical parity in the same run.

Peer versions: librosa==0.11.0 soxr==1.1.0 numpy==2.4.6 (run with /work/pyref/bin/python).

    /work/pyref/bin/python scripts/bench/peer_frontends.py [--rounds 7] [--reps 3]

Cases: log-mel 60 s @22,050 Hz (n_fft 2048, hop 512, 128 mels), log-mel 60 s @16 kHz (400/160/80), CQT 60 s
@22,050 Hz (84 bins, 12 per octave, hop 512). mirlens runs in the release-built `frontends` bench binary in peer
mode (one process per round; the timed calls exclude process start and include planning). Each round times
librosa then mirlens (A B A B …) after one untimed warm-up each; the ratio per round is
median(librosa) / median(mirlens). Both sides are limited to one thread.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import librosa  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cargo_bench import ROOT, bench_binary, chord  # noqa: E402


CASES = {
    "logmel22": (22050, lambda y: librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=128))),
    "logmel16": (16000, lambda y: librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=16000, n_fft=400, hop_length=160, n_mels=80))),
    "cqt22": (22050, lambda y: np.abs(librosa.cqt(y, sr=22050))),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cases", default="logmel22,logmel16,cqt22")
    args = ap.parse_args()
    exe = bench_binary("mirlens-audio", "frontends")
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; cpu: {os.cpu_count()} cores; "
          f"load before: {os.getloadavg()}; librosa {librosa.__version__}, numpy {np.__version__}")
    tmp = tempfile.mkdtemp()
    for case in args.cases.split(","):
        sr, fn = CASES[case]
        y = chord(sr, 60.0)
        inp = os.path.join(tmp, f"{case}.f32")
        outp = os.path.join(tmp, f"{case}.out.f32")
        y.tofile(inp)
        t0 = time.perf_counter()
        ref = fn(y)
        first = time.perf_counter() - t0
        env = dict(os.environ, MIRLENS_PEER_CASE=case, MIRLENS_PEER_INPUT=inp, MIRLENS_PEER_REPS=str(args.reps),
                   MIRLENS_PEER_OUTPUT=outp, RAYON_NUM_THREADS="1")
        ratios, t_peer, t_ours, best_peer, best_ours = [], [], [], [], []
        for _ in range(args.rounds):
            ts = []
            for _ in range(args.reps):
                t0 = time.perf_counter()
                fn(y)
                ts.append(time.perf_counter() - t0)
            r = json.loads(subprocess.run([exe], env=env, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            p, o = float(np.median(ts)), float(np.median(r["times"]))
            best_peer.append(min(ts))
            best_ours.append(min(r["times"]))
            t_peer.append(p)
            t_ours.append(o)
            ratios.append(p / o)
        ours = np.fromfile(outp, dtype=np.float32).reshape(r["shape"])
        peak = np.abs(ref).max()
        err = np.abs(ours - ref)
        parity = f"max abs {err.max():.3e}" + ("" if case.startswith("logmel") else f" ({err.max() / peak:.2e} of peak)")
        print(f"{case}: librosa {np.median(t_peer) * 1e3:.1f} ms (first call {first * 1e3:.0f} ms), "
              f"mirlens {np.median(t_ours) * 1e3:.2f} ms; ratio median {np.median(ratios):.1f}x "
              f"[min {np.min(ratios):.1f}x, max {np.max(ratios):.1f}x]; best-time ratio "
              f"{min(best_peer) / min(best_ours):.1f}x ({min(best_peer) * 1e3:.1f} / {min(best_ours) * 1e3:.2f} ms); "
              f"parity {parity}; shape {tuple(ref.shape)}")
    print(f"# load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
