//! Integrity: non-finite activations at write time, shard digests on read, statistics with non-finite values.

use crate::common::*;
use mirlens_core::{DType, LayerId};
use mirlens_store::{
    NonFinitePolicy, OpenOptions, Part, Store, StoreError, StoreLayout, StoreWriter, Verify,
    stats::NormSummary,
};
use std::path::Path;

fn write_with(
    dir: &Path,
    dtype: DType,
    policy: NonFinitePolicy,
    poison: &[(usize, usize, f32)],
) -> Result<(), StoreError> {
    let h = header(dtype);
    let layout = StoreLayout {
        on_nonfinite: policy,
        ..StoreLayout::for_header(&h)
    };
    let mut w = StoreWriter::open_with(dir, h.clone(), layout, Part::WHOLE)?;
    for k in w.pending_shards() {
        let mut s = shard(&h, k);
        for &(shard_k, row, v) in poison {
            if shard_k == k {
                s.layers[1][row * HIDDEN + 2] = v; // layer 2
            }
        }
        w.write_shard(s)?;
    }
    w.finalize()?;
    Ok(())
}

#[test]
fn a_nan_activation_is_refused_by_default_naming_layer_row_and_clip() {
    let dir = tempfile::tempdir().unwrap();
    let e = write_with(
        dir.path(),
        DType::F32,
        NonFinitePolicy::Error,
        &[(1, 2, f32::NAN)],
    )
    .unwrap_err();
    match &e {
        StoreError::NonFinite {
            shard,
            layer,
            row,
            clip_id,
            value,
            ..
        } => {
            assert_eq!(
                (*shard, *layer, *row, clip_id.as_str()),
                (1, LayerId(2), 2, "c5")
            );
            assert!(value.is_nan());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().contains("policy `skip` drops such rows"),
        "{e}"
    );
    // shard 1 was not committed
    let w = StoreWriter::open(dir.path(), header(DType::F32), Part::WHOLE).unwrap();
    assert_eq!(w.pending_shards(), vec![1, 2]);
}

#[test]
fn values_that_overflow_half_precision_count_as_non_finite() {
    let dir = tempfile::tempdir().unwrap();
    let e = write_with(
        dir.path(),
        DType::F16,
        NonFinitePolicy::Error,
        &[(0, 0, 70000.0)],
    )
    .unwrap_err();
    assert!(
        matches!(e, StoreError::NonFinite { value, .. } if value == f32::INFINITY),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    write_with(
        dir.path(),
        DType::F16,
        NonFinitePolicy::Error,
        &[(0, 0, 60000.0)],
    )
    .unwrap();
}

#[test]
fn skip_drops_the_rows_and_keep_stores_them_both_counted() {
    let poison = [
        (0, 1, f32::NAN),
        (1, 0, f32::INFINITY),
        (2, 0, f32::NEG_INFINITY),
    ];
    let clean = tempfile::tempdir().unwrap();
    write_store(clean.path(), DType::F32);
    let clean = Store::open(clean.path()).unwrap();
    let (x, n, d) = clean.read_layer(LayerId(2)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), DType::F32, NonFinitePolicy::Skip, &poison).unwrap();
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.manifest().nonfinite_rows, 3);
    assert_eq!(s.num_rows(), n - 3);
    // row 1 of shard 0, row 0 of shards 1 and 2 (global rows 0..6 | 6..10 | 10) are gone from every column
    let kept: Vec<usize> = (0..n).filter(|r| ![1, 6, 10].contains(r)).collect();
    let (y, _, _) = s.read_layer(LayerId(2)).unwrap();
    let want: Vec<f32> = kept
        .iter()
        .flat_map(|&r| x[r * d..(r + 1) * d].to_vec())
        .collect();
    assert_eq!(y, want);
    let want_rows: Vec<_> = kept.iter().map(|&r| clean.rows()[r].clone()).collect();
    assert_eq!(s.rows(), want_rows.as_slice());
    let json = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
    assert!(json.contains("\"on_nonfinite\": \"skip\""), "{json}");
    assert!(json.contains("\"nonfinite_rows\": 3"), "{json}");

    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), DType::F32, NonFinitePolicy::Keep, &poison).unwrap();
    let s = Store::open(dir.path()).unwrap();
    assert_eq!((s.manifest().nonfinite_rows, s.num_rows()), (3, n));
    let (y, _, _) = s.read_layer(LayerId(2)).unwrap();
    assert!(y[HIDDEN + 2].is_nan() && y[6 * HIDDEN + 2] == f32::INFINITY);
    // the statistics of a layer with non-finite values are written and read back (NaN as JSON null)
    let st = s.stats(LayerId(2)).unwrap();
    assert!(st.mean[2].is_nan());
    assert!(st.norms.max.is_nan() || st.norms.max.is_infinite());
    assert_eq!(
        s.stats(LayerId(0)).unwrap(),
        clean.stats(LayerId(0)).unwrap()
    );
}

