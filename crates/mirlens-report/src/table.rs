//! Result tables written as CSV or JSON, atomically.

use crate::ReportError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One table cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    /// An integer.
    Int(i64),
    /// A real number (non-finite values are written as empty CSV fields / JSON `null`).
    Float(f64),
    /// Text.
    Text(String),
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}
impl From<usize> for Cell {
    fn from(v: usize) -> Self {
        Cell::Int(v as i64)
    }
}
impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Cell::Float(v)
    }
}
impl From<f32> for Cell {
    fn from(v: f32) -> Self {
        Cell::Float(v as f64)
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_string())
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}

impl Cell {
    /// The cell as one CSV field: numbers as they are; text quoted when it holds a comma, quote or line break, and
    /// neutralised against formula injection (OWASP): text that is not a number and starts with `=`, `+`, `-`,
    /// `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows it as text instead of evaluating
    /// it. Every CSV that mirlens writes for people (tables, curves, layer matrices) goes through this.
    pub fn csv(&self) -> String {
        match self {
            Cell::Int(i) => i.to_string(),
            Cell::Float(x) if x.is_finite() => format!("{x}"),
            Cell::Float(_) => String::new(),
            Cell::Text(s) => {
                let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r'])
                    && s.trim().parse::<f64>().is_err();
                let s = if risky { format!("'{s}") } else { s.clone() };
                if s.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", s.replace('"', "\"\""))
                } else {
                    s
                }
            }
        }
    }
    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Int(i) => (*i).into(),
            Cell::Float(x) => serde_json::Number::from_f64(*x)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Cell::Text(s) => s.clone().into(),
        }
    }
}

/// A table of result rows with named columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows; each has one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Table {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Append a row; errors if its length differs from the number of columns.
    pub fn push(&mut self, row: Vec<Cell>) -> Result<(), ReportError> {
        if row.len() != self.columns.len() {
            return Err(ReportError::Length {
                what: format!("table row {}", self.rows.len()),
                expected: self.columns.len(),
                got: row.len(),
            });
        }
        self.rows.push(row);
        Ok(())
    }

    /// CSV text (RFC 4180 quoting, `\n` line ends, header first).
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let head: Vec<String> = self
            .columns
            .iter()
            .map(|c| Cell::Text(c.clone()).csv())
            .collect();
        out.push_str(&head.join(","));
        out.push('\n');
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(Cell::csv).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// JSON: an array of objects keyed by column name.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.rows
                .iter()
                .map(|r| {
                    serde_json::Value::Object(
                        self.columns
                            .iter()
                            .cloned()
                            .zip(r.iter().map(Cell::json))
                            .collect(),
                    )
                })
                .collect(),
        )
    }

    /// Write CSV to `path` atomically.
    pub fn write_csv(&self, path: &Path) -> Result<(), ReportError> {
        write_atomic(path, self.to_csv().as_bytes())
    }

    /// Write pretty JSON to `path` atomically.
    pub fn write_json(&self, path: &Path) -> Result<(), ReportError> {
        let s =
            serde_json::to_string_pretty(&self.to_json()).map_err(|source| ReportError::Json {
                what: path.display().to_string(),
                source,
            })?;
        write_atomic(path, s.as_bytes())
    }
}

/// Write `bytes` to `path` through a temporary file in the same directory, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_neutralises_formulas_but_keeps_numbers() {
        let f = |s: &str| Cell::from(s).csv();
        assert_eq!(
            f("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(f("+cmd"), "'+cmd");
        assert_eq!(f("-2+3"), "'-2+3");
        assert_eq!(f("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(f("\tx"), "'\tx");
        assert_eq!(f("\r=1"), "\"'\r=1\"");
        assert_eq!(f("=1,2"), "\"'=1,2\"");
        // numbers written as text stay numbers; ordinary text is untouched
        assert_eq!(f("-0.5"), "-0.5");
        assert_eq!(f("+3"), "+3");
        assert_eq!(f("-1e-3"), "-1e-3");
        assert_eq!(f("brass"), "brass");
        assert_eq!(f("a-b"), "a-b");
        assert_eq!(Cell::from(-0.5).csv(), "-0.5");
        assert_eq!(Cell::from(-3i64).csv(), "-3");
        let mut t = Table::new(["=label", "acc"]);
        t.push(vec!["-x".into(), (-0.25).into()]).unwrap();
        assert_eq!(t.to_csv(), "'=label,acc\n'-x,-0.25\n");
    }

    #[test]
    fn csv_quotes_and_blanks_non_finite() {
        let mut t = Table::new(["layer", "label", "acc"]);
        t.push(vec![3usize.into(), "a,\"b\"".into(), 0.5.into()])
            .unwrap();
        t.push(vec![4usize.into(), "plain".into(), f64::NAN.into()])
            .unwrap();
        assert_eq!(
            t.to_csv(),
            "layer,label,acc\n3,\"a,\"\"b\"\"\",0.5\n4,plain,\n"
        );
        assert!(matches!(
            t.push(vec![1usize.into()]),
            Err(ReportError::Length {
                expected: 3,
                got: 1,
                ..
            })
        ));
        let j = t.to_json();
        assert_eq!(j[0]["label"], "a,\"b\"");
        assert_eq!(j[0]["acc"], 0.5);
        assert!(j[1]["acc"].is_null());
        assert_eq!(j[1]["layer"], 4);
    }

    #[test]
    fn atomic_write_round_trips() {
        let dir = std::env::temp_dir().join(format!("mirlens-report-test-{}", std::process::id()));
        let p = dir.join("sub").join("t.csv");
        let mut t = Table::new(["k"]);
        t.push(vec![1i64.into()]).unwrap();
        t.write_csv(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "k\n1\n");
        t.write_json(&dir.join("t.json")).unwrap();
        let back: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("t.json")).unwrap()).unwrap();
        assert_eq!(back[0]["k"], 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
