//! Low-level file helpers: dtype codecs, safetensors shards, atomic writes, hashing.

use crate::error::{Result, StoreError, io_err};
use crate::manifest::FileDigest;
use mirlens_core::DType;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// Read one float tensor from a safetensors file as f32, checking its name and shape. Returns `(values, shape)`.
pub(crate) fn read_tensor(path: &Path, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
    let bytes = std::fs::read(path).map_err(io_err("read", path))?;
    tensor_from_bytes(&bytes, path, name)
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

/// Read one float tensor from a safetensors file, appending its values as f32 to `out`; returns its shape.
pub(crate) fn read_tensor_into(path: &Path, name: &str, out: &mut Vec<f32>) -> Result<Vec<usize>> {
    let bytes = std::fs::read(path).map_err(io_err("read", path))?;
    tensor_from_bytes_into(&bytes, path, name, out)
}

fn tensor_from_bytes_into(
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

/// Write `bytes` to `path` atomically: write a temporary file in the same directory, fsync it, rename it over
/// `path`, fsync the directory. A crash leaves either the old file, the new file, or a stray temporary file that
/// the next writer removes — never a half-written `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!("{TMP_PREFIX}{name}"));
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
