//! Library errors → Python exceptions.

use pyo3::PyErr;
use pyo3::exceptions::{PyFileNotFoundError, PyValueError};

pyo3::create_exception!(
    mirlens,
    MirlensError,
    PyValueError,
    "An error reported by a mirlens library crate; the message names the file, layer or option at fault."
);

/// A library error as `MirlensError` (or `FileNotFoundError` when the cause is a missing file).
pub fn to_py<E: std::error::Error>(e: E) -> PyErr {
    let mut src: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::NotFound
        {
            return PyFileNotFoundError::new_err(mirlens_core::error_chain(&e));
        }
        src = s.source();
    }
    MirlensError::new_err(mirlens_core::error_chain(&e))
}

/// A `MirlensError` with a message of ours (bad argument values detected in the bindings).
pub fn invalid(msg: impl Into<String>) -> PyErr {
    MirlensError::new_err(msg.into())
}
