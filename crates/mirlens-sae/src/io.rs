//! Files: the native format (`sae.safetensors` + `sae.json`), SAELens v6 export/import (`cfg.json` +
//! `sae_weights.safetensors`), sparsify import (`cfg.json` + `sae.safetensors`), and training checkpoints.
//!
//! | format | tensors |
//! |---|---|
//! | native | `W_enc [n, d]`, `b_enc [n]`, `W_dec [n, d]`, `b_dec [d]`, `threshold [n]` (JumpReLU, BatchTopK) |
//! | SAELens | `W_enc [d, n]`, `b_enc [n]`, `W_dec [n, d]`, `b_dec [d]`, `threshold [n]` (jumprelu) |
//! | sparsify | `encoder.weight [n, d]`, `encoder.bias [n]`, `W_dec [n, d]`, `b_dec [d]` |
//!
//! Loading is strict: missing tensors and unused tensors are errors. Dataset-level input normalisation is folded
//! into the weights on save, so a saved SAE reads raw activations; per-token normalisations are recorded in
//! `sae.json` and applied on load.

use crate::error::{Result, SaeError};
use crate::metrics::EvalMetrics;
use crate::sae::{Architecture, InputTransform, Normalization, Sae};
use crate::train::{State, TrainParams, TrainPlan};
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Native tensor file name.
pub const NATIVE_WEIGHTS: &str = "sae.safetensors";
/// Native manifest file name.
pub const NATIVE_MANIFEST: &str = "sae.json";
/// Format tag in the native manifest.
pub const NATIVE_FORMAT: &str = "mirlens-sae";

/// One tensor to write.
pub(crate) struct OwnedTensor {
    name: String,
    shape: Vec<usize>,
    dtype: Dtype,
    bytes: Vec<u8>,
}

impl OwnedTensor {
    pub(crate) fn f32(name: &str, shape: Vec<usize>, data: &[f32]) -> Self {
        OwnedTensor {
            name: name.into(),
            shape,
            dtype: Dtype::F32,
            bytes: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
    pub(crate) fn f64(name: &str, shape: Vec<usize>, data: &[f64]) -> Self {
        OwnedTensor {
            name: name.into(),
            shape,
            dtype: Dtype::F64,
            bytes: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

/// Write a safetensors file atomically (temp file + rename).
pub(crate) fn write_safetensors(
    path: &Path,
    tensors: &[OwnedTensor],
    metadata: BTreeMap<String, String>,
) -> Result<()> {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|t| {
            safetensors::tensor::TensorView::new(t.dtype, t.shape.clone(), &t.bytes)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| SaeError::Safetensors {
                    path: path.into(),
                    message: e.to_string(),
                })
        })
        .collect::<Result<_>>()?;
    let meta: HashMap<String, String> = metadata.into_iter().collect();
    let bytes =
        safetensors::tensor::serialize(views, Some(meta)).map_err(|e| SaeError::Safetensors {
            path: path.into(),
            message: e.to_string(),
        })?;
    write_atomic(path, &bytes)
}

/// Write bytes atomically.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| SaeError::io(parent, e))?;
    }
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, bytes).map_err(|e| SaeError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SaeError::io(path, e))
}

/// Write JSON atomically (pretty-printed).
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let s = serde_json::to_vec_pretty(value).map_err(|e| SaeError::Json {
        path: path.into(),
        source: e,
    })?;
    write_atomic(path, &s)
}

/// Read JSON.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let s = std::fs::read(path).map_err(|e| SaeError::io(path, e))?;
    serde_json::from_slice(&s).map_err(|e| SaeError::Json {
        path: path.into(),
        source: e,
    })
}

/// Tensors of a safetensors file converted to f32 (f32, f64, f16, bf16 accepted), with shapes, plus metadata.
pub struct TensorFile {
    /// Path read.
    pub path: PathBuf,
    /// name → (shape, values).
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    /// `__metadata__`.
    pub metadata: BTreeMap<String, String>,
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = if exp == 0 {
        if man == 0 {
            sign
        } else {
            // subnormal
            let mut e = 127 - 15 + 1;
            let mut m = man;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | ((e as u32) << 23) | ((m & 0x3ff) << 13)
        }
    } else if exp == 31 {
        sign | 0x7f80_0000 | (man << 13)
    } else {
        sign | ((exp + 127 - 15) << 23) | (man << 13)
    };
    f32::from_bits(bits)
}

