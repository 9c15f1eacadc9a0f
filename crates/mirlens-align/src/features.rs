//! Feature correspondence between two dictionaries (reference §10.2, X6/X7): the features (columns) of two SAE code
//! matrices `A [n, f_a]`, `B [n, f_b]` on paired rows are matched one-to-one by activation correlation with the
//! Hungarian algorithm (maximum total Pearson correlation); a null from shuffled pairings gives the 95th percentile
//! of matched correlations, and matched pairs above it count as shared features.

use crate::error::{AlignError, Result};
use crate::linalg::{self, Matrix};
use faer::{Mat, MatRef};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Minimum-cost assignment of the rows of `cost [r, c]` to distinct columns (all rows when `r ≤ c`, all columns
/// otherwise): `(row, column)` pairs sorted by row. Kuhn–Munkres with potentials (shortest augmenting paths),
/// O(r² c).
pub fn hungarian(cost: MatRef<'_, f64>) -> Vec<(usize, usize)> {
    let (r, c) = (cost.nrows(), cost.ncols());
    if r == 0 || c == 0 {
        return Vec::new();
    }
    if r > c {
        let mut t: Vec<(usize, usize)> = hungarian(cost.transpose())
            .into_iter()
            .map(|(a, b)| (b, a))
            .collect();
        t.sort_unstable();
        return t;
    }
    // 1-based arrays: p[j] = row assigned to column j (0 = none), u/v row/column potentials.
    let (n, m) = (r, c);
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost[(i0 - 1, j - 1)] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out: Vec<(usize, usize)> = (1..=m)
        .filter(|&j| p[j] != 0)
        .map(|j| (p[j] - 1, j - 1))
        .collect();
    out.sort_unstable();
    out
}

/// Pearson correlation between every column of `a` and every column of `b` (`[f_a, f_b]`; a constant column
/// correlates 0 with everything).
pub fn column_correlations(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Matrix {
    let unit = |m: MatRef<'_, f64>| {
        let c = linalg::centered(m);
        let norms: Vec<f64> = (0..c.ncols())
            .map(|j| c.col(j).iter().map(|x| x * x).sum::<f64>().sqrt())
            .collect();
        Mat::from_fn(c.nrows(), c.ncols(), |i, j| {
            if norms[j] > 1e-12 {
                c[(i, j)] / norms[j]
            } else {
                0.0
            }
        })
    };
    let (ua, ub) = (unit(a), unit(b));
    linalg::tmul(ua.as_ref(), ub.as_ref())
}

fn matched(corr: &Matrix) -> Vec<(usize, usize, f64)> {
    let cost = Mat::from_fn(corr.nrows(), corr.ncols(), |i, j| -corr[(i, j)]);
    hungarian(cost.as_ref())
        .into_iter()
        .map(|(i, j)| (i, j, corr[(i, j)]))
        .collect()
}

/// Parameters of [`match_features`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureParams {
    /// Shuffled pairings of the null.
    pub shuffles: usize,
    /// Quantile of the null's matched correlations used as the threshold.
    pub quantile: f64,
    /// Seed of the shuffles.
    pub seed: u64,
}

impl Default for FeatureParams {
    fn default() -> Self {
        FeatureParams {
            shuffles: 20,
            quantile: 0.95,
            seed: 0,
        }
    }
}

/// One matched pair of features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedPair {
    /// Feature of A.
    pub a: usize,
    /// Feature of B.
    pub b: usize,
    /// Activation correlation on the paired rows.
    pub correlation: f64,
    /// Above the null threshold.
    pub shared: bool,
}

/// Result of [`match_features`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMatch {
    /// Paired rows.
    pub n: usize,
    /// Features of A.
    pub features_a: usize,
    /// Features of B.
    pub features_b: usize,
    /// The `quantile` of matched correlations under shuffled pairings.
    pub null_threshold: f64,
    /// Parameters.
    pub params: FeatureParams,
    /// Matched pairs above the null.
    pub shared: usize,
    /// `shared / features_a`.
    pub shared_fraction_a: f64,
    /// `shared / features_b`.
    pub shared_fraction_b: f64,
    /// `1 − shared_fraction_a`: features of A without a counterpart in B.
    pub specific_fraction_a: f64,
    /// `1 − shared_fraction_b`.
    pub specific_fraction_b: f64,
    /// Every matched pair, by decreasing correlation.
    pub pairs: Vec<MatchedPair>,
}

/// Numpy's default (linear) quantile of unsorted values.
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let h = (v.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Match the features of `a` and `b` (rows paired) and count those above the shuffled-pairing null.
pub fn match_features(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    params: &FeatureParams,
) -> Result<FeatureMatch> {
    if a.nrows() != b.nrows() {
        return Err(AlignError::RowMismatch {
            x: a.nrows(),
            y: b.nrows(),
        });
    }
    linalg::check_finite(a, "A")?;
    linalg::check_finite(b, "B")?;
    if a.nrows() < 3 {
        return Err(AlignError::TooFewItems {
            what: "feature matching",
            need: 3,
            got: a.nrows(),
        });
    }
    if params.shuffles == 0 || !(params.quantile > 0.0 && params.quantile < 1.0) {
        return Err(AlignError::InvalidParam {
            name: "shuffles/quantile",
            reason: format!(
                "{} shuffles, quantile {}; need ≥ 1 and a quantile in (0, 1)",
                params.shuffles, params.quantile
            ),
        });
    }
    let n = a.nrows();
    let mut null = Vec::new();
    for s in 0..params.shuffles {
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut StdRng::seed_from_u64(
            params.seed.wrapping_mul(1_000_003).wrapping_add(s as u64),
        ));
        let bp = linalg::select_rows(b, &perm);
        null.extend(
            matched(&column_correlations(a, bp.as_ref()))
                .into_iter()
                .map(|t| t.2),
        );
    }
    let threshold = quantile(null, params.quantile);
    let mut pairs: Vec<MatchedPair> = matched(&column_correlations(a, b))
        .into_iter()
        .map(|(i, j, r)| MatchedPair {
            a: i,
            b: j,
            correlation: r,
            shared: r > threshold,
        })
        .collect();
    pairs.sort_by(|p, q| q.correlation.total_cmp(&p.correlation).then(p.a.cmp(&q.a)));
    let shared = pairs.iter().filter(|p| p.shared).count();
    let (fa, fb) = (a.ncols(), b.ncols());
    Ok(FeatureMatch {
        n,
        features_a: fa,
        features_b: fb,
        null_threshold: threshold,
        params: params.clone(),
        shared,
        shared_fraction_a: shared as f64 / fa as f64,
        shared_fraction_b: shared as f64 / fb as f64,
        specific_fraction_a: 1.0 - shared as f64 / fa as f64,
        specific_fraction_b: 1.0 - shared as f64 / fb as f64,
        pairs,
    })
}

impl FeatureMatch {
    /// CSV of the matched pairs.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("feature_a,feature_b,correlation,shared\n");
        for p in &self.pairs {
            s.push_str(&format!("{},{},{},{}\n", p.a, p.b, p.correlation, p.shared));
        }
        s
    }

    /// Write `features.csv` and `features.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(crate::error::io_err(dir))?;
        mirlens_report::write_atomic(&dir.join("features.csv"), self.to_csv().as_bytes())?;
        let json = serde_json::to_vec_pretty(self).expect("feature match serialises");
        mirlens_report::write_atomic(&dir.join("features.json"), &json)?;
        Ok(())
    }
}
