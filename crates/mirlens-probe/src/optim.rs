//! Numerical kernels: parallel matrix products over row blocks and an L-BFGS / OWL-QN minimiser.

use crate::data::Matrix;
use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;

/// Rows per parallel block in the products below.
const BLOCK: usize = 2048;

/// `X · W` for `X` (n×d) and `W` (d×k), computed in parallel over row blocks.
pub fn x_dot(x: &Matrix, w: ArrayView2<'_, f32>) -> Array2<f32> {
    let xv = x.view();
    let n = x.rows;
    let k = w.ncols();
    let parts: Vec<Array2<f32>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let (a, e) = (b * BLOCK, ((b + 1) * BLOCK).min(n));
            xv.slice(s![a..e, ..]).dot(&w)
        })
        .collect();
    let mut out = Array2::<f32>::zeros((n, k));
    for (b, p) in parts.into_iter().enumerate() {
        let a = b * BLOCK;
        out.slice_mut(s![a..a + p.nrows(), ..]).assign(&p);
    }
    out
}

/// `Xᵀ · G` for `X` (n×d) and `G` (n×k), computed as a parallel sum over row blocks.
pub fn xt_dot(x: &Matrix, g: ArrayView2<'_, f32>) -> Array2<f32> {
    let xv = x.view();
    let n = x.rows;
    let blocks: Vec<usize> = (0..n.div_ceil(BLOCK)).collect();
    blocks
        .into_par_iter()
        .map(|b| {
            let (a, e) = (b * BLOCK, ((b + 1) * BLOCK).min(n));
            xv.slice(s![a..e, ..]).t().dot(&g.slice(s![a..e, ..]))
        })
        .reduce(|| Array2::<f32>::zeros((x.cols, g.ncols())), |a, b| a + b)
}

/// Result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// Parameters at the end.
    pub x: Vec<f64>,
    /// Objective value at the end (including the L1 term).
    pub value: f64,
    /// Iterations done.
    pub iterations: usize,
    /// Whether the gradient criterion was met.
    pub converged: bool,
}

