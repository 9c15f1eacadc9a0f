//! The committed fixture store read by Rust equals what `read_store.py` (numpy + safetensors only) read from it.

use mirlens_core::{LayerId, Tolerance};
use mirlens_store::Store;
use mirlens_test_support::{assert_close, golden::Golden, golden_dir};

#[test]
fn python_reads_the_same_values_as_rust() {
    let dir = golden_dir("store");
    let store = Store::open(dir.join("fixture_store")).unwrap();
    let g = Golden::load(dir.join("python_read.safetensors"));
    for &l in store.layers() {
        let (v, rows, dim) = store.read_layer(l).unwrap();
        let t = &g.tensors[&format!("layer_{}", l.0)];
        assert_eq!(t.shape, vec![rows, dim]);
        assert_close(&format!("python {l}"), &v, &t.data, Tolerance::EXACT_F32);
        let st = store.stats(l).unwrap();
        let mean: Vec<f32> = st.mean.iter().map(|&x| x as f32).collect();
        assert_close(
            &format!("python mean of {l}"),
            &mean,
            &g.tensors[&format!("mean_{}", l.0)].data,
            Tolerance::TIGHT,
        );
    }
    let pitch: Vec<f32> = store
        .rows()
        .iter()
        .map(|r| r.labels["pitch"].as_f64().unwrap() as f32)
        .collect();
    assert_eq!(pitch, g.tensors["pitch"].data);
    let clip: Vec<f32> = store.rows().iter().map(|r| r.clip_index as f32).collect();
    assert_eq!(clip, g.tensors["clip_index"].data);
    assert_eq!(g.metadata["model"], store.manifest().header.model);
    assert_eq!(store.layers(), &[LayerId(0), LayerId(1), LayerId(2)]);
}

/// The format-2 fixture written by `write_fixture_store_v2` and read by `read_store_v2.py` (numpy + safetensors,
/// joining rows to clips by hand) gives the same rows, spans, clips and labels as the Rust reader.
#[test]
fn python_reads_format_2_columns_and_labels_like_rust() {
    use mirlens_store::LabelData;
    let dir = golden_dir("store");
    let store = Store::open(dir.join("fixture_store_v2")).unwrap();
    let g = Golden::load(dir.join("python_read_v2.safetensors"));
    let f32s = |v: &[u32]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
    assert_eq!(f32s(store.row_clips().unwrap()), g.tensors["row_clip"].data);
    assert_eq!(f32s(store.positions().unwrap()), g.tensors["position"].data);
    let (a, b) = store.spans().unwrap();
    let a: Vec<f32> = a.iter().map(|&x| x as f32).collect();
    let b: Vec<f32> = b.iter().map(|&x| x as f32).collect();
    assert_eq!(
        (a, b),
        (
            g.tensors["span_start"].data.clone(),
            g.tensors["span_end"].data.clone()
        )
    );
    for &l in store.layers() {
        let (v, rows, dim) = store.read_layer(l).unwrap();
        let t = &g.tensors[&format!("layer_{}", l.0)];
        assert_eq!(t.shape, vec![rows, dim]);
        assert_close(&format!("python {l}"), &v, &t.data, Tolerance::EXACT_F32);
        let mean: Vec<f32> = store
            .stats(l)
            .unwrap()
            .mean
            .iter()
            .map(|&x| x as f32)
            .collect();
        assert_close(
            &format!("python mean of {l}"),
            &mean,
            &g.tensors[&format!("mean_{}", l.0)].data,
            Tolerance::TIGHT,
        );
    }
    // every label, decoded per row by Python, equals the Rust column (clip-level ones joined through the clip table)
    let t = store.clip_table().unwrap();
    let clips = store.row_clips().unwrap();
    let schema = store.manifest().layout.label_schema.clone();
    for f in &schema.fields {
        let per_clip;
        let (d, idx): (&LabelData, Vec<usize>) = match f.level {
            mirlens_store::LabelLevel::Row => (
                store.row_label(&f.name).unwrap(),
                (0..clips.len()).collect(),
            ),
            mirlens_store::LabelLevel::Clip => {
                per_clip = t.label(&f.name).unwrap();
                (
                    per_clip,
                    clips.iter().map(|&c| t.position(c).unwrap()).collect(),
                )
            }
        };
        let want: Vec<f32> = match d {
            LabelData::Codes(v) => idx
                .iter()
                .map(|&i| if v[i] == u32::MAX { -1.0 } else { v[i] as f32 })
                .collect(),
            LabelData::Integer(v) => idx
                .iter()
                .map(|&i| {
                    if v[i] == i64::MIN {
                        f32::NAN
                    } else {
                        v[i] as f32
                    }
                })
                .collect(),
            LabelData::Real(v) => idx.iter().map(|&i| v[i] as f32).collect(),
            LabelData::MultiHot { width, values } => idx
                .iter()
                .flat_map(|&i| {
                    let r = &values[i * width..(i + 1) * width];
                    let missing = r.iter().all(|&x| x == 255);
                    r.iter()
                        .map(move |&x| if missing { f32::NAN } else { x as f32 })
                })
                .collect(),
            LabelData::Vector { width, values } => idx
                .iter()
                .flat_map(|&i| values[i * width..(i + 1) * width].to_vec())
                .collect(),
        };
        let got = &g.tensors[&format!("label_{}", f.name)].data;
        assert_eq!(want.len(), got.len(), "{}", f.name);
        for (k, (x, y)) in want.iter().zip(got).enumerate() {
            assert!(
                x == y || (x.is_nan() && y.is_nan()),
                "label {} entry {k}: rust {x}, python {y}",
                f.name
            );
        }
    }
    let rows = store.rows();
    let ids: Vec<&str> = rows.iter().map(|r| r.clip_id.as_str()).collect();
    assert_eq!(ids.join("|"), g.metadata["clip_ids"]);
    let splits: Vec<&str> = rows
        .iter()
        .map(|r| r.split.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(splits.join("|"), g.metadata["splits"]);
    let family: Vec<String> = store
        .label_values("family")
        .unwrap()
        .into_iter()
        .map(|v| v.map(|v| v.class_key()).unwrap_or_default())
        .collect();
    assert_eq!(family.join("|"), g.metadata["names_family"]);
    let onset: Vec<String> = store
        .label_values("onset")
        .unwrap()
        .into_iter()
        .map(|v| v.map(|v| v.class_key()).unwrap_or_default())
        .collect();
    assert_eq!(onset.join("|"), g.metadata["names_onset"]);
    assert_eq!(
        g.metadata["sources"].split('|').nth(3),
        Some("audio/note-1.wav")
    );
    assert_eq!(g.metadata["modality"], "audio");
    assert_eq!(g.metadata["row_unit"], r#"{"unit": "frame", "rate": 50.0}"#);
    assert_eq!(g.metadata["architecture"], "hubert");
}