impl TensorFile {
    /// Read a file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| SaeError::io(path, e))?;
        let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| SaeError::Safetensors {
            path: path.into(),
            message: e.to_string(),
        })?;
        let metadata: BTreeMap<String, String> = meta
            .metadata()
            .clone()
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        let st = SafeTensors::deserialize(&bytes).map_err(|e| SaeError::Safetensors {
            path: path.into(),
            message: e.to_string(),
        })?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            let data = view.data();
            let vals: Vec<f32> = match view.dtype() {
                Dtype::F32 => data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                Dtype::F64 => data
                    .chunks_exact(8)
                    .map(|c| {
                        f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                    })
                    .collect(),
                Dtype::BF16 => data
                    .chunks_exact(2)
                    .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
                    .collect(),
                Dtype::F16 => data
                    .chunks_exact(2)
                    .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                    .collect(),
                other => {
                    return Err(SaeError::Unsupported {
                        path: path.into(),
                        what: "tensor dtype",
                        value: format!("{other:?} ({name})"),
                    });
                }
            };
            tensors.insert(name.to_string(), (view.shape().to_vec(), vals));
        }
        Ok(TensorFile {
            path: path.into(),
            tensors,
            metadata,
        })
    }

    /// Remove and return a tensor, checking its shape.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let (s, v) = self
            .tensors
            .remove(name)
            .ok_or_else(|| SaeError::MissingTensor {
                path: self.path.clone(),
                name: name.into(),
            })?;
        if s != shape {
            return Err(SaeError::shape(
                format!("tensor {name} in {}", self.path.display()),
                format!("{shape:?}"),
                format!("{s:?}"),
            ));
        }
        Ok(v)
    }

    /// Shape of a tensor.
    pub fn shape(&self, name: &str) -> Result<Vec<usize>> {
        self.tensors
            .get(name)
            .map(|t| t.0.clone())
            .ok_or_else(|| SaeError::MissingTensor {
                path: self.path.clone(),
                name: name.into(),
            })
    }

    /// Error if tensors remain unused.
    pub fn finish(self) -> Result<()> {
        if self.tensors.is_empty() {
            Ok(())
        } else {
            Err(SaeError::UnusedTensors {
                path: self.path,
                names: self.tensors.into_keys().collect(),
            })
        }
    }
}

fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = x[r * cols + c];
        }
    }
    out
}

/// How the input normalisation is recorded in `sae.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizationRecord {
    /// The kind the SAE was trained with.
    pub kind: Normalization,
    /// True when the dataset-level transform was folded into the saved weights (inputs are raw activations).
    pub folded: bool,
    /// The folded statistics, for provenance (x' = (x − mean) ⊙ scale); absent for per-token kinds and `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<InputTransform>,
}

/// `sae.json`: everything needed to use and reproduce an SAE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaeManifest {
    /// Always `mirlens-sae`.
    pub format: String,
    /// Manifest version (1).
    pub version: u32,
    /// Architecture (and k).
    pub architecture: Architecture,
    /// Input width.
    pub d_in: usize,
    /// Dictionary width.
    pub n_latents: usize,
    /// Input normalisation.
    pub normalization: NormalizationRecord,
    /// Training parameters (absent for imported SAEs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainParams>,
    /// Resolved training plan (lr, warm-up, dead threshold in tokens, split sizes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<TrainPlan>,
    /// Where the activations came from (store manifest excerpt: model, revision, layer, frame rate, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<serde_json::Value>,
    /// Held-out metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<EvalMetrics>,
    /// Where the SAE was imported from (`saelens`, `sparsify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
}

/// Extra information saved with a native SAE.
#[derive(Debug, Clone, Default)]
pub struct SaveInfo {
    /// Training parameters.
    pub training: Option<TrainParams>,
    /// Resolved plan.
    pub plan: Option<TrainPlan>,
    /// Provenance of the activations.
    pub provenance: Option<serde_json::Value>,
    /// Held-out metrics.
    pub metrics: Option<EvalMetrics>,
    /// Import origin.
    pub imported_from: Option<String>,
}