/// Minimise `f(x) + l1 · Σ_{j: mask_j} |x_j|` with L-BFGS (`l1 = 0`) or OWL-QN (`l1 > 0`, Andrew & Gao 2007).
///
/// `f` writes the gradient of the smooth part into its second argument and returns the smooth value. Stops when the
/// largest absolute (pseudo-)gradient entry is `<= tol`, after `max_iter` iterations, or when the line search cannot
/// decrease the objective any more.
pub fn minimize<F>(
    mut f: F,
    x0: Vec<f64>,
    l1: f64,
    l1_mask: &[bool],
    max_iter: usize,
    tol: f64,
) -> Minimum
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    const M: usize = 10;
    let n = x0.len();
    let mut x = x0;
    let mut g = vec![0.0; n];
    let l1_of = |x: &[f64]| -> f64 {
        if l1 == 0.0 {
            0.0
        } else {
            l1 * x
                .iter()
                .zip(l1_mask)
                .filter(|(_, m)| **m)
                .map(|(v, _)| v.abs())
                .sum::<f64>()
        }
    };
    let mut fx = f(&x, &mut g) + l1_of(&x);
    let pseudo = |x: &[f64], g: &[f64], pg: &mut [f64]| {
        for j in 0..n {
            pg[j] = if l1 == 0.0 || !l1_mask[j] {
                g[j]
            } else if x[j] > 0.0 {
                g[j] + l1
            } else if x[j] < 0.0 {
                g[j] - l1
            } else if g[j] + l1 < 0.0 {
                g[j] + l1
            } else if g[j] - l1 > 0.0 {
                g[j] - l1
            } else {
                0.0
            };
        }
    };
    let mut pg = vec![0.0; n];
    pseudo(&x, &g, &mut pg);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut rho: Vec<f64> = Vec::new();
    let mut iterations = 0;
    let mut converged = pg.iter().fold(0.0f64, |a, v| a.max(v.abs())) <= tol;
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    while !converged && iterations < max_iter {
        iterations += 1;
        // Two-loop recursion: d = -H pg.
        let mut q: Vec<f64> = pg.clone();
        let mut alpha = vec![0.0; s_hist.len()];
        for i in (0..s_hist.len()).rev() {
            alpha[i] = rho[i] * dot(&s_hist[i], &q);
            axpy(-alpha[i], &y_hist[i], &mut q);
        }
        let gamma = if let (Some(s), Some(y)) = (s_hist.last(), y_hist.last()) {
            dot(s, y) / dot(y, y)
        } else {
            1.0
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for i in 0..s_hist.len() {
            let beta = rho[i] * dot(&y_hist[i], &q);
            axpy(alpha[i] - beta, &s_hist[i], &mut q);
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        if l1 > 0.0 {
            for j in 0..n {
                if l1_mask[j] && d[j] * pg[j] >= 0.0 {
                    d[j] = 0.0;
                }
            }
        }
        let mut slope = dot(&d, &pg);
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            d = pg.iter().map(|v| -v).collect();
            slope = dot(&d, &pg);
        }
        let orthant: Vec<f64> = (0..n)
            .map(|j| {
                if x[j] != 0.0 {
                    x[j].signum()
                } else {
                    -pg[j].signum()
                }
            })
            .collect();
        let mut t = if s_hist.is_empty() {
            (1.0 / norm(&pg)).min(1.0)
        } else {
            1.0
        };
        let mut accepted = false;
        for _ in 0..40 {
            for j in 0..n {
                let v = x[j] + t * d[j];
                xn[j] = if l1 > 0.0 && l1_mask[j] && v * orthant[j] <= 0.0 {
                    0.0
                } else {
                    v
                };
            }
            let fnew = f(&xn, &mut gn) + l1_of(&xn);
            let decrease: f64 = (0..n).map(|j| pg[j] * (xn[j] - x[j])).sum();
            if fnew.is_finite() && fnew <= fx + 1e-4 * decrease {
                accepted = true;
                let sv: Vec<f64> = (0..n).map(|j| xn[j] - x[j]).collect();
                let yv: Vec<f64> = (0..n).map(|j| gn[j] - g[j]).collect();
                let sy = dot(&sv, &yv);
                if sy > 1e-12 * dot(&yv, &yv).max(1e-300) {
                    if s_hist.len() == M {
                        s_hist.remove(0);
                        y_hist.remove(0);
                        rho.remove(0);
                    }
                    rho.push(1.0 / sy);
                    s_hist.push(sv);
                    y_hist.push(yv);
                }
                let rel = (fx - fnew).abs() / fx.abs().max(fnew.abs()).max(1.0);
                std::mem::swap(&mut x, &mut xn);
                std::mem::swap(&mut g, &mut gn);
                fx = fnew;
                pseudo(&x, &g, &mut pg);
                converged = pg.iter().fold(0.0f64, |a, v| a.max(v.abs())) <= tol;
                if rel < 1e-13 {
                    // No measurable progress (machine precision): stop.
                    converged = true;
                }
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            if s_hist.is_empty() {
                break;
            }
            s_hist.clear();
            y_hist.clear();
            rho.clear();
        }
    }
    Minimum {
        x,
        value: fx,
        iterations,
        converged,
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(yi, xi)| *yi += a * xi);
}
fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt().max(1e-300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lbfgs_solves_a_quadratic_and_owlqn_a_lasso() {
        // f = Σ (j+1)/2 (x_j − 1)², minimum at 1.
        let quad = |x: &[f64], g: &mut [f64]| {
            let mut v = 0.0;
            for j in 0..x.len() {
                let a = (j + 1) as f64;
                v += 0.5 * a * (x[j] - 1.0).powi(2);
                g[j] = a * (x[j] - 1.0);
            }
            v
        };
        let m = minimize(quad, vec![0.0; 5], 0.0, &[true; 5], 100, 1e-8);
        assert!(m.converged);
        assert!(m.x.iter().all(|v| (v - 1.0).abs() < 1e-6), "{:?}", m.x);
        // With l1 = 2: x_j = max(0, 1 − 2/(j+1)) → [0, 0, 1/3, 1/2, 3/5].
        let m = minimize(quad, vec![0.0; 5], 2.0, &[true; 5], 200, 1e-9);
        let want = [0.0, 0.0, 1.0 / 3.0, 0.5, 0.6];
        for (a, b) in m.x.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{:?}", m.x);
        }
        assert_eq!(m.x[0], 0.0);
        assert_eq!(m.x[1], 0.0);
    }

    #[test]
    fn blocked_products_match_naive() {
        let n = 5000;
        let d = 7;
        let x = Matrix::new(
            n,
            d,
            (0..n * d)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
                .collect(),
        )
        .unwrap();
        let w = Array2::from_shape_fn((d, 3), |(i, j)| (i as f32 - j as f32) * 0.1);
        let xw = x_dot(&x, w.view());
        let naive = x.view().dot(&w);
        assert!((&xw - &naive).iter().all(|v| v.abs() < 1e-5));
        let g = Array2::from_shape_fn((n, 2), |(i, j)| ((i + j) % 5) as f32);
        let xtg = xt_dot(&x, g.view());
        let naive = x.view().t().dot(&g);
        assert!(
            (&xtg - &naive)
                .iter()
                .all(|v| v.abs() < 1e-2 * (1.0 + v.abs()))
        );
    }
}
