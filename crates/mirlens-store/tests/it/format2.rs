//! Format 2: layout and label schema in the manifest, columnar row and clip tables, clip- and row-level labels of
//! every kind, inferred schemas that grow, format-1 stores read through the same accessors.

use crate::common::*;
use mirlens_core::{DType, LabelSet, LabelValue, LayerId, Pooling};
use mirlens_store::{
    ClipEntry, LabelData, LabelField, LabelKind, LabelLevel, LabelSchema, Modality, ModelCard,
    Part, RowMeta, RowUnit, ShardColumns, ShardData, SpanUnit, SplitPolicy, Store, StoreError,
    StoreHeader, StoreLayout, StoreWriter,
};
use mirlens_test_support::golden_dir;
use std::path::Path;

/// A text store: 3 clips of tokens (2 shards), labels at clip and token level of every kind.
pub fn text_layout(h: &StoreHeader) -> StoreLayout {
    let schema = LabelSchema::new()
        .with(LabelField::new(
            "genre",
            LabelLevel::Clip,
            LabelKind::Categorical {
                classes: vec!["folk".into(), "jazz".into(), "rock".into()],
            },
        ))
        .with(LabelField::new(
            "year",
            LabelLevel::Clip,
            LabelKind::Integer,
        ))
        .with(LabelField::new(
            "pos",
            LabelLevel::Row,
            LabelKind::Categorical {
                classes: vec!["NOUN".into(), "VERB".into()],
            },
        ))
        .with(LabelField::new(
            "surprisal",
            LabelLevel::Row,
            LabelKind::Real,
        ))
        .with(LabelField::new(
            "notes",
            LabelLevel::Row,
            LabelKind::MultiHot {
                width: 3,
                classes: vec!["C".into(), "E".into(), "G".into()],
            },
        ))
        .with(LabelField::new(
            "emb",
            LabelLevel::Row,
            LabelKind::Vector { width: 2 },
        ));
    StoreLayout {
        modality: Modality::Text,
        row_unit: RowUnit::Token,
        span_unit: SpanUnit::Chars,
        model_card: ModelCard {
            architecture: Some("gpt2".into()),
            license: Some("mit".into()),
            ..ModelCard::default()
        },
        ..StoreLayout::for_header(h)
    }
    .with_labels(schema)
}

pub fn text_header() -> StoreHeader {
    StoreHeader {
        model: "tiny-lm".into(),
        revision: None,
        config_hash: "t".into(),
        layers: vec![LayerId(1)],
        hidden_size: 2,
        dtype: DType::F32,
        pooling: Pooling::None,
        frame_rate: 1.0,
        dataset: "captions".into(),
        dataset_hash: "h".into(),
        dataset_clips: 3,
        clips_per_shard: 2,
    }
}

/// Tokens of clip `c`: 2 + c; token `t` spans characters `4t .. 4t + 3`.
pub fn text_shard(k: usize) -> ShardColumns {
    let mut s = ShardColumns {
        index: k,
        ..ShardColumns::default()
    };
    let mut pos = Vec::new();
    let mut sur = Vec::new();
    let mut notes = Vec::new();
    let mut emb = Vec::new();
    let mut acts = Vec::new();
    for c in (2 * k)..(2 * k + 2).min(3) {
        let mut labels = LabelSet::new();
        labels.insert(
            "genre".into(),
            LabelValue::Str(["rock", "folk", "jazz"][c].into()),
        );
        if c != 1 {
            labels.insert("year".into(), LabelValue::Int(1990 + c as i64));
        }
        s.clips.push(ClipEntry {
            index: c,
            id: format!("cap-{c}"),
            split: Some(["train", "test", "valid"][c].into()),
            source: format!("texts/cap-{c}.txt"),
            labels,
        });
        for t in 0..(2 + c) {
            s.row_clip.push(c as u32);
            s.position.push(t as u32);
            s.span_start.push(4.0 * t as f64);
            s.span_end.push(4.0 * t as f64 + 3.0);
            pos.push(if t == 1 { u32::MAX } else { (t % 2) as u32 });
            sur.push(if t == 0 {
                f64::NAN
            } else {
                0.5 * t as f64 + c as f64
            });
            notes.extend([(t % 2) as u8, 1, ((t + c) % 2) as u8]);
            emb.extend([c as f32, t as f32]);
            acts.extend([c as f32 + 0.5, -(t as f32)]);
        }
    }
    s.row_labels.insert("pos".into(), LabelData::Codes(pos));
    s.row_labels
        .insert("surprisal".into(), LabelData::Real(sur));
    s.row_labels.insert(
        "notes".into(),
        LabelData::MultiHot {
            width: 3,
            values: notes,
        },
    );
    s.row_labels.insert(
        "emb".into(),
        LabelData::Vector {
            width: 2,
            values: emb,
        },
    );
    s.layers = vec![acts];
    s
}

