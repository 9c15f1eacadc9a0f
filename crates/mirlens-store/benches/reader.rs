//! Reader throughput (rows/s): whole-layer load and streaming batches, f32 and f16 storage.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mirlens_core::{DType, LabelSet, LabelValue, LayerId, Pooling};
use mirlens_store::{
    BatchOptions, Part, RowMeta, ShardData, Shuffle, Store, StoreHeader, StoreWriter,
};
use rand::{Rng, SeedableRng};

const ROWS_PER_SHARD: usize = 4096;
const SHARDS: usize = 8;
const HIDDEN: usize = 768;

fn build(dir: &std::path::Path, dtype: DType) {
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
    let mut w = StoreWriter::open(dir, h, Part::WHOLE).unwrap();
    for k in 0..SHARDS {
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
        })
        .unwrap();
    }
    w.finalize().unwrap();
}

fn bench(c: &mut Criterion) {
    let rows = (ROWS_PER_SHARD * SHARDS) as u64;
    for dtype in [DType::F32, DType::F16] {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), dtype);
        let store = Store::open(dir.path()).unwrap();
        let mut g = c.benchmark_group(format!("store_reader_{dtype}_{rows}x{HIDDEN}"));
        g.throughput(Throughput::Elements(rows));
        g.sample_size(10);
        g.bench_function("read_layer", |b| {
            b.iter(|| store.read_layer(LayerId(0)).unwrap().1)
        });
        g.bench_function("batches_1024", |b| {
            b.iter(|| {
                let o = BatchOptions {
                    batch_size: 1024,
                    ..BatchOptions::default()
                };
                store
                    .batches(o)
                    .unwrap()
                    .map(|x| x.unwrap().rows.len())
                    .sum::<usize>()
            })
        });
        g.bench_function("batches_1024_shuffled", |b| {
            b.iter(|| {
                let o = BatchOptions {
                    batch_size: 1024,
                    shuffle: Shuffle::Buffer {
                        buffer: 8192,
                        seed: 3,
                    },
                    ..BatchOptions::default()
                };
                store
                    .batches(o)
                    .unwrap()
                    .map(|x| x.unwrap().rows.len())
                    .sum::<usize>()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
