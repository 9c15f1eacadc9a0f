//! The JSON documents of a store: `manifest.json`, journal records and row metadata.

use crate::error::{Result, StoreError};
use crate::schema::StoreLayout;
use mirlens_core::{DType, LabelSet, LayerId, Pooling};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Value of [`StoreManifest::format`] for stores this version writes.
pub const FORMAT: &str = "mirlens-store/2";
/// The first format (JSONL row tables with labels copied per row); still opened read-only.
pub const FORMAT_V1: &str = "mirlens-store/1";

/// The identity of a store: everything that must be equal for a run to append to (resume) an existing store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreHeader {
    /// Model name (registry name or checkpoint directory name).
    pub model: String,
    /// Model revision (hub commit, file hash, or `None` when unknown).
    pub revision: Option<String>,
    /// SHA-256 (hex) of the model configuration; two runs with different configs never share a store.
    pub config_hash: String,
    /// Layers held by the store, ascending.
    pub layers: Vec<LayerId>,
    /// Width of every layer.
    pub hidden_size: usize,
    /// Storage type of the activation arrays.
    pub dtype: DType,
    /// Frame pooling applied before storage (`none`: one row per frame; `mean`/`max`: one row per clip).
    pub pooling: Pooling,
    /// Encoder output frames per second of audio (before pooling).
    pub frame_rate: f64,
    /// Dataset name as given to the extraction (a built-in name or the manifest path's file name).
    pub dataset: String,
    /// SHA-256 (hex) of the dataset manifest the rows were extracted from.
    pub dataset_hash: String,
    /// Number of clips in the full dataset manifest (all parts).
    pub dataset_clips: usize,
    /// Shard size in clips: shard `k` holds clips `k*clips_per_shard .. (k+1)*clips_per_shard` of the dataset.
    pub clips_per_shard: usize,
}

impl StoreHeader {
    /// Number of shards of the full dataset: `ceil(dataset_clips / clips_per_shard)`.
    pub fn total_shards(&self) -> usize {
        self.dataset_clips.div_ceil(self.clips_per_shard.max(1))
    }

    /// Range of dataset clip indices held by shard `k`.
    pub fn shard_clips(&self, k: usize) -> std::ops::Range<usize> {
        let a = (k * self.clips_per_shard).min(self.dataset_clips);
        let b = ((k + 1) * self.clips_per_shard).min(self.dataset_clips);
        a..b
    }

    /// Compare with the header of an existing store; the first differing field becomes an
    /// [`StoreError::Incompatible`] error.
    pub fn check_same(&self, existing: &StoreHeader, path: &Path) -> Result<()> {
        let fields: [(&'static str, String, String); 12] = [
            ("model", existing.model.clone(), self.model.clone()),
            (
                "revision",
                format!("{:?}", existing.revision),
                format!("{:?}", self.revision),
            ),
            (
                "config_hash",
                existing.config_hash.clone(),
                self.config_hash.clone(),
            ),
            (
                "layers",
                layer_list(&existing.layers),
                layer_list(&self.layers),
            ),
            (
                "hidden_size",
                existing.hidden_size.to_string(),
                self.hidden_size.to_string(),
            ),
            ("dtype", existing.dtype.to_string(), self.dtype.to_string()),
            (
                "pooling",
                existing.pooling.to_string(),
                self.pooling.to_string(),
            ),
            (
                "frame_rate",
                existing.frame_rate.to_string(),
                self.frame_rate.to_string(),
            ),
            ("dataset", existing.dataset.clone(), self.dataset.clone()),
            (
                "dataset_hash",
                existing.dataset_hash.clone(),
                self.dataset_hash.clone(),
            ),
            (
                "dataset_clips",
                existing.dataset_clips.to_string(),
                self.dataset_clips.to_string(),
            ),
            (
                "clips_per_shard",
                existing.clips_per_shard.to_string(),
                self.clips_per_shard.to_string(),
            ),
        ];
        for (field, a, b) in fields {
            if a != b {
                return Err(StoreError::Incompatible {
                    path: path.to_path_buf(),
                    field,
                    existing: a,
                    requested: b,
                });
            }
        }
        Ok(())
    }
}

fn layer_list(l: &[LayerId]) -> String {
    let v: Vec<String> = l.iter().map(|x| x.0.to_string()).collect();
    format!("[{}]", v.join(","))
}

/// Which part of a dataset a store holds when extraction is split over `count` jobs (`--shard index/count`).
/// Part `i` holds the contiguous block of shards `i*S/count .. (i+1)*S/count` (S = total shards), so that merging
/// all parts gives exactly the shards of a single-job run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Zero-based part index.
    pub index: usize,
    /// Number of parts.
    pub count: usize,
}

