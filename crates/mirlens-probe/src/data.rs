//! In-memory design matrices, class labels, standardisation, column subsets and grouped splits.

use crate::error::{ProbeError, Result, param};
use ndarray::{ArrayView2, Axis};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

/// A dense row-major `rows × cols` matrix of f32 (activations: one row per frame/clip, one column per neuron).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row-major values, `rows * cols` long.
    pub data: Vec<f32>,
}

impl Matrix {
    /// Wrap row-major data; errors if the length is not `rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Result<Matrix> {
        if data.len() != rows * cols {
            return Err(ProbeError::Shape {
                what: format!("matrix {rows}×{cols}"),
                expected: rows * cols,
                got: data.len(),
            });
        }
        Ok(Matrix { rows, cols, data })
    }

    /// Error naming the first NaN or infinite value (row, column), or `Ok` when every value is finite. `what`
    /// names the data in the message (e.g. `layer 3`). Probes and rankings on non-finite input would return
    /// meaningless numbers, so the store adapter refuses such input.
    pub fn check_finite(&self, what: &str) -> Result<()> {
        match self.data.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(i) => Err(ProbeError::Data {
                what: what.to_string(),
                reason: format!(
                    "non-finite activation {} at row {}, column {} (NaN/inf); refusing to analyse it",
                    self.data[i],
                    i / self.cols.max(1),
                    i % self.cols.max(1)
                ),
            }),
        }
    }

    /// Columns whose values are all equal (no information for a probe or a ranking). Empty for fewer than 2 rows.
    pub fn constant_columns(&self) -> Vec<usize> {
        if self.rows < 2 {
            return Vec::new();
        }
        (0..self.cols)
            .filter(|&j| {
                let first = self.data[j];
                (1..self.rows).all(|i| self.data[i * self.cols + j] == first)
            })
            .collect()
    }

    /// A zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// An ndarray view (zero-copy).
    pub fn view(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.rows, self.cols), &self.data)
            .expect("length checked at construction")
    }

    /// The rows at `idx`, in that order.
    pub fn select_rows(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            rows: idx.len(),
            cols: self.cols,
            data,
        }
    }

    /// The columns at `idx`, in that order.
    pub fn select_cols(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(idx.len() * self.rows);
        for r in 0..self.rows {
            let row = self.row(r);
            data.extend(idx.iter().map(|&j| row[j]));
        }
        Matrix {
            rows: self.rows,
            cols: idx.len(),
            data,
        }
    }

    /// Element-wise product of every row with `mask` (length `cols`).
    pub fn scale_cols(&self, mask: &[f32]) -> Matrix {
        let mut out = self.clone();
        out.data
            .par_chunks_mut(self.cols.max(1))
            .for_each(|r| r.iter_mut().zip(mask).for_each(|(x, m)| *x *= m));
        out
    }

    /// Column means and sample standard deviations (ddof 1) in f64.
    pub fn col_mean_std(&self) -> (Vec<f64>, Vec<f64>) {
        let v = self.view();
        let n = self.rows as f64;
        let mean: Vec<f64> = (0..self.cols)
            .map(|j| v.column(j).iter().map(|&x| x as f64).sum::<f64>() / n.max(1.0))
            .collect();
        let std: Vec<f64> = (0..self.cols)
            .map(|j| {
                let m = mean[j];
                let ss: f64 = v.column(j).iter().map(|&x| (x as f64 - m).powi(2)).sum();
                (ss / (n - 1.0).max(1.0)).sqrt()
            })
            .collect();
        (mean, std)
    }

    /// Vertical concatenation of matrices with equal column counts.
    pub fn vstack(parts: &[&Matrix]) -> Result<Matrix> {
        let cols = parts.first().map(|m| m.cols).unwrap_or(0);
        let mut data = Vec::new();
        let mut rows = 0;
        for p in parts {
            if p.cols != cols {
                return Err(ProbeError::Shape {
                    what: "vstack columns".into(),
                    expected: cols,
                    got: p.cols,
                });
            }
            data.extend_from_slice(&p.data);
            rows += p.rows;
        }
        Ok(Matrix { rows, cols, data })
    }

    /// Mean of the rows (used for pooled summaries).
    pub fn mean_rows(&self) -> Vec<f32> {
        self.view()
            .mean_axis(Axis(0))
            .map(|a| a.to_vec())
            .unwrap_or_else(|| vec![0.0; self.cols])
    }
}

