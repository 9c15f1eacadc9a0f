//! librosa-style front-ends on numpy arrays. Names and defaults follow librosa 0.11; each returns a float32
//! `[bins, frames]` array exactly as the `mirlens features` command computes it.

use crate::errors::{invalid, to_py};
use mirlens_audio::frontend::chroma::{ChromaStftParams, chroma_stft as chroma_stft_impl};
use mirlens_audio::frontend::cqt::{Cqt, CqtParams};
use mirlens_audio::frontend::db::{DbParams, DbRef, power_to_db as power_to_db_impl};
use mirlens_audio::frontend::mel::{
    MelNorm, MelParams, MelScale, MelSpectrogram, MelSpectrogramParams,
};
use mirlens_audio::frontend::mfcc::{Mfcc, MfccParams};
use mirlens_audio::frontend::stft::{Stft, StftParams};
use mirlens_audio::frontend::tuning::Tuning;
use mirlens_audio::frontend::{FrontendError, Spectrogram};
use numpy::{
    PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

fn to_array<'py>(py: Python<'py>, s: Spectrogram) -> PyResult<Bound<'py, PyArray2<f32>>> {
    PyArray1::from_vec(py, s.data).reshape([s.n_bins, s.n_frames])
}

fn stft_params(n_fft: usize, hop_length: Option<usize>, center: bool) -> StftParams {
    StftParams {
        n_fft,
        hop_length,
        center,
        ..StftParams::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn mel_params(
    sr: f64,
    n_fft: usize,
    hop_length: Option<usize>,
    n_mels: usize,
    fmin: f64,
    fmax: Option<f64>,
    power: f32,
    htk: bool,
    norm: Option<&str>,
    center: bool,
) -> PyResult<MelSpectrogramParams> {
    let norm = match norm {
        Some("slaney") => MelNorm::Slaney,
        None => MelNorm::None,
        Some(other) => {
            return Err(invalid(format!(
                "invalid parameter `norm`: expected 'slaney' or None, got {other:?}"
            )));
        }
    };
    Ok(MelSpectrogramParams {
        stft: stft_params(n_fft, hop_length, center),
        mel: MelParams {
            sr,
            n_fft,
            n_mels,
            fmin,
            fmax,
            scale: if htk { MelScale::Htk } else { MelScale::Slaney },
            norm,
            ..MelParams::default()
        },
        power,
    })
}

fn db_params(reference: Option<f32>, amin: f32, top_db: Option<f32>) -> DbParams {
    DbParams {
        reference: reference.map_or(DbRef::Max, DbRef::Value),
        amin,
        top_db,
    }
}

/// `librosa.stft` magnitude raised to `power` (1 = magnitude, 2 = power): `[1 + n_fft/2, frames]`.
#[pyfunction]
#[pyo3(signature = (y, *, n_fft=2048, hop_length=None, power=1.0, center=true))]
fn stft<'py>(
    py: Python<'py>,
    y: PyReadonlyArray1<'py, f32>,
    n_fft: usize,
    hop_length: Option<usize>,
    power: f32,
    center: bool,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let y = y.as_slice()?;
    let s = py
        .detach(|| Stft::new(&stft_params(n_fft, hop_length, center))?.spectrogram(y, power))
        .map_err(to_py)?;
    to_array(py, s)
}

/// `librosa.feature.melspectrogram`: `[n_mels, frames]`.
#[pyfunction]
#[pyo3(signature = (y, *, sr=22050.0, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=None, power=2.0,
    htk=false, norm=Some("slaney"), center=true))]
#[allow(clippy::too_many_arguments)]
fn melspectrogram<'py>(
    py: Python<'py>,
    y: PyReadonlyArray1<'py, f32>,
    sr: f64,
    n_fft: usize,
    hop_length: usize,
    n_mels: usize,
    fmin: f64,
    fmax: Option<f64>,
    power: f32,
    htk: bool,
    norm: Option<&str>,
    center: bool,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let p = mel_params(
        sr,
        n_fft,
        Some(hop_length),
        n_mels,
        fmin,
        fmax,
        power,
        htk,
        norm,
        center,
    )?;
    let y = y.as_slice()?;
    let s = py
        .detach(|| MelSpectrogram::new(&p)?.compute(y))
        .map_err(to_py)?;
    to_array(py, s)
}

