//! Reading a finished store: whole-layer matrices, columnar row and clip tables, statistics, splits by clip and
//! streaming batches.
//!
//! Opening a format-2 store reads `manifest.json` only (and checks that every committed file is there with its
//! recorded size); row columns, the clip table and label columns are read when first asked for, one tensor per
//! shard file. Every committed file is checked against its recorded SHA-256 the first time it is read
//! ([`Verify::FirstTouch`], the default), so a modified shard is an error naming it; [`Verify::Never`] skips the
//! check for trusted hot loops. Format-1 stores (JSONL row tables) are converted to the same columns on open.

use crate::error::{Result, StoreError, io_err};
use crate::io::{self, ACTIVATIONS};
use crate::manifest::{
    RowMeta, StoreManifest, abs, layer_shard_path, rows_shard_path, rows_shard_path_v1, stats_path,
};
use crate::schema::{LabelField, LabelLevel};
use crate::stats::LayerStats;
pub use crate::table::ClipTable;
use crate::table::{LabelData, Raw, clips_from, columns_from_rows, f64s, u32s};
use mirlens_core::{CoreError, LabelValue, LayerId};
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// When committed files are checked against their recorded SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verify {
    /// The first time each file is read by this [`Store`] (later reads of the same file are not re-hashed).
    #[default]
    FirstTouch,
    /// Never (trusted data in hot loops).
    Never,
}

/// Options of [`Store::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenOptions {
    /// Digest checking.
    pub verify: Verify,
}

#[derive(Debug, Clone, Default)]
struct Columns {
    clip: OnceLock<Vec<u32>>,
    position: OnceLock<Vec<u32>>,
    span: OnceLock<(Vec<f64>, Vec<f64>)>,
    labels: BTreeMap<String, OnceLock<LabelData>>,
    clips: OnceLock<ClipTable>,
    rows: OnceLock<Vec<RowMeta>>,
}

/// An opened, complete activation store. Activations and row columns are read on demand.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    manifest: StoreManifest,
    /// Global row index of the first row of each shard (parallel to `manifest.shards`), plus the total at the end.
    offsets: Vec<usize>,
    verify: Verify,
    /// Committed files by relative path: (shard position, verified flag).
    verified: HashMap<String, OnceLock<()>>,
    cols: Columns,
}