fn weight_tensors(sae: &Sae, saelens: bool) -> Vec<OwnedTensor> {
    let (n, d) = (sae.n, sae.d_in);
    let mut t = vec![
        if saelens {
            OwnedTensor::f32("W_enc", vec![d, n], &transpose(&sae.w_enc, n, d))
        } else {
            OwnedTensor::f32("W_enc", vec![n, d], &sae.w_enc)
        },
        OwnedTensor::f32("b_enc", vec![n], &sae.b_enc),
        OwnedTensor::f32("W_dec", vec![n, d], &sae.w_dec),
        OwnedTensor::f32("b_dec", vec![d], &sae.b_dec),
    ];
    if !sae.threshold.is_empty() && (!saelens || sae.arch != Architecture::Relu) {
        t.push(OwnedTensor::f32("threshold", vec![n], &sae.threshold));
    }
    t
}

/// Save in the native format into `dir` (created). Dataset-level normalisation is folded first.
pub fn save_native(dir: &Path, sae: &Sae, info: SaveInfo) -> Result<SaeManifest> {
    sae.validate()?;
    let mut s = sae.clone();
    let statistics = match &s.input {
        InputTransform::Affine { .. } => Some(s.input.clone()),
        _ => None,
    };
    let folded = s.fold_normalization();
    let manifest = SaeManifest {
        format: NATIVE_FORMAT.into(),
        version: 1,
        architecture: s.arch,
        d_in: s.d_in,
        n_latents: s.n,
        normalization: NormalizationRecord {
            kind: s.normalization,
            folded: folded && statistics.is_some(),
            statistics,
        },
        training: info.training,
        plan: info.plan,
        provenance: info.provenance,
        metrics: info.metrics,
        imported_from: info.imported_from,
    };
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), NATIVE_FORMAT.to_string());
    meta.insert("architecture".to_string(), s.arch.name().to_string());
    write_safetensors(&dir.join(NATIVE_WEIGHTS), &weight_tensors(&s, false), meta)?;
    write_json(&dir.join(NATIVE_MANIFEST), &manifest)?;
    Ok(manifest)
}

/// Load a native SAE from `dir`.
pub fn load_native(dir: &Path) -> Result<(Sae, SaeManifest)> {
    let mpath = dir.join(NATIVE_MANIFEST);
    let m: SaeManifest = read_json(&mpath)?;
    if m.format != NATIVE_FORMAT {
        return Err(SaeError::Unsupported {
            path: mpath,
            what: "format",
            value: m.format,
        });
    }
    let mut f = TensorFile::read(&dir.join(NATIVE_WEIGHTS))?;
    let (n, d) = (m.n_latents, m.d_in);
    let mut sae = Sae::zeros(m.architecture, d, n);
    sae.w_enc = f.take("W_enc", &[n, d])?;
    sae.b_enc = f.take("b_enc", &[n])?;
    sae.w_dec = f.take("W_dec", &[n, d])?;
    sae.b_dec = f.take("b_dec", &[d])?;
    if matches!(
        m.architecture,
        Architecture::JumpRelu | Architecture::BatchTopK { .. }
    ) {
        sae.threshold = f.take("threshold", &[n])?;
    }
    f.finish()?;
    sae.normalization = m.normalization.kind;
    sae.input = match m.normalization.kind {
        Normalization::UnitNorm => InputTransform::UnitNorm,
        Normalization::StandardizeToken => InputTransform::StandardizeToken,
        _ if m.normalization.folded || m.normalization.kind == Normalization::None => {
            InputTransform::Identity
        }
        _ => m
            .normalization
            .statistics
            .clone()
            .ok_or_else(|| SaeError::Unsupported {
                path: mpath.clone(),
                what: "normalization (unfolded without statistics)",
                value: format!("{:?}", m.normalization.kind),
            })?,
    };
    sae.validate()?;
    Ok((sae, m))
}

/// SAELens file names.
pub const SAELENS_CFG: &str = "cfg.json";
/// SAELens weights file.
pub const SAELENS_WEIGHTS: &str = "sae_weights.safetensors";

