//! `mirlens.Store`: an opened activation store, read into numpy arrays.

use crate::errors::{invalid, to_py};
use mirlens_core::{LabelValue, LayerId};
use mirlens_store::Store;
use numpy::{PyArray1, PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;

/// An activation store opened read-only (`mirlens.Store(path)`).
#[pyclass(name = "Store", module = "mirlens._mirlens", frozen)]
pub struct PyStore {
    pub(crate) inner: Store,
}

impl PyStore {
    pub(crate) fn layer_id(&self, layer: i64) -> PyResult<LayerId> {
        let layers = self.inner.layers();
        let ok = usize::try_from(layer)
            .ok()
            .map(LayerId)
            .filter(|l| layers.contains(l));
        ok.ok_or_else(|| {
            invalid(format!(
                "{}: layer {layer} is not in the store; it holds layers {:?}",
                self.inner.dir().display(),
                layers.iter().map(|l| l.0).collect::<Vec<_>>()
            ))
        })
    }
}

#[pymethods]
impl PyStore {
    /// Open the store at `path` (a finished extraction).
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        if !path.exists() {
            return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
                "{}: no such activation store",
                path.display()
            )));
        }
        let inner = py.detach(|| Store::open(&path)).map_err(to_py)?;
        Ok(PyStore { inner })
    }

    /// The store directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.dir().to_path_buf()
    }

    /// Layer indices held by the store, ascending.
    #[getter]
    fn layers(&self) -> Vec<usize> {
        self.inner.layers().iter().map(|l| l.0).collect()
    }

    /// Width of every layer.
    #[getter]
    fn hidden_size(&self) -> usize {
        self.inner.hidden_size()
    }

    /// Number of rows.
    #[getter]
    fn num_rows(&self) -> usize {
        self.inner.num_rows()
    }

    /// The manifest as a JSON string.
    fn manifest_json(&self) -> PyResult<String> {
        serde_json::to_string(self.inner.manifest()).map_err(to_py)
    }

    /// Layer `layer` as a float32 array `[rows, hidden]` (read with the GIL released).
    fn layer<'py>(&self, py: Python<'py>, layer: i64) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let id = self.layer_id(layer)?;
        let (data, rows, dim) = py.detach(|| self.inner.read_layer(id)).map_err(to_py)?;
        PyArray1::from_vec(py, data).reshape([rows, dim])
    }

    /// Row metadata as columns: `clip_id`, `clip_index`, `frame`, `time`, `split`.
    fn row_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let rows = self.inner.rows();
        let d = PyDict::new(py);
        let ids: Vec<&str> = rows.iter().map(|r| r.clip_id.as_str()).collect();
        d.set_item("clip_id", PyList::new(py, ids)?)?;
        let idx: Vec<i64> = rows.iter().map(|r| r.clip_index as i64).collect();
        d.set_item("clip_index", PyArray1::from_vec(py, idx))?;
        let frame: Vec<i64> = rows.iter().map(|r| r.frame as i64).collect();
        d.set_item("frame", PyArray1::from_vec(py, frame))?;
        let time: Vec<f64> = rows.iter().map(|r| r.time).collect();
        d.set_item("time", PyArray1::from_vec(py, time))?;
        let split: Vec<Option<&str>> = rows.iter().map(|r| r.split.as_deref()).collect();
        d.set_item("split", PyList::new(py, split)?)?;
        Ok(d)
    }

    /// Names of every label carried by at least one row, sorted.
    fn label_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .rows()
            .iter()
            .flat_map(|r| r.labels.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The values of label `name`, one per row (`None` where a row lacks it): `int`, `float`, `str` or a list of
    /// tags. An unknown label name is an error listing the names present.
    fn labels<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyList>> {
        let values = self.inner.labels(name);
        if values.iter().all(Option::is_none) {
            return Err(invalid(format!(
                "{}: no row carries label {name:?}; labels present: {:?}",
                self.inner.dir().display(),
                self.label_names()
            )));
        }
        let out = PyList::empty(py);
        for v in values {
            match v {
                None => out.append(py.None())?,
                Some(LabelValue::Int(i)) => out.append(*i)?,
                Some(LabelValue::Float(f)) => out.append(*f)?,
                Some(LabelValue::Str(s)) => out.append(s)?,
                Some(LabelValue::Tags(t)) => out.append(PyList::new(py, t)?)?,
            }
        }
        Ok(out)
    }

    fn __len__(&self) -> usize {
        self.inner.num_rows()
    }

    fn __repr__(&self) -> String {
        format!(
            "Store({:?}, rows={}, layers={:?}, hidden_size={})",
            self.inner.dir().display().to_string(),
            self.inner.num_rows(),
            self.layers(),
            self.inner.hidden_size()
        )
    }
}

/// Register `Store`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStore>()
}
