//! Small dense linear-algebra helpers over `faer` (f64, column-major).

use crate::error::{AlignError, Result};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par, Side};

/// A dense matrix of items (rows) by features (columns).
pub type Matrix = Mat<f64>;

/// The parallelism faer uses (rayon's pool).
pub(crate) fn par() -> Par {
    faer::get_global_parallelism()
}

/// A matrix from row-major `f32` values.
pub fn from_rows_f32(data: &[f32], rows: usize, cols: usize) -> Matrix {
    Mat::from_fn(rows, cols, |i, j| data[i * cols + j] as f64)
}

/// A matrix from row-major `f64` values.
pub fn from_rows_f64(data: &[f64], rows: usize, cols: usize) -> Matrix {
    Mat::from_fn(rows, cols, |i, j| data[i * cols + j])
}

/// Row-major copy of a matrix.
pub fn to_rows(m: MatRef<'_, f64>) -> Vec<f64> {
    let mut out = Vec::with_capacity(m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.push(m[(i, j)]);
        }
    }
    out
}

/// Check that every value is finite and the matrix is not empty.
pub fn check_finite(m: MatRef<'_, f64>, what: &str) -> Result<()> {
    if m.nrows() == 0 || m.ncols() == 0 {
        return Err(AlignError::Empty {
            what: what.to_string(),
            rows: m.nrows(),
            cols: m.ncols(),
        });
    }
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            if !m[(i, j)].is_finite() {
                return Err(AlignError::NonFinite {
                    what: what.to_string(),
                    row: i,
                    col: j,
                });
            }
        }
    }
    Ok(())
}

/// Column means.
pub fn col_means(m: MatRef<'_, f64>) -> Vec<f64> {
    let n = m.nrows().max(1) as f64;
    (0..m.ncols())
        .map(|j| m.col(j).iter().sum::<f64>() / n)
        .collect()
}

/// Copy with column means removed.
pub fn centered(m: MatRef<'_, f64>) -> Matrix {
    let mu = col_means(m);
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] - mu[j])
}

/// Rows selected (with repetition) by `idx`.
pub fn select_rows(m: MatRef<'_, f64>, idx: &[usize]) -> Matrix {
    Mat::from_fn(idx.len(), m.ncols(), |i, j| m[(idx[i], j)])
}

/// `a @ b`.
pub fn mul(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Matrix {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    matmul(out.as_mut(), Accum::Replace, a, b, 1.0, par());
    out
}

/// `aᵀ @ b`.
pub fn tmul(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Matrix {
    mul(a.transpose(), b)
}

/// `a @ aᵀ` (the linear-kernel Gram matrix of the rows).
pub fn gram(a: MatRef<'_, f64>) -> Matrix {
    mul(a, a.transpose())
}

/// Squared Frobenius norm.
pub fn fro2(m: MatRef<'_, f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..m.ncols() {
        for v in m.col(j).iter() {
            s += v * v;
        }
    }
    s
}

/// Singular values, descending.
pub fn singular_values(m: MatRef<'_, f64>) -> Result<Vec<f64>> {
    if m.nrows() == 0 || m.ncols() == 0 {
        return Ok(Vec::new());
    }
    m.singular_values().map_err(|_| AlignError::NoConvergence {
        routine: "svd",
        rows: m.nrows(),
        cols: m.ncols(),
    })
}

/// Thin SVD `m = U diag(s) Vᵀ`.
pub fn thin_svd(m: MatRef<'_, f64>) -> Result<(Matrix, Vec<f64>, Matrix)> {
    let svd = m.thin_svd().map_err(|_| AlignError::NoConvergence {
        routine: "svd",
        rows: m.nrows(),
        cols: m.ncols(),
    })?;
    let s = svd.S().column_vector().iter().copied().collect();
    Ok((svd.U().to_owned(), s, svd.V().to_owned()))
}

/// Symmetric eigendecomposition: eigenvalues ascending, eigenvectors as columns.
pub fn eigh(m: MatRef<'_, f64>) -> Result<(Vec<f64>, Matrix)> {
    let e = m
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| AlignError::NoConvergence {
            routine: "eigh",
            rows: m.nrows(),
            cols: m.ncols(),
        })?;
    let s = e.S().column_vector().iter().copied().collect();
    Ok((s, e.U().to_owned()))
}

/// Relative tolerance below which singular values count as zero (rank decisions).
pub const RANK_RTOL: f64 = 1e-10;

/// An orthonormal basis of the column space of `m` (left singular vectors with `s > RANK_RTOL · s_max`) and the
/// kept singular values.
pub fn column_basis(m: MatRef<'_, f64>) -> Result<(Matrix, Vec<f64>)> {
    let (u, s, _) = thin_svd(m)?;
    let smax = s.first().copied().unwrap_or(0.0);
    let r = s.iter().take_while(|&&v| v > RANK_RTOL * smax).count();
    Ok((u.as_ref().subcols(0, r).to_owned(), s[..r].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svd_and_eigh_reconstruct() {
        let a = Mat::from_fn(5, 3, |i, j| {
            ((i * 7 + j * 3) % 5) as f64 - 1.5 + (i == j) as u8 as f64
        });
        let (u, s, v) = thin_svd(a.as_ref()).unwrap();
        let back = Mat::from_fn(5, 3, |i, j| {
            (0..3).map(|k| u[(i, k)] * s[k] * v[(j, k)]).sum::<f64>()
        });
        for i in 0..5 {
            for j in 0..3 {
                assert!((back[(i, j)] - a[(i, j)]).abs() < 1e-12);
            }
        }
        let g = tmul(a.as_ref(), a.as_ref());
        let (w, _) = eigh(g.as_ref()).unwrap();
        let mut s2: Vec<f64> = s.iter().map(|x| x * x).collect();
        s2.reverse();
        for (a, b) in w.iter().zip(&s2) {
            assert!((a - b).abs() < 1e-10);
        }
    }
}
