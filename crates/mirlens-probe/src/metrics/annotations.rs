//! Annotation files read as `mir_eval.io` 0.8.2 reads them, and validated as mir_eval's metric modules validate
//! them (`util.validate_events`, `util.validate_intervals`, `transcription.validate`, `key.validate_key`,
//! `melody.validate`, `chord.validate`).
//!
//! Reading (`io.load_delimited`): lines are split on universal newlines; a line whose raw text starts with `#` is a
//! comment; every other line (blank ones too) is stripped and split on runs of whitespace into exactly the number
//! of columns the loader expects (the last column keeps any further whitespace, so chord labels may contain
//! spaces); numbers are parsed as Python's `float()` does (`nan`, `inf`, `1_000`). A wrong column count is
//! [`ProbeError::Parse`] "expected N columns, got M"; a value that is not a number is [`ProbeError::Parse`]
//! "could not convert …". Line numbers count every line, comments included, from 1.
//!
//! Validation (mir_eval's `ValueError`s) is [`ProbeError::Annotation`]: events sorted (non-decreasing) and at most
//! [`MAX_TIME`] s; intervals non-negative with strictly positive duration; note pitches positive; one key per key
//! file, in the form `<tonic> <mode>`. Stricter than mir_eval, documented in docs/reliability.md: every time must
//! be finite (mir_eval lets NaN through its comparisons) and event times non-negative; melody times must be
//! finite, non-negative and non-decreasing, melody frequencies finite. A UTF-8 byte-order mark at the start of a
//! file is ignored.

use crate::error::{ProbeError, Result};
use crate::metrics::mir::{LabeledIntervals, Note, parse_key};

/// Largest event time accepted (mir_eval `beat.MAX_TIME`, `onset.MAX_TIME`): 30000 s.
pub const MAX_TIME: f64 = 30000.0;

/// Parse a number as Python's `float()` does on an already stripped field: optional sign, digits with single
/// underscores between digits, decimal point, exponent, `inf`/`infinity`/`nan` in any case.
pub fn py_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let cleaned: String = if t.contains('_') {
        let b: Vec<char> = t.chars().collect();
        for (i, c) in b.iter().enumerate() {
            if *c == '_' {
                let ok = i > 0
                    && i + 1 < b.len()
                    && b[i - 1].is_ascii_digit()
                    && b[i + 1].is_ascii_digit();
                if !ok {
                    return None;
                }
            }
        }
        t.chars().filter(|c| *c != '_').collect()
    } else {
        t.to_string()
    };
    let lower = cleaned.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if lower.len() - body.len() > 1 {
        return None;
    }
    if matches!(body, "inf" | "infinity" | "nan") {
        let neg = lower.starts_with('-');
        return Some(match (body, neg) {
            ("nan", _) => f64::NAN,
            (_, true) => f64::NEG_INFINITY,
            _ => f64::INFINITY,
        });
    }
    // Only digits, '.', 'e', signs after 'e' remain valid; Rust's parser agrees with Python's on these.
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
    {
        return None;
    }
    cleaned.parse::<f64>().ok()
}

/// Lines as Python's text-mode iteration yields them (universal newlines), without their line endings.
fn py_lines(text: &str) -> Vec<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' || b[i] == b'\r' {
            out.push(&text[start..i]);
            if b[i] == b'\r' && i + 1 < b.len() && b[i + 1] == b'\n' {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < b.len() {
        out.push(&text[start..]);
    }
    out
}

/// `re.split(r"\s+", line.strip(), maxsplit)`.
fn py_split(line: &str, maxsplit: usize) -> Vec<&str> {
    let s = line.trim();
    let mut out = Vec::new();
    let mut rest = s;
    while out.len() < maxsplit {
        match rest.find(char::is_whitespace) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = rest[i..].trim_start();
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

/// `io.load_delimited` with `n_columns` string columns: `(line number, fields)` per data line.
pub fn load_delimited<'a>(
    text: &'a str,
    path: &str,
    n_columns: usize,
) -> Result<Vec<(usize, Vec<&'a str>)>> {
    let mut rows = Vec::new();
    for (i, line) in py_lines(text).into_iter().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let fields = py_split(line, n_columns.saturating_sub(1));
        if fields.len() != n_columns {
            return Err(ProbeError::Parse {
                path: path.into(),
                line: i + 1,
                reason: format!(
                    "expected {n_columns} columns, got {}: {line:?}",
                    fields.len()
                ),
            });
        }
        rows.push((i + 1, fields));
    }
    Ok(rows)
}

fn number(path: &str, line: usize, v: &str) -> Result<f64> {
    py_float(v).ok_or_else(|| ProbeError::Parse {
        path: path.into(),
        line,
        reason: format!("could not convert value {v:?} to a number"),
    })
}

fn invalid(path: &str, reason: impl Into<String>) -> ProbeError {
    ProbeError::Annotation {
        path: path.into(),
        reason: reason.into(),
    }
}

