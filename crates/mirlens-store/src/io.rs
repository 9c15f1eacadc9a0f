//! Low-level file helpers: dtype codecs, safetensors shards, atomic writes, hashing.

use crate::error::{Result, StoreError, io_err};
use crate::manifest::FileDigest;
use mirlens_core::DType;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Name of the activation tensor inside every layer shard.
pub const ACTIVATIONS: &str = "activations";

/// Prefix of temporary files; they are removed when a writer resumes.
pub(crate) const TMP_PREFIX: &str = ".tmp-";

pub(crate) fn st_dtype(d: DType) -> Dtype {
    match d {
        DType::F32 => Dtype::F32,
        DType::F16 => Dtype::F16,
        DType::Bf16 => Dtype::BF16,
    }
}

/// Encode f32 values in the storage type, little-endian.
pub(crate) fn encode(values: &[f32], d: DType) -> Vec<u8> {
    match d {
        DType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        DType::F16 => values
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect(),
        DType::Bf16 => values
            .iter()
            .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
            .collect(),
    }
}

/// Decode little-endian bytes of a safetensors float dtype into f32, appending to `out`.
pub(crate) fn decode_into(bytes: &[u8], d: Dtype, out: &mut Vec<f32>) -> Option<()> {
    use half::slice::HalfFloatSliceExt;
    match d {
        Dtype::F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        Dtype::F16 => {
            let h: Vec<half::f16> = bytes
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]))
                .collect();
            let start = out.len();
            out.resize(start + h.len(), 0.0);
            h.convert_to_f32_slice(&mut out[start..]); // vectorised (F16C) where the CPU has it
        }
        Dtype::BF16 => {
            let h: Vec<half::bf16> = bytes
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]))
                .collect();
            let start = out.len();
            out.resize(start + h.len(), 0.0);
            h.convert_to_f32_slice(&mut out[start..]);
        }
        Dtype::F64 => {
            out.extend(bytes.chunks_exact(8).map(|c| {
                f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
            }))
        }
        _ => return None,
    }
    Some(())
}

/// Serialise named tensors (name, dtype, shape, bytes) with a single-key metadata map (a single key keeps the
/// header byte-for-byte deterministic).
pub(crate) fn serialize_tensors(
    tensors: &[(&str, Dtype, Vec<usize>, &[u8])],
    meta: Option<(&str, String)>,
    path: &Path,
) -> Result<Vec<u8>> {
    let mut views = Vec::with_capacity(tensors.len());
    for (name, dt, shape, data) in tensors {
        let v = TensorView::new(*dt, shape.clone(), data).map_err(|e| StoreError::Shard {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        views.push((name.to_string(), v));
    }
    let meta = meta.map(|(k, v)| HashMap::from([(k.to_string(), v)]));
    safetensors::serialize(views, meta).map_err(|e| StoreError::Shard {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

pub(crate) fn tensor_from_bytes(
    bytes: &[u8],
    path: &Path,
    name: &str,
) -> Result<(Vec<f32>, Vec<usize>)> {
    let mut out = Vec::new();
    let shape = tensor_from_bytes_into(bytes, path, name, &mut out)?;
    Ok((out, shape))
}

pub(crate) fn tensor_from_bytes_into(
    bytes: &[u8],
    path: &Path,
    name: &str,
    out: &mut Vec<f32>,
) -> Result<Vec<usize>> {
    let bad = |message: String| StoreError::Shard {
        path: path.to_path_buf(),
        message,
    };
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    let t = st
        .tensor(name)
        .map_err(|e| bad(format!("tensor {name:?}: {e}")))?;
    out.reserve(t.shape().iter().product());
    decode_into(t.data(), t.dtype(), out).ok_or_else(|| {
        bad(format!(
            "tensor {name:?} has non-float dtype {:?}",
            t.dtype()
        ))
    })?;
    Ok(t.shape().to_vec())
}

/// SHA-256 of bytes as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Digest of bytes.
pub(crate) fn digest(bytes: &[u8]) -> FileDigest {
    FileDigest {
        bytes: bytes.len() as u64,
        sha256: sha256_hex(bytes),
    }
}

/// The temporary name [`write_atomic`] uses for `path` in the calling thread: `.tmp-<name>.<pid>.<thread>` beside
/// `path`, where `<thread>` numbers the threads of this process. No other process or thread uses the same name at
/// the same time, and a thread's writes to one path are sequential, so temporaries never collide.
pub fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static THREAD: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let t = THREAD.with(|t| *t);
    dir.join(format!("{TMP_PREFIX}{name}.{}.{t}", std::process::id()))
}

/// Write `bytes` to `path` atomically: write a temporary file with a unique name in the same directory
/// ([`temp_path`]), fsync it, rename it over `path`, fsync the directory. A crash leaves either the old file, the
/// new file, or a stray `.tmp-*` file (that a store writer removes when it resumes) — never a half-written `path`.
/// A failed write (disk full, permission) removes its temporary file and leaves `path` untouched.
///
/// This is the one atomic writer of the workspace: other crates call it rather than keeping their own.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    let tmp: PathBuf = temp_path(path);
    let written = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
        f.write_all(bytes).map_err(io_err("write", &tmp))?;
        f.sync_all().map_err(io_err("flush", &tmp))
    })();
    if let Err(e) = written {
        // free the space a partial temporary holds (disk full); the target file is untouched
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err("rename into place", path)(e));
    }
    sync_dir(dir);
    Ok(())
}

