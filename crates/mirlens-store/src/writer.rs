//! Resumable, atomic store writer.
//!
//! A store is written shard by shard. Each shard's files are written to temporary names and renamed into place;
//! the shard becomes part of the store only when its record is appended to `journal.jsonl` and flushed — the commit
//! point. A run killed at any moment (even `kill -9`) leaves committed shards intact; the next
//! [`StoreWriter::open`] removes temporaries, drops a torn journal line, checks the committed files and reports
//! which shards remain. Because shard contents depend only on the dataset, the model and the shard index, a resumed
//! run produces byte-identical files to an uninterrupted one.

use crate::error::{Result, StoreError, io_err};
use crate::io::{self, ACTIVATIONS};
use crate::lock::{LOCK_FILE, StoreLock};
use crate::manifest::{
    BadClip, FileDigest, JOURNAL_FILE, MANIFEST_FILE, Part, RowMeta, ShardRecord, StoreHeader,
    StoreManifest, abs, layer_shard_path, rows_shard_path, stats_path,
};
use crate::schema::{LabelSchema, NonFinitePolicy, StoreLayout};
use crate::stats::StatsAccumulator;
use crate::table::{ShardColumns, columns_from_rows, table_bytes};
use mirlens_core::{CoreError, DType, LayerId};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The content of one shard handed to [`StoreWriter::write_shard`], with format-1 style row metadata (one
/// [`RowMeta`] per row). It is converted to the columnar tables internally: labels of fields the schema declares
/// at clip level go to the clip table, every other label becomes a row-level column.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardData {
    /// Global shard index.
    pub index: usize,
    /// Row metadata, one per row.
    pub rows: Vec<RowMeta>,
    /// Activations per layer, in the order of [`StoreHeader::layers`], each row-major `[rows, hidden]`.
    pub layers: Vec<Vec<f32>>,
    /// Clips of the shard that produced rows.
    pub clips: usize,
    /// Clips of the shard that were skipped.
    pub bad_clips: Vec<BadClip>,
}

/// Writes (or resumes writing) a store. See the module docs for the commit protocol. Holds the store's write lock
/// (`STORE/.lock`) until it is finalised or dropped.
#[derive(Debug)]
pub struct StoreWriter {
    dir: PathBuf,
    manifest: StoreManifest,
    _lock: StoreLock,
}

#[derive(serde::Serialize)]
struct ShardMeta {
    layer: usize,
    shard: usize,
    dtype: String,
}

impl StoreWriter {
    /// Create a store at `dir` (which must not exist or be empty), or resume the store already there, with the
    /// layout a format-1 header implies ([`StoreLayout::for_header`]: audio, frames or clips, a label schema
    /// inferred from the rows written). See [`StoreWriter::open_with`].
    pub fn open(dir: &Path, header: StoreHeader, part: Part) -> Result<StoreWriter> {
        let layout = StoreLayout::for_header(&header);
        StoreWriter::open_with(dir, header, layout, part)
    }

    /// Create a store at `dir` (which must not exist or be empty), or resume the store already there. Resuming
    /// requires the same header, layout and part; otherwise [`StoreError::Incompatible`] names the first differing
    /// field and nothing is touched. Another process writing the same store is refused with
    /// [`StoreError::Locked`]; a format-1 store with [`StoreError::ReadOnly`].
    pub fn open_with(
        dir: &Path,
        header: StoreHeader,
        layout: StoreLayout,
        part: Part,
    ) -> Result<StoreWriter> {
        let part = part.check()?;
        check_header(&header)?;
        layout.label_schema.check()?;
        let lock = StoreLock::acquire(dir)?;
        let refuse = |e: StoreError| -> Result<StoreWriter> { Err(e) };
        if dir.join(MANIFEST_FILE).is_file() {
            let existing = match StoreManifest::load(dir) {
                Ok(m) => m,
                Err(e) => return refuse(e),
            };
            if existing.is_v1() {
                return refuse(StoreError::ReadOnly {
                    path: dir.to_path_buf(),
                    format: existing.format,
                });
            }
            if let Err(e) = header.check_same(&existing.header, dir) {
                return refuse(e);
            }
            if let Err(e) = layout.check_same(&existing.layout, dir) {
                return refuse(e);
            }
            if existing.part != part {
                return refuse(StoreError::Incompatible {
                    path: dir.to_path_buf(),
                    field: "part",
                    existing: existing.part.to_string(),
                    requested: part.to_string(),
                });
            }
            io::remove_temporaries(dir)?;
            let records = read_journal(dir, true)?;
            let mut manifest = existing;
            for r in &records {
                verify_sizes(dir, r)?;
            }
            manifest.shards = records;
            manifest.refresh_totals();
            return Ok(StoreWriter {
                dir: dir.to_path_buf(),
                manifest,
                _lock: lock,
            });
        }
        let rd = std::fs::read_dir(dir).map_err(io_err("list", dir))?;
        if rd.flatten().any(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            !n.starts_with(io::TMP_PREFIX) && n != LOCK_FILE
        }) {
            return refuse(StoreError::NotEmpty {
                path: dir.to_path_buf(),
            });
        }
        let manifest = StoreManifest::new(header, layout, part);
        let w = StoreWriter {
            dir: dir.to_path_buf(),
            manifest,
            _lock: lock,
        };
        let jp = dir.join(JOURNAL_FILE);
        std::fs::File::create(&jp).map_err(io_err("create", &jp))?;
        w.write_manifest()?;
        Ok(w)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest as it stands (committed shards, totals; `complete` is false until [`StoreWriter::finalize`]).
    pub fn manifest(&self) -> &StoreManifest {
        &self.manifest
    }