/// Per-column affine standardisation `(x − mean) / scale`, fitted on training rows only.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Column means.
    pub mean: Vec<f32>,
    /// Column scales (std clamped below by `min_scale`).
    pub scale: Vec<f32>,
}

impl Standardizer {
    /// Fit on `x`; scales below `min_scale` are replaced by `min_scale` (constant neurons stay finite).
    pub fn fit(x: &Matrix, min_scale: f64) -> Standardizer {
        let (m, s) = x.col_mean_std();
        Standardizer {
            mean: m.iter().map(|&v| v as f32).collect(),
            scale: s.iter().map(|&v| v.max(min_scale) as f32).collect(),
        }
    }

    /// Apply to a matrix with the same number of columns.
    pub fn transform(&self, x: &Matrix) -> Result<Matrix> {
        if x.cols != self.mean.len() {
            return Err(ProbeError::Shape {
                what: "standardizer columns".into(),
                expected: self.mean.len(),
                got: x.cols,
            });
        }
        let mut out = x.clone();
        out.data.par_chunks_mut(x.cols.max(1)).for_each(|r| {
            for ((v, m), s) in r.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        });
        Ok(out)
    }
}

/// Map arbitrary class keys to dense indices `0..K` in sorted order of the keys (numeric order when every key is
/// an integer), so indices are reproducible.
pub fn encode_classes(keys: &[String]) -> (Vec<usize>, Vec<String>) {
    let mut names: Vec<String> = keys.to_vec();
    names.sort();
    names.dedup();
    // Integer class keys (pitch, pitch class, octave) are ordered by value, not as strings.
    if names.iter().all(|n| n.parse::<i64>().is_ok()) {
        names.sort_by_key(|n| n.parse::<i64>().unwrap_or(0));
    }
    let index: std::collections::HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let idx = keys.iter().map(|k| index[k.as_str()]).collect();
    (idx, names)
}

/// Number of classes implied by dense labels (max + 1), checking there are at least two distinct ones.
pub fn n_classes(y: &[usize], what: &str) -> Result<usize> {
    let k = y.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut seen = vec![false; k];
    y.iter().for_each(|&c| seen[c] = true);
    if seen.iter().filter(|s| **s).count() < 2 {
        return Err(ProbeError::Data {
            what: what.into(),
            reason: "needs at least two classes".into(),
        });
    }
    Ok(k)
}

/// A train/test split as row indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

/// Unique groups in first-appearance order and, per group, its rows.
fn group_rows(groups: &[usize]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = Vec::new();
    let mut map = std::collections::HashMap::new();
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for (i, &g) in groups.iter().enumerate() {
        let slot = *map.entry(g).or_insert_with(|| {
            order.push(g);
            rows.push(Vec::new());
            rows.len() - 1
        });
        rows[slot].push(i);
    }
    rows
}