#[test]
fn norm_summaries_round_trip_nan_and_infinities_through_json() {
    let n = NormSummary {
        mean: f64::NAN,
        min: f64::NEG_INFINITY,
        max: f64::INFINITY,
        median: 1.5,
    };
    let j = serde_json::to_string(&n).unwrap();
    assert_eq!(j, r#"{"mean":null,"min":"-inf","max":"inf","median":1.5}"#);
    let back: NormSummary = serde_json::from_str(&j).unwrap();
    assert!(back.mean.is_nan());
    assert_eq!(
        (back.min, back.max, back.median),
        (f64::NEG_INFINITY, f64::INFINITY, 1.5)
    );
    let e = serde_json::from_str::<NormSummary>(r#"{"mean":"x","min":0,"max":0,"median":0}"#)
        .unwrap_err();
    assert!(e.to_string().contains("\"x\""), "{e}");
}

/// Overwrite 16 bytes in the middle of a file (same size): the damage only a digest reveals.
fn corrupt(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    let at = b.len() - 20;
    b[at..at + 16].copy_from_slice(&[0x7f; 16]);
    std::fs::write(path, b).unwrap();
}

#[test]
fn a_same_size_corruption_of_a_layer_shard_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write_store(dir.path(), DType::F32);
    corrupt(&dir.path().join("layer-002/shard-00001.safetensors"));
    let s = Store::open(dir.path()).unwrap();
    s.read_layer(LayerId(0)).unwrap();
    let e = s.read_layer(LayerId(2)).unwrap_err();
    assert!(
        matches!(&e, StoreError::Corrupt { path, .. } if path.ends_with("layer-002/shard-00001.safetensors")),
        "{e}"
    );
    assert!(e.to_string().contains("SHA-256"), "{e}");
    // the streaming reader and row gathers check too
    assert!(s.read_layer_rows(LayerId(2), &[7]).is_err());
    assert!(s.batches(Default::default()).unwrap().any(|b| b.is_err()));
    // opting out reads the damaged values
    let s = Store::open_with(
        dir.path(),
        OpenOptions {
            verify: Verify::Never,
        },
    )
    .unwrap();
    let (x, _, _) = s.read_layer(LayerId(2)).unwrap();
    assert!(x.contains(&f32::from_le_bytes([0x7f; 4])));
}

#[test]
fn a_corrupted_row_table_or_statistics_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write_store(dir.path(), DType::F32);
    corrupt(&dir.path().join("rows/shard-00000.safetensors"));
    corrupt(&dir.path().join("stats/layer-000.safetensors"));
    let s = Store::open(dir.path()).unwrap();
    let e = s.row_clips().unwrap_err();
    assert!(
        e.to_string().contains("rows/shard-00000.safetensors"),
        "{e}"
    );
    let e = s.stats(LayerId(0)).unwrap_err();
    assert!(e.to_string().contains("stats/layer-000.safetensors"), "{e}");
    assert!(s.stats(LayerId(2)).is_ok());
}

#[test]
fn resuming_onto_a_corrupted_committed_shard_fails_at_finalisation_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let h = header(DType::F32);
    let mut w = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
    w.write_shard(shard(&h, 0)).unwrap();
    drop(w);
    corrupt(&dir.path().join("layer-000/shard-00000.safetensors"));
    let mut w = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
    for k in w.pending_shards() {
        w.write_shard(shard(&h, k)).unwrap();
    }
    let e = w.finalize().unwrap_err();
    assert!(
        matches!(&e, StoreError::Corrupt { path, .. } if path.ends_with("layer-000/shard-00000.safetensors")),
        "{e}"
    );
    // the store was not marked complete
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Incomplete { .. })
    ));
}
