//! Writing mono WAV files (16-bit PCM or 32-bit float), atomically (temp file in the same folder, then rename).
//!
//! 16-bit conversion follows libsndfile/soundfile: `clip(lrint(x · 32768), -32768, 32767)`, so a written file
//! decodes back to `i / 32768` exactly, and `write → decode` is the identity for samples already on that grid.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Sample format of a written WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WavFormat {
    /// Signed 16-bit integer PCM (`WAVE_FORMAT_PCM`), clipped to `[-1, 1)`.
    #[default]
    Pcm16,
    /// IEEE 32-bit float (`WAVE_FORMAT_IEEE_FLOAT`), values written as is.
    Float32,
}

/// Errors of [`write_wav`].
#[derive(Debug, thiserror::Error)]
pub enum WavWriteError {
    /// Writing, syncing or renaming failed.
    #[error("{path}: cannot write WAV file")]
    Io {
        /// The destination file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A parameter is impossible.
    #[error("{path}: cannot write WAV: {parameter} = {value}, expected {expected}")]
    InvalidParameter {
        /// The destination file.
        path: PathBuf,
        /// Parameter name.
        parameter: &'static str,
        /// Given value.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
}

/// Encode mono samples as a complete WAV file in memory.
pub fn encode_wav(samples: &[f32], sample_rate: u32, format: WavFormat) -> Vec<u8> {
    let (fmt_tag, bits): (u16, u16) = match format {
        WavFormat::Pcm16 => (1, 16),
        WavFormat::Float32 => (3, 32),
    };
    let block_align = bits / 8;
    let data_len = samples.len() as u64 * block_align as u64;
    // Float files carry a `fact` chunk (required for non-PCM formats by the RIFF spec).
    let fact_len: u64 = if format == WavFormat::Float32 { 12 } else { 0 };
    let riff_len = 4 + (8 + 16) + fact_len + 8 + data_len;
    let mut out = Vec::with_capacity(riff_len as usize + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(riff_len.min(u32::MAX as u64) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&fmt_tag.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * block_align as u32).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    if format == WavFormat::Float32 {
        out.extend_from_slice(b"fact");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&(samples.len().min(u32::MAX as usize) as u32).to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data_len.min(u32::MAX as u64) as u32).to_le_bytes());
    match format {
        WavFormat::Pcm16 => {
            for &x in samples {
                out.extend_from_slice(&f32_to_i16(x).to_le_bytes());
            }
        }
        WavFormat::Float32 => {
            for &x in samples {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    out
}

/// Float sample → 16-bit integer: scale by 32768, round half to even (libsndfile's `lrintf`), clip to
/// `[-32768, 32767]`.
/// NaN becomes 0.
pub fn f32_to_i16(x: f32) -> i16 {
    if x.is_nan() {
        return 0;
    }
    let v = (x as f64 * 32768.0).round_ties_even();
    v.clamp(-32768.0, 32767.0) as i16
}

/// Write mono `samples` at `sample_rate` to `path` in `format`, atomically: the bytes go to a temporary file in the
/// same folder, are synced, and the temporary file is renamed over `path`. A reader never sees a partial file.
pub fn write_wav(
    path: &Path,
    samples: &[f32],
    sample_rate: u32,
    format: WavFormat,
) -> Result<(), WavWriteError> {
    if sample_rate == 0 {
        return Err(WavWriteError::InvalidParameter {
            path: path.to_path_buf(),
            parameter: "sample_rate",
            value: "0".into(),
            expected: "a rate > 0 Hz",
        });
    }
    let bytes_per = match format {
        WavFormat::Pcm16 => 2u64,
        WavFormat::Float32 => 4u64,
    };
    if samples.len() as u64 * bytes_per > u32::MAX as u64 - 64 {
        return Err(WavWriteError::InvalidParameter {
            path: path.to_path_buf(),
            parameter: "samples",
            value: samples.len().to_string(),
            expected: "fewer samples than fit in a 4 GiB RIFF file",
        });
    }
    let bytes = encode_wav(samples, sample_rate, format);
    write_atomic(path, &bytes).map_err(|source| WavWriteError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Write `bytes` to `path` through a temporary sibling file and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out.wav".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i16_conversion_rounds_and_clips() {
        assert_eq!(f32_to_i16(0.0), 0);
        assert_eq!(f32_to_i16(1.0), 32767);
        assert_eq!(f32_to_i16(-1.0), -32768);
        assert_eq!(f32_to_i16(2.0), 32767);
        assert_eq!(f32_to_i16(0.5), 16384);
        assert_eq!(f32_to_i16(-3.0 / 32768.0), -3);
        assert_eq!(f32_to_i16(f32::NAN), 0);
    }

    #[test]
    fn header_fields_are_riff_conformant() {
        let b = encode_wav(&[0.0, 0.5, -0.5], 16000, WavFormat::Pcm16);
        assert_eq!(&b[0..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize,
            b.len() - 8
        );
        assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), 16000);
        assert_eq!(u32::from_le_bytes(b[40..44].try_into().unwrap()), 6);
        assert_eq!(i16::from_le_bytes(b[46..48].try_into().unwrap()), 16384);
        let f = encode_wav(&[0.25], 8000, WavFormat::Float32);
        assert_eq!(u16::from_le_bytes(f[20..22].try_into().unwrap()), 3);
        assert_eq!(
            f32::from_le_bytes(f[f.len() - 4..].try_into().unwrap()),
            0.25
        );
    }
}
