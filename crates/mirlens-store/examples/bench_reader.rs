//! Reader timing used by `scripts/bench/store_reader_peer.py`: writes a seeded store (8 shards × 4096 rows × 768,
//! f32 or f16) into DIR when it is not there yet, then times `Store::read_layer` and a full pass of ordered and
//! shuffled 1024-row batches, and prints one JSON line per measurement (seconds).
//!
//! `cargo run --release -p mirlens-store --example bench_reader -- DIR f32|f16 REPS`

use mirlens_core::{DType, LayerId};
use mirlens_store::{BatchOptions, Shuffle, Store};
use std::time::Instant;

#[path = "../benches/support/bench_store.rs"]
mod bench_store;
use bench_store::build;

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