impl Store {
    /// Open the store at `dir`, checking digests on first touch. Fails with [`StoreError::Incomplete`] for a store
    /// whose extraction has not finished, and with [`StoreError::Corrupt`] when a committed file is missing or has
    /// another size than recorded.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(dir, OpenOptions::default())
    }

    /// Open the store at `dir` with options.
    pub fn open_with(dir: impl AsRef<Path>, opts: OpenOptions) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        let manifest = StoreManifest::load(&dir)?;
        if !manifest.complete {
            let shards = crate::writer::read_journal(&dir, false)
                .map(|r| r.len())
                .unwrap_or(0);
            return Err(StoreError::Incomplete { path: dir, shards });
        }
        let mut offsets = Vec::with_capacity(manifest.shards.len() + 1);
        let mut total = 0usize;
        let mut verified = HashMap::new();
        for s in &manifest.shards {
            offsets.push(total);
            total += s.rows;
            for (rel, d) in &s.files {
                let p = abs(&dir, rel);
                let len = std::fs::metadata(&p)
                    .map_err(|_| StoreError::Corrupt {
                        path: p.clone(),
                        reason: format!("committed file of shard {} is missing", s.index),
                    })?
                    .len();
                if len != d.bytes {
                    return Err(StoreError::Corrupt {
                        path: p,
                        reason: format!(
                            "committed file of shard {} has {len} bytes, the manifest says {}",
                            s.index, d.bytes
                        ),
                    });
                }
                verified.insert(rel.clone(), OnceLock::new());
            }
        }
        for rel in manifest.stats.keys() {
            verified.insert(rel.clone(), OnceLock::new());
        }
        offsets.push(total);
        let mut cols = Columns::default();
        for f in manifest.layout.label_schema.at(LabelLevel::Row) {
            cols.labels.insert(f.name.clone(), OnceLock::new());
        }
        let mut store = Store {
            dir,
            manifest,
            offsets,
            verify: opts.verify,
            verified,
            cols,
        };
        if store.manifest.is_v1() {
            store.load_v1()?;
        }
        Ok(store)
    }

    /// Format 1: parse the JSONL row tables and convert them to columns (every label a row-level column with an
    /// inferred schema).
    fn load_v1(&mut self) -> Result<()> {
        let mut rows: Vec<RowMeta> = Vec::with_capacity(self.manifest.num_rows);
        for s in &self.manifest.shards {
            let rel = rows_shard_path_v1(s.index);
            let p = abs(&self.dir, &rel);
            let bytes = self.file_bytes(&rel)?;
            let text = String::from_utf8(bytes).map_err(|e| StoreError::Json {
                path: p.clone(),
                line: None,
                message: e.to_string(),
            })?;
            let before = rows.len();
            for (i, line) in text.lines().enumerate() {
                let r: RowMeta = serde_json::from_str(line).map_err(|e| StoreError::Json {
                    path: p.clone(),
                    line: Some(i + 1),
                    message: e.to_string(),
                })?;
                rows.push(r);
            }
            if rows.len() - before != s.rows {
                return Err(StoreError::Corrupt {
                    path: p,
                    reason: format!(
                        "{} rows in the table, manifest says {}",
                        rows.len() - before,
                        s.rows
                    ),
                });
            }
        }
        let mut schema = crate::schema::LabelSchema::new();
        let c = columns_from_rows(0, &rows, self.manifest.layout.row_unit, &mut schema, true)?;
        let mut cols = Columns::default();
        let _ = cols.clip.set(c.row_clip);
        let _ = cols.position.set(c.position);
        let _ = cols.span.set((c.span_start, c.span_end));
        for (name, d) in c.row_labels {
            let cell = OnceLock::new();
            let _ = cell.set(d);
            cols.labels.insert(name, cell);
        }
        let _ = cols.clips.set(ClipTable {
            index: c.clips.iter().map(|e| e.index as u32).collect(),
            id: c.clips.iter().map(|e| e.id.clone()).collect(),
            split: c.clips.iter().map(|e| e.split.clone()).collect(),
            source: c.clips.iter().map(|e| e.source.clone()).collect(),
            labels: Vec::new(),
        });
        let _ = cols.rows.set(rows);
        self.cols = cols;
        self.manifest.layout.label_schema = schema;
        Ok(())
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed `manifest.json` (for a format-1 store: with the layout and label schema derived from its rows).
    pub fn manifest(&self) -> &StoreManifest {
        &self.manifest
    }

    /// Layers held by the store, ascending.
    pub fn layers(&self) -> &[LayerId] {
        &self.manifest.header.layers
    }

    /// Width of every row.
    pub fn hidden_size(&self) -> usize {
        self.manifest.header.hidden_size
    }

    /// Number of rows (frames, tokens, or clips when pooled).
    pub fn num_rows(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// Change when digests are checked (e.g. [`Verify::Never`] for a trusted hot loop).
    pub fn set_verify(&mut self, verify: Verify) {
        self.verify = verify;
    }

    /// The content of a committed file, checked against its recorded digest on first touch.
    fn file_bytes(&self, rel: &str) -> Result<Vec<u8>> {
        let p = abs(&self.dir, rel);
        let bytes = std::fs::read(&p).map_err(io_err("read", &p))?;
        self.check_digest(rel, &bytes, &p)?;
        Ok(bytes)
    }

    fn needs_check(&self, rel: &str) -> bool {
        self.verify == Verify::FirstTouch
            && self.verified.get(rel).is_some_and(|c| c.get().is_none())
    }

    fn check_digest(&self, rel: &str, bytes: &[u8], p: &Path) -> Result<()> {
        if !self.needs_check(rel) {
            return Ok(());
        }
        let want = self
            .manifest
            .shards
            .iter()
            .find_map(|s| s.files.get(rel))
            .or_else(|| self.manifest.stats.get(rel));
        if let Some(d) = want {
            io::verify_digest(bytes, d, p)?;
        }
        if let Some(c) = self.verified.get(rel) {
            let _ = c.set(());
        }
        Ok(())
    }

    /// One tensor of the row/clip table of shard position `pos` (whole-file read and digest check on first touch,
    /// a read of the tensor's byte range afterwards).
    fn table_tensor(&self, pos: usize, name: &str) -> Result<Raw> {
        let rel = rows_shard_path(self.manifest.shards[pos].index);
        io::required(
            self.table_tensor_opt(pos, name)?,
            name,
            &abs(&self.dir, &rel),
        )
    }

    fn table_tensor_opt(&self, pos: usize, name: &str) -> Result<Option<Raw>> {
        let rel = rows_shard_path(self.manifest.shards[pos].index);
        let p = abs(&self.dir, &rel);
        if self.needs_check(&rel) {
            let bytes = self.file_bytes(&rel)?;
            let st =
                safetensors::SafeTensors::deserialize(&bytes).map_err(|e| StoreError::Shard {
                    path: p.clone(),
                    message: e.to_string(),
                })?;
            io::raw_from(&st, name, &p)
        } else {
            io::read_raw_range(&p, name)
        }
    }

    fn shard_rows(&self, pos: usize) -> usize {
        self.offsets[pos + 1] - self.offsets[pos]
    }

    fn load_u32(&self, name: &str) -> Result<Vec<u32>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for pos in 0..self.manifest.shards.len() {
            let raw = self.table_tensor(pos, name)?;
            self.expect_rows(pos, name, &raw, safetensors::Dtype::U32)?;
            out.extend(u32s(&raw.bytes));
        }
        Ok(out)
    }

    fn load_f64(&self, name: &str) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for pos in 0..self.manifest.shards.len() {
            let raw = self.table_tensor(pos, name)?;
            self.expect_rows(pos, name, &raw, safetensors::Dtype::F64)?;
            out.extend(f64s(&raw.bytes));
        }
        Ok(out)
    }

    fn expect_rows(&self, pos: usize, name: &str, raw: &Raw, dt: safetensors::Dtype) -> Result<()> {
        let n = self.shard_rows(pos);
        if raw.dtype != dt || raw.shape != [n] {
            return Err(StoreError::Corrupt {
                path: abs(&self.dir, &rows_shard_path(self.manifest.shards[pos].index)),
                reason: format!(
                    "{name} is {:?} {:?}, expected {dt:?} [{n}]",
                    raw.dtype, raw.shape
                ),
            });
        }
        Ok(())
    }

    /// Dataset clip index of every row (column `row.clip`).
    pub fn row_clips(&self) -> Result<&[u32]> {
        if let Some(v) = self.cols.clip.get() {
            return Ok(v);
        }
        let v = self.load_u32("row.clip")?;
        Ok(self.cols.clip.get_or_init(|| v))
    }

    /// Frame / token index of every row within its clip (column `row.position`).
    pub fn positions(&self) -> Result<&[u32]> {
        if let Some(v) = self.cols.position.get() {
            return Ok(v);
        }
        let v = self.load_u32("row.position")?;
        Ok(self.cols.position.get_or_init(|| v))
    }

    /// Span of every row (`span_start`, `span_end`) in the manifest's span unit, from its clip's start.
    pub fn spans(&self) -> Result<(&[f64], &[f64])> {
        if self.cols.span.get().is_none() {
            let a = self.load_f64("row.span_start")?;
            let b = self.load_f64("row.span_end")?;
            let _ = self.cols.span.set((a, b));
        }
        let (a, b) =
            self.cols
                .span
                .get()
                .map(|(a, b)| (a, b))
                .ok_or_else(|| StoreError::Corrupt {
                    path: self.dir.clone(),
                    reason: "span columns could not be loaded".into(),
                })?;
        Ok((a, b))
    }

    /// The clip table (ids, splits, sources, clip-level labels).
    pub fn clip_table(&self) -> Result<&ClipTable> {
        if let Some(t) = self.cols.clips.get() {
            return Ok(t);
        }
        let mut table = ClipTable::default();
        for pos in 0..self.manifest.shards.len() {
            let p = abs(&self.dir, &rows_shard_path(self.manifest.shards[pos].index));
            table.extend(clips_from(
                &mut |name| self.table_tensor(pos, name),
                &self.manifest.layout.label_schema,
                &p,
            )?);
        }
        Ok(self.cols.clips.get_or_init(|| table))
    }

    /// The schema field `name`, or an error listing the labels the store has.
    pub fn label_field(&self, name: &str) -> Result<&LabelField> {
        self.manifest
            .layout
            .label_schema
            .get(name)
            .ok_or_else(|| StoreError::Label {
                label: name.to_string(),
                reason: format!(
                    "not in this store; labels: {:?}",
                    self.manifest
                        .layout
                        .label_schema
                        .fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                ),
            })
    }

    /// The row-level label column `name` (one entry per row).
    pub fn row_label(&self, name: &str) -> Result<&LabelData> {
        let f = self.label_field(name)?;
        let cell = self
            .cols
            .labels
            .get(name)
            .filter(|_| f.level == LabelLevel::Row)
            .ok_or_else(|| StoreError::Label {
                label: name.to_string(),
                reason: "a clip-level label; see Store::clip_table or Store::label_values".into(),
            })?;
        if let Some(d) = cell.get() {
            return Ok(d);
        }
        let tname = format!("row.label.{name}");
        let mut d = LabelData::empty(&f.kind);
        for pos in 0..self.manifest.shards.len() {
            let n = self.shard_rows(pos);
            // a shard written before an inferred schema discovered this label has no column for it
            let part = match self.table_tensor_opt(pos, &tname)? {
                Some(raw) => {
                    let p = abs(&self.dir, &rows_shard_path(self.manifest.shards[pos].index));
                    LabelData::from_raw(f, &raw, n, &p)?
                }
                None => LabelData::from_values(f, &vec![None; n])?,
            };
            d.extend(part);
        }
        Ok(cell.get_or_init(|| d))
    }

    /// The label `name` of every row as typed values (clip-level labels repeated over their clip's rows; `None`
    /// where missing; vector labels have no typed form and are all `None`).
    pub fn label_values(&self, name: &str) -> Result<Vec<Option<LabelValue>>> {
        let f = self.label_field(name)?.clone();
        match f.level {
            LabelLevel::Row => {
                let d = self.row_label(name)?;
                Ok((0..self.num_rows()).map(|i| d.value(&f.kind, i)).collect())
            }
            LabelLevel::Clip => {
                let t = self.clip_table()?;
                let d = t.label(name).ok_or_else(|| StoreError::Label {
                    label: name.to_string(),
                    reason: "missing from the clip table".into(),
                })?;
                let per_clip: Vec<Option<LabelValue>> =
                    (0..t.index.len()).map(|i| d.value(&f.kind, i)).collect();
                let clips = self.row_clips()?;
                Ok(clips
                    .iter()
                    .map(|&c| t.position(c).and_then(|p| per_clip[p].clone()))
                    .collect())
            }
        }
    }

    /// Metadata of every row in store order as [`RowMeta`] (clip id/index, position as `frame`, span start as
    /// `time`, split, clip- and row-level labels), built from the columns on first call. Costs about 200 bytes per
    /// row: for large stores prefer the column accessors.
    pub fn try_rows(&self) -> Result<&[RowMeta]> {
        if let Some(r) = self.cols.rows.get() {
            return Ok(r);
        }
        let clips = self.row_clips()?;
        let pos = self.positions()?;
        let (start, _) = self.spans()?;
        let t = self.clip_table()?;
        let schema = &self.manifest.layout.label_schema;
        let mut row_labels = Vec::new();
        for f in schema.at(LabelLevel::Row) {
            row_labels.push((f, self.row_label(&f.name)?));
        }
        let clip_labels: Vec<(&LabelField, &LabelData)> = schema
            .at(LabelLevel::Clip)
            .filter_map(|f| t.label(&f.name).map(|d| (f, d)))
            .collect();
        let mut out = Vec::with_capacity(self.num_rows());
        for r in 0..self.num_rows() {
            let p = t.position(clips[r]).ok_or_else(|| StoreError::Corrupt {
                path: self.dir.clone(),
                reason: format!(
                    "row {r} refers to clip {}, which is not in the clip table",
                    clips[r]
                ),
            })?;
            let mut labels = mirlens_core::LabelSet::new();
            for (f, d) in &clip_labels {
                if let Some(v) = d.value(&f.kind, p) {
                    labels.insert(f.name.clone(), v);
                }
            }
            for (f, d) in &row_labels {
                if let Some(v) = d.value(&f.kind, r) {
                    labels.insert(f.name.clone(), v);
                }
            }
            out.push(RowMeta {
                clip_id: t.id[p].clone(),
                clip_index: clips[r] as usize,
                frame: pos[r] as usize,
                time: start[r],
                split: t.split[p].clone(),
                labels,
            });
        }
        Ok(self.cols.rows.get_or_init(|| out))
    }

    /// Metadata of every row, in store order (the order of [`Store::read_layer`]'s rows); see [`Store::try_rows`].
    ///
    /// # Panics
    /// If the row tables cannot be read or fail their digest check (a file damaged after the store was opened);
    /// use [`Store::try_rows`] to handle that as an error.
    pub fn rows(&self) -> &[RowMeta] {
        match self.try_rows() {
            Ok(r) => r,
            Err(e) => panic!("reading the row table of store {}: {e}", self.dir.display()),
        }
    }

    /// The label `name` of every row (`None` where a row lacks it). See [`Store::rows`] (panics on unreadable row
    /// tables) and [`Store::label_values`] (fallible, without materialising every row).
    pub fn labels(&self, name: &str) -> Vec<Option<&LabelValue>> {
        self.rows().iter().map(|r| r.labels.get(name)).collect()
    }

    fn check_layer(&self, layer: LayerId) -> Result<()> {
        if self.layers().contains(&layer) {
            Ok(())
        } else {
            Err(StoreError::UnknownLayer {
                layer,
                available: self.layers().iter().map(|l| l.0).collect(),
            })
        }
    }

    /// Read one shard of one layer as f32 (`[shard rows, hidden]`, row-major); `shard_pos` is the position in
    /// [`StoreManifest::shards`].
    pub fn read_shard(&self, layer: LayerId, shard_pos: usize) -> Result<Vec<f32>> {
        let mut v = Vec::new();
        self.read_shard_into(layer, shard_pos, &mut v)?;
        Ok(v)
    }

    /// Append one shard of one layer to `out` as f32, decoding straight from the file bytes.
    fn read_shard_into(&self, layer: LayerId, shard_pos: usize, out: &mut Vec<f32>) -> Result<()> {
        self.check_layer(layer)?;
        let shards = &self.manifest.shards;
        let s = shards.get(shard_pos).ok_or(StoreError::RowOutOfRange {
            row: shard_pos,
            rows: shards.len(),
        })?;
        let rel = layer_shard_path(layer, s.index);
        let p = abs(&self.dir, &rel);
        let bytes = self.file_bytes(&rel)?;
        let shape = io::tensor_from_bytes_into(&bytes, &p, ACTIVATIONS, out)?;
        if shape != [s.rows, self.hidden_size()] {
            return Err(StoreError::Corrupt {
                path: p,
                reason: format!(
                    "shape {shape:?}, manifest says [{}, {}]",
                    s.rows,
                    self.hidden_size()
                ),
            });
        }
        Ok(())
    }
    /// Load a whole layer into memory: `(values row-major [rows, dim], rows, dim)` in store row order, as f32
    /// whatever the storage dtype.
    pub fn read_layer(&self, layer: LayerId) -> Result<(Vec<f32>, usize, usize)> {
        self.check_layer(layer)?;
        let mut out = Vec::with_capacity(self.num_rows() * self.hidden_size());
        for i in 0..self.manifest.shards.len() {
            self.read_shard_into(layer, i, &mut out)?;
        }
        Ok((out, self.num_rows(), self.hidden_size()))
    }

    /// Read selected rows of a layer (any order, repeats allowed): row-major `[rows.len(), dim]`.
    pub fn read_layer_rows(&self, layer: LayerId, rows: &[usize]) -> Result<Vec<f32>> {
        self.check_layer(layer)?;
        let d = self.hidden_size();
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.num_rows()) {
            return Err(StoreError::RowOutOfRange {
                row: bad,
                rows: self.num_rows(),
            });
        }
        let mut out = vec![0.0f32; rows.len() * d];
        let mut by_shard: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.manifest.shards.len()];
        for (k, &r) in rows.iter().enumerate() {
            by_shard[self.shard_of(r)].push((k, r));
        }
        for (s, wanted) in by_shard.iter().enumerate() {
            if wanted.is_empty() {
                continue;
            }
            let v = self.read_shard(layer, s)?;
            for &(k, r) in wanted {
                let local = r - self.offsets[s];
                out[k * d..(k + 1) * d].copy_from_slice(&v[local * d..(local + 1) * d]);
            }
        }
        Ok(out)
    }

    fn shard_of(&self, row: usize) -> usize {
        // offsets is ascending with len = shards + 1; find the last shard whose start <= row.
        self.offsets[..self.offsets.len() - 1].partition_point(|&o| o <= row) - 1
    }

    /// The stored statistics of a layer (mean, variance, norm distribution over all rows), checked against the
    /// digest recorded at finalisation on first touch.
    pub fn stats(&self, layer: LayerId) -> Result<LayerStats> {
        self.check_layer(layer)?;
        let rel = stats_path(layer);
        let p = abs(&self.dir, &rel);
        let bytes = std::fs::read(&p).map_err(io_err("read", &p))?;
        self.check_digest(&rel, &bytes, &p)?;
        LayerStats::from_bytes(&bytes, &p)
    }

    /// Rows whose labels satisfy every condition of `filter`, ascending. The empty filter selects every row
    /// without reading the row tables; any other filter uses [`Store::rows`].
    pub fn select_rows(&self, filter: &RowFilter) -> Vec<usize> {
        if filter.all.is_empty() {
            return (0..self.num_rows()).collect();
        }
        let rows = self.rows();
        (0..self.num_rows())
            .filter(|&i| filter.accepts(&rows[i]))
            .collect()
    }

    /// Split rows into train/validation/test **by clip**: all frames of a clip land in the same split. Reads the
    /// `row.clip` column (and the clip table for [`SplitPolicy::FromDataset`]).
    pub fn split(&self, policy: &SplitPolicy) -> Result<RowSplit> {
        let clips = self.row_clips()?;
        let t = match policy {
            SplitPolicy::FromDataset => Some(self.clip_table()?),
            SplitPolicy::ByClip { .. } => None,
        };
        let clip_pos = |i: usize| t.and_then(|t| t.position(clips[i]));
        split_core(
            clips.len(),
            &|i| clips[i] as usize,
            &|i| clip_pos(i).and_then(|p| t.and_then(|t| t.split[p].as_deref())),
            &|i| {
                clip_pos(i)
                    .and_then(|p| t.map(|t| t.id[p].clone()))
                    .unwrap_or_else(|| clips[i].to_string())
            },
            policy,
        )
    }

    /// Stream batches across shards. See [`BatchOptions`].
    pub fn batches(&self, opts: BatchOptions) -> Result<Batches<'_>> {
        Batches::new(self, opts)
    }
}

