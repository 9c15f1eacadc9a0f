//! Bad input and damaged stores give clear errors.

use crate::common::*;
use mirlens_core::DType;
use mirlens_store::{Part, Store, StoreError, StoreWriter};

#[test]
fn opening_a_non_store_or_unfinished_store_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let e = Store::open(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::NotAStore { .. }), "{e}");
    let h = header(DType::F32);
    let mut w = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
    w.write_shard(shard(&h, 0)).unwrap();
    let e = Store::open(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::Incomplete { shards: 1, .. }), "{e}");
    let e = w.finalize().unwrap_err();
    assert!(
        matches!(&e, StoreError::MissingShards { missing, .. } if missing == &vec![1, 2]),
        "{e}"
    );
}

#[test]
fn a_damaged_committed_shard_is_reported_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let h = header(DType::F32);
    let mut w = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
    w.write_shard(shard(&h, 0)).unwrap();
    drop(w);
    std::fs::write(dir.path().join("rows/shard-00000.safetensors"), b"{}").unwrap();
    let e = StoreWriter::open(dir.path(), h, Part::WHOLE).unwrap_err();
    assert!(
        matches!(&e, StoreError::Corrupt { path, .. } if path.ends_with("rows/shard-00000.safetensors")),
        "{e}"
    );
}

#[test]
fn inconsistent_shard_data_and_non_empty_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let h = header(DType::F32);
    let mut w = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
    let mut s = shard(&h, 0);
    s.layers[1].pop();
    let e = w.write_shard(s).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Shape {
                expected: 24,
                got: 23,
                ..
            }
        ),
        "{e}"
    );
    let mut s = shard(&h, 0);
    s.index = 9;
    assert!(w.write_shard(s).is_err());
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), b"x").unwrap();
    let e = StoreWriter::open(other.path(), h, Part::WHOLE).unwrap_err();
    assert!(matches!(e, StoreError::NotEmpty { .. }), "{e}");
}
