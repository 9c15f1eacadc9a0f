//! # mirlens-report
//!
//! SVG plots and result tables for mirlens analyses. Everything is written by hand (no plotting library), so the
//! output is small, deterministic and easy to test:
//!
//! * [`LineChart`] — several series, optional confidence band or error bars per series, linear or log-10 x axis;
//! * [`Heatmap`] — a matrix with row/column labels and a colour bar;
//! * [`BarChart`] — one bar per label with optional error bars;
//! * [`Table`] — result rows written as CSV or JSON (atomically, via [`write_atomic`]);
//! * [`site::write_report`] — the offline HTML report of a run directory, built from [`html`]'s escaped
//!   fragments and the charts above.
//!
//! Plots share one geometry ([`Frame`]): a fixed canvas with margins, so a test can compute where a data point must
//! be drawn. Every data point carries `data-x`/`data-y` attributes with its data coordinates.

pub mod html;
pub mod site;
mod svg;
mod table;

pub use svg::{BarChart, ErrorDisplay, Frame, Heatmap, LineChart, Scale, Series, colormap};
pub use table::{Cell, Table, write_atomic};

/// Errors raised while building plots or tables.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A series, table row or matrix has the wrong number of entries.
    #[error("{what}: expected {expected} values, got {got}")]
    Length {
        /// What was being checked.
        what: String,
        /// Expected count.
        expected: usize,
        /// Actual count.
        got: usize,
    },
    /// A value cannot be drawn (non-positive on a log axis, nothing finite to plot).
    #[error("{what}: {reason}")]
    Value {
        /// What was being checked.
        what: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// Writing a file failed.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// JSON serialisation failed.
    #[error("cannot serialise {what} as JSON")]
    Json {
        /// What was serialised.
        what: String,
        /// The serde error.
        source: serde_json::Error,
    },
}
