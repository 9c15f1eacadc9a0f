//! Writes the small fixture store of `tests/golden/store/fixture_store` (3 layers, hidden 8, f16, 5 clips in 2
//! shards, one bad clip) that `tests/golden/store/read_store.py` reads with numpy + safetensors.
//!
//! `cargo run -p mirlens-store --example write_fixture_store -- tests/golden/store/fixture_store`

use mirlens_core::{DType, LabelSet, LabelValue, LayerId, Pooling};
use mirlens_store::{BadClip, Part, RowMeta, ShardData, StoreHeader, StoreWriter};
use rand::{Rng, SeedableRng};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: write_fixture_store OUT_DIR")?;
    let h = StoreHeader {
        model: "fixture-encoder".into(),
        revision: Some("0".into()),
        config_hash: "fixture".into(),
        layers: vec![LayerId(0), LayerId(1), LayerId(2)],
        hidden_size: 8,
        dtype: DType::F16,
        pooling: Pooling::None,
        frame_rate: 50.0,
        dataset: "fixture".into(),
        dataset_hash: "fixture".into(),
        dataset_clips: 5,
        clips_per_shard: 3,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    let mut w = StoreWriter::open(std::path::Path::new(&out), h.clone(), Part::WHOLE)?;
    for k in w.pending_shards() {
        let mut d = ShardData {
            index: k,
            rows: vec![],
            layers: vec![vec![]; 3],
            clips: 0,
            bad_clips: vec![],
        };
        for c in h.shard_clips(k) {
            if c == 3 {
                d.bad_clips.push(BadClip {
                    clip_index: c,
                    clip_id: format!("note-{c}"),
                    path: format!("audio/note-{c}.wav"),
                    reason: "could not decode: unexpected end of file".into(),
                });
                continue;
            }
            d.clips += 1;
            for f in 0..(2 + c) {
                let mut labels = LabelSet::new();
                labels.insert("pitch".into(), LabelValue::Int(48 + 3 * c as i64));
                labels.insert(
                    "family".into(),
                    LabelValue::Str(["guitar", "organ"][c % 2].into()),
                );
                d.rows.push(RowMeta {
                    clip_id: format!("note-{c}"),
                    clip_index: c,
                    frame: f,
                    time: f as f64 / h.frame_rate,
                    split: Some("train".into()),
                    labels,
                });
                for l in &mut d.layers {
                    l.extend((0..8).map(|_| rng.random_range(-2.0f32..2.0)));
                }
            }
        }
        w.write_shard(d)?;
    }
    w.finalize()?;
    Ok(())
}
