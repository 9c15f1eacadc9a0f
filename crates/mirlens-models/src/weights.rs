//! Strict safetensors loading.
//!
//! [`WeightStore`] opens `model.safetensors` (or the shards listed in `model.safetensors.index.json`), detects an
//! optional head-model prefix (`hubert.`, `wav2vec2.`) explicitly, and hands tensors to the architecture code
//! through [`Weights`] views (`pp` adds a name segment, like candle's `VarBuilder`). Every request is recorded:
//! [`WeightStore::finish`] produces a [`LoadReport`] (used / missing / unused / ignored) and, under
//! [`LoadPolicy::Strict`], fails when anything is missing or unused. Head tensors (`lm_head.*`, `projector.*`,
//! `classifier.*`, `layer_weights`, `quantizer.*`, `project_hid.*`, `project_q.*`) and the training-only
//! `masked_spec_embed` are listed as ignored, never silently dropped. Pickle checkpoints are refused.
//!
//! Weight norm (positional conv): both spellings are accepted, `parametrizations.weight.original0/1` (g, v) and the
//! legacy `weight_g` / `weight_v`, and fused at load: `W[o,i,k] = g[k] · v[o,i,k] / ‖v[:,:,k]‖₂` (norm over dims 0
//! and 1, per kernel tap).

use crate::ModelError;
use crate::config::ModelType;
use candle_core::{DType, Device, Tensor};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What to do when the checkpoint and the model disagree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadPolicy {
    /// Missing or unused tensors are an error.
    #[default]
    Strict,
    /// Unused tensors are reported; missing tensors are reported and initialised (norm weights 1, the rest 0).
    Partial,
}

/// Which weight-norm spelling the checkpoint used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightNormSpelling {
    /// `parametrizations.weight.original0/1`.
    Parametrizations,
    /// `weight_g` / `weight_v`.
    Legacy,
    /// No weight-normed tensor was loaded.
    None,
}

/// Outcome of loading a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    /// Weight files read.
    pub files: Vec<PathBuf>,
    /// Prefix stripped from every encoder tensor (`""` for base models).
    pub prefix: String,
    /// Tensors used by the model (full checkpoint names).
    pub used: Vec<String>,
    /// Tensors the model needed but the checkpoint lacks (only non-empty under [`LoadPolicy::Partial`]).
    pub missing: Vec<String>,
    /// Checkpoint tensors the model did not use (only non-empty under [`LoadPolicy::Partial`]).
    pub unused: Vec<String>,
    /// Checkpoint tensors skipped on purpose, with the reason.
    pub ignored: Vec<(String, String)>,
    /// Weight-norm spelling found.
    pub weight_norm: WeightNormSpelling,
}

const HEAD_PREFIXES: &[(&str, &str)] = &[
    ("lm_head.", "CTC head"),
    ("projector.", "classification head"),
    ("classifier.", "classification head"),
    ("layer_weights", "weighted-layer-sum head"),
    ("quantizer.", "pre-training quantizer"),
    ("project_hid.", "pre-training projection"),
    ("project_q.", "pre-training projection"),
];

struct Entry {
    file: usize,
    dtype: String,
    shape: Vec<usize>,
    /// Absolute byte offsets in the file.
    start: u64,
    end: u64,
}

