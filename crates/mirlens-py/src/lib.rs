//! # mirlens-py
//!
//! The native part of the `mirlens` Python package (PyO3, one abi3 extension for CPython ≥ 3.9). It exposes the
//! library crates' own functions on numpy arrays — nothing here re-implements an algorithm:
//!
//! - [`store`]: `Store(path)` — layers as `np.ndarray`, row metadata as columns, labels;
//! - [`features`]: librosa-style front-ends (`melspectrogram`, `power_to_db`, `mfcc`, `cqt`, `chroma_stft`, `stft`);
//! - [`probe`]: grouped-CV layer sweeps on a store or on arrays;
//! - [`sae`]: sparse-autoencoder training on an array or a store layer, `encode`/`decode`, native and SAELens files;
//! - [`align`]: cross-modal similarity measures with permutation nulls and bootstrap CIs, layer × layer matrices.
//!
//! The pure-Python wrapper (`python/mirlens/__init__.py`) converts inputs to contiguous arrays of the dtype each
//! function takes, so these functions receive C-contiguous `float32`/`int64` arrays. Heavy work runs with the GIL
//! released. Library errors become `mirlens.MirlensError` (a `ValueError`) carrying the typed error's message;
//! missing files become `FileNotFoundError`.

pub mod align;
mod errors;
pub mod features;
pub mod probe;
pub mod sae;
pub mod store;

use pyo3::prelude::*;

/// The extension module `mirlens._mirlens`.
#[pymodule]
fn _mirlens(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("MirlensError", m.py().get_type::<errors::MirlensError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    store::register(m)?;
    features::register(m)?;
    probe::register(m)?;
    sae::register(m)?;
    align::register(m)?;
    Ok(())
}
