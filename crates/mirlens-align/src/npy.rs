//! Reading and writing 2-D `.npy` matrices (little-endian `f4`/`f8`, C order), the plain-matrix input of
//! `mirlens align`.

use crate::error::{AlignError, Result, io_err};
use crate::linalg::{self, Matrix};
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

fn bad(path: &Path, offset: usize, reason: impl Into<String>) -> AlignError {
    AlignError::Npy {
        path: path.to_path_buf(),
        offset,
        reason: reason.into(),
    }
}

fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = header[at + key.len() + 2..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    Some(rest)
}

/// Parse a `.npy` buffer holding a 2-D float matrix (1-D arrays are read as one column).
pub fn parse(bytes: &[u8], path: &Path) -> Result<Matrix> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad(path, 0, "missing \\x93NUMPY magic"));
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad(path, 8, "truncated header length"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(path, 6, format!("unsupported format version {v}"))),
    };
    let end = start + hlen;
    if bytes.len() < end {
        return Err(bad(path, start, "truncated header"));
    }
    let header = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| bad(path, start, "header is not UTF-8"))?;
    let descr =
        header_value(header, "descr").ok_or_else(|| bad(path, start, "no 'descr' in header"))?;
    // (byte width, kind): b'f' float, b'i' signed, b'u' unsigned integer.
    let dtype = descr.split(',').next().unwrap_or("").trim();
    let (width, kind) = match dtype {
        "'<f4'" => (4, b'f'),
        "'<f8'" => (8, b'f'),
        "'|i1'" => (1, b'i'),
        "'<i2'" => (2, b'i'),
        "'<i4'" => (4, b'i'),
        "'<i8'" => (8, b'i'),
        "'|u1'" => (1, b'u'),
        "'<u2'" => (2, b'u'),
        "'<u4'" => (4, b'u'),
        "'<u8'" => (8, b'u'),
        other => {
            return Err(bad(
                path,
                start,
                format!("dtype {other} is not little-endian float32/float64 or an integer type"),
            ));
        }
    };
    let fortran = header_value(header, "fortran_order")
        .ok_or_else(|| bad(path, start, "no 'fortran_order'"))?;
    if !fortran.starts_with("False") {
        return Err(bad(
            path,
            start,
            "Fortran-order arrays are not supported; save with np.ascontiguousarray",
        ));
    }
    let shape = header_value(header, "shape").ok_or_else(|| bad(path, start, "no 'shape'"))?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad(path, start, "malformed shape"))?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(path, start, format!("bad dimension {s:?}")))
        })
        .collect::<Result<_>>()?;
    let (rows, cols) = match dims.as_slice() {
        [r] => (*r, 1),
        [r, c] => (*r, *c),
        d => {
            return Err(bad(
                path,
                start,
                format!("expected a 2-D array, got shape {d:?}"),
            ));
        }
    };
    let need = rows * cols * width;
    if bytes.len() - end != need {
        return Err(bad(
            path,
            end,
            format!(
                "data holds {} bytes, shape ({rows}, {cols}) needs {need}",
                bytes.len() - end
            ),
        ));
    }
    let data = &bytes[end..];
    if kind != b'f' {
        let v: Vec<f64> = data
            .chunks_exact(width)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..width].copy_from_slice(c);
                if kind == b'i' && c[width - 1] & 0x80 != 0 {
                    b[width..].fill(0xff);
                }
                if kind == b'i' {
                    i64::from_le_bytes(b) as f64
                } else {
                    u64::from_le_bytes(b) as f64
                }
            })
            .collect();
        return Ok(linalg::from_rows_f64(&v, rows, cols));
    }
    Ok(if width == 4 {
        let v: Vec<f32> = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        linalg::from_rows_f32(&v, rows, cols)
    } else {
        let v: Vec<f64> = data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("chunk of 8")))
            .collect();
        linalg::from_rows_f64(&v, rows, cols)
    })
}

/// Class labels from a `.npy` file: a 1-D (or `[n, 1]`) array of non-negative integers (any integer dtype, or
/// floats holding whole numbers).
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    let path = path.as_ref();
    let m = read(path)?;
    if m.ncols() != 1 {
        return Err(bad(
            path,
            0,
            format!(
                "labels must be 1-D, got shape ({}, {})",
                m.nrows(),
                m.ncols()
            ),
        ));
    }
    (0..m.nrows())
        .map(|i| {
            let v = m[(i, 0)];
            if v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64 {
                Ok(v as usize)
            } else {
                Err(bad(
                    path,
                    0,
                    format!("label {v} of row {i} is not a non-negative integer"),
                ))
            }
        })
        .collect()
}

/// Read a 2-D `.npy` matrix of `f4`, `f8` or integers (as `f64`).
pub fn read(path: impl AsRef<Path>) -> Result<Matrix> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    parse(&bytes, path)
}

/// Encode a row-major `f64` matrix as `.npy` (`<f8`, C order).
pub fn encode_f64(data: &[f64], rows: usize, cols: usize) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Write a matrix as `.npy` (`<f8`) atomically (temporary file, then rename).
pub fn write(path: impl AsRef<Path>, m: &Matrix) -> Result<()> {
    let rows = linalg::to_rows(m.as_ref());
    mirlens_report::write_atomic(path.as_ref(), &encode_f64(&rows, m.nrows(), m.ncols()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let m = faer::Mat::from_fn(3, 2, |i, j| i as f64 * 10.0 + j as f64 + 0.25);
        let bytes = encode_f64(&linalg::to_rows(m.as_ref()), 3, 2);
        let back = parse(&bytes, Path::new("m.npy")).unwrap();
        assert_eq!(back, m);
        let err = parse(&bytes[..bytes.len() - 1], Path::new("m.npy")).unwrap_err();
        assert!(err.to_string().contains("needs 48"), "{err}");
        assert!(parse(b"nope", Path::new("m.npy")).is_err());
    }
}