impl Part {
    /// The whole dataset.
    pub const WHOLE: Part = Part { index: 0, count: 1 };

    /// Validate `index < count`, `count >= 1`.
    pub fn check(self) -> Result<Part> {
        if self.count == 0 || self.index >= self.count {
            return Err(mirlens_core::CoreError::invalid(
                "shard",
                format!("{}/{}", self.index, self.count),
                "i/N with 0 <= i < N",
            )
            .into());
        }
        Ok(self)
    }

    /// Shard indices of this part among `total` shards.
    pub fn shards(self, total: usize) -> std::ops::Range<usize> {
        (self.index * total / self.count)..((self.index + 1) * total / self.count)
    }
}

impl std::str::FromStr for Part {
    type Err = mirlens_core::CoreError;
    /// Parses `i/N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || mirlens_core::CoreError::Parse {
            what: "shard part",
            input: s.to_string(),
            expected: "'i/N' with 0 <= i < N, e.g. '0/4'",
        };
        let (a, b) = s.trim().split_once('/').ok_or_else(err)?;
        let p = Part {
            index: a.trim().parse().map_err(|_| err())?,
            count: b.trim().parse().map_err(|_| err())?,
        };
        if p.count == 0 || p.index >= p.count {
            return Err(err());
        }
        Ok(p)
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A clip that could not be extracted (missing file, corrupt audio, too short, …). Bad clips are skipped, counted
/// and listed; they never abort an extraction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadClip {
    /// Index of the clip in the dataset manifest.
    pub clip_index: usize,
    /// Clip id.
    pub clip_id: String,
    /// Audio path as listed in the dataset manifest.
    pub path: String,
    /// Why it was skipped.
    pub reason: String,
}

/// One committed shard, as recorded in the journal and in `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// Global shard index (see [`StoreHeader::clips_per_shard`]).
    pub index: usize,
    /// Number of rows in the shard.
    pub rows: usize,
    /// Number of clips that produced rows.
    pub clips: usize,
    /// Clips of this shard's range that were skipped.
    pub bad_clips: Vec<BadClip>,
    /// Rows with non-finite activations: dropped (policy `skip`) or kept (policy `keep`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nonfinite_rows: usize,
    /// SHA-256 (hex) of every file of the shard, keyed by path relative to the store directory.
    pub files: BTreeMap<String, FileDigest>,
}

/// Size and hash of a committed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
}

