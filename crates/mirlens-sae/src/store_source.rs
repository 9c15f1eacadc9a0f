//! Adapter from an activation store (one layer) to [`ActivationSource`], and a writer of planted synthetic data as
//! a store (for demos, sweeps and end-to-end tests).

use crate::error::{Result, SaeError};
use crate::source::{ActivationSource, RowMeta};
use mirlens_core::LayerId;
use mirlens_store::Store;
use std::path::Path;

/// How rows are read from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreAccess {
    /// Read the whole layer into memory once (fast shuffled batches).
    #[default]
    InMemory,
    /// Read the requested rows from the shard files on every call (for layers larger than memory).
    OnDisk,
}

/// One layer of an activation store as an [`ActivationSource`].
pub struct StoreSource {
    store: Store,
    layer: LayerId,
    data: Option<Vec<f32>>,
    dim: usize,
    rows: usize,
    source_label: Option<String>,
}

fn store_err(e: mirlens_store::StoreError) -> SaeError {
    SaeError::Source {
        message: e.to_string(),
    }
}

/// Refuse NaN or infinite activations (a corrupt store, or one written with `--on-nonfinite keep`): an SAE trained
/// on them returns meaningless numbers. `rows` maps batch rows to store rows for the message.
fn check_finite(v: &[f32], d: usize, rows: Option<&[usize]>, layer: LayerId) -> Result<()> {
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        let r = i / d.max(1);
        let row = rows.and_then(|rs| rs.get(r).copied()).unwrap_or(r);
        return Err(SaeError::Source {
            message: format!(
                "layer {} row {row}: non-finite activation {} (NaN/inf); refusing to train on it",
                layer.0, v[i]
            ),
        });
    }
    Ok(())
}

