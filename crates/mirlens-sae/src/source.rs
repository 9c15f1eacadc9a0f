//! Where training and evaluation rows come from: the [`ActivationSource`] trait, an in-memory matrix, and row
//! metadata (clip id, time, labels, source tag) used by feature analysis.

use crate::error::{Result, SaeError};
use mirlens_core::LabelSet;

/// Metadata of one activation row (one token / frame).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowMeta {
    /// Clip (file, item) the row comes from.
    pub clip_id: String,
    /// Time of the frame in seconds (or the token position for symbolic/text sources).
    pub time: f64,
    /// Labels of the row (pitch, instrument, …).
    pub labels: LabelSet,
    /// Source tag used by tendency classification (e.g. `audio` / `midi`, or a dataset name).
    pub source: Option<String>,
}

/// A matrix of activation rows `[num_rows, d_in]` that can be read by row index, in any order.
///
/// Implementations: [`Matrix`] (in memory) and [`crate::store_source::StoreSource`] (one layer of an activation
/// store). Training reads shuffled batches through [`ActivationSource::fill_rows`].
pub trait ActivationSource: Sync {
    /// Width of one row.
    fn d_in(&self) -> usize;
    /// Number of rows.
    fn num_rows(&self) -> usize;
    /// Copy the rows `rows` (indices into `0..num_rows`) into `out` (`rows.len() × d_in`, row-major).
    fn fill_rows(&self, rows: &[usize], out: &mut [f32]) -> Result<()>;
    /// Metadata of row `row`, if the source has any.
    fn meta(&self, row: usize) -> Option<RowMeta> {
        let _ = row;
        None
    }
}

/// A dense row-major f32 matrix held in memory; also the simplest [`ActivationSource`].
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows × cols` values, row-major.
    pub data: Vec<f32>,
    /// Optional per-row metadata (empty, or one entry per row).
    pub meta: Vec<RowMeta>,
}

impl Matrix {
    /// Wrap a buffer; errors if its length is not `rows × cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(SaeError::shape("matrix data", rows * cols, data.len()));
        }
        Ok(Matrix {
            rows,
            cols,
            data,
            meta: Vec::new(),
        })
    }

    /// Attach metadata (one entry per row).
    pub fn with_meta(mut self, meta: Vec<RowMeta>) -> Result<Self> {
        if meta.len() != self.rows {
            return Err(SaeError::shape("row metadata", self.rows, meta.len()));
        }
        self.meta = meta;
        Ok(self)
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Read every row of a source into memory.
    pub fn from_source(src: &dyn ActivationSource) -> Result<Self> {
        let (n, d) = (src.num_rows(), src.d_in());
        let mut data = vec![0.0f32; n * d];
        let chunk = 4096usize;
        let mut start = 0;
        while start < n {
            let end = (start + chunk).min(n);
            let idx: Vec<usize> = (start..end).collect();
            src.fill_rows(&idx, &mut data[start * d..end * d])?;
            start = end;
        }
        let meta: Vec<RowMeta> = (0..n).map_while(|i| src.meta(i)).collect();
        let meta = if meta.len() == n { meta } else { Vec::new() };
        Ok(Matrix {
            rows: n,
            cols: d,
            data,
            meta,
        })
    }
}

impl ActivationSource for Matrix {
    fn d_in(&self) -> usize {
        self.cols
    }
    fn num_rows(&self) -> usize {
        self.rows
    }
    fn fill_rows(&self, rows: &[usize], out: &mut [f32]) -> Result<()> {
        let d = self.cols;
        if out.len() != rows.len() * d {
            return Err(SaeError::shape(
                "fill_rows output",
                rows.len() * d,
                out.len(),
            ));
        }
        for (o, &r) in out.chunks_exact_mut(d).zip(rows) {
            if r >= self.rows {
                return Err(SaeError::Source {
                    message: format!("row {r} out of range 0..{}", self.rows),
                });
            }
            o.copy_from_slice(self.row(r));
        }
        Ok(())
    }
    fn meta(&self, row: usize) -> Option<RowMeta> {
        self.meta.get(row).cloned()
    }
}

/// A view of a source restricted to a subset of its rows (train / eval splits).
pub struct Subset<'a> {
    /// The underlying source.
    pub inner: &'a dyn ActivationSource,
    /// Row indices into `inner`.
    pub rows: Vec<usize>,
}

impl ActivationSource for Subset<'_> {
    fn d_in(&self) -> usize {
        self.inner.d_in()
    }
    fn num_rows(&self) -> usize {
        self.rows.len()
    }
    fn fill_rows(&self, rows: &[usize], out: &mut [f32]) -> Result<()> {
        let mapped: Vec<usize> = rows
            .iter()
            .map(|&r| self.rows.get(r).copied().unwrap_or(usize::MAX))
            .collect();
        self.inner.fill_rows(&mapped, out)
    }
    fn meta(&self, row: usize) -> Option<RowMeta> {
        self.rows.get(row).and_then(|&r| self.inner.meta(r))
    }
}
