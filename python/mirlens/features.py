"""librosa-style front-ends (librosa 0.11 names, defaults and values; see the README's parity table).

Each function takes a mono signal ``y`` (any float dtype, any layout) and returns float32 ``[bins, frames]``.
"""

from . import _mirlens
from ._util import f32_1d, f32_2d


def stft(y, *, n_fft=2048, hop_length=None, power=1.0, center=True):
    """``np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length, center=center)) ** power``."""
    return _mirlens.stft(f32_1d(y), n_fft=n_fft, hop_length=hop_length, power=power, center=center)


def melspectrogram(y, *, sr=22050, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=None, power=2.0,
                   htk=False, norm="slaney", center=True):
    """``librosa.feature.melspectrogram``."""
    return _mirlens.melspectrogram(f32_1d(y), sr=float(sr), n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                                   fmin=float(fmin), fmax=None if fmax is None else float(fmax), power=power,
                                   htk=htk, norm=norm, center=center)


def power_to_db(S, *, ref=1.0, amin=1e-10, top_db=80.0):
    """``librosa.power_to_db``; ``ref`` is a number or ``numpy.max``."""
    import numpy as np

    reference = None if ref is np.max or ref == "max" else float(ref)
    return _mirlens.power_to_db(f32_2d(S, "S"), reference=reference, amin=amin, top_db=top_db)


def logmel(y, *, sr=22050, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=None, top_db=80.0):
    """``power_to_db(melspectrogram(...))``, the log-mel of ``mirlens features --kind logmel``."""
    m = melspectrogram(y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return power_to_db(m, top_db=top_db)


def mfcc(y, *, sr=22050, n_mfcc=20, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=None, lifter=0.0,
         top_db=80.0):
    """``librosa.feature.mfcc``."""
    return _mirlens.mfcc(f32_1d(y), sr=float(sr), n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop_length,
                         n_mels=n_mels, fmin=float(fmin), fmax=None if fmax is None else float(fmax),
                         lifter=float(lifter), top_db=top_db)


def cqt(y, *, sr=22050, hop_length=512, fmin=None, n_bins=84, bins_per_octave=12, tuning=0.0):
    """``np.abs(librosa.cqt(...))``; ``tuning=None`` estimates the tuning."""
    return _mirlens.cqt(f32_1d(y), sr=float(sr), hop_length=hop_length,
                        fmin=None if fmin is None else float(fmin), n_bins=n_bins,
                        bins_per_octave=bins_per_octave, tuning=None if tuning is None else float(tuning))


def chroma_stft(y, *, sr=22050, n_fft=2048, hop_length=512, tuning=None):
    """``librosa.feature.chroma_stft``; ``tuning=None`` estimates the tuning."""
    return _mirlens.chroma_stft(f32_1d(y), sr=float(sr), n_fft=n_fft, hop_length=hop_length,
                                tuning=None if tuning is None else float(tuning))
