//! # mirlens-test-support
//!
//! Dev-only helpers shared by the test suites of every mirlens crate:
//!
//! * [`golden`] — load golden fixtures written by `tests/golden/<case>/generate.py` (safetensors + JSON);
//! * [`assert_close`] — compare arrays against a reference under a named [`Tolerance`] tier and report the worst
//!   element (index, values, error) when they differ;
//! * [`signals`] — deterministic test signals (tones, chords, sweeps, seeded noise);
//! * [`dir_files`] — every file under a directory with its bytes, for byte-identity checks of written outputs.

pub mod golden;
pub mod signals;

pub use mirlens_core::Tolerance;

use std::path::{Path, PathBuf};

/// Absolute path of the workspace root (the directory holding the virtual `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|p| p.join("Cargo.toml").is_file() && p.join("crates").is_dir())
        .map(|p| p.to_path_buf())
        .unwrap_or(here)
}

/// Every file below `dir` as `(path relative to dir, bytes)`, sorted by path (e.g. to compare two stores byte for
/// byte). Panics on I/O errors: test use only.
pub fn dir_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                out.push((p.strip_prefix(dir).unwrap_or(&p).to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// Path of `tests/golden/<case>` in the workspace.
pub fn golden_dir(case: &str) -> PathBuf {
    workspace_root().join("tests").join("golden").join(case)
}

/// Summary of a comparison: the worst absolute and relative error and where it occurred.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloseReport {
    /// Largest `|actual - expected|`.
    pub max_abs: f64,
    /// Largest `|actual - expected| / max(|expected|, 1e-12)` among elements.
    pub max_rel: f64,
    /// Index of the element with the largest violation of the tolerance (or the largest abs error).
    pub worst_index: usize,
    /// Number of elements outside the tolerance.
    pub violations: usize,
}

/// Compare two arrays element-wise. Returns the report; never panics.
pub fn compare(actual: &[f32], expected: &[f32], tol: Tolerance) -> CloseReport {
    let mut rep = CloseReport {
        max_abs: 0.0,
        max_rel: 0.0,
        worst_index: 0,
        violations: 0,
    };
    let mut worst_excess = f64::NEG_INFINITY;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let (a, e) = (a as f64, e as f64);
        let abs = if a.is_nan() && e.is_nan() {
            0.0
        } else {
            (a - e).abs()
        };
        let abs = if abs.is_nan() { f64::INFINITY } else { abs };
        let rel = abs / e.abs().max(1e-12);
        rep.max_abs = rep.max_abs.max(abs);
        rep.max_rel = rep.max_rel.max(rel);
        let excess = abs - (tol.atol + tol.rtol * e.abs());
        if excess > 0.0 {
            rep.violations += 1;
        }
        if excess > worst_excess {
            worst_excess = excess;
            rep.worst_index = i;
        }
    }
    rep
}

/// Assert that `actual` matches `expected` under `tol`; on failure the panic names `what`, the tier, the number of
/// violating elements and the worst one. Returns the report so tests can print the achieved maxima.
#[track_caller]
pub fn assert_close(what: &str, actual: &[f32], expected: &[f32], tol: Tolerance) -> CloseReport {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: length {} differs from reference length {}",
        actual.len(),
        expected.len()
    );
    let rep = compare(actual, expected, tol);
    if rep.violations > 0 {
        let i = rep.worst_index;
        panic!(
            "{what}: {} of {} elements outside tier {} (atol {}, rtol {}); worst at index {i}: got {} expected {}; \
             max abs {:.3e}, max rel {:.3e}",
            rep.violations,
            actual.len(),
            tol.name,
            tol.atol,
            tol.rtol,
            actual[i],
            expected[i],
            rep.max_abs,
            rep.max_rel
        );
    }
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_finds_the_worst_element() {
        let r = compare(&[1.0, 2.0, 3.5], &[1.0, 2.0, 3.0], Tolerance::TIGHT);
        assert_eq!(r.violations, 1);
        assert_eq!(r.worst_index, 2);
        assert!((r.max_abs - 0.5).abs() < 1e-12);
    }

    #[test]
    #[should_panic(expected = "outside tier tight")]
    fn assert_close_panics_with_context() {
        assert_close("demo", &[0.0, 1.0], &[0.0, 1.1], Tolerance::TIGHT);
    }

    #[test]
    fn workspace_root_has_the_crates_folder() {
        assert!(
            workspace_root()
                .join("crates")
                .join("mirlens-core")
                .is_dir()
        );
    }
}
