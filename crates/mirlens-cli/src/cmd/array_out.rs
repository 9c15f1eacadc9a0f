//! Arrays written to disk as they are computed, so that long inputs never need their whole output in memory.
//!
//! * [`RowWriter`]: an `.npy` of known shape `[rows, cols]` filled row by row (frame-major outputs such as
//!   `embed`'s `[frames, hidden]`).
//! * [`FrameSpool`]: frames of unknown count spooled to a scratch file, then written transposed as `[bins, frames]`
//!   (`features`' librosa layout) in blocks, with a per-frame transform applied on the way (dB floor, DCT).
//!
//! Both write to a hidden temporary file beside the destination and rename it into place when complete, so an
//! interrupted run never leaves a half-written output; temporaries are removed on failure.

use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Frames per block when transposing a spool (block memory: `BLOCK_FRAMES · bins · 4` bytes).
const BLOCK_FRAMES: usize = 4096;

/// A temporary file beside `dest`, removed on drop unless it was renamed into place.
struct Temp {
    path: PathBuf,
    keep: bool,
}

impl Temp {
    fn new(dest: &Path, tag: &str) -> Temp {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Temp {
            path: dest.with_file_name(format!(".{name}.{tag}-{}", std::process::id())),
            keep: false,
        }
    }

    fn create(&self) -> anyhow::Result<File> {
        File::create(&self.path).with_context(|| format!("creating {}", self.path.display()))
    }

