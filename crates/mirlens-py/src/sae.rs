//! Sparse autoencoders (`mirlens-sae`): training on an array or a store layer, encode/decode on arrays, native and
//! SAELens files.

use crate::errors::{invalid, to_py};
use crate::store::PyStore;
use mirlens_sae::io::{SaveInfo, export_saelens, import_saelens, load_native, save_native};
use mirlens_sae::source::Matrix;
use mirlens_sae::{Architecture, Normalization, Sae, SparseCodes, TrainParams, train};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use std::path::PathBuf;

/// Two float32 matrices (codes and reconstruction).
type Pair<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray2<f32>>);

/// A sparse autoencoder (`mirlens.sae.SAE`). Dataset-level input normalisation (expected-norm scaling,
/// per-dimension standardisation, centring) is folded into the weights on construction, exactly as the SAELens
/// export does, so `encode` takes raw rows and `decode` returns raw rows; per-token normalisations cannot be folded
/// and stay in the SAE's input transform (then `decode` returns rows in the normalised space).
#[pyclass(name = "Sae", module = "mirlens._mirlens", frozen)]
pub struct PySae {
    inner: Sae,
}

impl PySae {
    fn new(mut inner: Sae) -> PySae {
        inner.fold_normalization();
        PySae { inner }
    }
}

fn rows_of(x: &PyReadonlyArray2<'_, f32>, d_in: usize) -> PyResult<(usize, Vec<f32>)> {
    let (rows, cols) = (x.shape()[0], x.shape()[1]);
    if cols != d_in {
        return Err(invalid(format!(
            "input has {cols} columns, the SAE's d_in is {d_in}"
        )));
    }
    Ok((rows, x.as_slice()?.to_vec()))
}

fn matrix<'py>(
    py: Python<'py>,
    data: Vec<f32>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    PyArray1::from_vec(py, data).reshape([rows, cols])
}

fn parse_arch(arch: &str, k: Option<usize>) -> PyResult<Architecture> {
    let need_k = || k.ok_or_else(|| invalid(format!("arch={arch:?} needs k")));
    Ok(match arch {
        "topk" => Architecture::TopK { k: need_k()? },
        "batchtopk" => Architecture::BatchTopK { k: need_k()? },
        "relu" => Architecture::Relu,
        "jumprelu" => Architecture::JumpRelu,
        other => {
            return Err(invalid(format!(
                "invalid parameter `arch`: expected topk, batchtopk, relu or jumprelu, got {other:?}"
            )));
        }
    })
}

fn parse_normalization(s: &str) -> PyResult<Normalization> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        invalid(format!(
            "invalid parameter `normalization`: expected none, unit_norm, standardize_token, standardize_dim, \
             expected_norm or center, got {s:?}"
        ))
    })
}