pub fn write_text_store(dir: &Path) {
    let h = text_header();
    let mut w = StoreWriter::open_with(dir, h.clone(), text_layout(&h), Part::WHOLE).unwrap();
    for k in w.pending_shards() {
        w.write_columns(text_shard(k)).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn columns_and_labels_of_every_kind_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    write_text_store(dir.path());
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["format"], "mirlens-store/2");
    assert_eq!(m["modality"], "text");
    assert_eq!(m["row_unit"], serde_json::json!({"unit": "token"}));
    assert_eq!(m["span_unit"], "chars");
    assert_eq!(m["model_card"]["architecture"], "gpt2");
    assert_eq!(
        m["label_schema"][4],
        serde_json::json!({"name": "notes", "level": "row", "type": "multi_hot", "width": 3, "classes": ["C", "E", "G"]})
    );
    assert!(dir.path().join("rows/shard-00001.safetensors").is_file());

    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.num_rows(), 2 + 3 + 4);
    assert_eq!(s.row_clips().unwrap(), &[0, 0, 1, 1, 1, 2, 2, 2, 2]);
    assert_eq!(s.positions().unwrap(), &[0, 1, 0, 1, 2, 0, 1, 2, 3]);
    let (a, b) = s.spans().unwrap();
    assert_eq!(a[4], 8.0);
    assert_eq!(b[4], 11.0);
    let t = s.clip_table().unwrap();
    assert_eq!(t.index, vec![0, 1, 2]);
    assert_eq!(t.id, vec!["cap-0", "cap-1", "cap-2"]);
    assert_eq!(t.source[2], "texts/cap-2.txt");
    assert_eq!(t.split[1].as_deref(), Some("test"));
    assert_eq!(t.label("genre"), Some(&LabelData::Codes(vec![2, 0, 1])));
    assert_eq!(
        t.label("year"),
        Some(&LabelData::Integer(vec![1990, i64::MIN, 1992]))
    );
    // clip-level labels repeat over their clip's rows; missing stays missing
    let genre = s.label_values("genre").unwrap();
    assert_eq!(genre[3], Some(LabelValue::Str("folk".into())));
    let year = s.label_values("year").unwrap();
    assert_eq!(year[2..5], [None, None, None]);
    assert_eq!(year[8], Some(LabelValue::Int(1992)));
    let pos = s.label_values("pos").unwrap();
    assert_eq!(pos[0], Some(LabelValue::Str("NOUN".into())));
    assert_eq!(pos[1], None);
    assert_eq!(pos[4], Some(LabelValue::Str("NOUN".into())));
    let sur = s.label_values("surprisal").unwrap();
    assert_eq!(
        (sur[0].clone(), sur[7].clone()),
        (None, Some(LabelValue::Float(3.0)))
    );
    let notes = s.label_values("notes").unwrap();
    assert_eq!(
        notes[2],
        Some(LabelValue::Tags(vec!["E".into(), "G".into()]))
    );
    match s.row_label("emb").unwrap() {
        LabelData::Vector { width: 2, values } => assert_eq!(&values[12..14], &[2.0, 1.0]),
        other => panic!("{other:?}"),
    }
    let e = s.row_label("genre").unwrap_err();
    assert!(e.to_string().contains("clip-level"), "{e}");
    let e = s.label_values("nosuch").unwrap_err();
    assert!(e.to_string().contains("\"genre\""), "{e}");
    // RowMeta view for format-1 style callers
    let r = &s.rows()[6];
    assert_eq!(
        (r.clip_id.as_str(), r.clip_index, r.frame, r.time),
        ("cap-2", 2, 1, 4.0)
    );
    assert_eq!(r.split.as_deref(), Some("valid"));
    assert_eq!(r.labels["genre"], LabelValue::Str("jazz".into()));
    assert_eq!(r.labels["surprisal"], LabelValue::Float(2.5));
    assert!(!r.labels.contains_key("emb"));
    // splits from the clip table
    let sp = s.split(&SplitPolicy::FromDataset).unwrap();
    assert_eq!(
        (sp.train, sp.test, sp.val),
        (vec![0, 1], vec![2, 3, 4], vec![5, 6, 7, 8])
    );
    let (x, _, _) = s.read_layer(LayerId(1)).unwrap();
    assert_eq!(&x[12..14], &[2.5, -1.0]);
}

