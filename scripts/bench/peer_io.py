#!/usr/bin/env python3
"""Time soundfile/librosa decoding and soxr_hq resampling against mirlens on the same 60 s inputs, interleaved, and
check parity in the same run.

Peer versions: soundfile==0.14.0 (libsndfile 1.2.2), soxr==1.1.0, librosa==0.11.0, numpy==2.4.6 (run with
/work/pyref/bin/python); ffmpeg (libmp3lame) to make the MP3.

    /work/pyref/bin/python scripts/bench/peer_io.py [--rounds 5] [--reps 3] [--cases decode_flac,...]

Inputs (written to --dir, default target/bench-io, and reused by `MIRLENS_BENCH_IO_DIR=target/bench-io cargo bench
-p mirlens-audio --bench io`): 60 s of a seeded C-major chord + noise at 44.1 kHz, stereo (left = chord, right =
0.8·chord), as 16-bit FLAC (`music60.flac`) and 192 kbit/s MP3 (`music60.mp3`); mono float32 for resampling.

Cases (peer = what librosa does for the same request):
  decode_flac / decode_mp3   librosa.load(path, sr=None, mono=True)  (soundfile read + channel mean)
  resample16 / resample24    soxr.resample(y, 44100, 16000|24000, quality='HQ')  (librosa's default res_type)
mirlens runs in the release-built `io` bench binary in peer mode (one process per round; timed calls exclude
process start). Each round times the peer then mirlens after one untimed warm-up each; ratio per round =
median(peer) / median(mirlens) (> 1: mirlens faster). Both sides single-threaded.
"""
import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import librosa  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cargo_bench import ROOT, bench_binary, chord  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cases", default="decode_flac,decode_mp3,resample16,resample24")
    ap.add_argument("--dir", default=os.path.join(ROOT, "target", "bench-io"))
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    y = chord(44100, 60.0)
    stereo = np.stack([y, 0.8 * y], axis=1)
    flac = os.path.join(args.dir, "music60.flac")
    mp3 = os.path.join(args.dir, "music60.mp3")
    raw = os.path.join(args.dir, "music60.f32")
    wav = os.path.join(args.dir, "music60.wav")
    if not os.path.exists(flac):
        sf.write(flac, stereo, 44100, subtype="PCM_16")
    if not os.path.exists(mp3):
        sf.write(wav, stereo, 44100, subtype="PCM_16")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", wav, "-c:a", "libmp3lame",
                        "-b:a", "192k", mp3], check=True)
    y.tofile(raw)
    exe = bench_binary("mirlens-audio", "io")
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; cpu: {os.cpu_count()} cores; "
          f"load before: {os.getloadavg()}; soundfile {sf.__version__} (libsndfile {sf.__libsndfile_version__}), "
          f"soxr {soxr.__version__}, librosa {librosa.__version__}")
    cases = {
        "decode_flac": (flac, lambda: librosa.load(flac, sr=None, mono=True)[0]),
        "decode_mp3": (mp3, lambda: librosa.load(mp3, sr=None, mono=True)[0]),
        "resample16": (raw, lambda: soxr.resample(y, 44100, 16000, quality="HQ")),
        "resample24": (raw, lambda: soxr.resample(y, 44100, 24000, quality="HQ")),
    }
    for case in args.cases.split(","):
        inp, fn = cases[case]
        outp = os.path.join(args.dir, f"{case}.out.f32")
        ref = fn()  # warm-up
        env = dict(os.environ, MIRLENS_PEER_CASE=case, MIRLENS_PEER_INPUT=inp, MIRLENS_PEER_REPS=str(args.reps),
                   MIRLENS_PEER_OUTPUT=outp, RAYON_NUM_THREADS="1")
        ratios, t_peer, t_ours = [], [], []
        for _ in range(args.rounds):
            ts = []
            for _ in range(args.reps):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            r = json.loads(subprocess.run([exe], env=env, check=True, capture_output=True, text=True)
                           .stdout.strip().splitlines()[-1])
            p, o = float(np.median(ts)), float(np.median(r["times"]))
            t_peer.append(p)
            t_ours.append(o)
            ratios.append(p / o)
        ours = np.fromfile(outp, dtype=np.float32)
        if case.startswith("resample"):
            # librosa's fix=True length; compare away from the edges (50 ms)
            n = int(np.ceil(len(y) * (int(case[-2:]) * 1000 / 44100)))
            e = int(case[-2:]) * 50
            ref = np.pad(ref, (0, max(0, n - len(ref))))[:n]
            err = np.abs(ours[e:-e] - ref[e:-e]).max()
            parity = f"len {len(ours)} (librosa {n}), max abs interior {err:.2e}"
        else:
            m = min(len(ours), len(ref))
            parity = f"len {len(ours)} (soundfile {len(ref)}), max abs {np.abs(ours[:m] - ref[:m]).max():.2e}"
        print(f"{case}: peer {np.median(t_peer) * 1e3:.1f} ms, mirlens {np.median(t_ours) * 1e3:.1f} ms; "
              f"ratio median {np.median(ratios):.2f}x [min {np.min(ratios):.2f}x, max {np.max(ratios):.2f}x]; {parity}")
    print(f"# load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