fn check_finite(path: &str, what: &str, v: &[f64]) -> Result<()> {
    if let Some(x) = v.iter().find(|x| !x.is_finite()) {
        return Err(invalid(path, format!("{what}: non-finite value {x}")));
    }
    Ok(())
}

/// `util.validate_events` (plus finite and non-negative times).
pub fn validate_events(path: &str, events: &[f64]) -> Result<()> {
    check_finite(path, "event times", events)?;
    if let Some(m) = events.iter().copied().find(|&t| t > MAX_TIME) {
        return Err(invalid(
            path,
            format!(
                "an event at time {m} was found which is greater than the maximum allowable time of \
                 max_time = {MAX_TIME} (did you supply event times in seconds?)"
            ),
        ));
    }
    if let Some(t) = events.iter().find(|&&t| t < 0.0) {
        return Err(invalid(path, format!("negative event time {t} found")));
    }
    if events.windows(2).any(|w| w[1] < w[0]) {
        return Err(invalid(path, "events should be in increasing order"));
    }
    Ok(())
}

/// `util.validate_intervals` (plus finite times).
pub fn validate_intervals(path: &str, intervals: &[(f64, f64)]) -> Result<()> {
    for &(s, e) in intervals {
        check_finite(path, "interval times", &[s, e])?;
        if s < 0.0 || e < 0.0 {
            return Err(invalid(path, "negative interval times found"));
        }
        if e <= s {
            return Err(invalid(
                path,
                format!("all interval durations must be strictly positive (found [{s}, {e}])"),
            ));
        }
    }
    Ok(())
}

/// `io.load_events` + `beat.validate` / `onset.validate`: one time per line.
pub fn load_events(text: &str, path: &str) -> Result<Vec<f64>> {
    let v = load_delimited(text, path, 1)?
        .into_iter()
        .map(|(l, f)| number(path, l, f[0]))
        .collect::<Result<Vec<f64>>>()?;
    validate_events(path, &v)?;
    Ok(v)
}

/// `io.load_valued_intervals` + `transcription.validate`: `onset offset pitch_hz` per line.
pub fn load_notes(text: &str, path: &str) -> Result<Vec<Note>> {
    let mut notes = Vec::new();
    for (l, f) in load_delimited(text, path, 3)? {
        notes.push(Note {
            onset: number(path, l, f[0])?,
            offset: number(path, l, f[1])?,
            pitch_hz: number(path, l, f[2])?,
        });
    }
    validate_intervals(
        path,
        &notes
            .iter()
            .map(|n| (n.onset, n.offset))
            .collect::<Vec<_>>(),
    )?;
    let pitches: Vec<f64> = notes.iter().map(|n| n.pitch_hz).collect();
    check_finite(path, "pitches", &pitches)?;
    if pitches.iter().any(|&p| p <= 0.0) {
        return Err(invalid(
            path,
            "contains at least one non-positive pitch value",
        ));
    }
    Ok(notes)
}

/// `io.load_labeled_intervals` + `util.validate_intervals`: `start end label` per line (the label is the rest of
/// the line).
pub fn load_labeled_intervals(text: &str, path: &str) -> Result<LabeledIntervals> {
    let mut iv = Vec::new();
    let mut labels = Vec::new();
    for (l, f) in load_delimited(text, path, 3)? {
        iv.push((number(path, l, f[0])?, number(path, l, f[1])?));
        labels.push(f[2].to_string());
    }
    validate_intervals(path, &iv)?;
    Ok((iv, labels))
}

/// `io.load_time_series` + the melody checks: `time frequency` per line (frequency ≤ 0 = unvoiced).
pub fn load_time_series(text: &str, path: &str) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut t, mut f) = (Vec::new(), Vec::new());
    for (l, v) in load_delimited(text, path, 2)? {
        t.push(number(path, l, v[0])?);
        f.push(number(path, l, v[1])?);
    }
    check_finite(path, "times", &t)?;
    check_finite(path, "frequencies", &f)?;
    if let Some(x) = t.iter().find(|&&x| x < 0.0) {
        return Err(invalid(path, format!("negative time {x} found")));
    }
    if t.windows(2).any(|w| w[1] < w[0]) {
        return Err(invalid(path, "times should be in increasing order"));
    }
    Ok((t, f))
}

/// `io.load_key` + `key.validate_key`: exactly one line `<tonic> <mode>` (any whitespace between).
pub fn load_key(text: &str, path: &str) -> Result<String> {
    let rows = load_delimited(text, path, 2)?;
    if rows.len() != 1 {
        return Err(invalid(
            path,
            format!(
                "key file should contain only one line (found {})",
                rows.len()
            ),
        ));
    }
    let key = format!("{} {}", rows[0].1[0], rows[0].1[1]);
    parse_key(&key).map_err(|e| invalid(path, e.to_string()))?;
    Ok(key)
}
