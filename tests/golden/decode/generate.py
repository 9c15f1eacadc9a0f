#!/usr/bin/env python3
"""Decode fixtures for mirlens-audio: one short signal written in every supported format, plus bad inputs.

Pinned versions: numpy 2.4.6, soundfile 0.14.0 (libsndfile 1.2.2), ffmpeg (Debian, libmp3lame/libvorbis/aac/libopus),
safetensors 0.8.0. Seeded (numpy default_rng(2)). Run: /work/pyref/bin/python tests/golden/decode/generate.py

Writes next to itself:
  *.wav/.flac/.aiff/.mp3/.ogg/.m4a/.opus  fixtures (≤ 0.5 s)
  reference.safetensors                   decoded reference samples, planar [channels, frames], float32:
      <name>        soundfile.read(dtype='float32') for WAV/FLAC/AIFF; soundfile for OGG/Vorbis; ffmpeg `-f f32le` decode for
                    MP3/M4A (M4A cut to the stream's duration_ts, since ffmpeg 5.1 keeps the AAC end padding)
      source_mono   the float signal every mono fixture was made from (22 050 Hz)
      source_stereo the stereo signal (44 100 Hz)
  expected.json                           per fixture: sample_rate, channels, frames, codec family, reference kind

Not written by this script: fuzz_xing_frames.mp3, an input found by the cargo-fuzz target
(crates/mirlens-audio/fuzz, mutated from mono.mp3) whose damaged Xing header announces ~2.2 G frames; kept verbatim
as a regression input.
"""
import json
import os
import subprocess

import numpy as np
import soundfile as sf
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2)


def p(name):
    return os.path.join(HERE, name)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def ffmpeg_decode(path, channels):
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", path, "-f", "f32le", "-acodec", "pcm_f32le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(out, dtype="<f4").reshape(-1, channels).T.copy()


# Mono source: 0.5 s at 22 050 Hz, three partials + a little noise, peak ≈ 0.8.
sr_m = 22050
t = np.arange(int(0.5 * sr_m)) / sr_m
mono = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1234.5 * t + 0.3) + 0.1 * np.sin(2 * np.pi * 3000 * t)
mono += 0.02 * rng.standard_normal(t.size)
mono = mono.astype(np.float32)

# Stereo source: 0.3 s at 44 100 Hz, different content per channel.
sr_s = 44100
ts = np.arange(int(0.3 * sr_s)) / sr_s
left = 0.5 * np.sin(2 * np.pi * 330 * ts)
right = 0.3 * np.sin(2 * np.pi * 880 * ts) + 0.05 * rng.standard_normal(ts.size)
stereo = np.stack([left, right], axis=1).astype(np.float32)

refs = {"source_mono": mono[None, :], "source_stereo": stereo.T.copy()}
expected = {}


def add_sf(name, data, sr, subtype, fmt=None):
    sf.write(p(name), data, sr, subtype=subtype, format=fmt)
    y, r = sf.read(p(name), dtype="float32", always_2d=True)
    refs[name] = y.T.copy()
    expected[name] = {"sample_rate": r, "channels": y.shape[1], "frames": y.shape[0], "reference": "soundfile",
                      "subtype": subtype}


add_sf("pcm_u8.wav", mono, sr_m, "PCM_U8")
add_sf("pcm_s16.wav", mono, sr_m, "PCM_16")
add_sf("pcm_s24.wav", mono, sr_m, "PCM_24")
add_sf("pcm_s32.wav", mono, sr_m, "PCM_32")
add_sf("float32.wav", mono, sr_m, "FLOAT")
add_sf("float64.wav", mono, sr_m, "DOUBLE")
add_sf("stereo_s16.wav", stereo, sr_s, "PCM_16")
add_sf("s16.flac", mono, sr_m, "PCM_16")
add_sf("s24.flac", mono, sr_m, "PCM_24")
add_sf("stereo_s16.flac", stereo, sr_s, "PCM_16")
add_sf("s16.aiff", mono, sr_m, "PCM_16", "AIFF")

