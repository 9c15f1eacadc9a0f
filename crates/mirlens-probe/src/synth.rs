//! A synthetic activation store with planted label-carrying neurons (for tests, docs and demos).

use crate::error::Result;
use mirlens_core::{DType, LabelSet, LabelValue, LayerId, Pooling};
use mirlens_store::{Part, RowMeta, ShardData, StoreHeader, StoreWriter};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::path::Path;

/// Shape of the planted store.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedStoreParams {
    /// Clips.
    pub clips: usize,
    /// Frames (rows) per clip.
    pub frames: usize,
    /// Neurons per layer.
    pub hidden: usize,
    /// Layers `0..layers`.
    pub layers: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for PlantedStoreParams {
    fn default() -> Self {
        PlantedStoreParams {
            clips: 200,
            frames: 4,
            hidden: 64,
            layers: 4,
            seed: 0,
        }
    }
}

/// Neurons that carry label `family` (binary: `brass`/`string`), strongest in the middle layer.
pub const FAMILY_NEURONS: [usize; 4] = [5, 12, 30, 47];
/// Neurons that carry label `pitch_class` (4 classes), strongest in the last layer.
pub const PITCH_NEURONS: [usize; 6] = [2, 9, 21, 33, 40, 60];

/// Write a store with labels `family` and `pitch_class` whose signal lives in known neurons: `family` strength grows
/// up to layer `layers/2` then decays, `pitch_class` grows with depth; layer 0 carries no signal.
pub fn write_planted_store(dir: &Path, p: &PlantedStoreParams) -> Result<()> {
    let header = StoreHeader {
        model: "planted-neurons".into(),
        revision: None,
        config_hash: "0".repeat(64),
        layers: (0..p.layers).map(LayerId).collect(),
        hidden_size: p.hidden,
        dtype: DType::F32,
        pooling: Pooling::None,
        frame_rate: 10.0,
        dataset: "planted".into(),
        dataset_hash: "0".repeat(64),
        dataset_clips: p.clips,
        clips_per_shard: p.clips.max(1),
    };
    let mut w = StoreWriter::open(dir, header, Part::WHOLE)?;
    let mut rng = StdRng::seed_from_u64(p.seed);
    let mut rows = Vec::new();
    let mut layers: Vec<Vec<f32>> = vec![Vec::new(); p.layers];
    let mid = (p.layers / 2).max(1) as f32;
    for c in 0..p.clips {
        let fam = rng.random_range(0..2usize);
        let pc = rng.random_range(0..4usize);
        let mut labels = LabelSet::new();
        labels.insert(
            "family".into(),
            LabelValue::Str(["brass", "string"][fam].into()),
        );
        labels.insert("pitch_class".into(), LabelValue::Int(pc as i64));
        for f in 0..p.frames {
            rows.push(RowMeta {
                clip_id: format!("clip{c:04}"),
                clip_index: c,
                frame: f,
                time: f as f64 / 10.0,
                split: None,
                labels: labels.clone(),
            });
            for (l, buf) in layers.iter_mut().enumerate() {
                let lf = l as f32;
                let s_fam = if l == 0 {
                    0.0
                } else {
                    1.2 * (1.0 - ((lf - mid).abs() / mid)).max(0.25)
                };
                let s_pc = 1.2 * lf / (p.layers.max(2) - 1) as f32;
                for j in 0..p.hidden {
                    let mut v: f32 = StandardNormal.sample(&mut rng);
                    if let Some(i) = FAMILY_NEURONS.iter().position(|&n| n == j) {
                        v += s_fam * if (fam + i) % 2 == 0 { 1.0 } else { -1.0 };
                    }
                    if let Some(i) = PITCH_NEURONS.iter().position(|&n| n == j) {
                        v += s_pc * (((pc + i) % 4) as f32 / 1.5 - 1.0);
                    }
                    buf.push(v);
                }
            }
        }
    }
    w.write_shard(ShardData {
        index: 0,
        rows,
        layers,
        clips: p.clips,
        bad_clips: Vec::new(),
    })?;
    w.finalize()?;
    Ok(())
}
