//! The writer lock of a store: an OS advisory lock (`flock` on Unix, `LockFileEx` on Windows, through
//! [`std::fs::File::try_lock`]) on `STORE/.lock`, held by [`crate::StoreWriter`] and [`crate::merge`] for as long as
//! they write. The file holds the holder's process id, so that a second writer is told who is writing. The OS
//! releases the lock when its holder dies (even by `kill -9`), so a stale lock file never blocks anyone: the next
//! writer takes the lock and overwrites the process id.

use crate::error::{Result, StoreError, io_err};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// File name of the lock file inside a store.
pub const LOCK_FILE: &str = ".lock";

/// A held store lock; released (and its file removed) when dropped.
#[derive(Debug)]
pub struct StoreLock {
    file: std::fs::File,
    path: PathBuf,
    dir: PathBuf,
}

impl StoreLock {
    /// Take the write lock of the store directory `dir` (created if needed) without waiting. Fails with
    /// [`StoreError::Locked`], naming the holder's process id, when another process (or another writer in this
    /// process) holds it.
    pub fn acquire(dir: &Path) -> Result<StoreLock> {
        std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        let path = dir.join(LOCK_FILE);
        // The holder removes the file when it releases the lock; a writer that opened the old file just before
        // must retry on the new one, or two writers could hold locks on different files.
        for _ in 0..16 {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_err("open lock file", &path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut s = String::new();
                    let _ = file.read_to_string(&mut s);
                    return Err(StoreError::Locked {
                        path: dir.to_path_buf(),
                        pid: s.trim().parse().ok(),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io_err("lock", &path)(e));
                }
            }
            if !same_file(&file, &path) {
                continue; // the previous holder removed the file between our open and our lock
            }
            let pid = std::process::id().to_string();
            file.set_len(0).map_err(io_err("write", &path))?;
            file.seek(SeekFrom::Start(0))
                .map_err(io_err("write", &path))?;
            file.write_all(pid.as_bytes())
                .map_err(io_err("write", &path))?;
            return Ok(StoreLock {
                file,
                path,
                dir: dir.to_path_buf(),
            });
        }
        Err(StoreError::Locked {
            path: dir.to_path_buf(),
            pid: None,
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &std::fs::File, path: &Path) -> bool {
    path.exists()
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // remove while still holding the lock, so that no one locks the old file after we release it
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}
