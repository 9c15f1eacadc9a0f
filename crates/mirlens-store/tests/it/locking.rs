//! The writer lock: a second writer is refused naming the holder; a lock left by a killed process is recovered.

use crate::common::*;
use mirlens_core::DType;
use mirlens_store::{LOCK_FILE, Part, StoreError, StoreWriter, merge};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Set in a child process that holds a store's write lock until it is killed.
const CHILD_ENV: &str = "MIRLENS_STORE_LOCK_CHILD";

#[test]
fn a_second_writer_is_refused_naming_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let h = header(DType::F32);
    let mut a = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
    a.write_shard(shard(&h, 0)).unwrap();
    let e = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap_err();
    assert!(
        matches!(e, StoreError::Locked { pid: Some(p), .. } if p == std::process::id()),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "store {} is being written by process {}",
            dir.path().display(),
            std::process::id()
        )
    );
    // merging into a store being written is refused too
    let e = merge(&[dir.path().to_path_buf()], dir.path()).unwrap_err();
    assert!(
        matches!(e, StoreError::Incomplete { .. } | StoreError::Locked { .. }),
        "{e}"
    );
    for k in a.pending_shards() {
        a.write_shard(shard(&h, k)).unwrap();
    }
    a.finalize().unwrap();
    assert!(!dir.path().join(LOCK_FILE).exists());
    // released: a writer may open it again (nothing left to do)
    let b = StoreWriter::open(dir.path(), h, Part::WHOLE).unwrap();
    assert!(b.pending_shards().is_empty());
}

/// Not a test of its own: the body of the child process of the next test (does nothing unless `CHILD_ENV` is set).
#[test]
fn lock_holder_child_process() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let h = header(DType::F32);
    let mut w = StoreWriter::open(std::path::Path::new(&dir), h.clone(), Part::WHOLE).unwrap();
    w.write_shard(shard(&h, 0)).unwrap();
    println!("LOCKED");
    std::thread::sleep(std::time::Duration::from_secs(120));
}

#[cfg(unix)]
#[test]
fn a_lock_left_by_a_killed_writer_is_recovered_and_the_store_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "locking::lock_holder_child_process",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.map(|l| l.contains("LOCKED")).unwrap_or(false)));
    let h = header(DType::F32);
    let e = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap_err();
    assert!(
        matches!(e, StoreError::Locked { pid: Some(p), .. } if p == child.id()),
        "{e}"
    );
    child.kill().unwrap(); // SIGKILL: no destructor runs, the lock file stays behind
    child.wait().unwrap();
    assert!(dir.path().join(LOCK_FILE).exists());
    let mut w = StoreWriter::open(dir.path(), h.clone(), Part::WHOLE).unwrap();
    assert_eq!(w.pending_shards(), vec![1, 2]);
    for k in w.pending_shards() {
        w.write_shard(shard(&h, k)).unwrap();
    }
    w.finalize().unwrap();
    let whole = tempfile::tempdir().unwrap();
    write_store(whole.path(), DType::F32);
    assert!(snapshot(dir.path()) == snapshot(whole.path()));
}