/// `librosa.power_to_db(S, ref=ref, amin=amin, top_db=top_db)`; `ref=None` means `ref=np.max`.
#[pyfunction]
#[pyo3(signature = (s, *, reference=Some(1.0), amin=1e-10, top_db=Some(80.0)))]
fn power_to_db<'py>(
    py: Python<'py>,
    s: PyReadonlyArray2<'py, f32>,
    reference: Option<f32>,
    amin: f32,
    top_db: Option<f32>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let shape = [s.shape()[0], s.shape()[1]];
    let mut data = s.as_slice()?.to_vec();
    let p = db_params(reference, amin, top_db);
    py.detach(|| power_to_db_impl(&mut data, &p))
        .map_err(to_py)?;
    PyArray1::from_vec(py, data).reshape(shape)
}

/// `librosa.feature.mfcc` (log-mel with `power_to_db` defaults, orthonormal DCT-II, optional liftering):
/// `[n_mfcc, frames]`.
#[pyfunction]
#[pyo3(signature = (y, *, sr=22050.0, n_mfcc=20, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=None,
    lifter=0.0, top_db=Some(80.0)))]
#[allow(clippy::too_many_arguments)]
fn mfcc<'py>(
    py: Python<'py>,
    y: PyReadonlyArray1<'py, f32>,
    sr: f64,
    n_mfcc: usize,
    n_fft: usize,
    hop_length: usize,
    n_mels: usize,
    fmin: f64,
    fmax: Option<f64>,
    lifter: f32,
    top_db: Option<f32>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let p = MfccParams {
        mel: mel_params(
            sr,
            n_fft,
            Some(hop_length),
            n_mels,
            fmin,
            fmax,
            2.0,
            false,
            Some("slaney"),
            true,
        )?,
        db: db_params(Some(1.0), 1e-10, top_db),
        n_mfcc,
        lifter,
    };
    let y = y.as_slice()?;
    let s = py.detach(|| Mfcc::new(&p)?.compute(y)).map_err(to_py)?;
    to_array(py, s)
}

fn tuning(t: Option<f64>) -> Tuning {
    t.map_or(Tuning::Estimate, Tuning::Fixed)
}

/// `np.abs(librosa.cqt(...))` (recursive downsampling, L1 basis norm, `sqrt(L_k)` scaling): `[n_bins, frames]`.
/// `tuning=None` estimates the tuning from the signal as librosa does.
#[pyfunction]
#[pyo3(signature = (y, *, sr=22050.0, hop_length=512, fmin=None, n_bins=84, bins_per_octave=12, tuning=Some(0.0)))]
#[allow(clippy::too_many_arguments)]
fn cqt<'py>(
    py: Python<'py>,
    y: PyReadonlyArray1<'py, f32>,
    sr: f64,
    hop_length: usize,
    fmin: Option<f64>,
    n_bins: usize,
    bins_per_octave: usize,
    tuning: Option<f64>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let p = CqtParams {
        sr,
        hop_length,
        fmin,
        n_bins,
        bins_per_octave,
        tuning: self::tuning(tuning),
        ..CqtParams::default()
    };
    let y = y.as_slice()?;
    let s = py
        .detach(|| -> Result<Spectrogram, FrontendError> { Cqt::for_signal(&p, y)?.0.magnitude(y) })
        .map_err(to_py)?;
    to_array(py, s)
}

/// `librosa.feature.chroma_stft` (12 classes, ∞-norm per frame); `tuning=None` estimates it: `[12, frames]`.
#[pyfunction]
#[pyo3(signature = (y, *, sr=22050.0, n_fft=2048, hop_length=512, tuning=None))]
fn chroma_stft<'py>(
    py: Python<'py>,
    y: PyReadonlyArray1<'py, f32>,
    sr: f64,
    n_fft: usize,
    hop_length: usize,
    tuning: Option<f64>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let p = ChromaStftParams {
        sr,
        stft: StftParams::new(n_fft, hop_length),
        tuning: self::tuning(tuning),
        n_chroma: 12,
    };
    let y = y.as_slice()?;
    let (s, _) = py.detach(|| chroma_stft_impl(&p, y)).map_err(to_py)?;
    to_array(py, s)
}

/// Register the front-end functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(stft, m)?)?;
    m.add_function(wrap_pyfunction!(melspectrogram, m)?)?;
    m.add_function(wrap_pyfunction!(power_to_db, m)?)?;
    m.add_function(wrap_pyfunction!(mfcc, m)?)?;
    m.add_function(wrap_pyfunction!(cqt, m)?)?;
    m.add_function(wrap_pyfunction!(chroma_stft, m)?)?;
    Ok(())
}