/// One condition on a row's labels.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelCondition {
    /// The row has label `name`.
    Has(String),
    /// Label `name` equals the value.
    Equals(String, LabelValue),
    /// Label `name` equals one of the values.
    OneOf(String, Vec<LabelValue>),
    /// The row's clip is in the named dataset split.
    InSplit(String),
}

impl LabelCondition {
    fn accepts(&self, r: &RowMeta) -> bool {
        match self {
            LabelCondition::Has(n) => r.labels.contains_key(n),
            LabelCondition::Equals(n, v) => r.labels.get(n) == Some(v),
            LabelCondition::OneOf(n, vs) => r.labels.get(n).is_some_and(|x| vs.contains(x)),
            LabelCondition::InSplit(s) => r.split.as_deref() == Some(s.as_str()),
        }
    }
}

/// A conjunction of [`LabelCondition`]s; the empty filter accepts every row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowFilter {
    /// Conditions that must all hold.
    pub all: Vec<LabelCondition>,
}

impl RowFilter {
    /// Accept every row.
    pub fn none() -> Self {
        RowFilter::default()
    }

    /// Add a condition.
    pub fn and(mut self, c: LabelCondition) -> Self {
        self.all.push(c);
        self
    }

    /// Whether the row passes.
    pub fn accepts(&self, r: &RowMeta) -> bool {
        self.all.iter().all(|c| c.accepts(r))
    }
}

