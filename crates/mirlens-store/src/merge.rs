//! Joining the parts written by `--shard i/N` jobs into one store.

use crate::error::{Result, StoreError, io_err};
use crate::io;
use crate::manifest::{JOURNAL_FILE, Part, StoreManifest, abs};
use crate::writer::{append_journal, write_manifest, write_stats};
use std::path::{Path, PathBuf};

/// Merge complete part stores (`i/N` for every `i` exactly once, same header) into a new store at `out`. Files are
/// copied with their hashes checked; the result is byte-for-byte the store a single job would have written.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<StoreManifest> {
    let first = parts.first().ok_or_else(|| {
        mirlens_core::CoreError::invalid("parts", "[]", "at least one store to merge")
    })?;
    let mut manifests = Vec::new();
    for p in parts {
        let m = StoreManifest::load(p)?;
        if !m.complete {
            return Err(StoreError::Incomplete {
                path: p.clone(),
                shards: m.shards.len(),
            });
        }
        manifests.push((p.clone(), m));
    }
    let header = manifests[0].1.header.clone();
    let count = manifests[0].1.part.count;
    let mut seen = vec![None::<PathBuf>; count];
    for (p, m) in &manifests {
        m.header
            .check_same(&header, first)
            .map_err(|e| StoreError::Merge {
                path: p.clone(),
                reason: e.to_string(),
            })?;
        if m.part.count != count {
            return Err(StoreError::Merge {
                path: p.clone(),
                reason: format!(
                    "it is part {} but {} is part of {count}",
                    m.part,
                    first.display()
                ),
            });
        }
        if let Some(prev) = &seen[m.part.index] {
            return Err(StoreError::Merge {
                path: p.clone(),
                reason: format!("part {} is also given as {}", m.part, prev.display()),
            });
        }
        seen[m.part.index] = Some(p.clone());
    }
    if let Some(i) = seen.iter().position(|s| s.is_none()) {
        return Err(StoreError::Merge {
            path: first.clone(),
            reason: format!("part {i}/{count} is missing"),
        });
    }
    if out.join(crate::manifest::MANIFEST_FILE).exists()
        || (out.exists()
            && std::fs::read_dir(out)
                .map_err(io_err("list", out))?
                .next()
                .is_some())
    {
        return Err(StoreError::NotEmpty {
            path: out.to_path_buf(),
        });
    }
    manifests.sort_by_key(|(_, m)| m.part.index);
    std::fs::create_dir_all(out).map_err(io_err("create directory", out))?;
    let mut merged = StoreManifest::new(header, Part::WHOLE);
    merged.mirlens_version = manifests[0].1.mirlens_version.clone();
    write_manifest(out, &merged)?;
    let jp = out.join(JOURNAL_FILE);
    std::fs::File::create(&jp).map_err(io_err("create", &jp))?;
    for (p, m) in &manifests {
        for s in &m.shards {
            for (rel, d) in &s.files {
                let src = abs(p, rel);
                let bytes = std::fs::read(&src).map_err(io_err("read", &src))?;
                if io::digest(&bytes) != *d {
                    return Err(StoreError::Corrupt {
                        path: src,
                        reason: format!(
                            "content differs from the hash recorded for shard {}",
                            s.index
                        ),
                    });
                }
                io::write_atomic(&abs(out, rel), &bytes)?;
            }
            append_journal(out, s)?;
            merged.shards.push(s.clone());
        }
    }
    merged.refresh_totals();
    write_stats(out, &merged)?;
    merged.complete = true;
    write_manifest(out, &merged)?;
    Ok(merged)
}
