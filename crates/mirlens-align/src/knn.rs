//! Nearest-neighbour measures of platonic-rep (`minyoungg/platonic-rep:metrics.py`): preprocessing, neighbour lists,
//! mutual-kNN, cycle-kNN and CKNNA, on flat neighbour lists so that permutations and resamples reuse them.

use crate::linalg::Matrix;
use faer::MatRef;

/// platonic-rep's feature preparation (`remove_outliers(q, exact=True)` then `F.normalize(p=2, dim=-1)`): every
/// value is clamped to ±t, where t is the element at index `floor(q · numel)` of all |values| sorted ascending, and
/// each row is divided by `max(‖row‖₂, 1e-12)`.
pub fn platonic_prepare(x: MatRef<'_, f64>, q: f64) -> Matrix {
    let (n, d) = (x.nrows(), x.ncols());
    let mut m = x.to_owned();
    if q < 1.0 {
        let mut abs: Vec<f64> = (0..d)
            .flat_map(|j| x.col(j).iter().map(|v| v.abs()).collect::<Vec<_>>())
            .collect();
        let idx = ((q * abs.len() as f64) as usize).min(abs.len() - 1);
        let (_, t, _) = abs.select_nth_unstable_by(idx, |a, b| a.total_cmp(b));
        let t = *t;
        for j in 0..d {
            for i in 0..n {
                m[(i, j)] = m[(i, j)].clamp(-t, t);
            }
        }
    }
    for i in 0..n {
        let norm = (0..d).map(|j| m[(i, j)] * m[(i, j)]).sum::<f64>().sqrt();
        let s = 1.0 / norm.max(1e-12);
        for j in 0..d {
            m[(i, j)] *= s;
        }
    }
    m
}