#[test]
fn values_outside_the_declared_schema_are_refused_naming_the_label() {
    let dir = tempfile::tempdir().unwrap();
    let h = text_header();
    let mut w =
        StoreWriter::open_with(dir.path(), h.clone(), text_layout(&h), Part::WHOLE).unwrap();
    let mut s = text_shard(0);
    s.clips[0]
        .labels
        .insert("genre".into(), LabelValue::Str("polka".into()));
    let e = w.write_columns(s).unwrap_err();
    assert!(
        matches!(&e, StoreError::Label { label, reason } if label == "genre" && reason.contains("\"polka\"")),
        "{e}"
    );
    let mut s = text_shard(0);
    s.row_labels
        .insert("surprisal".into(), LabelData::Real(vec![0.0]));
    let e = w.write_columns(s).unwrap_err();
    assert!(e.to_string().contains("label \"surprisal\""), "{e}");
    // a legacy RowMeta shard with an undeclared label
    let rows = vec![RowMeta {
        clip_id: "cap-0".into(),
        clip_index: 0,
        frame: 0,
        time: 0.0,
        split: None,
        labels: LabelSet::from([("mood".to_string(), LabelValue::Str("sad".into()))]),
    }];
    let e = w
        .write_shard(ShardData {
            index: 0,
            rows,
            layers: vec![vec![0.0, 0.0]],
            clips: 1,
            bad_clips: vec![],
        })
        .unwrap_err();
    assert!(e.to_string().contains("\"mood\""), "{e}");
    // resuming with another schema is refused
    drop(w);
    let mut other = text_layout(&h);
    other.label_schema.fields.pop();
    let e = StoreWriter::open_with(dir.path(), h, other, Part::WHOLE).unwrap_err();
    assert!(
        matches!(
            &e,
            StoreError::Incompatible {
                field: "label_schema",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn an_inferred_schema_grows_with_new_labels_classes_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = header(DType::F32);
    h.layers = vec![LayerId(0)];
    h.dataset_clips = 2;
    h.clips_per_shard = 1;
    let mut w = StoreWriter::open(dir.path(), h, Part::WHOLE).unwrap();
    let row = |c: usize, labels: Vec<(&str, LabelValue)>| RowMeta {
        clip_id: format!("c{c}"),
        clip_index: c,
        frame: 0,
        time: 0.0,
        split: None,
        labels: labels
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    };
    let tags = |t: &[&str]| LabelValue::Tags(t.iter().map(|s| s.to_string()).collect());
    w.write_shard(ShardData {
        index: 0,
        rows: vec![row(
            0,
            vec![("fam", LabelValue::Str("b".into())), ("tags", tags(&["x"]))],
        )],
        layers: vec![vec![1.0; HIDDEN]],
        clips: 1,
        bad_clips: vec![],
    })
    .unwrap();
    w.write_shard(ShardData {
        index: 1,
        rows: vec![row(
            1,
            vec![
                ("fam", LabelValue::Str("a".into())),
                ("tags", tags(&["y", "x"])),
                ("vel", LabelValue::Int(3)),
            ],
        )],
        layers: vec![vec![2.0; HIDDEN]],
        clips: 1,
        bad_clips: vec![],
    })
    .unwrap();
    let m = w.finalize().unwrap();
    assert_eq!(
        m.layout.label_schema.get("fam").unwrap().kind,
        LabelKind::Categorical {
            classes: vec!["b".into(), "a".into()]
        }
    );
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(
        s.label_values("tags").unwrap(),
        vec![Some(tags(&["x"])), Some(tags(&["x", "y"]))]
    );
    // shard 0 was written before `vel` existed: missing there
    assert_eq!(
        s.label_values("vel").unwrap(),
        vec![None, Some(LabelValue::Int(3))]
    );
    assert_eq!(
        s.label_values("fam").unwrap(),
        vec![
            Some(LabelValue::Str("b".into())),
            Some(LabelValue::Str("a".into()))
        ]
    );
    // a type change is refused
    let dir2 = tempfile::tempdir().unwrap();
    let mut w = StoreWriter::open(dir2.path(), header(DType::F32), Part::WHOLE).unwrap();
    let mut sh = shard(&header(DType::F32), 0);
    sh.rows[1]
        .labels
        .insert("pitch".into(), LabelValue::Str("C4".into()));
    let e = w.write_shard(sh).unwrap_err();
    assert!(e.to_string().contains("label \"pitch\""), "{e}");
}

#[test]
fn legacy_rows_read_back_equal_through_every_accessor() {
    let dir = tempfile::tempdir().unwrap();
    write_store(dir.path(), DType::F32);
    let s = Store::open(dir.path()).unwrap();
    let h = header(DType::F32);
    let want: Vec<RowMeta> = (0..3).flat_map(|k| shard(&h, k).rows).collect();
    assert_eq!(s.rows(), want.as_slice());
    assert_eq!(s.manifest().layout.row_unit, RowUnit::Frame { rate: 50.0 });
    let (a, b) = s.spans().unwrap();
    assert!((b[1] - a[1] - 0.02).abs() < 1e-12);
    let pitch = s.label_values("pitch").unwrap();
    assert_eq!(
        pitch,
        want.iter()
            .map(|r| Some(r.labels["pitch"].clone()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn the_format_1_fixture_opens_read_only_with_the_same_accessors() {
    let dir = golden_dir("store").join("fixture_store");
    let s = Store::open(&dir).unwrap();
    assert_eq!(s.manifest().format, "mirlens-store/1");
    assert_eq!(s.num_rows(), 2 + 3 + 4 + 6);
    assert_eq!(s.row_clips().unwrap()[..3], [0, 0, 1]);
    assert_eq!(
        s.label_values("family").unwrap()[2],
        Some(LabelValue::Str("organ".into()))
    );
    let sp = s.split(&SplitPolicy::FromDataset).unwrap();
    assert_eq!(sp.train.len(), s.num_rows());
    assert_eq!(
        s.clip_table().unwrap().id,
        vec!["note-0", "note-1", "note-2", "note-4"]
    );
    // writing into it is refused, nothing touched
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&dir, tmp.path());
    let before = snapshot(tmp.path());
    let e = StoreWriter::open(tmp.path(), s.manifest().header.clone(), Part::WHOLE).unwrap_err();
    assert!(matches!(e, StoreError::ReadOnly { .. }), "{e}");
    assert!(e.to_string().contains("no longer writes"), "{e}");
    assert!(snapshot(tmp.path()) == before);
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let q = to.join(e.file_name());
        if p.is_dir() {
            std::fs::create_dir_all(&q).unwrap();
            copy_dir(&p, &q);
        } else {
            std::fs::copy(&p, &q).unwrap();
        }
    }
}
