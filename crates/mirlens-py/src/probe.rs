//! Grouped-CV layer sweeps (`mirlens-probe`), on a store or on arrays. Results are returned as the JSON the
//! `mirlens probe sweep` command writes for the same inputs, so the two can be compared value for value.

use crate::errors::{invalid, to_py};
use crate::store::PyStore;
use mirlens_core::Pooling;
use mirlens_probe::data::Matrix;
use mirlens_probe::store::sweep_store as sweep_store_impl;
use mirlens_probe::sweep::{SweepParams, layer_sweep};
use mirlens_probe::{ClassWeight, LogisticParams};
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

fn params(folds: usize, seed: u64, c: f64) -> SweepParams {
    SweepParams {
        probe: LogisticParams {
            c,
            class_weight: ClassWeight::Uniform,
            ..Default::default()
        },
        folds,
        seed,
    }
}

/// Layer sweep on a store: one L2 logistic probe per layer, `folds`-fold CV grouped by clip, rows pooled per clip
/// with `pooling` (`none`, `mean`, `max`). Returns `(results_json, classes)`.
#[pyfunction]
#[pyo3(signature = (store, label, *, layers=None, pooling="mean", folds=5, seed=0, c=1.0))]
#[allow(clippy::too_many_arguments)]
fn sweep_store(
    py: Python<'_>,
    store: &PyStore,
    label: &str,
    layers: Option<Vec<i64>>,
    pooling: &str,
    folds: usize,
    seed: u64,
    c: f64,
) -> PyResult<(String, Vec<String>)> {
    let pooling: Pooling = pooling.parse().map_err(to_py)?;
    let layers = match layers {
        Some(v) => v
            .into_iter()
            .map(|l| store.layer_id(l))
            .collect::<PyResult<Vec<_>>>()?,
        None => store.inner.layers().to_vec(),
    };
    let p = params(folds, seed, c);
    let (results, classes) = py
        .detach(|| sweep_store_impl(&store.inner, &layers, label, pooling, &p, |_, _| {}))
        .map_err(to_py)?;
    Ok((serde_json::to_string(&results).map_err(to_py)?, classes))
}

/// Layer sweep on arrays: `xs` are float32 `[rows, dim]` arrays with the same rows, `y` class indices (int64),
/// `groups` the grouping of rows for the folds (int64). Returns the results JSON.
#[pyfunction]
#[pyo3(signature = (xs, y, groups, *, names=None, folds=5, seed=0, c=1.0))]
#[allow(clippy::too_many_arguments)]
fn sweep(
    py: Python<'_>,
    xs: Vec<PyReadonlyArray2<'_, f32>>,
    y: PyReadonlyArray1<'_, i64>,
    groups: PyReadonlyArray1<'_, i64>,
    names: Option<Vec<String>>,
    folds: usize,
    seed: u64,
    c: f64,
) -> PyResult<String> {
    let names = names.unwrap_or_else(|| (0..xs.len()).map(|i| i.to_string()).collect());
    if names.len() != xs.len() {
        return Err(invalid(format!(
            "{} names for {} arrays",
            names.len(),
            xs.len()
        )));
    }
    let to_index = |v: &[i64], what: &str| -> PyResult<Vec<usize>> {
        v.iter()
            .map(|&i| {
                usize::try_from(i).map_err(|_| invalid(format!("{what}: negative value {i}")))
            })
            .collect()
    };
    let y = to_index(y.as_slice()?, "y")?;
    let groups = to_index(groups.as_slice()?, "groups")?;
    let mut layers = Vec::with_capacity(xs.len());
    for (name, x) in names.into_iter().zip(&xs) {
        let (rows, cols) = (x.shape()[0], x.shape()[1]);
        layers.push((
            name,
            Matrix::new(rows, cols, x.as_slice()?.to_vec()).map_err(to_py)?,
        ));
    }
    let p = params(folds, seed, c);
    let results = py
        .detach(|| layer_sweep(&layers, &y, &groups, &p))
        .map_err(to_py)?;
    serde_json::to_string(&results).map_err(to_py)
}

/// Register the probe functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sweep_store, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    Ok(())
}
