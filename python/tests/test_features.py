"""Front-ends from Python equal librosa's values (the committed librosa goldens) and accept any input layout."""

import numpy as np
import pytest

import mirlens
from conftest import GOLDEN, read_safetensors

SIG = read_safetensors(GOLDEN / "frontends" / "signals.safetensors")
MEL = read_safetensors(GOLDEN / "frontends" / "mel.safetensors")


def peak_err(got, want):
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def test_melspectrogram_default_equals_librosa():
    m = mirlens.features.melspectrogram(SIG["y22l"], sr=22050)
    # same tier as the Rust parity test: peak-scaled error 2e-6
    assert peak_err(m, MEL["mel_default"]) < 2e-6


def test_mel_16k_and_logmel():
    m = mirlens.features.melspectrogram(SIG["y16"], sr=16000, n_fft=400, hop_length=160, n_mels=80)
    assert peak_err(m, MEL["mel16_400_160_80"]) < 2e-6
    db = mirlens.features.power_to_db(m)
    assert np.max(np.abs(db - MEL["logmel16"])) < 2e-3
    lm = mirlens.features.logmel(SIG["y16"], sr=16000, n_fft=400, hop_length=160, n_mels=80)
    np.testing.assert_array_equal(lm, db)


def test_power_to_db_ref_max():
    db = mirlens.features.power_to_db(MEL["mel_default"], ref=np.max, top_db=None)
    assert np.max(np.abs(db - MEL["db_refmax_notop"])) < 2e-3


def test_mfcc_equals_librosa():
    c = mirlens.features.mfcc(SIG["y22l"], sr=22050, n_mfcc=13, lifter=22)
    assert peak_err(c, MEL["mfcc_13_lifter22"]) < 2e-3


def test_float64_and_strided_input_give_the_same_result():
    y = SIG["y22l"]
    ref = mirlens.features.melspectrogram(y, sr=22050)
    as64 = mirlens.features.melspectrogram(y.astype(np.float64), sr=22050)
    np.testing.assert_array_equal(ref, as64)
    doubled = np.repeat(y, 2)[::2]  # a non-contiguous view with the same values
    assert not doubled.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(ref, mirlens.features.melspectrogram(doubled, sr=22050))


def test_bad_parameters_raise_with_the_parameter_name():
    with pytest.raises(mirlens.MirlensError, match="n_mels"):
        mirlens.features.melspectrogram(SIG["y16"], sr=16000, n_fft=64, n_mels=256)
    with pytest.raises(mirlens.MirlensError, match="1-D"):
        mirlens.features.melspectrogram(np.zeros((2, 100)), sr=16000)
