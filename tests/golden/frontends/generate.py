#!/usr/bin/env python3
"""Golden fixtures for the mirlens front-ends (STFT, mel, dB, MFCC, CQT, chroma, tuning, presets, normalisation).

Reference versions (recorded in every file's metadata):
    librosa==0.11.0  soxr==1.1.0  numpy==2.4.6  scipy==1.17.1  torch==2.11.0  torchaudio==2.11.0
    transformers==5.23.0  safetensors==0.8.0  soundfile==0.14.0

Run:  /work/pyref/bin/python tests/golden/frontends/generate.py
Signals are seeded (numpy default_rng(0)) and stored in the fixtures, so the Rust tests read the exact input.
"""
import os
import subprocess

import librosa
import numpy as np
import scipy
import soundfile as sf
import soxr
import torch
import torchaudio
import transformers
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
META = {
    "librosa": librosa.__version__,
    "soxr": soxr.__version__,
    "numpy": np.__version__,
    "scipy": scipy.__version__,
    "torch": torch.__version__,
    "torchaudio": torchaudio.__version__,
    "transformers": transformers.__version__,
    "generator": "tests/golden/frontends/generate.py",
}


def chord(sr, seconds, seed=0, a4=440.0):
    """C4/E4/G4, 5 harmonics each (amplitude 1/h), peak 0.9, + 0.01·N(0,1)."""
    n = int(round(sr * seconds))
    t = np.arange(n) / sr
    ratio = a4 / 440.0
    y = np.zeros(n)
    for f0 in (261.6255653005986, 329.6275569128699, 391.99543598174927):
        for h in range(1, 6):
            f = f0 * ratio * h
            if f < sr / 2:
                y += np.sin(2 * np.pi * f * t) / h
    y = 0.9 * y / np.max(np.abs(y))
    y += 0.01 * np.random.default_rng(seed).standard_normal(n)
    return y.astype(np.float32)


def f32(x):
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


def save(name, tensors, **meta):
    m = dict(META)
    m.update({k: str(v) for k, v in meta.items()})
    path = os.path.join(HERE, name)
    save_file({k: f32(v) for k, v in tensors.items()}, path, metadata=m)
    os.chmod(path, 0o644)
    print(name, {k: tuple(np.shape(v)) for k, v in tensors.items()})