/// How to split rows into train/validation/test.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitPolicy {
    /// Use the dataset's own split of each clip: `train`; `valid`/`validation`/`val`; `test`. A clip without a split
    /// or with another name is an error.
    FromDataset,
    /// Assign whole clips at random: `round(test * clips)` clips to test, `round(val * clips)` to validation, the
    /// rest to train; deterministic for a seed.
    ByClip {
        /// Fraction of clips in validation.
        val: f64,
        /// Fraction of clips in test.
        test: f64,
        /// Shuffle seed.
        seed: u64,
    },
}

/// Row indices of each split, ascending.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowSplit {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows.
    pub val: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

/// Split row metadata by clip (see [`SplitPolicy`]). Public so that callers holding rows without a store (tests,
/// in-memory data) use the same rule.
pub fn split_rows(rows: &[RowMeta], policy: &SplitPolicy) -> Result<RowSplit> {
    split_core(
        rows.len(),
        &|i| rows[i].clip_index,
        &|i| rows[i].split.as_deref(),
        &|i| rows[i].clip_id.clone(),
        policy,
    )
}

/// The split rule over `n` rows given each row's clip, split and clip id.
fn split_core<'a>(
    n: usize,
    clip_of: &dyn Fn(usize) -> usize,
    split_of: &dyn Fn(usize) -> Option<&'a str>,
    id_of: &dyn Fn(usize) -> String,
    policy: &SplitPolicy,
) -> Result<RowSplit> {
    let mut out = RowSplit::default();
    match policy {
        SplitPolicy::FromDataset => {
            for i in 0..n {
                match split_of(i) {
                    Some("train") => out.train.push(i),
                    Some("valid" | "validation" | "val") => out.val.push(i),
                    Some("test") => out.test.push(i),
                    other => {
                        return Err(StoreError::Split {
                            clip_id: id_of(i),
                            reason: format!(
                                "split {other:?} is not one of \"train\", \"valid\"/\"validation\"/\"val\", \"test\""
                            ),
                        });
                    }
                }
            }
        }
        SplitPolicy::ByClip { val, test, seed } => {
            let ok = |x: f64| (0.0..1.0).contains(&x);
            if !ok(*val) || !ok(*test) || val + test >= 1.0 {
                return Err(CoreError::invalid(
                    "split fractions",
                    format!("val {val}, test {test}"),
                    "0 <= val, test and val + test < 1",
                )
                .into());
            }
            let mut clips: Vec<usize> = (0..n).map(clip_of).collect();
            clips.sort_unstable();
            clips.dedup();
            let mut rng = StdRng::seed_from_u64(*seed);
            clips.shuffle(&mut rng);
            let nc = clips.len() as f64;
            let n_test = (test * nc).round() as usize;
            let n_val = (val * nc).round() as usize;
            let mut which = std::collections::HashMap::new();
            for (k, c) in clips.iter().enumerate() {
                which.insert(
                    *c,
                    if k < n_test {
                        2u8
                    } else if k < n_test + n_val {
                        1
                    } else {
                        0
                    },
                );
            }
            for i in 0..n {
                match which[&clip_of(i)] {
                    0 => out.train.push(i),
                    1 => out.val.push(i),
                    _ => out.test.push(i),
                }
            }
        }
    }
    Ok(out)
}