/// The `manifest.json` of a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreManifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Version of mirlens that created the store.
    pub mirlens_version: String,
    /// Model, layers, storage and dataset identity.
    #[serde(flatten)]
    pub header: StoreHeader,
    /// Modality, row unit, span unit, model card, label schema, non-finite policy (format 2; derived from the
    /// header and the rows for format-1 stores).
    #[serde(flatten)]
    pub layout: StoreLayout,
    /// Which part of the dataset this store holds (`0/1` for a whole-dataset store).
    pub part: Part,
    /// Whether every shard of the part has been written and the statistics computed.
    pub complete: bool,
    /// Committed shards in ascending index order.
    pub shards: Vec<ShardRecord>,
    /// Total rows over all shards.
    pub num_rows: usize,
    /// Total clips that produced rows.
    pub num_clips: usize,
    /// Rows with non-finite activations over all shards (see [`StoreLayout::on_nonfinite`]).
    #[serde(default)]
    pub nonfinite_rows: usize,
    /// Every skipped clip, in dataset order.
    pub bad_clips: Vec<BadClip>,
    /// Size and SHA-256 of every statistics file, keyed by path relative to the store (written at finalisation).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, FileDigest>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl StoreManifest {
    /// A fresh, empty, incomplete manifest.
    pub fn new(header: StoreHeader, layout: StoreLayout, part: Part) -> StoreManifest {
        StoreManifest {
            format: FORMAT.to_string(),
            mirlens_version: env!("CARGO_PKG_VERSION").to_string(),
            header,
            layout,
            part,
            complete: false,
            shards: Vec::new(),
            num_rows: 0,
            num_clips: 0,
            nonfinite_rows: 0,
            bad_clips: Vec::new(),
            stats: BTreeMap::new(),
        }
    }

    /// Whether the store is in the first format (read-only).
    pub fn is_v1(&self) -> bool {
        self.format == FORMAT_V1
    }

    /// Recompute the totals from the shard list (sorted by index).
    pub(crate) fn refresh_totals(&mut self) {
        self.shards.sort_by_key(|s| s.index);
        self.num_rows = self.shards.iter().map(|s| s.rows).sum();
        self.num_clips = self.shards.iter().map(|s| s.clips).sum();
        self.nonfinite_rows = self.shards.iter().map(|s| s.nonfinite_rows).sum();
        self.bad_clips = self
            .shards
            .iter()
            .flat_map(|s| s.bad_clips.iter().cloned())
            .collect();
    }

    /// Read and check `manifest.json` of the store at `dir`.
    pub fn load(dir: &Path) -> Result<StoreManifest> {
        let p = dir.join(MANIFEST_FILE);
        if !p.is_file() {
            return Err(StoreError::NotAStore {
                path: dir.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(&p).map_err(crate::error::io_err("read", &p))?;
        let probe: FormatOnly = serde_json::from_str(&text).map_err(|e| StoreError::Json {
            path: p.clone(),
            line: Some(e.line()),
            message: e.to_string(),
        })?;
        if probe.format != FORMAT && probe.format != FORMAT_V1 {
            return Err(StoreError::Format {
                path: dir.to_path_buf(),
                found: probe.format,
                expected: format!("{FORMAT} or {FORMAT_V1}"),
            });
        }
        let mut m: StoreManifest = serde_json::from_str(&text).map_err(|e| StoreError::Json {
            path: p.clone(),
            line: Some(e.line()),
            message: e.to_string(),
        })?;
        if m.is_v1() {
            m.layout = StoreLayout::for_header(&m.header);
        }
        Ok(m)
    }
}

#[derive(Deserialize)]
struct FormatOnly {
    format: String,
}

/// Metadata of one activation row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowMeta {
    /// Id of the clip the row comes from.
    pub clip_id: String,
    /// Index of that clip in the dataset manifest.
    pub clip_index: usize,
    /// Frame index within the clip (0 for pooled rows).
    pub frame: usize,
    /// Start time of the frame in seconds from the clip start, `frame / frame_rate` (0 for pooled rows).
    pub time: f64,
    /// Dataset split of the clip (`train`, `valid`, `test`, …), when the dataset defines one.
    pub split: Option<String>,
    /// Labels of the clip.
    pub labels: LabelSet,
}

/// File name of the store manifest.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File name of the commit journal.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// Path, relative to the store directory, of the safetensors file of `layer` in shard `shard`.
pub fn layer_shard_path(layer: LayerId, shard: usize) -> String {
    format!("layer-{:03}/shard-{:05}.safetensors", layer.0, shard)
}

/// Path, relative to the store directory, of the row and clip tables of shard `shard` (format 2).
pub fn rows_shard_path(shard: usize) -> String {
    format!("rows/shard-{shard:05}.safetensors")
}

/// Path, relative to the store directory, of the JSONL row table of shard `shard` in a format-1 store.
pub fn rows_shard_path_v1(shard: usize) -> String {
    format!("rows/shard-{shard:05}.jsonl")
}

/// Path, relative to the store directory, of the statistics of `layer`.
pub fn stats_path(layer: LayerId) -> String {
    format!("stats/layer-{:03}.safetensors", layer.0)
}

/// Join a relative store path.
pub(crate) fn abs(dir: &Path, rel: &str) -> PathBuf {
    dir.join(rel)
}