/// Export to SAELens v6 (`cfg.json` + `sae_weights.safetensors`). Dataset-level normalisation is folded in
/// (`normalize_activations: "none"`); per-token normalisations have no SAELens equivalent and are an error.
/// BatchTopK is written as `jumprelu` with its inference threshold (as SAELens does for inference).
pub fn export_saelens(dir: &Path, sae: &Sae, hook_name: Option<&str>) -> Result<()> {
    sae.validate()?;
    let mut s = sae.clone();
    if !s.fold_normalization() {
        return Err(SaeError::Unsupported {
            path: dir.into(),
            what: "normalization for SAELens export (per-token, cannot be folded)",
            value: format!("{:?}", s.normalization),
        });
    }
    let mut cfg = serde_json::json!({
        "d_in": s.d_in,
        "d_sae": s.n,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": true,
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {"exported_by": "mirlens", "mirlens_architecture": s.arch.name(), "hook_name": hook_name},
    });
    let o = cfg
        .as_object_mut()
        .ok_or_else(|| SaeError::invalid("cfg", "not an object", "object"))?;
    match s.arch {
        Architecture::TopK { k } => {
            o.insert("architecture".into(), "topk".into());
            o.insert("k".into(), k.into());
            o.insert("rescale_acts_by_decoder_norm".into(), false.into());
        }
        Architecture::Relu => {
            o.insert("architecture".into(), "standard".into());
        }
        Architecture::JumpRelu | Architecture::BatchTopK { .. } => {
            o.insert("architecture".into(), "jumprelu".into());
        }
    }
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    write_safetensors(&dir.join(SAELENS_WEIGHTS), &weight_tensors(&s, true), meta)?;
    write_json(&dir.join(SAELENS_CFG), &cfg)
}

fn cfg_str<'a>(cfg: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    cfg.get(key).and_then(|v| v.as_str())
}

fn cfg_usize(cfg: &serde_json::Value, key: &str) -> Option<usize> {
    cfg.get(key).and_then(|v| v.as_u64()).map(|v| v as usize)
}

/// Import a SAELens SAE (v6 `cfg.json`, with the pre-6.0 key spellings `activation_fn_kwargs.k` accepted).
/// Supported: `standard`, `topk`, `jumprelu`, `batchtopk` (read as its JumpReLU inference form). Converted exactly:
/// `apply_b_dec_to_input: false` (folded into `b_enc`), `rescale_acts_by_decoder_norm: true` (norms folded in).
pub fn import_saelens(dir: &Path) -> Result<Sae> {
    let cpath = dir.join(SAELENS_CFG);
    let cfg: serde_json::Value = read_json(&cpath)?;
    let d = cfg_usize(&cfg, "d_in").ok_or_else(|| SaeError::Unsupported {
        path: cpath.clone(),
        what: "d_in",
        value: "missing".into(),
    })?;
    let n = cfg_usize(&cfg, "d_sae").ok_or_else(|| SaeError::Unsupported {
        path: cpath.clone(),
        what: "d_sae",
        value: "missing".into(),
    })?;
    let arch_s = cfg_str(&cfg, "architecture").unwrap_or("standard");
    let k = cfg_usize(&cfg, "k").or_else(|| {
        cfg.get("activation_fn_kwargs")
            .and_then(|a| cfg_usize(a, "k"))
    });
    let arch = match arch_s {
        "standard" => Architecture::Relu,
        "topk" => Architecture::TopK {
            k: k.ok_or_else(|| SaeError::Unsupported {
                path: cpath.clone(),
                what: "k",
                value: "missing".into(),
            })?,
        },
        "jumprelu" | "batchtopk" => Architecture::JumpRelu,
        other => {
            return Err(SaeError::Unsupported {
                path: cpath,
                what: "architecture",
                value: other.into(),
            });
        }
    };
    let norm = cfg_str(&cfg, "normalize_activations").unwrap_or("none");
    if norm != "none" {
        return Err(SaeError::Unsupported {
            path: cpath,
            what: "normalize_activations",
            value: norm.into(),
        });
    }
    if let Some(r) = cfg_str(&cfg, "reshape_activations")
        && r != "none"
    {
        return Err(SaeError::Unsupported {
            path: cpath,
            what: "reshape_activations",
            value: r.into(),
        });
    }
    let mut f = TensorFile::read(&dir.join(SAELENS_WEIGHTS))?;
    let mut sae = Sae::zeros(arch, d, n);
    sae.w_enc = transpose(&f.take("W_enc", &[d, n])?, d, n);
    sae.b_enc = f.take("b_enc", &[n])?;
    sae.w_dec = f.take("W_dec", &[n, d])?;
    sae.b_dec = f.take("b_dec", &[d])?;
    if arch == Architecture::JumpRelu {
        sae.threshold = f.take("threshold", &[n])?;
    }
    f.finish()?;
    if cfg.get("apply_b_dec_to_input").and_then(|v| v.as_bool()) == Some(false) {
        // SAELens computes W_enc x + b_enc; ours subtracts b_dec first, so add W_enc b_dec back into b_enc.
        for i in 0..n {
            sae.b_enc[i] += crate::linalg::dot(&sae.w_enc[i * d..(i + 1) * d], &sae.b_dec);
        }
    }
    if cfg
        .get("rescale_acts_by_decoder_norm")
        .and_then(|v| v.as_bool())
        == Some(true)
    {
        for i in 0..n {
            let nrm = crate::linalg::norm2_f64(&sae.w_dec[i * d..(i + 1) * d]).sqrt() as f32;
            if nrm > 0.0 {
                sae.w_enc[i * d..(i + 1) * d]
                    .iter_mut()
                    .for_each(|v| *v *= nrm);
                sae.b_enc[i] *= nrm;
                if arch == Architecture::JumpRelu {
                    sae.threshold[i] *= nrm;
                }
                sae.w_dec[i * d..(i + 1) * d]
                    .iter_mut()
                    .for_each(|v| *v /= nrm);
            }
        }
    }
    sae.validate()?;
    Ok(sae)
}

