//! Reader timing used by `scripts/bench/store_reader_peer.py`: writes a seeded store (8 shards × 4096 rows × 768,
//! f32 or f16) into DIR when it is not there yet, then times `Store::read_layer` and a full pass of ordered and
//! shuffled 1024-row batches, and prints one JSON line per measurement (seconds).
//!
//! `cargo run --release -p mirlens-store --example bench_reader -- DIR f32|f16 REPS`

use mirlens_core::{DType, LabelSet, LabelValue, LayerId, Pooling};
use mirlens_store::{
    BatchOptions, Part, RowMeta, ShardData, Shuffle, Store, StoreHeader, StoreWriter,
};
use rand::{Rng, SeedableRng};
use std::time::Instant;

const ROWS_PER_SHARD: usize = 4096;
const SHARDS: usize = 8;
const HIDDEN: usize = 768;

fn build(dir: &std::path::Path, dtype: DType) -> Result<(), Box<dyn std::error::Error>> {
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(a.get(1).ok_or("usage: bench_reader DIR f32|f16 REPS")?);
    let dtype: DType = a
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(DType::F32);
    let reps: usize = a.get(3).map(|s| s.parse()).transpose()?.unwrap_or(5);
    if !dir.join("manifest.json").is_file() {
        build(&dir, dtype)?;
    }
    let store = Store::open(&dir)?;
    let rows = store.num_rows();
    for _ in 0..reps {
        let t = Instant::now();
        let (v, _, _) = store.read_layer(LayerId(0))?;
        let s = t.elapsed().as_secs_f64();
        println!(
            "{{\"what\":\"read_layer\",\"rows\":{rows},\"secs\":{s},\"check\":{}}}",
            v[v.len() - 1]
        );
        for (name, shuffle) in [
            ("batches", Shuffle::None),
            (
                "batches_shuffled",
                Shuffle::Buffer {
                    buffer: 8192,
                    seed: 3,
                },
            ),
        ] {
            let t = Instant::now();
            let o = BatchOptions {
                batch_size: 1024,
                shuffle,
                ..BatchOptions::default()
            };
            let mut n = 0;
            for b in store.batches(o)? {
                n += b?.rows.len();
            }
            let s = t.elapsed().as_secs_f64();
            println!("{{\"what\":\"{name}\",\"rows\":{n},\"secs\":{s}}}");
        }
    }
    Ok(())
}
