//! A small deterministic store used by the tests.

use mirlens_core::{DType, LabelSet, LabelValue, LayerId, Pooling};
use mirlens_store::{BadClip, Part, RowMeta, ShardData, StoreHeader, StoreManifest, StoreWriter};
use std::path::Path;

pub const HIDDEN: usize = 4;
pub const CLIPS: usize = 7;
pub const PER_SHARD: usize = 3;

pub fn header(dtype: DType) -> StoreHeader {
    StoreHeader {
        model: "tiny-test".into(),
        revision: Some("r1".into()),
        config_hash: "abc".into(),
        layers: vec![LayerId(0), LayerId(2)],
        hidden_size: HIDDEN,
        dtype,
        pooling: Pooling::None,
        frame_rate: 50.0,
        dataset: "unit".into(),
        dataset_hash: "d0".into(),
        dataset_clips: CLIPS,
        clips_per_shard: PER_SHARD,
    }
}

/// Frames of clip `c`: 1 + c % 3; clip 4 is "bad".
pub fn frames(c: usize) -> usize {
    1 + c % 3
}

pub fn value(layer: usize, clip: usize, frame: usize, j: usize) -> f32 {
    (layer as f32) * 10.0 + clip as f32 + 0.25 * frame as f32 - 0.125 * j as f32
}

pub fn shard(h: &StoreHeader, k: usize) -> ShardData {
    let mut rows = Vec::new();
    let mut layers = vec![Vec::new(); h.layers.len()];
    let mut bad = Vec::new();
    let mut clips = 0;
    for c in h.shard_clips(k) {
        if c == 4 {
            bad.push(BadClip {
                clip_index: c,
                clip_id: format!("c{c}"),
                path: format!("c{c}.wav"),
                reason: "corrupt".into(),
            });
            continue;
        }
        clips += 1;
        for f in 0..frames(c) {
            let mut labels = LabelSet::new();
            labels.insert("pitch".into(), LabelValue::Int(60 + c as i64));
            labels.insert(
                "family".into(),
                LabelValue::Str(if c % 2 == 0 { "brass" } else { "reed" }.into()),
            );
            rows.push(RowMeta {
                clip_id: format!("c{c}"),
                clip_index: c,
                frame: f,
                time: f as f64 / h.frame_rate,
                split: Some(["train", "valid", "test"][c % 3].into()),
                labels,
            });
            for (li, l) in h.layers.iter().enumerate() {
                layers[li].extend((0..HIDDEN).map(|j| value(l.0, c, f, j)));
            }
        }
    }
    ShardData {
        index: k,
        rows,
        layers,
        clips,
        bad_clips: bad,
    }
}

pub fn write_store(dir: &Path, dtype: DType) -> StoreManifest {
    let h = header(dtype);
    let mut w = StoreWriter::open(dir, h.clone(), Part::WHOLE).unwrap();
    for k in w.pending_shards() {
        w.write_shard(shard(&h, k)).unwrap();
    }
    w.finalize().unwrap()
}

/// Every file of a store directory (relative path, bytes), sorted.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let ft = std::fs::symlink_metadata(&p).unwrap().file_type();
            if ft.is_symlink() {
                continue;
            }
            if ft.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}
