//! The seeded benchmark store shared by the criterion bench `reader` and the example `bench_reader`:
//! 8 shards × 4096 rows × 768, one layer, pitch labels, uniform values in [-0.5, 0.5).

use mirlens_core::{DType, LabelSet, LabelValue, LayerId, Pooling};
use mirlens_store::{Part, RowMeta, ShardData, StoreHeader, StoreWriter};
use rand::{Rng, SeedableRng};

/// Rows per shard.
pub const ROWS_PER_SHARD: usize = 4096;
/// Shards.
pub const SHARDS: usize = 8;
/// Hidden size.
pub const HIDDEN: usize = 768;

/// Write (or finish writing) the benchmark store into `dir` with storage `dtype`.
pub fn build(dir: &std::path::Path, dtype: DType) -> Result<(), mirlens_store::StoreError> {
    let h = StoreHeader {
        model: "bench".into(),
        revision: None,
        config_hash: "0".into(),
        layers: vec![LayerId(0)],
        hidden_size: HIDDEN,
        dtype,
        pooling: Pooling::None,
        frame_rate: 75.0,
        dataset: "bench".into(),
        dataset_hash: "0".into(),
        dataset_clips: SHARDS * 16,
        clips_per_shard: 16,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut w = StoreWriter::open(dir, h, Part::WHOLE)?;
    for k in w.pending_shards() {
        let rows = (0..ROWS_PER_SHARD)
            .map(|i| {
                let c = k * 16 + i / (ROWS_PER_SHARD / 16);
                let mut labels = LabelSet::new();
                labels.insert("pitch".into(), LabelValue::Int(21 + (c % 88) as i64));
                RowMeta {
                    clip_id: format!("clip{c}"),
                    clip_index: c,
                    frame: i % 256,
                    time: 0.0,
                    split: None,
                    labels,
                }
            })
            .collect();
        let vals: Vec<f32> = (0..ROWS_PER_SHARD * HIDDEN)
            .map(|_| rng.random::<f32>() - 0.5)
            .collect();
        w.write_shard(ShardData {
            index: k,
            rows,
            layers: vec![vals],
            clips: 16,
            bad_clips: vec![],
        })?;
    }
    w.finalize()?;
    Ok(())
}
