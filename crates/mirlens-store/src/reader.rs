//! Reading a finished store: whole-layer matrices, row metadata, statistics, splits by clip and streaming batches.

use crate::error::{Result, StoreError, io_err};
use crate::io::{self, ACTIVATIONS};
use crate::manifest::{RowMeta, StoreManifest, abs, layer_shard_path, rows_shard_path, stats_path};
use crate::stats::LayerStats;
use mirlens_core::{CoreError, LabelValue, LayerId};
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::path::{Path, PathBuf};

/// An opened, complete activation store. Row metadata is loaded on open; activations are read on demand.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    manifest: StoreManifest,
    rows: Vec<RowMeta>,
    /// Global row index of the first row of each shard (parallel to `manifest.shards`), plus the total at the end.
    offsets: Vec<usize>,
}

impl Store {
    /// Open the store at `dir`. Fails with [`StoreError::Incomplete`] for a store whose extraction has not finished,
    /// and with [`StoreError::Corrupt`] when a row table disagrees with the manifest.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        let manifest = StoreManifest::load(&dir)?;
        if !manifest.complete {
            let shards = crate::writer::read_journal(&dir, false)
                .map(|r| r.len())
                .unwrap_or(0);
            return Err(StoreError::Incomplete { path: dir, shards });
        }
        let mut rows = Vec::with_capacity(manifest.num_rows);
        let mut offsets = Vec::with_capacity(manifest.shards.len() + 1);
        for s in &manifest.shards {
            offsets.push(rows.len());
            let p = abs(&dir, &rows_shard_path(s.index));
            let text = std::fs::read_to_string(&p).map_err(io_err("read", &p))?;
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
        offsets.push(rows.len());
        Ok(Store {
            dir,
            manifest,
            rows,
            offsets,
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed `manifest.json`.
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

    /// Number of rows (frames, or clips when pooled).
    pub fn num_rows(&self) -> usize {
        self.rows.len()
    }

    /// Metadata of every row, in store order (the order of [`Store::read_layer`]'s rows).
    pub fn rows(&self) -> &[RowMeta] {
        &self.rows
    }

    /// The label `name` of every row (`None` where a row's clip lacks it).
    pub fn labels(&self, name: &str) -> Vec<Option<&LabelValue>> {
        self.rows.iter().map(|r| r.labels.get(name)).collect()
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
        let p = abs(&self.dir, &layer_shard_path(layer, s.index));
        let shape = io::read_tensor_into(&p, ACTIVATIONS, out)?;
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

    /// The stored statistics of a layer (mean, variance, norm distribution over all rows).
    pub fn stats(&self, layer: LayerId) -> Result<LayerStats> {
        self.check_layer(layer)?;
        LayerStats::load(&abs(&self.dir, &stats_path(layer)))
    }

    /// Rows whose labels satisfy every condition of `filter`, ascending.
    pub fn select_rows(&self, filter: &RowFilter) -> Vec<usize> {
        (0..self.num_rows())
            .filter(|&i| filter.accepts(&self.rows[i]))
            .collect()
    }

    /// Split rows into train/validation/test **by clip**: all frames of a clip land in the same split.
    pub fn split(&self, policy: &SplitPolicy) -> Result<RowSplit> {
        split_rows(&self.rows, policy)
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
    let mut out = RowSplit::default();
    match policy {
        SplitPolicy::FromDataset => {
            for (i, r) in rows.iter().enumerate() {
                match r.split.as_deref() {
                    Some("train") => out.train.push(i),
                    Some("valid" | "validation" | "val") => out.val.push(i),
                    Some("test") => out.test.push(i),
                    other => {
                        return Err(StoreError::Split {
                            clip_id: r.clip_id.clone(),
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
            let mut clips: Vec<usize> = rows.iter().map(|r| r.clip_index).collect();
            clips.sort_unstable();
            clips.dedup();
            let mut rng = StdRng::seed_from_u64(*seed);
            clips.shuffle(&mut rng);
            let n = clips.len() as f64;
            let n_test = (test * n).round() as usize;
            let n_val = (val * n).round() as usize;
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
            for (i, r) in rows.iter().enumerate() {
                match which[&r.clip_index] {
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
        for (i, k) in keep.iter_mut().enumerate() {
            *k = *k && o.filter.accepts(&store.rows[i]);
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