/// Import an EleutherAI sparsify SAE folder (`cfg.json` + `sae.safetensors`). Only `activation: topk` without a
/// skip connection or transcoding. The orientation of `W_dec` is inferred from (d_in, n).
pub fn import_sparsify(dir: &Path) -> Result<Sae> {
    let cpath = dir.join("cfg.json");
    let cfg: serde_json::Value = read_json(&cpath)?;
    if let Some(a) = cfg_str(&cfg, "activation")
        && a != "topk"
    {
        return Err(SaeError::Unsupported {
            path: cpath,
            what: "activation",
            value: a.into(),
        });
    }
    for flag in ["transcode", "skip_connection"] {
        if cfg.get(flag).and_then(|v| v.as_bool()) == Some(true) {
            return Err(SaeError::Unsupported {
                path: cpath,
                what: "option",
                value: flag.into(),
            });
        }
    }
    let k = cfg_usize(&cfg, "k").ok_or_else(|| SaeError::Unsupported {
        path: cpath.clone(),
        what: "k",
        value: "missing".into(),
    })?;
    let mut f = TensorFile::read(&dir.join("sae.safetensors"))?;
    let es = f.shape("encoder.weight")?;
    if es.len() != 2 {
        return Err(SaeError::shape("encoder.weight rank", 2, es.len()));
    }
    let (n, d) = (es[0], es[1]);
    if let Some(cd) = cfg_usize(&cfg, "d_in")
        && cd != d
    {
        return Err(SaeError::shape(
            "sparsify d_in (cfg vs encoder.weight)",
            cd,
            d,
        ));
    }
    let mut sae = Sae::zeros(Architecture::TopK { k }, d, n);
    sae.w_enc = f.take("encoder.weight", &[n, d])?;
    sae.b_enc = f.take("encoder.bias", &[n])?;
    let ds = f.shape("W_dec")?;
    sae.w_dec = if ds == [n, d] {
        f.take("W_dec", &[n, d])?
    } else if ds == [d, n] {
        transpose(&f.take("W_dec", &[d, n])?, d, n)
    } else {
        return Err(SaeError::shape(
            "sparsify W_dec",
            format!("[{n}, {d}]"),
            format!("{ds:?}"),
        ));
    };
    sae.b_dec = f.take("b_dec", &[d])?;
    f.finish()?;
    sae.validate()?;
    Ok(sae)
}

/// Export in sparsify's layout (used to test the importer and to hand SAEs to sparsify users).
pub fn export_sparsify(dir: &Path, sae: &Sae) -> Result<()> {
    let Architecture::TopK { k } = sae.arch else {
        return Err(SaeError::Unsupported {
            path: dir.into(),
            what: "architecture for sparsify",
            value: sae.arch.name().into(),
        });
    };
    let mut s = sae.clone();
    if !s.fold_normalization() {
        return Err(SaeError::Unsupported {
            path: dir.into(),
            what: "normalization for sparsify export",
            value: format!("{:?}", s.normalization),
        });
    }
    let (n, d) = (s.n, s.d_in);
    let t = vec![
        OwnedTensor::f32("encoder.weight", vec![n, d], &s.w_enc),
        OwnedTensor::f32("encoder.bias", vec![n], &s.b_enc),
        OwnedTensor::f32("W_dec", vec![n, d], &s.w_dec),
        OwnedTensor::f32("b_dec", vec![d], &s.b_dec),
    ];
    write_safetensors(&dir.join("sae.safetensors"), &t, BTreeMap::new())?;
    let cfg = serde_json::json!({
        "activation": "topk", "expansion_factor": n / d.max(1), "normalize_decoder": true, "num_latents": n, "k": k,
        "multi_topk": false, "skip_connection": false, "transcode": false, "d_in": d
    });
    write_json(&dir.join("cfg.json"), &cfg)
}