/// Order in which [`Batches`] yields rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shuffle {
    /// Store order.
    #[default]
    None,
    /// Shards visited in a seeded random order; rows pass through a shuffle buffer of `buffer` rows from which each
    /// output row is drawn uniformly (like `tf.data`'s shuffle). Deterministic for a seed.
    Buffer {
        /// Buffer capacity in rows (>= 1).
        buffer: usize,
        /// Seed.
        seed: u64,
    },
}

/// What to do with a final batch smaller than the batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LastBatch {
    /// Yield it.
    #[default]
    Keep,
    /// Drop it.
    Drop,
}

/// Options of [`Store::batches`].
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOptions {
    /// Layers to return (each must be in the store); empty means every layer.
    pub layers: Vec<LayerId>,
    /// Rows per batch (>= 1).
    pub batch_size: usize,
    /// Row order.
    pub shuffle: Shuffle,
    /// Only rows passing this filter.
    pub filter: RowFilter,
    /// Only these rows (e.g. [`RowSplit::train`]); `None` means all rows.
    pub rows: Option<Vec<usize>>,
    /// Handling of a short last batch.
    pub last: LastBatch,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            layers: Vec::new(),
            batch_size: 1024,
            shuffle: Shuffle::None,
            filter: RowFilter::none(),
            rows: None,
            last: LastBatch::Keep,
        }
    }
}

