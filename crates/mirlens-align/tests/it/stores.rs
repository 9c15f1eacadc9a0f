//! Pairing two activation stores: frames of different rates joined by clip id and time overlap, clip pooling, and
//! a measure computed through the pairing.

use mirlens_align::pairing::{Pairing, Source, StorePairing, load_pair, read_layer};
use mirlens_align::{MeasureParams, Metric, measure};
use mirlens_core::{DType, LabelSet, LabelValue, LayerId, Pooling};
use mirlens_store::reader::Store;
use mirlens_store::{Part, RowMeta, ShardData, StoreHeader, StoreWriter};
use std::path::Path;

/// Clips `c0..c4` (clip 3 only in the X store), `2 + c` seconds long; the value of column `j` of a row encodes
/// (clip, time): `100·clip + 10·start + j`.
fn write(dir: &Path, frame_rate: f64, clips: &[usize], width: usize) {
    write_labelled(dir, frame_rate, clips, width, false);
}

/// As [`write`]; with `labelled`, rows of clip `c > 0` carry the string label `kind = "k{c mod 2}"` (clip 0 none).
fn write_labelled(dir: &Path, frame_rate: f64, clips: &[usize], width: usize, labelled: bool) {
    let h = StoreHeader {
        model: "m".into(),
        revision: None,
        config_hash: "h".into(),
        layers: vec![LayerId(0), LayerId(1)],
        hidden_size: width,
        dtype: DType::F32,
        pooling: Pooling::None,
        frame_rate,
        dataset: "d".into(),
        dataset_hash: "dh".into(),
        dataset_clips: 5,
        clips_per_shard: 5,
    };
    let mut w = StoreWriter::open(dir, h.clone(), Part::WHOLE).unwrap();
    let mut rows = Vec::new();
    let mut layers = vec![Vec::new(), Vec::new()];
    for &c in clips {
        let frames = ((2 + c) as f64 * frame_rate) as usize;
        for f in 0..frames {
            let t = f as f64 / frame_rate;
            rows.push(RowMeta {
                clip_id: format!("c{c}"),
                clip_index: c,
                frame: f,
                time: t,
                split: None,
                labels: if labelled && c > 0 {
                    LabelSet::from([("kind".to_string(), LabelValue::Str(format!("k{}", c % 2)))])
                } else {
                    LabelSet::new()
                },
            });
            for (l, out) in layers.iter_mut().enumerate() {
                out.extend(
                    (0..width)
                        .map(|j| (100 * c) as f32 + 10.0 * t as f32 + j as f32 + l as f32 * 0.5),
                );
            }
        }
    }
    w.write_shard(ShardData {
        index: 0,
        rows,
        layers,
        clips: clips.len(),
        bad_clips: Vec::new(),
    })
    .unwrap();
    w.finalize().unwrap();
}

#[test]
fn frames_of_different_rates_pair_by_clip_and_overlap() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    write(&a, 4.0, &[0, 1, 2, 3], 3);
    write(&b, 2.0, &[2, 1, 0, 4], 5);
    let (sa, sb) = (Store::open(&a).unwrap(), Store::open(&b).unwrap());
    let p = StorePairing::new(&sa, &sb, Pairing::Overlap).unwrap();
    // Clips 0, 1, 2 are shared: (2 + c) s at 4 frames/s.
    assert_eq!(p.len(), 4 * (2 + 3 + 4));
    assert_eq!(p.group_names, ["c0", "c1", "c2"]);
    let x = p.x_view(&read_layer(&sa, 0).unwrap());
    let y = p.y_view(&read_layer(&sb, 1).unwrap());
    for i in 0..p.len() {
        let (xc, xt) = ((x[(i, 0)] / 100.0).floor(), (x[(i, 0)] % 100.0) / 10.0);
        let (yc, yt) = (
            (y[(i, 0)] / 100.0).floor(),
            ((y[(i, 0)] - 0.5) % 100.0) / 10.0,
        );
        assert_eq!(xc, yc, "pair {i}: clips differ");
        // The 0.5 s Y frame holding the 0.25 s X frame.
        assert!(
            (yt - (xt * 2.0).floor() / 2.0).abs() < 1e-6,
            "pair {i}: x at {xt} s, y at {yt} s"
        );
    }
    // Pooled: one row per shared clip, the clip means.
    let pooled = load_pair(
        &Source::Store {
            dir: a.clone(),
            layer: 1,
        },
        &Source::Store {
            dir: b.clone(),
            layer: 0,
        },
        Pairing::Pooled,
    )
    .unwrap();
    assert_eq!(pooled.x.nrows(), 3);
    assert_eq!(pooled.groups, [0, 1, 2]);
    // Clip 0 lasts 2 s: X frames at 0, 0.25, …, 1.75 s → mean time 0.875 s.
    assert!(
        (pooled.x[(0, 0)] - (8.75 + 0.5)).abs() < 1e-5,
        "{}",
        pooled.x[(0, 0)]
    );
    // A measure through the pairing: both views are affine in (clip, time), so linear CKA is 1.
    let paired = load_pair(
        &Source::Store { dir: a, layer: 0 },
        &Source::Store { dir: b, layer: 0 },
        Pairing::Overlap,
    )
    .unwrap();
    let v = measure(
        Metric::Cka,
        paired.x.as_ref(),
        paired.y.as_ref(),
        &MeasureParams::default(),
    )
    .unwrap();
    assert!(v > 0.99, "{v}");
    assert_eq!(paired.groups.len(), 36);
}

#[test]
fn labelled_pairs_take_the_y_store_label_and_drop_unlabelled_rows() {
    use mirlens_align::efficiency::load_labelled;
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    write(&a, 4.0, &[0, 1, 2, 3], 3);
    write_labelled(&b, 2.0, &[2, 1, 0, 4], 5, true);
    let src = |d: &Path| Source::Store {
        dir: d.to_path_buf(),
        layer: 0,
    };
    let l = load_labelled(&src(&a), &src(&b), Pairing::Overlap, Some("kind"), None).unwrap();
    // Clips 1 and 2 are shared and labelled (clip 0 has no label): 4 frames/s × (3 + 4) s.
    assert_eq!(l.labels.len(), 4 * (3 + 4));
    assert_eq!(l.paired.x.nrows(), l.labels.len());
    assert_eq!(l.classes, ["k0", "k1"]);
    for i in 0..l.labels.len() {
        let clip = (l.paired.x[(i, 0)] / 100.0).floor() as usize;
        assert_eq!(l.classes[l.labels[i]], format!("k{}", clip % 2));
    }
    // A missing label name, a missing --label and pooled pairing are refused.
    assert!(load_labelled(&src(&a), &src(&b), Pairing::Overlap, Some("nope"), None).is_err());
    assert!(load_labelled(&src(&a), &src(&b), Pairing::Overlap, None, None).is_err());
    assert!(load_labelled(&src(&a), &src(&b), Pairing::Pooled, Some("kind"), None).is_err());
}