/// K-fold cross-validation over groups (e.g. clips): groups are shuffled with `seed` and dealt to `k` folds, so all
/// rows of one group fall in the same fold. Fold `f`'s test set is its groups; training is the rest.
pub fn grouped_kfold(groups: &[usize], k: usize, seed: u64) -> Result<Vec<Split>> {
    if k < 2 {
        return Err(param("folds", k, ">= 2"));
    }
    let mut gr = group_rows(groups);
    if gr.len() < k {
        return Err(ProbeError::Data {
            what: "grouped k-fold".into(),
            reason: format!("{} groups for {k} folds", gr.len()),
        });
    }
    gr.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut folds = vec![Vec::new(); k];
    for (i, g) in gr.into_iter().enumerate() {
        folds[i % k].extend(g);
    }
    Ok((0..k)
        .map(|f| {
            let mut test = folds[f].clone();
            test.sort_unstable();
            let mut train: Vec<usize> = (0..k)
                .filter(|&o| o != f)
                .flat_map(|o| folds[o].iter().copied())
                .collect();
            train.sort_unstable();
            Split { train, test }
        })
        .collect())
}

/// One train/test split over groups with about `test_fraction` of the groups in the test set.
pub fn grouped_split(groups: &[usize], test_fraction: f64, seed: u64) -> Result<Split> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(param("test_fraction", test_fraction, "in (0, 1)"));
    }
    let mut gr = group_rows(groups);
    if gr.len() < 2 {
        return Err(ProbeError::Data {
            what: "grouped split".into(),
            reason: format!("{} group(s); need >= 2", gr.len()),
        });
    }
    gr.shuffle(&mut StdRng::seed_from_u64(seed));
    let n_test = ((gr.len() as f64 * test_fraction).round() as usize).clamp(1, gr.len() - 1);
    let mut test: Vec<usize> = gr[..n_test].iter().flatten().copied().collect();
    let mut train: Vec<usize> = gr[n_test..].iter().flatten().copied().collect();
    test.sort_unstable();
    train.sort_unstable();
    Ok(Split { train, test })
}

/// Pick elements of `v` by index.
pub fn take<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| v[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_folds_never_split_a_group_and_cover_all_rows() {
        let groups: Vec<usize> = (0..100).map(|i| i / 7).collect();
        let folds = grouped_kfold(&groups, 4, 3).unwrap();
        let mut all: Vec<usize> = folds.iter().flat_map(|f| f.test.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        for f in &folds {
            let tg: std::collections::HashSet<usize> = f.test.iter().map(|&i| groups[i]).collect();
            assert!(f.train.iter().all(|&i| !tg.contains(&groups[i])));
            assert_eq!(f.train.len() + f.test.len(), 100);
        }
        assert_eq!(
            grouped_kfold(&groups, 4, 3).unwrap(),
            folds,
            "fixed seed is reproducible"
        );
        let s = grouped_split(&groups, 0.25, 1).unwrap();
        let tg: std::collections::HashSet<usize> = s.test.iter().map(|&i| groups[i]).collect();
        assert_eq!(tg.len(), 4); // 15 groups * 0.25 rounds to 4
        assert!(s.train.iter().all(|&i| !tg.contains(&groups[i])));
    }

    #[test]
    fn standardizer_and_selection() {
        let x = Matrix::new(3, 2, vec![1.0, 10.0, 2.0, 10.0, 3.0, 10.0]).unwrap();
        let s = Standardizer::fit(&x, 1e-3);
        assert_eq!(s.mean, vec![2.0, 10.0]);
        assert_eq!(s.scale, vec![1.0, 1e-3]);
        let z = s.transform(&x).unwrap();
        assert_eq!(z.data, vec![-1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        assert_eq!(x.select_cols(&[1, 0]).row(2), &[10.0, 3.0]);
        assert_eq!(x.select_rows(&[2]).data, vec![3.0, 10.0]);
        let (idx, names) = encode_classes(&["b".into(), "a".into(), "b".into()]);
        assert_eq!(
            (idx, names),
            (vec![1, 0, 1], vec!["a".to_string(), "b".to_string()])
        );
        let keys: Vec<String> = ["10", "2", "11", "0", "2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (idx, names) = encode_classes(&keys);
        assert_eq!(names, vec!["0", "2", "10", "11"]);
        assert_eq!(idx, vec![2, 1, 3, 0, 1]);
        assert!(Matrix::new(2, 2, vec![0.0]).is_err());
    }
}
