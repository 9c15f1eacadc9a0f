//! Streaming batches, row selection, splits.

use crate::common::*;
use mirlens_core::{DType, LabelValue, LayerId};
use mirlens_store::{
    BatchOptions, LabelCondition, LastBatch, RowFilter, Shuffle, SplitPolicy, Store, StoreError,
};
use std::collections::{BTreeMap, BTreeSet};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    write_store(dir.path(), DType::F32);
    let s = Store::open(dir.path()).unwrap();
    (dir, s)
}

#[test]
fn row_subsets_equal_slices_of_the_whole_layer() {
    let (_d, s) = store();
    let (all, _, dim) = s.read_layer(LayerId(0)).unwrap();
    let pick = [9, 0, 3, 3, 7];
    let got = s.read_layer_rows(LayerId(0), &pick).unwrap();
    let want: Vec<f32> = pick
        .iter()
        .flat_map(|&r| all[r * dim..(r + 1) * dim].to_vec())
        .collect();
    assert_eq!(got, want);
    let e = s.read_layer_rows(LayerId(0), &[100]).unwrap_err();
    assert!(matches!(e, StoreError::RowOutOfRange { row: 100, .. }));
    let e = s.read_layer(LayerId(1)).unwrap_err();
    assert!(
        e.to_string().contains("layer 1 is not in this store"),
        "{e}"
    );
}

#[test]
fn ordered_batches_concatenate_to_the_whole_layer() {
    let (_d, s) = store();
    let (l0, n, _) = s.read_layer(LayerId(0)).unwrap();
    let (l2, _, _) = s.read_layer(LayerId(2)).unwrap();
    let mut rows = Vec::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut sizes = Vec::new();
    for batch in s
        .batches(BatchOptions {
            batch_size: 4,
            ..BatchOptions::default()
        })
        .unwrap()
    {
        let batch = batch.unwrap();
        sizes.push(batch.rows.len());
        rows.extend(batch.rows.clone());
        a.extend_from_slice(batch.layer(LayerId(0)).unwrap());
        b.extend_from_slice(batch.layer(LayerId(2)).unwrap());
    }
    assert_eq!(rows, (0..n).collect::<Vec<_>>());
    assert_eq!((a, b), (l0, l2));
    assert_eq!(sizes, vec![4, 4, 3]);
    let o = BatchOptions {
        batch_size: 4,
        last: LastBatch::Drop,
        ..BatchOptions::default()
    };
    assert_eq!(s.batches(o).unwrap().count(), 2);
}

#[test]
fn shuffled_batches_are_a_seeded_permutation_with_matching_values() {
    let (_d, s) = store();
    let (l2, n, dim) = s.read_layer(LayerId(2)).unwrap();
    let run = |seed| {
        let o = BatchOptions {
            layers: vec![LayerId(2)],
            batch_size: 3,
            shuffle: Shuffle::Buffer { buffer: 5, seed },
            ..BatchOptions::default()
        };
        let mut rows = Vec::new();
        for b in s.batches(o).unwrap() {
            let b = b.unwrap();
            assert_eq!(b.layers.len(), 1);
            for (k, &r) in b.rows.iter().enumerate() {
                assert_eq!(
                    &b.layers[0].1[k * dim..(k + 1) * dim],
                    &l2[r * dim..(r + 1) * dim]
                );
            }
            rows.extend(b.rows);
        }
        rows
    };
    let (a, b, c) = (run(1), run(1), run(2));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, (0..n).collect::<Vec<_>>());
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, (0..n).collect::<Vec<_>>());
}

#[test]
fn label_filters_and_row_subsets_select_rows() {
    let (_d, s) = store();
    let f = RowFilter::none().and(LabelCondition::Equals(
        "family".into(),
        LabelValue::Str("brass".into()),
    ));
    let want: Vec<usize> = (0..s.num_rows())
        .filter(|&i| s.rows()[i].clip_index % 2 == 0)
        .collect();
    assert_eq!(s.select_rows(&f), want);
    let o = BatchOptions {
        batch_size: 100,
        filter: f.clone(),
        rows: Some(vec![0, 1, 2, 3]),
        ..BatchOptions::default()
    };
    let got: Vec<usize> = s
        .batches(o)
        .unwrap()
        .flat_map(|b| b.unwrap().rows)
        .collect();
    assert_eq!(
        got,
        want.iter().copied().filter(|&r| r < 4).collect::<Vec<_>>()
    );
    let f = RowFilter::none().and(LabelCondition::OneOf(
        "pitch".into(),
        vec![LabelValue::Int(62), LabelValue::Int(66)],
    ));
    let clips: BTreeSet<usize> = s
        .select_rows(&f)
        .iter()
        .map(|&r| s.rows()[r].clip_index)
        .collect();
    assert_eq!(clips, BTreeSet::from([2, 6]));
}

#[test]
fn splits_never_divide_a_clip() {
    let (_d, s) = store();
    for policy in [
        SplitPolicy::FromDataset,
        SplitPolicy::ByClip {
            val: 0.2,
            test: 0.3,
            seed: 5,
        },
    ] {
        let sp = s.split(&policy).unwrap();
        let mut owner: BTreeMap<usize, usize> = BTreeMap::new();
        for (k, part) in [&sp.train, &sp.val, &sp.test].iter().enumerate() {
            for &r in part.iter() {
                let c = s.rows()[r].clip_index;
                assert_eq!(
                    *owner.entry(c).or_insert(k),
                    k,
                    "clip {c} in two splits under {policy:?}"
                );
            }
        }
        assert_eq!(sp.train.len() + sp.val.len() + sp.test.len(), s.num_rows());
    }
    let sp = s.split(&SplitPolicy::FromDataset).unwrap();
    assert!(sp.test.iter().all(|&r| s.rows()[r].clip_index % 3 == 2));
    let sp = s
        .split(&SplitPolicy::ByClip {
            val: 0.2,
            test: 0.3,
            seed: 5,
        })
        .unwrap();
    let count = |v: &Vec<usize>| {
        v.iter()
            .map(|&r| s.rows()[r].clip_index)
            .collect::<BTreeSet<_>>()
            .len()
    };
    // 6 good clips: round(1.8) = 2 test, round(1.2) = 1 val
    assert_eq!(
        (count(&sp.train), count(&sp.val), count(&sp.test)),
        (3, 1, 2)
    );
    assert!(
        s.split(&SplitPolicy::ByClip {
            val: 0.6,
            test: 0.5,
            seed: 0
        })
        .is_err()
    );
}