    fn commit(mut self, dest: &Path) -> anyhow::Result<()> {
        std::fs::rename(&self.path, dest).with_context(|| format!("writing {}", dest.display()))?;
        self.keep = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Header of an `.npy` (format 1.0) float32 array of `shape`.
pub fn npy_header(shape: &[usize]) -> Vec<u8> {
    super::features::npy_bytes(shape, &[])
}

/// Header of a safetensors file holding one float32 tensor `name` of `shape`, with `metadata`.
pub fn safetensors_header(
    name: &str,
    shape: &[usize],
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let n: usize = shape.iter().product();
    let header = serde_json::json!({
        "__metadata__": metadata,
        name: {"dtype": "F32", "shape": shape, "data_offsets": [0, 4 * n]},
    });
    let mut text = header.to_string();
    // the data starts 8-byte aligned, as the safetensors writer pads it
    text.push_str(&" ".repeat((8 - (8 + text.len()) % 8) % 8));
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

fn le_bytes(v: &[f32], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// An `.npy` file of shape `[rows, cols]` written row by row (see the module docs).
pub struct RowWriter {
    dest: PathBuf,
    tmp: Temp,
    out: BufWriter<File>,
    rows: usize,
    cols: usize,
    written: usize,
    bytes: Vec<u8>,
}

impl RowWriter {
    /// Start `dest` (written when [`RowWriter::commit`] is called).
    pub fn create(dest: &Path, rows: usize, cols: usize) -> anyhow::Result<RowWriter> {
        let tmp = Temp::new(dest, "tmp");
        let mut out = BufWriter::with_capacity(1 << 20, tmp.create()?);
        out.write_all(&npy_header(&[rows, cols]))
            .with_context(|| format!("writing {}", tmp.path.display()))?;
        Ok(RowWriter {
            dest: dest.to_path_buf(),
            tmp,
            out,
            rows,
            cols,
            written: 0,
            bytes: Vec::new(),
        })
    }

    /// Append whole rows (`values.len()` a multiple of `cols`).
    pub fn push(&mut self, values: &[f32]) -> anyhow::Result<()> {
        let n = values.len() / self.cols.max(1);
        if n * self.cols != values.len() || self.written + n > self.rows {
            bail!(
                "{}: {} values do not continue a [{}, {}] array at row {}",
                self.dest.display(),
                values.len(),
                self.rows,
                self.cols,
                self.written
            );
        }
        le_bytes(values, &mut self.bytes);
        self.out
            .write_all(&self.bytes)
            .with_context(|| format!("writing {}", self.tmp.path.display()))?;
        self.written += n;
        Ok(())
    }

    /// Check that every row was written and put the file in place.
    pub fn commit(self) -> anyhow::Result<()> {
        if self.written != self.rows {
            bail!(
                "{}: {} of {} rows written",
                self.dest.display(),
                self.written,
                self.rows
            );
        }
        let file = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("writing {}", self.tmp.path.display()))?;
        drop(file);
        self.tmp.commit(&self.dest)
    }
}

/// Frames of `bins` values spooled to a scratch file beside the destination (see the module docs).
pub struct FrameSpool {
    dest: PathBuf,
    spool: Temp,
    out: BufWriter<File>,
    bins: usize,
    frames: usize,
    bytes: Vec<u8>,
}

impl FrameSpool {
    /// A spool for the output `dest`.
    pub fn create(dest: &Path, bins: usize) -> anyhow::Result<FrameSpool> {
        let spool = Temp::new(dest, "frames");
        let out = BufWriter::with_capacity(1 << 20, spool.create()?);
        Ok(FrameSpool {
            dest: dest.to_path_buf(),
            spool,
            out,
            bins,
            frames: 0,
            bytes: Vec::new(),
        })
    }

    /// Frames spooled so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Append one frame (`bins` values).
    pub fn push(&mut self, frame: &[f32]) -> anyhow::Result<()> {
        debug_assert_eq!(frame.len(), self.bins);
        le_bytes(frame, &mut self.bytes);
        self.out
            .write_all(&self.bytes)
            .with_context(|| format!("writing {}", self.spool.path.display()))?;
        self.frames += 1;
        Ok(())
    }

    /// Write `dest` = `header(frames)` followed by the `[out_bins, frames]` array whose column `t` is
    /// `transform(spooled frame t)`; the spool is removed.
    pub fn finish_transposed(
        self,
        out_bins: usize,
        header: impl FnOnce(usize) -> Vec<u8>,
        mut transform: impl FnMut(&[f32], &mut [f32]),
    ) -> anyhow::Result<()> {
        let FrameSpool {
            dest,
            spool,
            out,
            bins,
            frames,
            ..
        } = self;
        let spool_file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("writing {}", spool.path.display()))?;
        drop(spool_file);
        let mut input = BufReader::with_capacity(
            1 << 20,
            File::open(&spool.path).with_context(|| format!("reading {}", spool.path.display()))?,
        );
        let tmp = Temp::new(&dest, "tmp");
        let file = tmp.create()?;
        let head = header(frames);
        let io = |e| anyhow::Error::new(e).context(format!("writing {}", tmp.path.display()));
        file.write_all_at(&head, 0).map_err(io)?;
        file.set_len(head.len() as u64 + 4 * (out_bins * frames) as u64)
            .map_err(io)?;
        let mut raw = vec![0u8; BLOCK_FRAMES * bins * 4];
        let mut frame = vec![0f32; bins];
        let mut block = vec![0f32; BLOCK_FRAMES * out_bins];
        let mut col = vec![0f32; out_bins];
        let mut row = Vec::with_capacity(BLOCK_FRAMES * 4);
        let mut t0 = 0;
        while t0 < frames {
            let n = BLOCK_FRAMES.min(frames - t0);
            input
                .read_exact(&mut raw[..n * bins * 4])
                .with_context(|| format!("reading {}", spool.path.display()))?;
            for j in 0..n {
                for (b, v) in frame.iter_mut().enumerate() {
                    let o = (j * bins + b) * 4;
                    *v = f32::from_le_bytes([raw[o], raw[o + 1], raw[o + 2], raw[o + 3]]);
                }
                // block is bin-major: block[b * n + j]
                transform(&frame, &mut col);
                for (b, &v) in col.iter().enumerate() {
                    block[b * n + j] = v;
                }
            }
            for b in 0..out_bins {
                le_bytes(&block[b * n..(b + 1) * n], &mut row);
                let offset = head.len() as u64 + 4 * (b * frames + t0) as u64;
                file.write_all_at(&row, offset).map_err(io)?;
            }
            t0 += n;
        }
        drop(file);
        drop(input);
        tmp.commit(&dest)?;
        drop(spool);
        Ok(())
    }
}
