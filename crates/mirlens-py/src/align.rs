//! Cross-modal similarity (`mirlens-align`): one measure with its permutation null and bootstrap CI, and layer ×
//! layer matrices, on float64 arrays whose rows are paired in order. Results are the JSON `mirlens align score` /
//! `mirlens align layers` write.

use crate::errors::{invalid, to_py};
use mirlens_align::layers::layer_matrix;
use mirlens_align::linalg::from_rows_f64;
use mirlens_align::{MeasureParams, Metric, NullParams, score as score_impl};
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

fn metric(name: &str) -> PyResult<Metric> {
    Metric::ALL
        .into_iter()
        .find(|m| m.name() == name)
        .ok_or_else(|| {
            invalid(format!(
                "invalid parameter `metric`: expected one of {}, got {name:?}",
                Metric::ALL.map(|m| m.name()).join(", ")
            ))
        })
}

fn matrix(a: &PyReadonlyArray2<'_, f64>) -> PyResult<mirlens_align::Matrix> {
    Ok(from_rows_f64(a.as_slice()?, a.shape()[0], a.shape()[1]))
}

fn measure_params(k: usize) -> MeasureParams {
    MeasureParams {
        k,
        ..MeasureParams::default()
    }
}

/// Score `metric` between paired views `x [n, p]` and `y [n, q]` with a permutation null (`permutations`, 0 = no
/// p-value) and a percentile bootstrap CI (`bootstrap`, 0 = none); `groups` (int64 per item) keeps permutations
/// within groups and resamples whole groups. Returns the result JSON.
#[pyfunction]
#[pyo3(signature = (x, y, *, metric="cka", k=10, permutations=1000, bootstrap=1000, seed=0, confidence=0.95,
    groups=None))]
#[allow(clippy::too_many_arguments)]
fn align_score(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    y: PyReadonlyArray2<'_, f64>,
    metric: &str,
    k: usize,
    permutations: usize,
    bootstrap: usize,
    seed: u64,
    confidence: f64,
    groups: Option<PyReadonlyArray1<'_, i64>>,
) -> PyResult<String> {
    let m = self::metric(metric)?;
    let (xm, ym) = (matrix(&x)?, matrix(&y)?);
    let groups = match groups {
        None => None,
        Some(g) => Some(
            g.as_slice()?
                .iter()
                .map(|&v| {
                    u32::try_from(v).map_err(|_| invalid(format!("groups: value {v} out of range")))
                })
                .collect::<PyResult<Vec<u32>>>()?,
        ),
    };
    let np = NullParams {
        permutations,
        bootstrap,
        seed,
        confidence,
        groups,
    };
    let mp = measure_params(k);
    let s = py
        .detach(|| score_impl(m, xm.as_ref(), ym.as_ref(), &mp, &np))
        .map_err(to_py)?;
    serde_json::to_string(&s).map_err(to_py)
}

/// The layer × layer matrix of `metric` between lists of paired views `xs` and `ys` (all with the same rows).
/// Returns the result JSON (values row-major `[len(xs), len(ys)]`, the best pair, per-x best y).
#[pyfunction]
#[pyo3(signature = (xs, ys, *, metric="cka", k=10, x_names=None, y_names=None))]
fn align_layers(
    py: Python<'_>,
    xs: Vec<PyReadonlyArray2<'_, f64>>,
    ys: Vec<PyReadonlyArray2<'_, f64>>,
    metric: &str,
    k: usize,
    x_names: Option<Vec<String>>,
    y_names: Option<Vec<String>>,
) -> PyResult<String> {
    let m = self::metric(metric)?;
    let name = |names: &Option<Vec<String>>, i: usize| {
        names
            .as_ref()
            .and_then(|v| v.get(i).cloned())
            .unwrap_or_else(|| i.to_string())
    };
    let xs = xs
        .iter()
        .enumerate()
        .map(|(i, a)| Ok((name(&x_names, i), matrix(a)?)))
        .collect::<PyResult<Vec<_>>>()?;
    let ys = ys
        .iter()
        .enumerate()
        .map(|(i, a)| Ok((name(&y_names, i), matrix(a)?)))
        .collect::<PyResult<Vec<_>>>()?;
    let mp = measure_params(k);
    let r = py
        .detach(|| layer_matrix(&xs, &ys, m, &mp))
        .map_err(to_py)?;
    serde_json::to_string(&r).map_err(to_py)
}

/// Register the align functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(align_score, m)?)?;
    m.add_function(wrap_pyfunction!(align_layers, m)?)?;
    Ok(())
}