// ---------------------------------------------------------------------------------------------------------------
// checkpoints

#[derive(Serialize, Deserialize)]
struct CheckpointManifest {
    params: TrainParams,
    plan: TrainPlan,
    step: u64,
    theta_ema: Option<f32>,
    input: InputTransform,
    history: Vec<crate::train::Progress>,
}

/// Whether `dir` holds a checkpoint.
pub fn checkpoint_exists(dir: &Path) -> bool {
    dir.join("checkpoint.json").is_file() && dir.join("checkpoint.safetensors").is_file()
}

pub(crate) fn save_checkpoint(
    dir: &Path,
    st: &State,
    params: &TrainParams,
    plan: &TrainPlan,
    history: &[crate::train::Progress],
) -> Result<()> {
    let s = &st.sae;
    let (n, d) = (s.n, s.d_in);
    let since: Vec<f64> = st.since_fired.iter().map(|&v| v as f64).collect();
    let mut t = weight_tensors(s, false);
    t.extend([
        OwnedTensor::f32("log_theta", vec![n], &st.log_theta),
        OwnedTensor::f32("opt_rows", vec![n, 4 * d], &st.opt_rows),
        OwnedTensor::f32("opt_lat", vec![n, 4], &st.opt_lat),
        OwnedTensor::f32("opt_bdec", vec![2, d], &st.opt_bdec),
        OwnedTensor::f64("since_fired", vec![n], &since),
    ]);
    write_safetensors(&dir.join("checkpoint.safetensors"), &t, BTreeMap::new())?;
    let m = CheckpointManifest {
        params: params.clone(),
        plan: plan.clone(),
        step: st.step,
        theta_ema: st.theta_ema.is_finite().then_some(st.theta_ema),
        input: s.input.clone(),
        history: history.to_vec(),
    };
    write_json(&dir.join("checkpoint.json"), &m)
}

pub(crate) fn load_checkpoint(
    dir: &Path,
    params: &TrainParams,
    plan: &TrainPlan,
) -> Result<(State, Vec<crate::train::Progress>)> {
    let mpath = dir.join("checkpoint.json");
    let m: CheckpointManifest = read_json(&mpath)?;
    // the thread count does not change results of a step's maths beyond summation order; require everything else
    let mut want = plan.clone();
    want.threads = m.plan.threads;
    if m.params != *params {
        return Err(SaeError::CheckpointMismatch {
            path: dir.into(),
            reason: "training parameters differ".into(),
        });
    }
    if m.plan != want {
        return Err(SaeError::CheckpointMismatch {
            path: dir.into(),
            reason: "resolved plan (data size) differs".into(),
        });
    }
    let (n, d) = (params.n_latents, plan.d_in);
    let mut f = TensorFile::read(&dir.join("checkpoint.safetensors"))?;
    let mut sae = Sae::zeros(params.arch, d, n);
    sae.w_enc = f.take("W_enc", &[n, d])?;
    sae.b_enc = f.take("b_enc", &[n])?;
    sae.w_dec = f.take("W_dec", &[n, d])?;
    sae.b_dec = f.take("b_dec", &[d])?;
    if !sae.threshold.is_empty() {
        sae.threshold = f.take("threshold", &[n])?;
    }
    sae.normalization = params.normalization;
    sae.input = m.input;
    let st = State {
        sae,
        log_theta: f.take("log_theta", &[n])?,
        opt_rows: f.take("opt_rows", &[n, 4 * d])?,
        opt_lat: f.take("opt_lat", &[n, 4])?,
        opt_bdec: f.take("opt_bdec", &[2, d])?,
        since_fired: f
            .take("since_fired", &[n])?
            .iter()
            .map(|&v| v as u64)
            .collect(),
        theta_ema: m.theta_ema.unwrap_or(f32::NAN),
        step: m.step,
    };
    f.finish()?;
    Ok((st, m.history))
}