    /// The label schema as it stands (an inferred schema grows with the shards written).
    pub fn label_schema(&self) -> &LabelSchema {
        &self.manifest.layout.label_schema
    }

    /// Global shard indices this store's part must hold.
    pub fn part_shards(&self) -> std::ops::Range<usize> {
        self.manifest
            .part
            .shards(self.manifest.header.total_shards())
    }

    /// Whether shard `index` is already committed.
    pub fn is_committed(&self, index: usize) -> bool {
        self.manifest.shards.iter().any(|s| s.index == index)
    }

    /// Shards of the part that still have to be written, ascending.
    pub fn pending_shards(&self) -> Vec<usize> {
        self.part_shards()
            .filter(|k| !self.is_committed(*k))
            .collect()
    }

    /// Write and commit one shard given as format-1 style rows. Committing a shard that is already committed is a
    /// no-op returning its record.
    pub fn write_shard(&mut self, data: ShardData) -> Result<ShardRecord> {
        if let Some(r) = self.manifest.shards.iter().find(|s| s.index == data.index) {
            return Ok(r.clone());
        }
        let mut schema = self.manifest.layout.label_schema.clone();
        let grow = !self.manifest.layout.label_schema_declared;
        let mut cols = columns_from_rows(
            data.index,
            &data.rows,
            self.manifest.layout.row_unit,
            &mut schema,
            grow,
        )?;
        cols.layers = data.layers;
        cols.bad_clips = data.bad_clips;
        self.commit(cols, schema)
    }

    /// Write and commit one shard given as columns (row and clip tables, labels by the store's schema). Committing
    /// a shard that is already committed is a no-op returning its record.
    pub fn write_columns(&mut self, cols: ShardColumns) -> Result<ShardRecord> {
        if let Some(r) = self.manifest.shards.iter().find(|s| s.index == cols.index) {
            return Ok(r.clone());
        }
        let schema = self.manifest.layout.label_schema.clone();
        self.commit(cols, schema)
    }

    fn commit(&mut self, mut cols: ShardColumns, schema: LabelSchema) -> Result<ShardRecord> {
        let h = &self.manifest.header;
        let range = self.part_shards();
        if !range.contains(&cols.index) {
            return Err(CoreError::invalid(
                "shard index",
                cols.index,
                format!("a shard of part {} ({range:?})", self.manifest.part),
            )
            .into());
        }
        if cols.layers.len() != h.layers.len() {
            return Err(StoreError::Shape {
                what: format!("number of layer arrays of shard {}", cols.index),
                expected: h.layers.len(),
                got: cols.layers.len(),
            });
        }
        let n = cols.num_rows();
        for (l, a) in h.layers.iter().zip(&cols.layers) {
            if a.len() != n * h.hidden_size {
                return Err(StoreError::Shape {
                    what: format!(
                        "values of {l} in shard {} ({n} rows × hidden {})",
                        cols.index, h.hidden_size
                    ),
                    expected: n * h.hidden_size,
                    got: a.len(),
                });
            }
        }
        cols.check(&schema)?;
        let nonfinite = self.screen_nonfinite(&mut cols)?;
        let h = &self.manifest.header;
        let n = cols.num_rows();
        // the tables are encoded first: a value outside the schema fails before any file is written
        let table_rel = rows_shard_path(cols.index);
        let table_path = abs(&self.dir, &table_rel);
        let table = table_bytes(&cols, &schema, &table_path)?;
        let mut files = BTreeMap::new();
        for (l, a) in h.layers.iter().zip(&cols.layers) {
            let rel = layer_shard_path(*l, cols.index);
            let path = abs(&self.dir, &rel);
            let bytes = shard_bytes(*l, cols.index, h.dtype, h.hidden_size, a, &path)?;
            io::write_atomic(&path, &bytes)?;
            files.insert(rel, io::digest(&bytes));
        }
        io::write_atomic(&table_path, &table)?;
        files.insert(table_rel, io::digest(&table));
        if schema != self.manifest.layout.label_schema {
            // the grown dictionary is durable before the shard that needs it is committed
            self.manifest.layout.label_schema = schema;
            self.write_manifest()?;
        }
        let record = ShardRecord {
            index: cols.index,
            rows: n,
            clips: cols.clips.len(),
            bad_clips: cols.bad_clips,
            nonfinite_rows: nonfinite,
            files,
        };
        append_journal(&self.dir, &record)?;
        self.manifest.shards.push(record.clone());
        self.manifest.refresh_totals();
        Ok(record)
    }

