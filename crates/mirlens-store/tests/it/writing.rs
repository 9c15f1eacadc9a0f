//! Writing, resuming, refusing, merging.

use crate::common::*;
use mirlens_core::{DType, LayerId, Tolerance};
use mirlens_store::{Part, Store, StoreError, StoreWriter, merge};
use mirlens_test_support::assert_close;

fn expected_layer(layer: usize) -> Vec<f32> {
    let mut v = Vec::new();
    for c in 0..CLIPS {
        if c == 4 {
            continue;
        }
        for f in 0..frames(c) {
            v.extend((0..HIDDEN).map(|j| value(layer, c, f, j)));
        }
    }
    v
}

#[test]
fn f32_store_round_trips_values_rows_and_totals() {
    let dir = tempfile::tempdir().unwrap();
    let m = write_store(dir.path(), DType::F32);
    assert_eq!(m.num_clips, 6);
    assert_eq!(
        m.num_rows,
        (0..CLIPS).filter(|&c| c != 4).map(frames).sum::<usize>()
    );
    assert_eq!(m.bad_clips.len(), 1);
    assert_eq!(m.bad_clips[0].clip_id, "c4");
    assert_eq!(m.shards.len(), 3);
    let s = Store::open(dir.path()).unwrap();
    for l in [0, 2] {
        let (v, rows, dim) = s.read_layer(LayerId(l)).unwrap();
        assert_eq!((rows, dim), (m.num_rows, HIDDEN));
        assert_eq!(v, expected_layer(l), "layer {l}");
    }
    let r = &s.rows()[1];
    assert_eq!((r.clip_id.as_str(), r.frame, r.time), ("c1", 0, 0.0));
    let r = &s.rows()[2];
    assert_eq!((r.clip_id.as_str(), r.frame, r.time), ("c1", 1, 0.02));
    assert_eq!(r.labels["pitch"], mirlens_core::LabelValue::Int(61));
}

#[test]
fn half_precision_stores_round_trip_within_their_precision() {
    for dt in [DType::F16, DType::Bf16] {
        let dir = tempfile::tempdir().unwrap();
        write_store(dir.path(), dt);
        let s = Store::open(dir.path()).unwrap();
        let (v, _, _) = s.read_layer(LayerId(2)).unwrap();
        // values are multiples of 1/8 below 32: exact in f16 and bf16 (8 significant bits)
        let rep = assert_close(
            &format!("{dt} layer 2"),
            &v,
            &expected_layer(2),
            Tolerance::EXACT_F32,
        );
        assert_eq!(rep.max_abs, 0.0);
        // two bytes per value: shard 0 holds 6 rows × 4 values, 48 bytes fewer than in f32
        let f32_dir = tempfile::tempdir().unwrap();
        write_store(f32_dir.path(), DType::F32);
        let size = |d: &std::path::Path| {
            std::fs::metadata(d.join("layer-002/shard-00000.safetensors"))
                .unwrap()
                .len()
        };
        assert_eq!(size(f32_dir.path()) - size(dir.path()), 48, "{dt}");
    }
}

#[test]
fn stored_statistics_match_a_direct_computation() {
    let dir = tempfile::tempdir().unwrap();
    write_store(dir.path(), DType::F32);
    let s = Store::open(dir.path()).unwrap();
    let (v, rows, dim) = s.read_layer(LayerId(2)).unwrap();
    let st = s.stats(LayerId(2)).unwrap();
    assert_eq!(st.count, rows);
    for j in 0..dim {
        let col: Vec<f64> = v.chunks(dim).map(|r| r[j] as f64).collect();
        let m = col.iter().sum::<f64>() / rows as f64;
        let var = col.iter().map(|x| (x - m).powi(2)).sum::<f64>() / rows as f64;
        assert!(
            (st.mean[j] - m).abs() < 1e-12 && (st.var[j] - var).abs() < 1e-9,
            "dim {j}"
        );
    }
    let norms: Vec<f64> = v
        .chunks(dim)
        .map(|r| r.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt())
        .collect();
    let (mn, mx) = norms
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert!((st.norms.min - mn).abs() < 1e-12 && (st.norms.max - mx).abs() < 1e-12);
    assert_eq!(st.norm_counts.iter().sum::<u64>() as usize, rows);
    assert_eq!(st.norm_edges.len(), st.norm_counts.len() + 1);
}