/// Parse a safetensors header without reading the tensor data (tensors are read one by one on request, so loading
/// never holds the whole file and the tensors at once).
fn read_header(
    path: &Path,
    fi: usize,
    file: &mut std::fs::File,
    out: &mut BTreeMap<String, Entry>,
) -> Result<(), ModelError> {
    use std::io::Read;
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_len = file.metadata().map_err(io)?.len();
    let mut n = [0u8; 8];
    file.read_exact(&mut n)
        .map_err(|_| st_err(path, "not a safetensors file (shorter than its header)"))?;
    let n = u64::from_le_bytes(n);
    if n > 100_000_000 || 8 + n > file_len {
        return Err(st_err(
            path,
            format!("not a safetensors file (header length {n})"),
        ));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header).map_err(io)?;
    let v: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| st_err(path, format!("bad safetensors header: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| st_err(path, "safetensors header is not an object"))?;
    let base = 8 + n;
    for (name, info) in obj {
        if name == "__metadata__" {
            continue;
        }
        let bad = || st_err(path, format!("tensor {name}: malformed header entry"));
        let dtype = info
            .get("dtype")
            .and_then(|d| d.as_str())
            .ok_or_else(bad)?
            .to_string();
        let shape = info
            .get("shape")
            .and_then(|s| s.as_array())
            .ok_or_else(bad)?
            .iter()
            .map(|d| d.as_u64().map(|x| x as usize).ok_or_else(bad))
            .collect::<Result<Vec<_>, _>>()?;
        let offs = info
            .get("data_offsets")
            .and_then(|s| s.as_array())
            .ok_or_else(bad)?;
        let (a, b) = match (
            offs.first().and_then(|x| x.as_u64()),
            offs.get(1).and_then(|x| x.as_u64()),
        ) {
            (Some(a), Some(b)) if a <= b && base + b <= file_len => (a, b),
            _ => return Err(bad()),
        };
        out.insert(
            name.clone(),
            Entry {
                file: fi,
                dtype,
                shape,
                start: base + a,
                end: base + b,
            },
        );
    }
    Ok(())
}

/// An opened checkpoint whose tensor requests are tracked.
pub struct WeightStore {
    files: Vec<PathBuf>,
    handles: Vec<RefCell<std::fs::File>>,
    entries: BTreeMap<String, Entry>,
    prefix: String,
    policy: LoadPolicy,
    device: Device,
    used: RefCell<BTreeSet<String>>,
    missing: RefCell<Vec<String>>,
    weight_norm: RefCell<WeightNormSpelling>,
    ignore: Vec<IgnoreRule>,
}

/// A checkpoint tensor a model skips on purpose: matched on the full name by prefix or suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnoreRule {
    /// Name prefix (`cls.`) or suffix (`.attn.masked_bias`).
    pub pattern: &'static str,
    /// Match `pattern` as a suffix instead of a prefix.
    pub suffix: bool,
    /// Why it is skipped.
    pub reason: &'static str,
}

impl IgnoreRule {
    fn matches(&self, name: &str) -> bool {
        if self.suffix {
            name.ends_with(self.pattern)
        } else {
            name.starts_with(self.pattern)
        }
    }
}

fn is_pickle(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("bin") | Some("pt") | Some("pth") | Some("ckpt")
    )
}

/// The safetensors files of a model directory, refusing pickle checkpoints.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|source| ModelError::Io {
            path: index.clone(),
            source,
        })?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| ModelError::Config {
            path: index.clone(),
            message: e.to_string(),
        })?;
        let map = v
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| ModelError::Config {
                path: index.clone(),
                message: "no weight_map object".into(),
            })?;
        let set: BTreeSet<String> = map
            .values()
            .filter_map(|f| f.as_str().map(String::from))
            .collect();
        return Ok(set.into_iter().map(|f| dir.join(f)).collect());
    }
    // Any other *.safetensors file (single) is accepted; pickle files are refused with a hint.
    let mut st = Vec::new();
    let mut pickles = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) == Some("safetensors") {
                st.push(p);
            } else if is_pickle(&p) {
                pickles.push(p);
            }
        }
    }
    st.sort();
    pickles.sort();
    if st.len() == 1 {
        return Ok(st);
    }
    if let Some(p) = pickles.into_iter().next() {
        return Err(ModelError::PickleCheckpoint { path: p });
    }
    Err(ModelError::MissingFile {
        path: single,
        what: "weights (model.safetensors or model.safetensors.index.json)",
    })
}