    /// Apply the non-finite policy: find rows with a value that is NaN or infinite in the storage dtype; refuse,
    /// drop or count them. Returns the number of such rows.
    fn screen_nonfinite(&self, cols: &mut ShardColumns) -> Result<usize> {
        let h = &self.manifest.header;
        let d = h.hidden_size;
        let n = cols.num_rows();
        let mut bad_rows = vec![false; n];
        for (l, a) in h.layers.iter().zip(&cols.layers) {
            for (r, row) in a.chunks_exact(d).enumerate() {
                if bad_rows[r] {
                    continue;
                }
                if let Some(&v) = row.iter().find(|&&v| !finite_in(v, h.dtype)) {
                    if self.manifest.layout.on_nonfinite == NonFinitePolicy::Error {
                        let clip = cols.row_clip[r] as usize;
                        let clip_id = cols
                            .clips
                            .iter()
                            .find(|c| c.index == clip)
                            .map(|c| c.id.clone())
                            .unwrap_or_default();
                        return Err(StoreError::NonFinite {
                            path: self.dir.clone(),
                            shard: cols.index,
                            layer: *l,
                            row: r,
                            clip_id,
                            value: stored_value(v, h.dtype),
                        });
                    }
                    bad_rows[r] = true;
                }
            }
        }
        let count = bad_rows.iter().filter(|b| **b).count();
        if count > 0 && self.manifest.layout.on_nonfinite == NonFinitePolicy::Skip {
            let keep: Vec<usize> = (0..n).filter(|&r| !bad_rows[r]).collect();
            cols.retain_rows(&keep, d);
        }
        Ok(count)
    }

    /// Check that every shard of the part is committed, compute and store the per-layer statistics (verifying
    /// each layer file against its recorded SHA-256 on the way), and write the final `manifest.json` with
    /// `complete: true`. Releases the write lock.
    pub fn finalize(mut self) -> Result<StoreManifest> {
        let missing = self.pending_shards();
        if !missing.is_empty() {
            return Err(StoreError::MissingShards {
                path: self.dir.clone(),
                missing,
            });
        }
        self.manifest.refresh_totals();
        self.manifest.stats = write_stats(&self.dir, &self.manifest)?;
        self.manifest.complete = true;
        self.write_manifest()?;
        Ok(self.manifest.clone())
    }

    fn write_manifest(&self) -> Result<()> {
        write_manifest(&self.dir, &self.manifest)
    }
}

/// Whether `v` stays finite when rounded to `dtype`.
fn finite_in(v: f32, dtype: DType) -> bool {
    match dtype {
        DType::F32 => v.is_finite(),
        DType::F16 => half::f16::from_f32(v).is_finite(),
        DType::Bf16 => half::bf16::from_f32(v).is_finite(),
    }
}

fn stored_value(v: f32, dtype: DType) -> f32 {
    match dtype {
        DType::F32 => v,
        DType::F16 => half::f16::from_f32(v).to_f32(),
        DType::Bf16 => half::bf16::from_f32(v).to_f32(),
    }
}

fn check_header(h: &StoreHeader) -> Result<()> {
    if h.layers.is_empty() {
        return Err(CoreError::invalid("layers", "[]", "at least one layer").into());
    }
    if h.layers.windows(2).any(|w| w[0] >= w[1]) {
        let v: Vec<usize> = h.layers.iter().map(|l| l.0).collect();
        return Err(CoreError::invalid(
            "layers",
            format!("{v:?}"),
            "ascending, without duplicates",
        )
        .into());
    }
    if h.hidden_size == 0 {
        return Err(CoreError::invalid("hidden_size", 0, "at least 1").into());
    }
    if h.clips_per_shard == 0 {
        return Err(CoreError::invalid("clips_per_shard", 0, "at least 1").into());
    }
    if !(h.frame_rate.is_finite() && h.frame_rate > 0.0) {
        return Err(CoreError::invalid("frame_rate", h.frame_rate, "a positive number").into());
    }
    Ok(())
}