#[pymethods]
impl PySae {
    /// Architecture name (`topk`, `batchtopk`, `relu`, `jumprelu`).
    #[getter]
    fn arch(&self) -> &'static str {
        self.inner.arch.name()
    }

    /// Active latents per row for TopK/BatchTopK, else `None`.
    #[getter]
    fn k(&self) -> Option<usize> {
        self.inner.arch.k()
    }

    /// Input width.
    #[getter]
    fn d_in(&self) -> usize {
        self.inner.d_in
    }

    /// Number of latents.
    #[getter]
    fn n_latents(&self) -> usize {
        self.inner.n
    }

    /// Input normalisation name.
    #[getter]
    fn normalization(&self) -> PyResult<String> {
        let v = serde_json::to_value(self.inner.normalization).map_err(to_py)?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// `W_enc` as `[d_in, n_latents]` (the SAELens layout).
    #[getter]
    fn w_enc<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (d, n) = (self.inner.d_in, self.inner.n);
        // stored latent-major [n, d]
        let mut t = vec![0.0f32; d * n];
        for i in 0..n {
            for j in 0..d {
                t[j * n + i] = self.inner.w_enc[i * d + j];
            }
        }
        matrix(py, t, d, n)
    }

    /// `W_dec` as `[n_latents, d_in]`.
    #[getter]
    fn w_dec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        matrix(py, self.inner.w_dec.clone(), self.inner.n, self.inner.d_in)
    }

    /// `b_enc` `[n_latents]`.
    #[getter]
    fn b_enc<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_vec(py, self.inner.b_enc.clone())
    }

    /// `b_dec` `[d_in]`.
    #[getter]
    fn b_dec<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_vec(py, self.inner.b_dec.clone())
    }

    /// Dense codes `[rows, n_latents]` of raw rows `x` (the input normalisation is applied first).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (rows, data) = rows_of(&x, self.inner.d_in)?;
        let codes = py.detach(|| self.inner.encode(&data)).map_err(to_py)?;
        matrix(py, codes.to_dense(), rows, self.inner.n)
    }

    /// Rows in SAE input space from dense codes `z` `[rows, n_latents]` (`x̂ = z · W_dec + b_dec`).
    fn decode<'py>(
        &self,
        py: Python<'py>,
        z: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (rows, data) = rows_of(&z, self.inner.n)?;
        let n = self.inner.n;
        let sparse: Vec<Vec<(u32, f32)>> = data
            .chunks(n.max(1))
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(i, &v)| (i as u32, v))
                    .collect()
            })
            .collect();
        let out = py.detach(|| self.inner.decode(&SparseCodes::from_rows(n, sparse)));
        matrix(py, out, rows, self.inner.d_in)
    }

    /// Encode and decode raw rows; returns `(codes, reconstruction)` with the reconstruction in raw space.
    fn reconstruct<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Pair<'py>> {
        let (rows, data) = rows_of(&x, self.inner.d_in)?;
        let (codes, y) = py.detach(|| self.inner.reconstruct(&data)).map_err(to_py)?;
        Ok((
            matrix(py, codes.to_dense(), rows, self.inner.n)?,
            matrix(py, y, rows, self.inner.d_in)?,
        ))
    }

    /// Save in mirlens' native format (safetensors + JSON) to directory `path`.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| save_native(&path, &self.inner, SaveInfo::default()))
            .map(|_| ())
            .map_err(to_py)
    }

    /// Export to SAELens' layout (`cfg.json` + `sae_weights.safetensors`) in directory `path`, with dataset-level
    /// normalisation folded into the weights.
    #[pyo3(signature = (path, *, hook_name=None))]
    fn to_saelens(&self, py: Python<'_>, path: PathBuf, hook_name: Option<String>) -> PyResult<()> {
        py.detach(|| export_saelens(&path, &self.inner, hook_name.as_deref()))
            .map_err(to_py)
    }

    /// Load a native SAE directory.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PySae> {
        let (inner, _) = py.detach(|| load_native(&path)).map_err(to_py)?;
        Ok(PySae::new(inner))
    }

    /// Import a SAELens directory.
    #[staticmethod]
    fn from_saelens(py: Python<'_>, path: PathBuf) -> PyResult<PySae> {
        let inner = py.detach(|| import_saelens(&path)).map_err(to_py)?;
        Ok(PySae::new(inner))
    }

    fn __repr__(&self) -> String {
        format!(
            "Sae(arch={:?}, k={:?}, d_in={}, n_latents={})",
            self.inner.arch.name(),
            self.inner.arch.k(),
            self.inner.d_in,
            self.inner.n
        )
    }
}

/// Train an SAE on float32 rows `x` `[rows, d_in]`. Returns `(sae, eval_metrics_json)`; the metrics are those of
/// the held-out rows (`null` when `eval_fraction` is 0).
#[pyfunction]
#[pyo3(signature = (x, *, arch="topk", k=None, expansion=8, n_latents=None, total_tokens=None, batch_size=None,
    normalization="expected_norm", lr=None, eval_fraction=0.1, seed=0, threads=0))]
#[allow(clippy::too_many_arguments)]
fn train_sae(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f32>,
    arch: &str,
    k: Option<usize>,
    expansion: usize,
    n_latents: Option<usize>,
    total_tokens: Option<u64>,
    batch_size: Option<usize>,
    normalization: &str,
    lr: Option<f32>,
    eval_fraction: f32,
    seed: u64,
    threads: usize,
) -> PyResult<(PySae, String)> {
    let (rows, d) = (x.shape()[0], x.shape()[1]);
    let arch = parse_arch(arch, k)?;
    let mut p = TrainParams::new(arch, n_latents.unwrap_or(expansion * d));
    p.normalization = parse_normalization(normalization)?;
    if let Some(t) = total_tokens {
        p.total_tokens = t;
    }
    if let Some(b) = batch_size {
        p.batch_size = b;
    }
    p.lr = lr;
    p.eval_fraction = eval_fraction;
    p.seed = seed;
    p.threads = threads;
    let src = Matrix::new(rows, d, x.as_slice()?.to_vec()).map_err(to_py)?;
    let out = py
        .detach(|| train(&src, &p, Default::default()))
        .map_err(to_py)?;
    let metrics = serde_json::to_string(&out.eval).map_err(to_py)?;
    Ok((PySae::new(out.sae), metrics))
}

/// Rows of one store layer as a float32 array, for `train_sae` (convenience: `Store.layer` does the same).
#[pyfunction]
fn store_rows<'py>(
    py: Python<'py>,
    store: &PyStore,
    layer: i64,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let id = store.layer_id(layer)?;
    let (data, rows, dim) = py.detach(|| store.inner.read_layer(id)).map_err(to_py)?;
    matrix(py, data, rows, dim)
}

/// Register the SAE class and functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySae>()?;
    m.add_function(wrap_pyfunction!(train_sae, m)?)?;
    m.add_function(wrap_pyfunction!(store_rows, m)?)?;
    Ok(())
}