/// One batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Global row indices (index into [`Store::rows`]).
    pub rows: Vec<usize>,
    /// Row width.
    pub dim: usize,
    /// `(layer, row-major [rows.len(), dim])` per selected layer.
    pub layers: Vec<(LayerId, Vec<f32>)>,
}

impl Batch {
    /// The array of one layer.
    pub fn layer(&self, id: LayerId) -> Option<&[f32]> {
        self.layers
            .iter()
            .find(|(l, _)| *l == id)
            .map(|(_, v)| v.as_slice())
    }
}

/// Iterator over [`Batch`]es; reads one shard at a time, so memory stays at one shard plus the shuffle buffer.
#[derive(Debug)]
pub struct Batches<'a> {
    store: &'a Store,
    layers: Vec<LayerId>,
    batch_size: usize,
    last: LastBatch,
    /// Shard positions still to read, in visiting order (popped from the back).
    shard_queue: Vec<usize>,
    /// Selected rows mask.
    keep: Vec<bool>,
    /// Rows ready to be emitted: (row, values per layer).
    buffer: std::collections::VecDeque<(usize, Vec<Vec<f32>>)>,
    cap: usize,
    rng: Option<StdRng>,
    done: bool,
}

impl<'a> Batches<'a> {
    fn new(store: &'a Store, o: BatchOptions) -> Result<Self> {
        if o.batch_size == 0 {
            return Err(CoreError::invalid("batch_size", 0, "at least 1").into());
        }
        let layers = if o.layers.is_empty() {
            store.layers().to_vec()
        } else {
            o.layers
        };
        for l in &layers {
            store.check_layer(*l)?;
        }
        let mut keep = vec![o.rows.is_none(); store.num_rows()];
        if let Some(rs) = &o.rows {
            for &r in rs {
                if r >= keep.len() {
                    return Err(StoreError::RowOutOfRange {
                        row: r,
                        rows: keep.len(),
                    });
                }
                keep[r] = true;
            }
        }
        if !o.filter.all.is_empty() {
            let rows = store.try_rows()?;
            for (i, k) in keep.iter_mut().enumerate() {
                *k = *k && o.filter.accepts(&rows[i]);
            }
        }
        let mut shard_queue: Vec<usize> = (0..store.manifest.shards.len()).rev().collect();
        let (cap, rng) = match o.shuffle {
            Shuffle::None => (o.batch_size, None),
            Shuffle::Buffer { buffer, seed } => {
                if buffer == 0 {
                    return Err(CoreError::invalid("shuffle buffer", 0, "at least 1 row").into());
                }
                let mut rng = StdRng::seed_from_u64(seed);
                shard_queue.shuffle(&mut rng);
                (buffer.max(o.batch_size), Some(rng))
            }
        };
        Ok(Batches {
            store,
            layers,
            batch_size: o.batch_size,
            last: o.last,
            shard_queue,
            keep,
            buffer: std::collections::VecDeque::new(),
            cap,
            rng,
            done: false,
        })
    }