/// Best-effort fsync of a directory (makes renames durable on Linux; ignored where unsupported).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Remove temporary files left by an interrupted writer in `dir` and its immediate subdirectories.
pub(crate) fn remove_temporaries(dir: &Path) -> Result<()> {
    let mut dirs = vec![dir.to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            }
        }
    }
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                std::fs::remove_file(e.path())
                    .map_err(io_err("remove temporary file", e.path()))?;
            }
        }
    }
    Ok(())
}

/// Check that `bytes` (the content of the committed file `path`) have the size and SHA-256 recorded in the manifest.
pub(crate) fn verify_digest(bytes: &[u8], want: &FileDigest, path: &Path) -> Result<()> {
    if bytes.len() as u64 != want.bytes {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "{} has {} bytes, the manifest recorded {}",
                path.display(),
                bytes.len(),
                want.bytes
            ),
        });
    }
    let got = sha256_hex(bytes);
    if got != want.sha256 {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "{} has SHA-256 {got}, the manifest recorded {} (the file was modified after it was committed)",
                path.display(),
                want.sha256
            ),
        });
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct TensorInfo {
    dtype: Dtype,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

/// Read one tensor of a safetensors file without reading the others: the header, then the tensor's byte range.
/// `None` when the file has no tensor of that name.
pub(crate) fn read_raw_range(path: &Path, name: &str) -> Result<Option<crate::table::Raw>> {
    let bad = |m: String| StoreError::Shard {
        path: path.to_path_buf(),
        message: m,
    };
    let mut f = std::fs::File::open(path).map_err(io_err("open", path))?;
    let mut n = [0u8; 8];
    f.read_exact(&mut n).map_err(io_err("read", path))?;
    let n = u64::from_le_bytes(n);
    let len = f.metadata().map_err(io_err("read", path))?.len();
    if n > len.saturating_sub(8) || n > 100_000_000 {
        return Err(bad(format!(
            "header length {n} does not fit a file of {len} bytes"
        )));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(io_err("read", path))?;
    let mut map: HashMap<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(format!("header: {e}")))?;
    let Some(info) = map.remove(name) else {
        return Ok(None);
    };
    let info: TensorInfo =
        serde_json::from_value(info).map_err(|e| bad(format!("tensor {name:?}: {e}")))?;
    let (a, b) = info.data_offsets;
    let start = 8 + n + a as u64;
    if b < a || start + (b - a) as u64 > len {
        return Err(bad(format!("tensor {name:?} lies outside the file")));
    }
    f.seek(SeekFrom::Start(start))
        .map_err(io_err("read", path))?;
    let mut bytes = vec![0u8; b - a];
    f.read_exact(&mut bytes).map_err(io_err("read", path))?;
    Ok(Some(crate::table::Raw {
        dtype: info.dtype,
        shape: info.shape,
        bytes,
    }))
}

/// One tensor of an in-memory safetensors file; `None` when it has no tensor of that name.
pub(crate) fn raw_from(
    st: &SafeTensors<'_>,
    name: &str,
    path: &Path,
) -> Result<Option<crate::table::Raw>> {
    if !st.names().contains(&name) {
        return Ok(None);
    }
    let t = st.tensor(name).map_err(|e| StoreError::Shard {
        path: path.to_path_buf(),
        message: format!("tensor {name:?}: {e}"),
    })?;
    Ok(Some(crate::table::Raw {
        dtype: t.dtype(),
        shape: t.shape().to_vec(),
        bytes: t.data().to_vec(),
    }))
}

/// A required tensor: `None` becomes an error naming the file.
pub(crate) fn required(
    raw: Option<crate::table::Raw>,
    name: &str,
    path: &Path,
) -> Result<crate::table::Raw> {
    raw.ok_or_else(|| StoreError::Shard {
        path: path.to_path_buf(),
        message: format!("no tensor {name:?}"),
    })
}