/// The `k` nearest neighbours (largest `sim(i, j)`) of each of `n` items, flat `[n · k]`, skipping every `j` with
/// `same(i, j)` (the item itself, and copies of it in a bootstrap sample). Order within a row is unspecified.
pub fn neighbours(
    n: usize,
    k: usize,
    sim: impl Fn(usize, usize) -> f64 + Sync,
    same: impl Fn(usize, usize) -> bool + Sync,
) -> Vec<u32> {
    use rayon::prelude::*;
    let mut out = vec![0u32; n * k];
    out.par_chunks_mut(k.max(1))
        .enumerate()
        .for_each(|(i, row)| {
            if k == 0 {
                return;
            }
            let mut cand: Vec<(f64, u32)> = (0..n)
                .filter(|&j| !same(i, j))
                .map(|j| (sim(i, j), j as u32))
                .collect();
            let kk = k.min(cand.len());
            if kk < cand.len() {
                cand.select_nth_unstable_by(kk - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            }
            for (slot, c) in row.iter_mut().zip(cand.iter().take(kk)) {
                *slot = c.1;
            }
        });
    out
}

fn contains(row: &[u32], v: u32) -> bool {
    row.contains(&v)
}

/// Mutual-kNN: `(1/n) Σ_i |N_A(i) ∩ N_B(i)| / k`.
pub fn mutual(na: &[u32], nb: &[u32], n: usize, k: usize) -> f64 {
    let mut hits = 0usize;
    for i in 0..n {
        let b = &nb[i * k..(i + 1) * k];
        hits += na[i * k..(i + 1) * k]
            .iter()
            .filter(|&&a| contains(b, a))
            .count();
    }
    hits as f64 / (n * k) as f64
}

/// Cycle-kNN as platonic-rep's `cycle_knn(A, B)`: the fraction of items `i` that are among the A-neighbours of at
/// least one of their own B-neighbours.
pub fn cycle(na: &[u32], nb: &[u32], n: usize, k: usize) -> f64 {
    let mut hits = 0usize;
    for i in 0..n {
        let found = nb[i * k..(i + 1) * k]
            .iter()
            .any(|&j| contains(&na[j as usize * k..(j as usize + 1) * k], i as u32));
        hits += found as usize;
    }
    hits as f64 / n as f64
}

/// Neighbour lists of the permuted view `Y[perm]`: `N'(i) = perm⁻¹(N(perm[i]))`.
pub fn permute_lists(nb: &[u32], perm: &[usize], inv: &[usize], k: usize) -> Vec<u32> {
    let n = perm.len();
    let mut out = vec![0u32; n * k];
    for i in 0..n {
        let src = &nb[perm[i] * k..(perm[i] + 1) * k];
        for (o, &b) in out[i * k..(i + 1) * k].iter_mut().zip(src) {
            *o = inv[b as usize] as u32;
        }
    }
    out
}

/// platonic-rep's `hsic_unbiased(mask ⊙ K, mask ⊙ L)` for a sparse mask given as per-row neighbour lists (`mask_ij =
/// 1` iff `j ∈ rows[i]`), with `K`, `L` possibly non-symmetric after masking: `[Σ A⊙Bᵀ + ΣA·ΣB/((n−1)(n−2)) −
/// 2·1ᵀAB1/(n−2)] / (n(n−3))`.
fn masked_hsic(
    rows: &[Vec<u32>],
    n: usize,
    kf: &impl Fn(usize, usize) -> f64,
    lf: &impl Fn(usize, usize) -> f64,
) -> f64 {
    let nf = n as f64;
    let mut sa = 0.0;
    let mut sb = 0.0;
    let mut colsum_a = vec![0.0; n];
    let mut rowsum_b = vec![0.0; n];
    let mut t1 = 0.0;
    for (i, row) in rows.iter().enumerate() {
        for &j in row {
            let j = j as usize;
            if j == i {
                continue;
            }
            let a = kf(i, j);
            let b = lf(i, j);
            sa += a;
            sb += b;
            colsum_a[j] += a;
            rowsum_b[i] += b;
            if rows[j].contains(&(i as u32)) {
                t1 += a * lf(j, i);
            }
        }
    }
    let t3: f64 = colsum_a.iter().zip(&rowsum_b).map(|(a, b)| a * b).sum();
    (t1 + sa * sb / ((nf - 1.0) * (nf - 2.0)) - 2.0 * t3 / (nf - 2.0)) / (nf * (nf - 3.0))
}

/// platonic-rep's additive constant in the CKNNA denominator (`sqrt(sim_kk · sim_ll) + 1e-6`). The masked HSIC
/// values are small (O(k/n²) per entry), so this constant is part of the measure's value, not a rounding guard.
pub const CKNNA_EPS: f64 = 1e-6;

/// CKNNA (`cknna(topk=k, unbiased=True)`): debiased HSIC of `mask ⊙ K`, `mask ⊙ L` with `mask = mask_K ⊙ mask_L`,
/// normalised by the same quantity for `(K, K)` and `(L, L)`.
pub fn cknna(
    na: &[u32],
    nb: &[u32],
    n: usize,
    k: usize,
    kf: impl Fn(usize, usize) -> f64,
    lf: impl Fn(usize, usize) -> f64,
) -> f64 {
    let rows_a: Vec<Vec<u32>> = (0..n).map(|i| na[i * k..(i + 1) * k].to_vec()).collect();
    let rows_b: Vec<Vec<u32>> = (0..n).map(|i| nb[i * k..(i + 1) * k].to_vec()).collect();
    let both: Vec<Vec<u32>> = rows_a
        .iter()
        .zip(&rows_b)
        .map(|(a, b)| a.iter().copied().filter(|v| b.contains(v)).collect())
        .collect();
    let kl = masked_hsic(&both, n, &kf, &lf);
    let kk = masked_hsic(&rows_a, n, &kf, &kf);
    let ll = masked_hsic(&rows_b, n, &lf, &lf);
    kl / ((kk * ll).sqrt() + CKNNA_EPS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_views_are_perfectly_mutual() {
        let n = 30;
        let k = 4;
        let sim = |i: usize, j: usize| -((i as f64 - j as f64).powi(2)) + 0.001 * j as f64;
        let na = neighbours(n, k, sim, |i, j| i == j);
        assert_eq!(mutual(&na, &na, n, k), 1.0);
        assert_eq!(cycle(&na, &na, n, k), 1.0);
        for i in 0..n {
            assert!(!na[i * k..(i + 1) * k].contains(&(i as u32)));
        }
    }
}