    /// Load shards until the buffer holds at least `cap` rows or every shard has been read.
    fn fill(&mut self) -> Result<()> {
        while self.buffer.len() < self.cap {
            let Some(s) = self.shard_queue.pop() else {
                break;
            };
            let (a, b) = (self.store.offsets[s], self.store.offsets[s + 1]);
            if !(a..b).any(|r| self.keep[r]) {
                continue;
            }
            let d = self.store.hidden_size();
            let arrays: Vec<Vec<f32>> = self
                .layers
                .iter()
                .map(|l| self.store.read_shard(*l, s))
                .collect::<Result<_>>()?;
            for r in a..b {
                if self.keep[r] {
                    let local = r - a;
                    let vals = arrays
                        .iter()
                        .map(|v| v[local * d..(local + 1) * d].to_vec())
                        .collect();
                    self.buffer.push_back((r, vals));
                }
            }
        }
        Ok(())
    }

    fn take(&mut self) -> Option<(usize, Vec<Vec<f32>>)> {
        if self.buffer.is_empty() {
            return None;
        }
        match &mut self.rng {
            None => self.buffer.pop_front(),
            Some(rng) => {
                let i = rng.random_range(0..self.buffer.len());
                self.buffer.swap_remove_back(i)
            }
        }
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let d = self.store.hidden_size();
        let mut batch = Batch {
            rows: Vec::with_capacity(self.batch_size),
            dim: d,
            layers: self
                .layers
                .iter()
                .map(|l| (*l, Vec::with_capacity(self.batch_size * d)))
                .collect(),
        };
        while batch.rows.len() < self.batch_size {
            if let Err(e) = self.fill() {
                self.done = true;
                return Some(Err(e));
            }
            let Some((r, vals)) = self.take() else { break };
            batch.rows.push(r);
            for ((_, dst), v) in batch.layers.iter_mut().zip(vals) {
                dst.extend(v);
            }
        }
        if batch.rows.is_empty()
            || (batch.rows.len() < self.batch_size && self.last == LastBatch::Drop)
        {
            self.done = true;
            return None;
        }
        Some(Ok(batch))
    }
}

/// Path of a store's manifest, for messages.
pub fn manifest_path(dir: &Path) -> PathBuf {
    dir.join(crate::manifest::MANIFEST_FILE)
}
