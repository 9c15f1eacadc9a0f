//! Writes the format-2 fixture store of `tests/golden/store/fixture_store_v2` (2 layers, hidden 4, f16, 5 clips of
//! frames in 2 shards, one bad clip; clip-level labels `family` (categorical), `pitch` (integer), `tags`
//! (multi-hot); frame-level labels `onset` (categorical), `loudness` (real), `chroma` (vector of 3)) that
//! `tests/golden/store/read_store_v2.py` reads with numpy + safetensors.
//!
//! `cargo run -p mirlens-store --example write_fixture_store_v2 -- tests/golden/store/fixture_store_v2`

use mirlens_core::{DType, LabelSet, LabelValue, LayerId, Pooling};
use mirlens_store::{
    BadClip, ClipEntry, LabelData, LabelField, LabelKind, LabelLevel, LabelSchema, ModelCard, Part,
    ShardColumns, StoreHeader, StoreLayout, StoreWriter,
};
use rand::{Rng, SeedableRng};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: write_fixture_store_v2 OUT_DIR")?;
    let h = StoreHeader {
        model: "fixture-encoder".into(),
        revision: Some("0".into()),
        config_hash: "fixture".into(),
        layers: vec![LayerId(0), LayerId(3)],
        hidden_size: 4,
        dtype: DType::F16,
        pooling: Pooling::None,
        frame_rate: 50.0,
        dataset: "fixture".into(),
        dataset_hash: "fixture".into(),
        dataset_clips: 5,
        clips_per_shard: 3,
    };
    let classes = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let schema = LabelSchema::new()
        .with(LabelField::new(
            "family",
            LabelLevel::Clip,
            LabelKind::Categorical {
                classes: classes(&["guitar", "organ", "voice"]),
            },
        ))
        .with(LabelField::new(
            "pitch",
            LabelLevel::Clip,
            LabelKind::Integer,
        ))
        .with(LabelField::new(
            "tags",
            LabelLevel::Clip,
            LabelKind::MultiHot {
                width: 3,
                classes: classes(&["bright", "dark", "warm"]),
            },
        ))
        .with(LabelField::new(
            "onset",
            LabelLevel::Row,
            LabelKind::Categorical {
                classes: classes(&["no", "yes"]),
            },
        ))
        .with(LabelField::new(
            "loudness",
            LabelLevel::Row,
            LabelKind::Real,
        ))
        .with(LabelField::new(
            "chroma",
            LabelLevel::Row,
            LabelKind::Vector { width: 3 },
        ));
    let mut card = ModelCard {
        architecture: Some("hubert".into()),
        source: Some("fixture".into()),
        ..ModelCard::default()
    };
    card.extra.insert("num_layers".into(), "3".into());
    let layout = StoreLayout {
        model_card: card,
        ..StoreLayout::for_header(&h)
    }
    .with_labels(schema);
    let mut rng = rand::rngs::StdRng::seed_from_u64(21);
    let mut w = StoreWriter::open_with(std::path::Path::new(&out), h.clone(), layout, Part::WHOLE)?;
    for k in w.pending_shards() {
        let mut s = ShardColumns {
            index: k,
            layers: vec![vec![]; 2],
            ..ShardColumns::default()
        };
        let (mut onset, mut loud, mut chroma) = (vec![], vec![], vec![]);
        for c in h.shard_clips(k) {
            if c == 3 {
                s.bad_clips.push(BadClip {
                    clip_index: c,
                    clip_id: format!("note-{c}"),
                    path: format!("audio/note-{c}.wav"),
                    reason: "could not decode: unexpected end of file".into(),
                });
                continue;
            }
            let mut labels = LabelSet::new();
            labels.insert(
                "family".into(),
                LabelValue::Str(["guitar", "organ", "voice"][c % 3].into()),
            );
            if c != 2 {
                labels.insert("pitch".into(), LabelValue::Int(48 + 3 * c as i64));
            }
            let t: &[&str] = [
                &["bright"][..],
                &["dark", "warm"],
                &[],
                &[],
                &["bright", "warm"],
            ][c];
            labels.insert(
                "tags".into(),
                LabelValue::Tags(t.iter().map(|s| s.to_string()).collect()),
            );
            s.clips.push(ClipEntry {
                index: c,
                id: format!("note-{c}"),
                split: Some(["train", "valid", "test"][c % 3].into()),
                source: format!("audio/note-{c}.wav"),
                labels,
            });
            for f in 0..(2 + c) {
                s.row_clip.push(c as u32);
                s.position.push(f as u32);
                s.span_start.push(f as f64 / 50.0);
                s.span_end.push((f + 1) as f64 / 50.0);
                onset.push(if f == 1 { u32::MAX } else { (f == 0) as u32 });
                loud.push(if c == 4 && f == 2 {
                    f64::NAN
                } else {
                    -20.0 + rng.random_range(0.0..10.0)
                });
                chroma.extend((0..3).map(|_| rng.random_range(0.0f32..1.0)));
                for l in &mut s.layers {
                    l.extend((0..4).map(|_| rng.random_range(-2.0f32..2.0)));
                }
            }
        }
        s.row_labels.insert("onset".into(), LabelData::Codes(onset));
        s.row_labels
            .insert("loudness".into(), LabelData::Real(loud));
        s.row_labels.insert(
            "chroma".into(),
            LabelData::Vector {
                width: 3,
                values: chroma,
            },
        );
        w.write_columns(s)?;
    }
    w.finalize()?;
    Ok(())
}