/// Serialise one layer shard: tensor `activations` `[rows, hidden]` in the storage dtype, metadata key `mirlens`.
pub(crate) fn shard_bytes(
    layer: LayerId,
    shard: usize,
    dtype: mirlens_core::DType,
    hidden: usize,
    values: &[f32],
    path: &Path,
) -> Result<Vec<u8>> {
    let data = io::encode(values, dtype);
    let meta = ShardMeta {
        layer: layer.0,
        shard,
        dtype: dtype.to_string(),
    };
    let meta = serde_json::to_string(&meta).map_err(|e| StoreError::Json {
        path: path.to_path_buf(),
        line: None,
        message: e.to_string(),
    })?;
    io::serialize_tensors(
        &[(
            ACTIVATIONS,
            io::st_dtype(dtype),
            vec![values.len() / hidden, hidden],
            &data,
        )],
        Some(("mirlens", meta)),
        path,
    )
}

pub(crate) fn write_manifest(dir: &Path, m: &StoreManifest) -> Result<()> {
    let p = dir.join(MANIFEST_FILE);
    let mut s = serde_json::to_string_pretty(m).map_err(|e| StoreError::Json {
        path: p.clone(),
        line: None,
        message: e.to_string(),
    })?;
    s.push('\n');
    io::write_atomic(&p, s.as_bytes())
}

pub(crate) fn append_journal(dir: &Path, r: &ShardRecord) -> Result<()> {
    let p = dir.join(JOURNAL_FILE);
    let mut line = serde_json::to_string(r).map_err(|e| StoreError::Json {
        path: p.clone(),
        line: None,
        message: e.to_string(),
    })?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&p)
        .map_err(io_err("open", &p))?;
    f.write_all(line.as_bytes())
        .map_err(io_err("append to", &p))?;
    f.sync_all().map_err(io_err("flush", &p))?;
    Ok(())
}

/// Read the commit journal. A torn last line (a write interrupted by a crash) is dropped and, when `repair`, the
/// file is truncated to its last complete line; any other unparseable line is an error naming the line.
pub(crate) fn read_journal(dir: &Path, repair: bool) -> Result<Vec<ShardRecord>> {
    let p = dir.join(JOURNAL_FILE);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_err("read", &p)(e)),
    };
    let mut out: Vec<ShardRecord> = Vec::new();
    let mut good_len = 0usize;
    let mut pos = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if !line.ends_with('\n') {
            break; // torn tail of an interrupted append
        }
        let r: ShardRecord =
            serde_json::from_str(line.trim_end()).map_err(|e| StoreError::Json {
                path: p.clone(),
                line: Some(i + 1),
                message: e.to_string(),
            })?;
        out.retain(|x| x.index != r.index);
        out.push(r);
        pos += line.len();
        good_len = pos;
    }
    if repair && good_len < text.len() {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .map_err(io_err("open", &p))?;
        f.set_len(good_len as u64).map_err(io_err("truncate", &p))?;
        f.sync_all().map_err(io_err("flush", &p))?;
    }
    out.sort_by_key(|r| r.index);
    Ok(out)
}

fn verify_sizes(dir: &Path, r: &ShardRecord) -> Result<()> {
    for (rel, d) in &r.files {
        let p = abs(dir, rel);
        let len = std::fs::metadata(&p)
            .map(|m| m.len())
            .map_err(|_| StoreError::Corrupt {
                path: p.clone(),
                reason: format!("committed file of shard {} is missing", r.index),
            })?;
        if len != d.bytes {
            return Err(StoreError::Corrupt {
                path: p,
                reason: format!(
                    "committed file of shard {} has {len} bytes, journal says {}",
                    r.index, d.bytes
                ),
            });
        }
    }
    Ok(())
}

/// Compute per-layer statistics over all shards (in index order), verifying every layer file against its recorded
/// SHA-256, and write `stats/layer-LLL.safetensors`. Returns the digests of the statistics files.
pub(crate) fn write_stats(dir: &Path, m: &StoreManifest) -> Result<BTreeMap<String, FileDigest>> {
    let mut out = BTreeMap::new();
    for &l in &m.header.layers {
        let mut acc = StatsAccumulator::new(m.header.hidden_size);
        for s in &m.shards {
            let rel = layer_shard_path(l, s.index);
            let p = abs(dir, &rel);
            let bytes = std::fs::read(&p).map_err(io_err("read", &p))?;
            if let Some(d) = s.files.get(&rel) {
                io::verify_digest(&bytes, d, &p)?;
            }
            let (v, _) = io::tensor_from_bytes(&bytes, &p, ACTIVATIONS)?;
            acc.push_block(&v);
        }
        let st = acc.finish(l);
        let rel = stats_path(l);
        let p = abs(dir, &rel);
        let bytes = st.to_bytes(&p)?;
        io::write_atomic(&p, &bytes)?;
        out.insert(rel, io::digest(&bytes));
    }
    Ok(out)
}