impl StoreSource {
    /// Open `layer` of the store at `dir`. `source_label` names the row label that tags each row's source for
    /// tendency classification (e.g. `modality`, `dataset`); `None` = no source tags.
    pub fn open(
        dir: &Path,
        layer: LayerId,
        access: StoreAccess,
        source_label: Option<&str>,
    ) -> Result<Self> {
        let store = Store::open(dir).map_err(store_err)?;
        if !store.layers().contains(&layer) {
            return Err(SaeError::Source {
                message: format!(
                    "store {} has no layer {} (layers: {:?})",
                    dir.display(),
                    layer.0,
                    store.layers().iter().map(|l| l.0).collect::<Vec<_>>()
                ),
            });
        }
        if let Some(label) = source_label
            && !store.rows().iter().any(|r| r.labels.contains_key(label))
        {
            let mut names: Vec<&String> =
                store.rows().iter().flat_map(|r| r.labels.keys()).collect();
            names.sort();
            names.dedup();
            return Err(SaeError::Source {
                message: format!(
                    "source label {label:?}: no row of store {} carries it (labels present: {names:?})",
                    dir.display()
                ),
            });
        }
        let (dim, rows) = (store.hidden_size(), store.num_rows());
        let data = match access {
            StoreAccess::InMemory => {
                let v = store.read_layer(layer).map_err(store_err)?.0;
                check_finite(&v, dim, None, layer)?;
                Some(v)
            }
            StoreAccess::OnDisk => None,
        };
        Ok(StoreSource {
            store,
            layer,
            data,
            dim,
            rows,
            source_label: source_label.map(str::to_string),
        })
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Provenance recorded in saved SAEs: model, revision, layer, frame rate, pooling, dataset, store path.
    pub fn provenance(&self) -> serde_json::Value {
        let h = &self.store.manifest().header;
        serde_json::json!({
            "store": self.store.dir().display().to_string(),
            "model": h.model,
            "revision": h.revision,
            "layer": self.layer.0,
            "hidden_size": h.hidden_size,
            "frame_rate": h.frame_rate,
            "pooling": format!("{:?}", h.pooling),
            "dataset": h.dataset,
            "dataset_hash": h.dataset_hash,
            "rows": self.rows,
        })
    }
}

impl ActivationSource for StoreSource {
    fn d_in(&self) -> usize {
        self.dim
    }
    fn num_rows(&self) -> usize {
        self.rows
    }
    fn fill_rows(&self, rows: &[usize], out: &mut [f32]) -> Result<()> {
        let d = self.dim;
        if out.len() != rows.len() * d {
            return Err(SaeError::shape(
                "fill_rows output",
                rows.len() * d,
                out.len(),
            ));
        }
        match &self.data {
            Some(data) => {
                for (o, &r) in out.chunks_exact_mut(d).zip(rows) {
                    if r >= self.rows {
                        return Err(SaeError::Source {
                            message: format!("row {r} out of range 0..{}", self.rows),
                        });
                    }
                    o.copy_from_slice(&data[r * d..(r + 1) * d]);
                }
                Ok(())
            }
            None => {
                let v = self
                    .store
                    .read_layer_rows(self.layer, rows)
                    .map_err(store_err)?;
                check_finite(&v, d, Some(rows), self.layer)?;
                out.copy_from_slice(&v);
                Ok(())
            }
        }
    }
    fn meta(&self, row: usize) -> Option<RowMeta> {
        let r = self.store.rows().get(row)?;
        let source = self
            .source_label
            .as_ref()
            .and_then(|k| r.labels.get(k))
            .map(|v| v.class_key());
        Some(RowMeta {
            clip_id: r.clip_id.clone(),
            time: r.time,
            labels: r.labels.clone(),
            source,
        })
    }
}

/// Write a [`crate::synthetic::Planted`] matrix as a one-layer store (layer 0) at `dir`: 100 rows per clip, one
/// shard per `clips_per_shard` clips, labels `latent` and `source` (A/B) per row, frame rate 75 Hz.
pub fn write_planted_store(
    dir: &Path,
    planted: &crate::synthetic::Planted,
    model: &str,
    clips_per_shard: usize,
) -> Result<()> {
    use mirlens_store::{Part, ShardData, StoreHeader, StoreWriter};
    let x = &planted.x;
    let rows_per_clip = 100usize;
    let clips = x.rows.div_ceil(rows_per_clip);
    let header = StoreHeader {
        model: model.to_string(),
        revision: None,
        config_hash: "planted".into(),
        layers: vec![LayerId(0)],
        hidden_size: x.cols,
        dtype: mirlens_core::DType::F32,
        pooling: mirlens_core::Pooling::None,
        frame_rate: 75.0,
        dataset: "planted".into(),
        dataset_hash: format!("planted-{}x{}", x.rows, x.cols),
        dataset_clips: clips,
        clips_per_shard,
    };
    let mut w = StoreWriter::open(dir, header, Part::WHOLE).map_err(store_err)?;
    for shard in 0..clips.div_ceil(clips_per_shard) {
        let c0 = shard * clips_per_shard;
        let c1 = (c0 + clips_per_shard).min(clips);
        let (r0, r1) = (c0 * rows_per_clip, (c1 * rows_per_clip).min(x.rows));
        let rows: Vec<mirlens_store::RowMeta> = (r0..r1)
            .map(|r| {
                let m = x.meta.get(r).cloned().unwrap_or_default();
                let mut labels = m.labels.clone();
                if let Some(s) = &m.source {
                    labels.insert("source".into(), mirlens_core::LabelValue::Str(s.clone()));
                }
                mirlens_store::RowMeta {
                    clip_id: format!("clip{:04}", r / rows_per_clip),
                    clip_index: r / rows_per_clip,
                    frame: r % rows_per_clip,
                    time: (r % rows_per_clip) as f64 / 75.0,
                    split: None,
                    labels,
                }
            })
            .collect();
        w.write_shard(ShardData {
            index: shard,
            rows,
            layers: vec![x.data[r0 * x.cols..r1 * x.cols].to_vec()],
            clips: c1 - c0,
            bad_clips: Vec::new(),
        })
        .map_err(store_err)?;
    }
    w.finalize().map_err(store_err)?;
    Ok(())
}