#[test]
fn interrupted_writes_resume_to_byte_identical_files() {
    let whole = tempfile::tempdir().unwrap();
    write_store(whole.path(), DType::F16);
    let dir = tempfile::tempdir().unwrap();
    let h = header(DType::F16);
    {
        let mut w = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
        w.write_shard(shard(&h, 0)).unwrap();
        // a crash while writing shard 1: one layer file in place but not committed, a stray temporary, a torn line
    }
    let s1 = shard(&h, 1);
    std::fs::write(
        dir.path().join("layer-000/shard-00001.safetensors"),
        b"partial",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("layer-002/.tmp-shard-00001.safetensors"),
        b"partial",
    )
    .unwrap();
    let mut j = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("journal.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut j, b"{\"index\":1,\"rows\":").unwrap();
    drop(j);
    let mut w = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
    assert_eq!(w.pending_shards(), vec![1, 2]);
    w.write_shard(s1).unwrap();
    w.write_shard(shard(&h, 2)).unwrap();
    w.finalize().unwrap();
    let (a, b) = (snapshot(whole.path()), snapshot(dir.path()));
    assert_eq!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    for ((n, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{n} differs after resume");
    }
}

#[test]
fn a_different_model_is_refused_and_nothing_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    write_store(dir.path(), DType::F32);
    let before = snapshot(dir.path());
    let mut h = header(DType::F32);
    h.model = "other-model".into();
    let e = StoreWriter::open(dir.path(), h, Part::WHOLE).unwrap_err();
    match &e {
        StoreError::Incompatible {
            field,
            existing,
            requested,
            ..
        } => {
            assert_eq!(
                (*field, existing.as_str(), requested.as_str()),
                ("model", "tiny-test", "other-model")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("refusing to append"));
    let mut h = header(DType::F32);
    h.layers = vec![LayerId(0), LayerId(3)];
    let e = StoreWriter::open(dir.path(), h, Part::WHOLE).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Incompatible {
                field: "layers",
                ..
            }
        ),
        "{e}"
    );
    let mut h = header(DType::F32);
    h.dtype = DType::F16;
    let e = StoreWriter::open(dir.path(), h, Part::WHOLE).unwrap_err();
    assert!(
        matches!(e, StoreError::Incompatible { field: "dtype", .. }),
        "{e}"
    );
    assert!(snapshot(dir.path()) == before);
    // the same model resumes a complete store as a no-op
    let w = StoreWriter::open(dir.path(), header(DType::F32), Part::WHOLE).unwrap();
    assert!(w.pending_shards().is_empty());
}

#[cfg(target_os = "linux")]
#[test]
fn a_disk_full_error_mid_write_keeps_committed_shards_and_resumes() {
    let whole = tempfile::tempdir().unwrap();
    write_store(whole.path(), DType::F32);
    let dir = tempfile::tempdir().unwrap();
    let h = header(DType::F32);
    let mut w = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
    w.write_shard(shard(&h, 0)).unwrap();
    let committed = snapshot(dir.path());
    // the next temporary file of layer 2 is a link to /dev/full: every write to it fails with ENOSPC
    let tmp = mirlens_store::io::temp_path(&dir.path().join("layer-002/shard-00001.safetensors"));
    assert!(
        tmp.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".tmp-shard-00001.safetensors.")
    );
    std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
    let e = w.write_shard(shard(&h, 1)).unwrap_err();
    match &e {
        StoreError::Io {
            action,
            path,
            source,
        } => {
            assert_eq!(*action, "write");
            assert_eq!(path, &tmp);
            assert_eq!(source.raw_os_error(), Some(28), "{source}"); // ENOSPC
        }
        other => panic!("unexpected {other:?}"),
    }
    drop(w);
    // everything committed is intact
    let now = snapshot(dir.path());
    for (n, bytes) in &committed {
        if n.starts_with("layer-") || n.starts_with("rows/") || n == "journal.jsonl" {
            let same = now.iter().find(|x| &x.0 == n).map(|x| &x.1 == bytes);
            assert_eq!(same, Some(true), "{n} changed");
        }
    }
    let mut w = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
    assert_eq!(w.pending_shards(), vec![1, 2]);
    for k in w.pending_shards() {
        w.write_shard(shard(&h, k)).unwrap();
    }
    w.finalize().unwrap();
    assert!(snapshot(dir.path()) == snapshot(whole.path()));
}

#[test]
fn merging_parts_gives_the_single_job_store_byte_for_byte() {
    let whole = tempfile::tempdir().unwrap();
    write_store(whole.path(), DType::Bf16);
    let root = tempfile::tempdir().unwrap();
    let h = header(DType::Bf16);
    let mut parts = Vec::new();
    for i in [1usize, 0] {
        let p = root.path().join(format!("part{i}"));
        let mut w = StoreWriter::open(&p, h.clone(), Part { index: i, count: 2 }).unwrap();
        let pending = w.pending_shards();
        assert_eq!(pending, if i == 0 { vec![0] } else { vec![1, 2] });
        for k in pending {
            w.write_shard(shard(&h, k)).unwrap();
        }
        w.finalize().unwrap();
        parts.push(p);
    }
    let out = root.path().join("merged");
    let m = merge(&parts, &out).unwrap();
    assert_eq!(m.shards.len(), 3);
    let (a, b) = (snapshot(whole.path()), snapshot(&out));
    assert_eq!(a.len(), b.len());
    for ((n, x), (n2, y)) in a.iter().zip(&b) {
        assert_eq!(n, n2);
        assert!(x == y, "{n} differs after merge");
    }
    // a missing part is an error naming it
    let e = merge(&parts[..1], &root.path().join("m2")).unwrap_err();
    assert!(e.to_string().contains("part 0/2 is missing"), "{e}");
}