fn st_err(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Safetensors {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl WeightStore {
    /// Open the weight files of `dir` for a model of `model_type`.
    pub fn open(
        dir: &Path,
        model_type: ModelType,
        policy: LoadPolicy,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let files = weight_files(dir)?;
        Self::open_files(files, model_type, policy, device)
    }

    /// Open explicit safetensors files.
    pub fn open_files(
        files: Vec<PathBuf>,
        model_type: ModelType,
        policy: LoadPolicy,
        device: &Device,
    ) -> Result<Self, ModelError> {
        Self::open_inner(files, Some(model_type), &[], policy, device)
    }

    /// Open the weight files of a token model's directory: no prefix is stripped (the architecture code picks its
    /// own root, e.g. `transformer.` or none for GPT-2 hub files) and `ignore` names checkpoint tensors skipped on
    /// purpose (causal-mask buffers, heads), reported in [`LoadReport::ignored`] with their reason.
    pub fn open_unprefixed(
        dir: &Path,
        ignore: &[IgnoreRule],
        policy: LoadPolicy,
        device: &Device,
    ) -> Result<Self, ModelError> {
        Self::open_inner(weight_files(dir)?, None, ignore, policy, device)
    }

    fn open_inner(
        files: Vec<PathBuf>,
        model_type: Option<ModelType>,
        ignore: &[IgnoreRule],
        policy: LoadPolicy,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let mut handles = Vec::new();
        let mut entries = BTreeMap::new();
        for (fi, path) in files.iter().enumerate() {
            if is_pickle(path) {
                return Err(ModelError::PickleCheckpoint { path: path.clone() });
            }
            let mut f = std::fs::File::open(path).map_err(|source| ModelError::Io {
                path: path.clone(),
                source,
            })?;
            read_header(path, fi, &mut f, &mut entries)?;
            handles.push(RefCell::new(f));
        }
        // Explicit prefix detection: a base model has `feature_extractor.*`; a head model has `<arch>.feature_extractor.*`.
        let head = model_type.map(|m| m.head_prefix()).unwrap_or("");
        let prefix = if model_type.is_none()
            || entries.keys().any(|k| k.starts_with("feature_extractor."))
        {
            String::new()
        } else if entries
            .keys()
            .any(|k| k.starts_with(head) && k[head.len()..].starts_with("feature_extractor."))
        {
            head.to_string()
        } else {
            String::new()
        };
        Ok(WeightStore {
            files,
            handles,
            entries,
            prefix,
            policy,
            device: device.clone(),
            used: RefCell::new(BTreeSet::new()),
            missing: RefCell::new(Vec::new()),
            weight_norm: RefCell::new(WeightNormSpelling::None),
            ignore: ignore.to_vec(),
        })
    }

    /// The root view.
    pub fn root(&self) -> Weights<'_> {
        Weights {
            store: self,
            path: String::new(),
        }
    }

    fn full(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    fn has(&self, name: &str) -> bool {
        self.entries.contains_key(&self.full(name))
    }

    fn read(&self, name: &str) -> Result<Option<Tensor>, ModelError> {
        let full = self.full(name);
        let Some(e) = self.entries.get(&full) else {
            return Ok(None);
        };
        use std::io::{Read, Seek, SeekFrom};
        let path = &self.files[e.file];
        let (dtype, width) = match e.dtype.as_str() {
            "F32" => (DType::F32, 4),
            "F16" => (DType::F16, 2),
            "BF16" => (DType::BF16, 2),
            "F64" => (DType::F64, 8),
            other => {
                return Err(st_err(
                    path,
                    format!("tensor {full}: unsupported dtype {other}"),
                ));
            }
        };
        let len = (e.end - e.start) as usize;
        if len != e.shape.iter().product::<usize>() * width {
            return Err(st_err(
                path,
                format!(
                    "tensor {full}: {len} bytes do not match shape {:?}",
                    e.shape
                ),
            ));
        }
        let mut bytes = vec![0u8; len];
        {
            let mut f = self.handles[e.file].borrow_mut();
            let io = |source| ModelError::Io {
                path: path.clone(),
                source,
            };
            f.seek(SeekFrom::Start(e.start)).map_err(io)?;
            f.read_exact(&mut bytes).map_err(io)?;
        }
        let t =
            Tensor::from_raw_buffer(&bytes, dtype, &e.shape, &Device::Cpu)?.to_dtype(DType::F32)?;
        let t = t.to_device(&self.device)?;
        self.used.borrow_mut().insert(full);
        Ok(Some(t))
    }

    fn check_shape(&self, name: &str, expected: &[usize]) -> Result<(), ModelError> {
        if let Some(e) = self.entries.get(&self.full(name))
            && e.shape != expected
        {
            return Err(ModelError::ShapeMismatch {
                tensor: self.full(name),
                expected: expected.to_vec(),
                found: e.shape.clone(),
            });
        }
        Ok(())
    }

    fn get(&self, name: &str, shape: &[usize], fill: f32) -> Result<Tensor, ModelError> {
        self.check_shape(name, shape)?;
        match self.read(name)? {
            Some(t) => Ok(t),
            None => {
                self.missing.borrow_mut().push(self.full(name));
                Ok((Tensor::ones(shape, DType::F32, &self.device)? * fill as f64)?)
            }
        }
    }

    /// Close the store: compute the report and apply the policy.
    pub fn finish(self) -> Result<LoadReport, ModelError> {
        let used = self.used.into_inner();
        let mut unused = Vec::new();
        let mut ignored = Vec::new();
        for k in self.entries.keys() {
            if used.contains(k) {
                continue;
            }
            let inner = k.strip_prefix(&self.prefix).unwrap_or(k);
            if let Some(rule) = self.ignore.iter().find(|r| r.matches(k)) {
                ignored.push((k.clone(), rule.reason.to_string()));
            } else if let Some((_, why)) = HEAD_PREFIXES.iter().find(|(p, _)| k.starts_with(p)) {
                ignored.push((k.clone(), (*why).to_string()));
            } else if inner == "masked_spec_embed" {
                ignored.push((k.clone(), "training-only mask embedding".to_string()));
            } else if inner.ends_with("num_batches_tracked") {
                ignored.push((k.clone(), "batch-norm step counter".to_string()));
            } else {
                unused.push(k.clone());
            }
        }
        let missing = self.missing.into_inner();
        if self.policy == LoadPolicy::Strict && (!missing.is_empty() || !unused.is_empty()) {
            return Err(ModelError::StrictLoad { missing, unused });
        }
        Ok(LoadReport {
            files: self.files,
            prefix: self.prefix,
            used: used.into_iter().collect(),
            missing,
            unused,
            ignored,
            weight_norm: self.weight_norm.into_inner(),
        })
    }
}

/// A view of the store under a name prefix.
#[derive(Clone)]
pub struct Weights<'a> {
    store: &'a WeightStore,
    path: String,
}

impl<'a> Weights<'a> {
    /// A sub-view (`vb.pp("encoder")`).
    pub fn pp(&self, segment: impl std::fmt::Display) -> Weights<'a> {
        let path = if self.path.is_empty() {
            segment.to_string()
        } else {
            format!("{}.{}", self.path, segment)
        };
        Weights {
            store: self.store,
            path,
        }
    }

    fn name(&self, leaf: &str) -> String {
        if self.path.is_empty() {
            leaf.to_string()
        } else {
            format!("{}.{}", self.path, leaf)
        }
    }

    /// The device tensors are placed on.
    pub fn device(&self) -> &Device {
        &self.store.device
    }

    /// Whether a tensor exists under this view.
    pub fn contains(&self, leaf: &str) -> bool {
        self.store.has(&self.name(leaf))
    }

    /// A tensor of the given shape (missing → error under strict policy at `finish`, filled with zeros meanwhile).
    pub fn get(&self, shape: &[usize], leaf: &str) -> Result<Tensor, ModelError> {
        self.store.get(&self.name(leaf), shape, 0.0)
    }

    /// A norm weight (missing → filled with ones under partial loading).
    pub fn get_norm_weight(&self, shape: &[usize], leaf: &str) -> Result<Tensor, ModelError> {
        self.store.get(&self.name(leaf), shape, 1.0)
    }

    /// A weight-normed conv weight `[o, i, k]` (weight norm over dims 0 and 1), fused to a plain tensor.
    pub fn get_weight_norm(&self, shape: &[usize]) -> Result<Tensor, ModelError> {
        let k = *shape.last().unwrap_or(&1);
        let new = (
            self.name("parametrizations.weight.original0"),
            self.name("parametrizations.weight.original1"),
        );
        let old = (self.name("weight_g"), self.name("weight_v"));
        let has_new = self.store.has(&new.0) || self.store.has(&new.1);
        let has_old = self.store.has(&old.0) || self.store.has(&old.1);
        let (g, v, spelling) = if has_new && has_old {
            return Err(ModelError::Config {
                path: self.store.files.first().cloned().unwrap_or_default(),
                message: format!(
                    "both weight-norm spellings present for {}: {} and {}",
                    self.store.full(&self.path),
                    new.0,
                    old.0
                ),
            });
        } else if has_old {
            (old.0, old.1, WeightNormSpelling::Legacy)
        } else {
            (new.0, new.1, WeightNormSpelling::Parametrizations)
        };
        let g = self.store.get(&g, &[1, 1, k], 1.0)?;
        let v = self.store.get(&v, shape, 0.0)?;
        *self.store.weight_norm.borrow_mut() = spelling;
        let norm = v.sqr()?.sum_keepdim(0)?.sum_keepdim(1)?.sqrt()?; // [1,1,k]
        // Guard against an all-zero v (only possible for partially loaded checkpoints).
        let norm = norm.maximum(1e-30)?;
        Ok(v.broadcast_mul(&(g / norm)?)?)
    }
}
