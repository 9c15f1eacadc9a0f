//! Dense kernels: one GEMM wrapper (the `gemm` crate, the kernel candle uses) and small vector helpers.
//!
//! The only `unsafe` code of the crate lives in [`matmul_abt`]: the `gemm` crate takes raw pointers and strides, so
//! the wrapper checks every slice length against the shapes before the call.

use rayon::prelude::*;

/// `c[m×n] = a[m×k] · b[n×k]ᵀ` (all row-major), overwriting `c`. Uses up to `threads` rayon threads (1 = serial).
///
/// # Panics
/// Panics if a slice is shorter than its shape says (an internal invariant; callers check user input first).
#[allow(unsafe_code)]
pub fn matmul_abt(
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
) {
    assert!(
        a.len() >= m * k && b.len() >= n * k && c.len() >= m * n,
        "matmul_abt: slice shorter than shape"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c[..m * n].fill(0.0);
        return;
    }
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the lengths are checked above; dst is [m,n] row-major (row stride n, col stride 1); lhs is a [m,k]
    // row-major; rhs is bᵀ, a [k,n] view of the row-major [n,k] buffer (row stride 1, col stride k). `read_dst`
    // is false, so `c` need not be initialised to anything in particular. The three buffers do not alias (one is
    // `&mut`).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            k as isize,
            1,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            par,
        );
    }
}

/// Naive reference of [`matmul_abt`] (oracle for tests).
pub fn matmul_abt_naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for t in 0..k {
                s += a[i * k + t] as f64 * b[j * k + t] as f64;
            }
            c[i * n + j] = s as f32;
        }
    }
    c
}

pub use mirlens_core::kernels::dot;

/// `y += alpha · x`.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// Squared Euclidean norm, accumulated in f64.
#[inline]
pub fn norm2_f64(x: &[f32]) -> f64 {
    x.iter().map(|&v| (v as f64) * (v as f64)).sum()
}

/// Normalise each row of a row-major `[rows, cols]` matrix to unit L2 norm (rows of norm 0 are left alone).
pub fn normalize_rows(w: &mut [f32], cols: usize) {
    w.par_chunks_mut(cols).for_each(|row| {
        let n = norm2_f64(row).sqrt();
        if n > 0.0 {
            let inv = (1.0 / n) as f32;
            row.iter_mut().for_each(|v| *v *= inv);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_naive_product() {
        let (m, k, n) = (7, 13, 5);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.1)
            .collect();
        let b: Vec<f32> = (0..n * k)
            .map(|i| ((i * 17 % 7) as f32 - 3.0) * 0.2)
            .collect();
        let want = matmul_abt_naive(&a, &b, m, k, n);
        for threads in [1, 2] {
            let mut c = vec![f32::NAN; m * n];
            matmul_abt(&a, &b, &mut c, m, k, n, threads);
            for (x, y) in c.iter().zip(&want) {
                assert!((x - y).abs() < 1e-5, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn dot_and_normalize() {
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let want: f32 = a.iter().map(|x| x * x).sum();
        assert_eq!(dot(&a, &a), want);
        let mut w = vec![3.0, 4.0, 0.0, 0.0];
        normalize_rows(&mut w, 2);
        assert_eq!(w, vec![0.6, 0.8, 0.0, 0.0]);
    }
}
