//! Reader throughput (rows/s): whole-layer load and streaming batches, f32 and f16 storage.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mirlens_core::{DType, LayerId};
use mirlens_store::{BatchOptions, Shuffle, Store};

#[path = "support/bench_store.rs"]
mod bench_store;
use bench_store::{HIDDEN, ROWS_PER_SHARD, SHARDS, build};

fn bench(c: &mut Criterion) {
    let rows = (ROWS_PER_SHARD * SHARDS) as u64;
    for dtype in [DType::F32, DType::F16] {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), dtype).unwrap();
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