# Lossy formats, encoded by ffmpeg from the 16-bit WAVs; references are ffmpeg's own decodes (gapless: LAME tag for
# MP3, granule positions for Vorbis, the MP4 edit list for AAC).
lossy = [
    ("mono.mp3", "pcm_s16.wav", ["-c:a", "libmp3lame", "-b:a", "128k"], 1, sr_m),
    ("stereo.mp3", "stereo_s16.wav", ["-c:a", "libmp3lame", "-b:a", "160k"], 2, sr_s),
    ("stereo.m4a", "stereo_s16.wav", ["-c:a", "aac", "-b:a", "160k"], 2, sr_s),
    ("mono.m4a", "pcm_s16.wav", ["-c:a", "aac", "-b:a", "96k"], 1, sr_m),
]
for name, src, codec, ch, sr in lossy:
    ffmpeg("-i", p(src), *codec, "-map_metadata", "-1", "-fflags", "+bitexact", p(name))
    y = ffmpeg_decode(p(name), ch)
    # ffmpeg 5.1's CLI skips the priming but does not cut the end padding of AAC; cut to the stream duration.
    n = int(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                            "stream=duration_ts", "-of", "csv=p=0", p(name)], capture_output=True, text=True,
                           check=True).stdout.strip())
    y = y[:, :n]
    refs[name] = y
    expected[name] = {"sample_rate": sr, "channels": ch, "frames": y.shape[1], "reference": "ffmpeg"}

# Vorbis: libsndfile decodes OGG/Vorbis with exact granule trimming; use it as the reference.
ffmpeg("-i", p("pcm_s16.wav"), "-c:a", "libvorbis", "-q:a", "5", "-map_metadata", "-1", "-fflags", "+bitexact",
       p("mono.ogg"))
y, r = sf.read(p("mono.ogg"), dtype="float32", always_2d=True)
refs["mono.ogg"] = y.T.copy()
expected["mono.ogg"] = {"sample_rate": r, "channels": 1, "frames": y.shape[0], "reference": "soundfile"}

# Unsupported codec.
ffmpeg("-i", p("pcm_s16.wav"), "-ar", "48000", "-c:a", "libopus", "-b:a", "32k", p("unsupported.opus"))

# Bad inputs.
open(p("empty.wav"), "wb").close()
with open(p("pcm_s16.wav"), "rb") as f:
    wav = f.read()
with open(p("truncated.wav"), "wb") as f:
    f.write(wav[: 44 + 2 * 3000 + 1])  # header says 11 025 frames; 3000.5 frames present
with open(p("s16.flac"), "rb") as f:
    flac = f.read()
with open(p("truncated.flac"), "wb") as f:
    f.write(flac[: len(flac) // 2])
corrupt = bytearray(flac)
start = len(corrupt) // 4
corrupt[start:start + 4000] = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
with open(p("corrupt.flac"), "wb") as f:
    f.write(bytes(corrupt))
with open(p("garbage.wav"), "wb") as f:
    f.write(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
sf.write(p("zero_length.wav"), np.zeros(0, dtype=np.float32), sr_m, subtype="PCM_16")
nan = mono.copy()
nan[100] = np.nan
nan[2000] = np.inf
sf.write(p("nan.wav"), nan, sr_m, subtype="FLOAT")
sf.write(p("all_nan.wav"), np.full(1000, np.nan, dtype=np.float32), sr_m, subtype="FLOAT")

meta = {
    "generator": "tests/golden/decode/generate.py",
    "numpy": np.__version__,
    "soundfile": sf.__version__,
    "libsndfile": sf.__libsndfile_version__,
    "ffmpeg": subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0],
}
save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in refs.items()}, p("reference.safetensors"),
          metadata=meta)
with open(p("expected.json"), "w") as f:
    json.dump({"meta": meta, "files": expected}, f, indent=1, sort_keys=True)
print("wrote", len(refs), "references;", sorted(expected))