def main():
    y22 = chord(22050, 0.5)
    y22l = chord(22050, 2.0, seed=1)
    y16 = chord(16000, 1.0, seed=2)
    y24 = chord(24000, 2.0, seed=3)
    yd = chord(22050, 2.0, seed=4, a4=446.0)  # detuned by +0.32 semitone for tuning estimation

    save("signals.safetensors", {"y22": y22, "y22l": y22l, "y16": y16, "y24": y24, "yd": yd},
         y22="chord 0.5 s @22050 seed 0", y22l="chord 2 s @22050 seed 1", y16="chord 1 s @16000 seed 2",
         y24="chord 2 s @24000 seed 3", yd="chord with A4=446 Hz, 2 s @22050 seed 4")

    # ---------------- STFT ----------------
    st = {}
    D = librosa.stft(y22)  # 2048 / 512 / hann periodic / constant
    st["default_re"], st["default_im"] = D.real, D.imag
    D = librosa.stft(y22, n_fft=512, hop_length=128, win_length=400, window="hamming", pad_mode="reflect")
    st["w400_hamming_reflect_re"], st["w400_hamming_reflect_im"] = D.real, D.imag
    w = scipy.signal.get_window("blackman", 512, fftbins=False)
    D = librosa.stft(y22, n_fft=512, hop_length=160, window=w, pad_mode="edge")
    st["blackman_sym_edge_re"], st["blackman_sym_edge_im"] = D.real, D.imag
    w = scipy.signal.get_window("hann", 512, fftbins=False)
    D = librosa.stft(y22, n_fft=512, hop_length=256, window=w, center=False)
    st["hann_sym_nocenter_re"], st["hann_sym_nocenter_im"] = D.real, D.imag
    for mode in ("symmetric",):
        st[f"pad_{mode}_mag"] = np.abs(librosa.stft(y22, n_fft=512, hop_length=128, pad_mode=mode))
    save("stft.safetensors", st, sr=22050)

    # ---------------- mel banks + mel spectrograms + dB + MFCC ----------------
    me = {}
    me["fb_slaney_slaney"] = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=128)
    me["fb_htk_none"] = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=128, htk=True, norm=None)
    me["fb_htk_slaney_300_8000_40"] = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=40, fmin=300, fmax=8000, htk=True)
    me["fb_slaney_none_16k_400_80"] = librosa.filters.mel(sr=16000, n_fft=400, n_mels=80, norm=None)
    M = librosa.feature.melspectrogram(y=y22l, sr=22050)
    me["mel_default"] = M
    me["mel_htk_none_reflect_p1"] = librosa.feature.melspectrogram(
        y=y22l, sr=22050, n_fft=1024, hop_length=256, n_mels=64, htk=True, norm=None, pad_mode="reflect", power=1.0
    )
    M16 = librosa.feature.melspectrogram(y=y16, sr=16000, n_fft=400, hop_length=160, n_mels=80)
    me["mel16_400_160_80"] = M16
    me["db_default"] = librosa.power_to_db(M)
    me["db_refmax_notop"] = librosa.power_to_db(M, ref=np.max, top_db=None)
    me["db_amin1e-5_top40"] = librosa.power_to_db(M, amin=1e-5, top_db=40.0)
    me["logmel16"] = librosa.power_to_db(M16)
    S1 = np.abs(librosa.stft(y22l, n_fft=512, hop_length=512))
    me["amp_db_default"] = librosa.amplitude_to_db(S1)
    me["amp_db_refmax"] = librosa.amplitude_to_db(S1, ref=np.max)
    me["mfcc_default"] = librosa.feature.mfcc(y=y22l, sr=22050)
    me["mfcc_13_lifter22"] = librosa.feature.mfcc(y=y22l, sr=22050, n_mfcc=13, lifter=22)
    me["mfcc16_40_htk"] = librosa.feature.mfcc(
        y=y16, sr=16000, n_mfcc=40, n_fft=400, hop_length=160, n_mels=80, htk=True
    )
    save("mel.safetensors", me)

    # ---------------- presets: torchaudio, whisper, HF normalisation ----------------
    pr = {}
    x = torch.from_numpy(y16)
    with torch.inference_mode():
        pr["torchaudio_mel_default"] = torchaudio.transforms.MelSpectrogram(sample_rate=16000)(x).numpy()
        pr["torchaudio_mel_slaney_constant"] = torchaudio.transforms.MelSpectrogram(
            sample_rate=16000, n_fft=400, hop_length=160, n_mels=80, norm="slaney", mel_scale="slaney",
            pad_mode="constant",
        )(x).numpy()
        # whisper.audio.log_mel_spectrogram, written out (the whisper package is not a dependency)
        win = torch.hann_window(400)
        stft = torch.stft(x, 400, 160, window=win, return_complex=True)
        mags = stft[..., :-1].abs() ** 2
        filt = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=400, n_mels=80))
        mel = filt @ mags
        log_spec = torch.clamp(mel, min=1e-10).log10()
        log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
        pr["whisper_logmel"] = ((log_spec + 4.0) / 4.0).numpy()
    fe = transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, do_normalize=True)
    pr["hf_normalized"] = fe(y16, sampling_rate=16000, return_tensors="np").input_values[0]
    save("presets.safetensors", pr, whisper="log_mel_spectrogram re-implemented with torch.stft + librosa mel")

    # ---------------- CQT ----------------
    cq = {}
    C = librosa.cqt(y22l, sr=22050)
    cq["cqt_default_re"], cq["cqt_default_im"], cq["cqt_default_abs"] = C.real, C.imag, np.abs(C)
    C = librosa.cqt(y24, sr=24000, hop_length=480, fmin=32.7, n_bins=336, bins_per_octave=48)
    cq["cqt_mert_abs"] = np.abs(C)
    C = librosa.cqt(y22l, sr=22050, hop_length=256, fmin=librosa.note_to_hz("A1"), n_bins=60, bins_per_octave=24,
                    filter_scale=0.8, scale=False, pad_mode="reflect")
    cq["cqt_a1_60_24_fs08_noscale_abs"] = np.abs(C)
    save("cqt.safetensors", cq)

    # ---------------- chroma + tuning ----------------
    ch = {}
    for name, sig in (("chord", y22l), ("detuned", yd)):
        S = np.abs(librosa.stft(sig)) ** 2
        ch[f"{name}_tuning_stft"] = np.array([librosa.estimate_tuning(S=S, sr=22050, bins_per_octave=12)])
        ch[f"{name}_tuning_cqt"] = np.array([librosa.estimate_tuning(y=sig, sr=22050, bins_per_octave=36)])
        ch[f"{name}_chroma_stft_est"] = librosa.feature.chroma_stft(y=sig, sr=22050)
        ch[f"{name}_chroma_stft_t0"] = librosa.feature.chroma_stft(y=sig, sr=22050, tuning=0.0)
        ch[f"{name}_chroma_cqt_est"] = librosa.feature.chroma_cqt(y=sig, sr=22050)
        ch[f"{name}_chroma_cqt_t0"] = librosa.feature.chroma_cqt(y=sig, sr=22050, tuning=0.0)
    ch["chroma_fb_t0"] = librosa.filters.chroma(sr=22050, n_fft=2048)
    ch["chroma_fb_t-0.3"] = librosa.filters.chroma(sr=22050, n_fft=2048, tuning=-0.3)
    save("chroma.safetensors", ch)

    # ---------------- CLI fixtures: the chord as WAV, FLAC and MP3 (1 s, 22,050 Hz) ----------------
    cli = {}
    yc = chord(22050, 1.0, seed=5)
    sf.write(os.path.join(HERE, "chord.wav"), yc, 22050, subtype="PCM_16")
    sf.write(os.path.join(HERE, "chord.flac"), yc, 22050, subtype="PCM_16")
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", os.path.join(HERE, "chord.wav"), "-codec:a",
                    "libmp3lame", "-b:a", "192k", os.path.join(HERE, "chord.mp3")], check=True)
    for ext in ("wav", "flac", "mp3"):
        z, sr = sf.read(os.path.join(HERE, f"chord.{ext}"), dtype="float32")
        cli[f"{ext}_logmel"] = librosa.power_to_db(librosa.feature.melspectrogram(y=z, sr=sr))
        cli[f"{ext}_mfcc"] = librosa.feature.mfcc(y=z, sr=sr)
        cli[f"{ext}_cqt_abs"] = np.abs(librosa.cqt(z, sr=sr))
    save("cli.safetensors", cli, sr=22050, decoder="soundfile " + sf.__version__)


if __name__ == "__main__":
    main()
