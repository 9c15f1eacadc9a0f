#!/usr/bin/env python3
"""Golden for the log-mel baseline encoder (`mirlens_extract::baseline::LogMelEncoder`).

Pinned versions: numpy 2.4.6, librosa 0.11.0 (scipy 1.17.1), safetensors 0.8.0. Seeded (numpy default_rng(7)).
Run: /work/pyref/bin/python tests/golden/logmel_baseline/generate.py

Signal: 0.5 s at 24 kHz (12 000 samples), two partials (440 Hz, amplitude 0.5; 2637 Hz, amplitude 0.2, with a
linear fade-in of the upper partial over the clip) plus white noise of standard deviation 0.002 (quiet enough that
the top_db=80 floor clips the quietest bands), stored as float32.

Reference: librosa.power_to_db(librosa.feature.melspectrogram(...), ref=1.0, amin=1e-10, top_db=80.0) with
sr=24000, n_fft=2048, hop_length=320, window='hann', center=True, pad_mode='reflect', power=2.0, n_mels=128,
fmin=0, fmax=12000, htk=False, norm='slaney', computed in float64 from the float32 signal, transposed to
[frames, 128] and stored as float32.

Writes next to itself:
  expected.safetensors   signal [12000] float32, logmel [frames, 128] float32; metadata: versions and parameters
"""
import os

import librosa
import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)

SR = 24000
N = SR // 2
PARAMS = dict(sr=SR, n_fft=2048, hop_length=320, window="hann", center=True, pad_mode="reflect", power=2.0,
              n_mels=128, fmin=0.0, fmax=12000.0, htk=False, norm="slaney")

t = np.arange(N) / SR
y = (0.5 * np.sin(2 * np.pi * 440.0 * t)
     + 0.2 * np.linspace(0.0, 1.0, N) * np.sin(2 * np.pi * 2637.0 * t + 0.3)
     + 0.002 * rng.standard_normal(N))
y32 = y.astype(np.float32)

mel = librosa.feature.melspectrogram(y=y32.astype(np.float64), **PARAMS)
db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
logmel = np.ascontiguousarray(db.T).astype(np.float32)

save_file(
    {"signal": y32, "logmel": logmel},
    os.path.join(HERE, "expected.safetensors"),
    metadata={
        "librosa": librosa.__version__,
        "numpy": np.__version__,
        "params": repr(PARAMS) + "; power_to_db(ref=1.0, amin=1e-10, top_db=80.0)",
        "layout": "logmel [frames, n_mels]",
    },
)
print("logmel", logmel.shape, "range", float(logmel.min()), float(logmel.max()))
