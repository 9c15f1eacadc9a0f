#!/usr/bin/env python3
"""Resampling references for mirlens-audio: soxr_hq (librosa's default) on sweeps, music-like signals and tones.

Pinned versions: numpy 2.4.6, soxr 1.1.0, librosa 0.11.0, safetensors 0.8.0. Seeded (numpy default_rng(7)).
Run: /work/pyref/bin/python tests/golden/resample/generate.py

Writes reference.safetensors (float32) with, for each rate pair `<from>_<to>`:
  sweep_<from>        log sweep 20 Hz → BAND[from] (in every pass band, see BAND), 0.5 s, amplitude 0.5
  music_<from>        harmonic chord (3 voices × up to 8 harmonics) + seeded noise, band-limited to BAND[from], 0.5 s
  sweep_<from>_<to>   librosa.resample(sweep, orig_sr=from, target_sr=to, res_type='soxr_hq') (soxr HQ, fix=True)
  music_<from>_<to>   same for music
and soxr_metrics.json with soxr_hq's pass-band ripple / stop-band attenuation measured by the same tone method as the
Rust test (see docs/audio-io.md): 18 tones at 0.05..0.90 of the lower Nyquist (pass-band ripple up to 0.80 and up to
0.90) and 12 tones from the output Nyquist to 0.95 of the input Nyquist (stop band, downsampling only); amplitude 1,
1 s, steady-state middle half, sine fit at the tone frequency (pass band) or √2·RMS of the output (stop band).
"""
import json
import os

import librosa
import numpy as np
import soxr
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)
PAIRS = [(44100, 16000), (44100, 22050), (44100, 24000), (48000, 24000), (16000, 24000), (8000, 16000)]


# Content of each input rate stays below BAND[sr] = 0.75..0.85 of the lowest Nyquist it is resampled to, i.e. in
# every resampler's pass band, so the comparison measures pass-band agreement, not different transition bands
# (those are measured separately with tones, see soxr_metrics.json).
BAND = {44100: 6800.0, 48000: 10200.0, 16000: 6800.0, 8000: 3400.0}


def sweep(sr, n):
    t = np.arange(n) / sr
    f0, f1 = 20.0, BAND[sr]
    T = n / sr
    k = np.log(f1 / f0)
    return (0.5 * np.sin(2 * np.pi * f0 * T / k * (np.exp(t / T * k) - 1))).astype(np.float32)


def music(sr, n):
    t = np.arange(n) / sr
    y = np.zeros(n)
    for f in (220.0, 277.18, 329.63):
        for h in range(1, 9):
            if f * h < BAND[sr]:
                y += 0.08 / h * np.sin(2 * np.pi * f * h * t + h)
    noise = np.fft.rfft(rng.standard_normal(n))
    noise[np.fft.rfftfreq(n, 1 / sr) > 0.9 * BAND[sr]] = 0
    y += 0.01 * np.fft.irfft(noise, n)
    return y.astype(np.float32)


def tone_gain(fin, sr_in, sr_out, secs=1.0):
    """Output amplitude of a unit sine at fin (sine fit at fin; for fin above the output Nyquist, the RMS of the
    whole steady-state output, i.e. aliases included, times sqrt(2))."""
    n = int(secs * sr_in)
    x = np.sin(2 * np.pi * fin * np.arange(n) / sr_in).astype(np.float32)
    y = soxr.resample(x, sr_in, sr_out, quality="HQ").astype(np.float64)
    m = len(y)
    y = y[m // 4: 3 * m // 4]
    if fin < sr_out / 2:
        t = (np.arange(m // 4, m // 4 + len(y))) / sr_out
        A = np.stack([np.sin(2 * np.pi * fin * t), np.cos(2 * np.pi * fin * t)], 1)
        c, *_ = np.linalg.lstsq(A, y, rcond=None)
        return float(np.hypot(*c))
    return float(np.sqrt(2 * np.mean(y ** 2)))


refs = {}
metrics = {}
for fr, to in PAIRS:
    n = fr // 2
    if f"sweep_{fr}" not in refs:
        refs[f"sweep_{fr}"] = sweep(fr, n)
        refs[f"music_{fr}"] = music(fr, n)
    for kind in ("sweep", "music"):
        x = refs[f"{kind}_{fr}"]
        y = soxr.resample(x, fr, to, quality="HQ")
        yl = librosa.resample(x, orig_sr=fr, target_sr=to, res_type="soxr_hq")
        # librosa's length: ceil(n * (to / fr)) in float64 (12 001 for 22 050 samples 44.1k→24k), zero-padded.
        assert len(yl) == int(np.ceil(len(x) * (to / fr))), (len(y), len(yl))
        m = min(len(y), len(yl))
        assert np.array_equal(y[:m], yl[:m])
        refs[f"{kind}_{fr}_{to}"] = yl.astype(np.float32)
    nyq = min(fr, to) / 2
    gains = {r: tone_gain(r * nyq, fr, to) for r in np.round(0.05 + 0.85 * np.arange(18) / 17, 6)}
    rip = lambda hi: max(abs(20 * np.log10(g)) for r, g in gains.items() if r <= hi + 1e-9)
    entry = {"ripple_db_to_0.80": rip(0.80), "ripple_db_to_0.90": rip(0.90)}
    if to < fr:
        sb = [tone_gain(f, fr, to) for f in np.linspace(1.0 * to / 2, 0.95 * fr / 2, 12)]
        entry["stopband_attenuation_db"] = -20 * np.log10(max(max(sb), 1e-12))
    metrics[f"{fr}_{to}"] = entry

meta = {"generator": "tests/golden/resample/generate.py", "numpy": np.__version__, "soxr": soxr.__version__,
        "librosa": librosa.__version__, "quality": "soxr HQ (librosa res_type='soxr_hq')"}
save_file({k: np.ascontiguousarray(v) for k, v in refs.items()}, os.path.join(HERE, "reference.safetensors"),
          metadata=meta)
with open(os.path.join(HERE, "soxr_metrics.json"), "w") as f:
    json.dump({"meta": meta, "metrics": metrics}, f, indent=1, sort_keys=True)
print(json.dumps(metrics, indent=1))
