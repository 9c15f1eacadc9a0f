//! Similarity measures between two views `X [n, p]`, `Y [n, q]` with rows paired in order.
//!
//! Each measure is prepared once ([`prepare`]) into a [`Statistic`] that evaluates the measure on the pairing as
//! given, on `Y` permuted, and on a resample of the items. Permuted evaluations use cheap exact forms: Gram-matrix
//! measures permute a precomputed centred Gram matrix (O(n²) instead of O(n²·d)), RSA permutes a precomputed rank
//! matrix, the kNN measures relabel precomputed neighbour lists (O(n·k)), and the CCA family permutes the rows of
//! precomputed orthonormal bases. Formulas and conventions: `docs/align.md`.

use crate::error::{AlignError, Result};
use crate::knn;
use crate::linalg::{self, Matrix};
use faer::{Mat, MatRef};
use serde::{Deserialize, Serialize};

/// A similarity (or distance) measure between paired representations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Linear CKA on centred features.
    Cka,
    /// Debiased CKA (unbiased HSIC of zero-diagonal linear Grams), as platonic-rep's `unbiased_cka`.
    CkaDebiased,
    /// Spearman correlation between the two representational dissimilarity matrices.
    Rsa,
    /// Mutual k-nearest-neighbour overlap (platonic-rep).
    MutualKnn,
    /// Cycle kNN (platonic-rep): is an item among the X-neighbours of one of its Y-neighbours.
    CycleKnn,
    /// CKA restricted to mutual-neighbour pairs (platonic-rep).
    Cknna,
    /// Mean canonical correlation.
    Cca,
    /// Mean canonical correlation after keeping the top principal components explaining a variance fraction.
    Svcca,
    /// Projection-weighted CCA.
    Pwcca,
    /// Orthogonal Procrustes distance of centred, unit-Frobenius-norm views (a distance).
    Procrustes,
    /// netrep `LinearMetric(alpha)` angular shape distance (a distance).
    Angular,
}

impl Metric {
    /// Every measure, in CLI order.
    pub const ALL: [Metric; 11] = [
        Metric::Cka,
        Metric::CkaDebiased,
        Metric::Rsa,
        Metric::MutualKnn,
        Metric::CycleKnn,
        Metric::Cknna,
        Metric::Cca,
        Metric::Svcca,
        Metric::Pwcca,
        Metric::Procrustes,
        Metric::Angular,
    ];

    /// The spelling used on the command line and in result files.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cka => "cka",
            Metric::CkaDebiased => "cka_debiased",
            Metric::Rsa => "rsa",
            Metric::MutualKnn => "mutual_knn",
            Metric::CycleKnn => "cycle_knn",
            Metric::Cknna => "cknna",
            Metric::Cca => "cca",
            Metric::Svcca => "svcca",
            Metric::Pwcca => "pwcca",
            Metric::Procrustes => "procrustes",
            Metric::Angular => "angular",
        }
    }

    /// Parse a CLI spelling.
    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Whether larger values mean more similar (false for the two distances).
    pub fn higher_is_similar(self) -> bool {
        !matches!(self, Metric::Procrustes | Metric::Angular)
    }

    /// Whether the measure uses neighbour lists (and platonic-rep's preprocessing by default).
    pub fn is_knn(self) -> bool {
        matches!(self, Metric::MutualKnn | Metric::CycleKnn | Metric::Cknna)
    }

    /// Minimum number of items.
    pub fn min_items(self, k: usize) -> usize {
        match self {
            Metric::CkaDebiased | Metric::Cknna => 4.max(k + 2),
            Metric::MutualKnn | Metric::CycleKnn => k + 1,
            _ => 3,
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Feature preparation before a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preprocess {
    /// Use the features as given.
    None,
    /// platonic-rep: clamp at the exact q-quantile of |values| ([`MeasureParams::quantile`]), then L2-normalise rows.
    Platonic,
}

/// Dissimilarity used to build RSA's representational dissimilarity matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rdm {
    /// Euclidean distance between rows (scipy `pdist(·, "euclidean")`).
    Euclidean,
    /// One minus the Pearson correlation between rows (scipy `pdist(·, "correlation")`).
    Correlation,
}

/// Parameters of the measures (defaults follow the reference: k = 10, q = 0.95, 99 % variance, α = 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeasureParams {
    /// Neighbours for the kNN measures.
    pub k: usize,
    /// Quantile of |values| for platonic-rep's clamp.
    pub quantile: f64,
    /// Preparation; `None` = the measure's default (platonic for the kNN measures, none otherwise).
    pub preprocess: Option<Preprocess>,
    /// RDM dissimilarity for RSA.
    pub rdm: Rdm,
    /// Variance fraction kept per view by SVCCA.
    pub variance: f64,
    /// netrep `LinearMetric` regularisation α ∈ [0, 1] (1 = Procrustes, 0 = CCA) for `angular`.
    pub alpha: f64,
}

impl Default for MeasureParams {
    fn default() -> Self {
        MeasureParams {
            k: 10,
            quantile: 0.95,
            preprocess: None,
            rdm: Rdm::Euclidean,
            variance: 0.99,
            alpha: 1.0,
        }
    }
}

impl MeasureParams {
    /// Validate against a measure and a number of items.
    pub fn check(&self, metric: Metric, n: usize) -> Result<()> {
        if metric.is_knn() && (self.k == 0 || self.k >= n) {
            return Err(AlignError::InvalidParam {
                name: "k",
                reason: format!("k = {} must be in 1..{n} for {metric}", self.k),
            });
        }
        if metric == Metric::Cknna && self.k < 2 {
            return Err(AlignError::InvalidParam {
                name: "k",
                reason: "CKNNA needs k >= 2".into(),
            });
        }
        if !(self.quantile > 0.0 && self.quantile <= 1.0) {
            return Err(AlignError::InvalidParam {
                name: "quantile",
                reason: format!("{} is not in (0, 1]", self.quantile),
            });
        }
        if !(self.variance > 0.0 && self.variance <= 1.0) {
            return Err(AlignError::InvalidParam {
                name: "variance",
                reason: format!("{} is not in (0, 1]", self.variance),
            });
        }
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(AlignError::InvalidParam {
                name: "alpha",
                reason: format!("{} is not in [0, 1]", self.alpha),
            });
        }
        let need = metric.min_items(self.k);
        if n < need {
            return Err(AlignError::TooFewItems {
                what: metric.name(),
                need,
                got: n,
            });
        }
        Ok(())
    }

    fn preprocess_for(&self, metric: Metric) -> Preprocess {
        self.preprocess.unwrap_or(if metric.is_knn() {
            Preprocess::Platonic
        } else {
            Preprocess::None
        })
    }
}

/// A measure prepared on one pair of views.
pub trait Statistic: Send + Sync {
    /// The measure on the pairing as given.
    fn value(&self) -> f64;
    /// The measure with row `i` of X paired with row `perm[i]` of Y (`inv` is `perm`'s inverse).
    fn permuted(&self, perm: &[usize], inv: &[usize]) -> f64;
    /// The measure on the items `idx` (drawn with replacement; copies of one item are never each other's
    /// neighbours, and RSA ignores pairs of copies).
    fn resampled(&self, idx: &[usize]) -> Result<f64>;
    /// Extra named values worth reporting (e.g. the canonical correlations).
    fn extras(&self) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }
}

/// Above this many items, CKA and debiased CKA use feature-space forms instead of n × n Gram matrices.
pub const GRAM_MAX_ITEMS: usize = 4096;

/// Prepare `metric` on views `x`, `y` (rows paired in order).
pub fn prepare(
    metric: Metric,
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    params: &MeasureParams,
) -> Result<Box<dyn Statistic>> {
    if x.nrows() != y.nrows() {
        return Err(AlignError::RowMismatch {
            x: x.nrows(),
            y: y.nrows(),
        });
    }
    linalg::check_finite(x, "X")?;
    linalg::check_finite(y, "Y")?;
    let n = x.nrows();
    params.check(metric, n)?;
    let (xp, yp) = match params.preprocess_for(metric) {
        Preprocess::None => (x.to_owned(), y.to_owned()),
        Preprocess::Platonic => (
            knn::platonic_prepare(x, params.quantile),
            knn::platonic_prepare(y, params.quantile),
        ),
    };
    Ok(match metric {
        Metric::Cka => Box::new(Cka::new(xp, yp)),
        Metric::CkaDebiased => Box::new(Debiased::new(xp, yp)),
        Metric::Rsa => Box::new(Rsa::new(xp.as_ref(), yp.as_ref(), params.rdm)),
        Metric::MutualKnn | Metric::CycleKnn | Metric::Cknna => {
            Box::new(Knn::new(metric, xp.as_ref(), yp.as_ref(), params.k))
        }
        Metric::Cca | Metric::Svcca | Metric::Pwcca => {
            Box::new(CcaFamily::new(metric, xp, yp, params.variance)?)
        }
        Metric::Procrustes | Metric::Angular => Box::new(Shape::new(metric, xp, yp, params.alpha)?),
    })
}

/// The measure on the pairing as given (no null, no CI).
pub fn measure(
    metric: Metric,
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    params: &MeasureParams,
) -> Result<f64> {
    Ok(prepare(metric, x, y, params)?.value())
}

// ---------------------------------------------------------------------------------------------------------------
// CKA

/// Row-major n × n copy of a square faer matrix.
fn square_rows(m: &Matrix) -> Vec<f64> {
    linalg::to_rows(m.as_ref())
}

/// Double-centre a row-major n × n matrix in place.
fn double_centre(g: &mut [f64], n: usize) {
    let nf = n as f64;
    let row: Vec<f64> = (0..n)
        .map(|i| g[i * n..(i + 1) * n].iter().sum::<f64>() / nf)
        .collect();
    let all = row.iter().sum::<f64>() / nf;
    for i in 0..n {
        for j in 0..n {
            g[i * n + j] += all - row[i] - row[j];
        }
    }
}

fn gather(g: &[f64], n: usize, idx: &[usize]) -> Vec<f64> {
    let m = idx.len();
    let mut out = vec![0.0; m * m];
    for (a, &i) in idx.iter().enumerate() {
        let src = &g[i * n..(i + 1) * n];
        for (b, &j) in idx.iter().enumerate() {
            out[a * m + b] = src[j];
        }
    }
    out
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn permuted_dot(k: &[f64], l: &[f64], n: usize, perm: &[usize]) -> f64 {
    use rayon::prelude::*;
    (0..n)
        .into_par_iter()
        .map(|i| {
            let kr = &k[i * n..(i + 1) * n];
            let lr = &l[perm[i] * n..(perm[i] + 1) * n];
            kr.iter().zip(perm).map(|(a, &pj)| a * lr[pj]).sum::<f64>()
        })
        .sum()
}

enum Cka {
    Gram {
        kc: Vec<f64>,
        lc: Vec<f64>,
        n: usize,
        kk: f64,
        ll: f64,
    },
    Features {
        xc: Matrix,
        yc: Matrix,
        x: Matrix,
        y: Matrix,
    },
}

/// Linear CKA in feature space: `‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)` on centred views.
pub fn cka_features(xc: MatRef<'_, f64>, yc: MatRef<'_, f64>) -> f64 {
    let xy = linalg::fro2(linalg::tmul(xc, yc).as_ref());
    let xx = linalg::fro2(linalg::tmul(xc, xc).as_ref());
    let yy = linalg::fro2(linalg::tmul(yc, yc).as_ref());
    xy / (xx * yy).sqrt()
}

impl Cka {
    fn new(x: Matrix, y: Matrix) -> Cka {
        let n = x.nrows();
        let xc = linalg::centered(x.as_ref());
        let yc = linalg::centered(y.as_ref());
        if n <= GRAM_MAX_ITEMS {
            let kc = square_rows(&linalg::gram(xc.as_ref()));
            let lc = square_rows(&linalg::gram(yc.as_ref()));
            let kk = dot(&kc, &kc);
            let ll = dot(&lc, &lc);
            Cka::Gram { kc, lc, n, kk, ll }
        } else {
            Cka::Features { xc, yc, x, y }
        }
    }
}

impl Statistic for Cka {
    fn value(&self) -> f64 {
        match self {
            Cka::Gram { kc, lc, kk, ll, .. } => dot(kc, lc) / (kk * ll).sqrt(),
            Cka::Features { xc, yc, .. } => cka_features(xc.as_ref(), yc.as_ref()),
        }
    }
    fn permuted(&self, perm: &[usize], _inv: &[usize]) -> f64 {
        match self {
            Cka::Gram { kc, lc, n, kk, ll } => permuted_dot(kc, lc, *n, perm) / (kk * ll).sqrt(),
            Cka::Features { xc, yc, .. } => {
                let yp = linalg::select_rows(yc.as_ref(), perm);
                cka_features(xc.as_ref(), yp.as_ref())
            }
        }
    }
    fn resampled(&self, idx: &[usize]) -> Result<f64> {
        Ok(match self {
            Cka::Gram { kc, lc, n, .. } => {
                let m = idx.len();
                let mut k = gather(kc, *n, idx);
                let mut l = gather(lc, *n, idx);
                double_centre(&mut k, m);
                double_centre(&mut l, m);
                dot(&k, &l) / (dot(&k, &k) * dot(&l, &l)).sqrt()
            }
            Cka::Features { x, y, .. } => {
                let xs = linalg::centered(linalg::select_rows(x.as_ref(), idx).as_ref());
                let ys = linalg::centered(linalg::select_rows(y.as_ref(), idx).as_ref());
                cka_features(xs.as_ref(), ys.as_ref())
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Debiased CKA

/// Per-view quantities of the unbiased HSIC estimator for a linear kernel `K = XXᵀ` with zeroed diagonal.
#[derive(Debug, Clone)]
pub struct DebiasedView {
    /// `K̃ 1` (row sums of the zero-diagonal Gram matrix).
    pub row: Vec<f64>,
    /// `1ᵀ K̃ 1`.
    pub total: f64,
    /// `diag(K) = ‖x_i‖²`.
    pub diag: Vec<f64>,
    /// `HSIC_u(K, K)`.
    pub self_hsic: f64,
}

fn hsic_u_terms(t: f64, ks: f64, ls: f64, cross: f64, n: usize) -> f64 {
    let nf = n as f64;
    (t + ks * ls / ((nf - 1.0) * (nf - 2.0)) - 2.0 * cross / (nf - 2.0)) / (nf * (nf - 3.0))
}

impl DebiasedView {
    /// Feature-space preparation (O(n·p²)): no n × n matrix is formed.
    pub fn from_features(x: MatRef<'_, f64>) -> DebiasedView {
        let n = x.nrows();
        let s: Vec<f64> = (0..x.ncols()).map(|j| x.col(j).iter().sum()).collect();
        let diag: Vec<f64> = (0..n)
            .map(|i| (0..x.ncols()).map(|j| x[(i, j)] * x[(i, j)]).sum())
            .collect();
        let row: Vec<f64> = (0..n)
            .map(|i| (0..x.ncols()).map(|j| x[(i, j)] * s[j]).sum::<f64>() - diag[i])
            .collect();
        let total = dot(&s, &s) - diag.iter().sum::<f64>();
        let xtx = linalg::fro2(linalg::tmul(x, x).as_ref());
        let t = xtx - diag.iter().map(|d| d * d).sum::<f64>();
        let self_hsic = hsic_u_terms(t, total, total, dot(&row, &row), n);
        DebiasedView {
            row,
            total,
            diag,
            self_hsic,
        }
    }

    /// Preparation from a row-major zero-diagonal Gram matrix.
    fn from_gram(kt: &[f64], diag: Vec<f64>, n: usize) -> DebiasedView {
        let row: Vec<f64> = (0..n)
            .map(|i| kt[i * n..(i + 1) * n].iter().sum())
            .collect();
        let total = row.iter().sum();
        let self_hsic = hsic_u_terms(dot(kt, kt), total, total, dot(&row, &row), n);
        DebiasedView {
            row,
            total,
            diag,
            self_hsic,
        }
    }
}

/// Debiased CKA from per-view quantities and `tr(K̃ L̃)`.
pub fn debiased_from_parts(a: &DebiasedView, b: &DebiasedView, trace_kl: f64, n: usize) -> f64 {
    let kl = hsic_u_terms(trace_kl, a.total, b.total, dot(&a.row, &b.row), n);
    let den = a.self_hsic * b.self_hsic;
    if den > 0.0 { kl / den.sqrt() } else { 0.0 }
}

/// `tr(K̃ L̃) = ‖XᵀY‖²_F − Σ_i ‖x_i‖²‖y_i‖²` in feature space.
pub fn debiased_trace_features(
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    a: &DebiasedView,
    b: &DebiasedView,
) -> f64 {
    linalg::fro2(linalg::tmul(x, y).as_ref()) - dot(&a.diag, &b.diag)
}

enum Debiased {
    Gram {
        kt: Vec<f64>,
        lt: Vec<f64>,
        a: DebiasedView,
        b: DebiasedView,
        n: usize,
    },
    Features {
        x: Matrix,
        y: Matrix,
        a: DebiasedView,
        b: DebiasedView,
    },
}

fn zero_diag_gram(x: MatRef<'_, f64>) -> (Vec<f64>, Vec<f64>) {
    let n = x.nrows();
    let mut k = square_rows(&linalg::gram(x));
    let mut diag = vec![0.0; n];
    for i in 0..n {
        diag[i] = k[i * n + i];
        k[i * n + i] = 0.0;
    }
    (k, diag)
}

fn debiased_of_grams(kt: &[f64], lt: &[f64], n: usize) -> f64 {
    let a = DebiasedView::from_gram(kt, Vec::new(), n);
    let b = DebiasedView::from_gram(lt, Vec::new(), n);
    debiased_from_parts(&a, &b, dot(kt, lt), n)
}

impl Debiased {
    fn new(x: Matrix, y: Matrix) -> Debiased {
        let n = x.nrows();
        if n <= GRAM_MAX_ITEMS {
            let (kt, dk) = zero_diag_gram(x.as_ref());
            let (lt, dl) = zero_diag_gram(y.as_ref());
            let a = DebiasedView::from_gram(&kt, dk, n);
            let b = DebiasedView::from_gram(&lt, dl, n);
            Debiased::Gram { kt, lt, a, b, n }
        } else {
            let a = DebiasedView::from_features(x.as_ref());
            let b = DebiasedView::from_features(y.as_ref());
            Debiased::Features { x, y, a, b }
        }
    }
}

impl Statistic for Debiased {
    fn value(&self) -> f64 {
        match self {
            Debiased::Gram { kt, lt, a, b, n } => debiased_from_parts(a, b, dot(kt, lt), *n),
            Debiased::Features { x, y, a, b } => {
                let t = debiased_trace_features(x.as_ref(), y.as_ref(), a, b);
                debiased_from_parts(a, b, t, x.nrows())
            }
        }
    }
    fn permuted(&self, perm: &[usize], _inv: &[usize]) -> f64 {
        match self {
            Debiased::Gram { kt, lt, a, b, n } => {
                let t = permuted_dot(kt, lt, *n, perm);
                let bp = DebiasedView {
                    row: perm.iter().map(|&p| b.row[p]).collect(),
                    total: b.total,
                    diag: Vec::new(),
                    self_hsic: b.self_hsic,
                };
                debiased_from_parts(a, &bp, t, *n)
            }
            Debiased::Features { x, y, a, .. } => {
                let yp = linalg::select_rows(y.as_ref(), perm);
                let bp = DebiasedView::from_features(yp.as_ref());
                let t = debiased_trace_features(x.as_ref(), yp.as_ref(), a, &bp);
                debiased_from_parts(a, &bp, t, x.nrows())
            }
        }
    }
    fn resampled(&self, idx: &[usize]) -> Result<f64> {
        Ok(match self {
            Debiased::Gram { kt, lt, n, .. } => {
                let m = idx.len();
                let mut k = gather(kt, *n, idx);
                let mut l = gather(lt, *n, idx);
                // Copies of one item: their off-diagonal Gram entry is the item's squared norm, as in the sample.
                for i in 0..m {
                    k[i * m + i] = 0.0;
                    l[i * m + i] = 0.0;
                }
                if let Debiased::Gram { a, b, .. } = self {
                    for (ia, &i) in idx.iter().enumerate() {
                        for (ib, &j) in idx.iter().enumerate() {
                            if i == j && ia != ib {
                                k[ia * m + ib] = a.diag[i];
                                l[ia * m + ib] = b.diag[i];
                            }
                        }
                    }
                }
                debiased_of_grams(&k, &l, m)
            }
            Debiased::Features { x, y, .. } => {
                let xs = linalg::select_rows(x.as_ref(), idx);
                let ys = linalg::select_rows(y.as_ref(), idx);
                let a = DebiasedView::from_features(xs.as_ref());
                let b = DebiasedView::from_features(ys.as_ref());
                let t = debiased_trace_features(xs.as_ref(), ys.as_ref(), &a, &b);
                debiased_from_parts(&a, &b, t, idx.len())
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// RSA

/// Average ranks (1-based, ties share their mean rank), as scipy's `rankdata`.
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            r[o] = avg;
        }
        i = j + 1;
    }
    r
}

/// Row-major n × n dissimilarity matrix.
fn rdm(x: MatRef<'_, f64>, kind: Rdm) -> Vec<f64> {
    let n = x.nrows();
    let d = x.ncols();
    let rows: Vec<Vec<f64>> = match kind {
        Rdm::Euclidean => (0..n)
            .map(|i| (0..d).map(|j| x[(i, j)]).collect())
            .collect(),
        Rdm::Correlation => (0..n)
            .map(|i| {
                let r: Vec<f64> = (0..d).map(|j| x[(i, j)]).collect();
                let mu = r.iter().sum::<f64>() / d as f64;
                let c: Vec<f64> = r.iter().map(|v| v - mu).collect();
                let norm = dot(&c, &c).sqrt();
                c.iter().map(|v| v / norm).collect()
            })
            .collect(),
    };
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in (i + 1)..n {
            let v = match kind {
                Rdm::Euclidean => rows[i]
                    .iter()
                    .zip(&rows[j])
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt(),
                Rdm::Correlation => 1.0 - dot(&rows[i], &rows[j]),
            };
            out[i * n + j] = v;
            out[j * n + i] = v;
        }
    }
    out
}

/// Upper-triangle ranks as a symmetric row-major matrix, plus the centred sum of squares of the ranks.
fn rank_matrix(d: &[f64], n: usize, keep: impl Fn(usize, usize) -> bool) -> (Vec<f64>, f64, usize) {
    let mut vals = Vec::new();
    let mut pos = Vec::new();
    for i in 0..n {
        for j in (i + 1)..n {
            if keep(i, j) {
                vals.push(d[i * n + j]);
                pos.push((i, j));
            }
        }
    }
    let r = average_ranks(&vals);
    let m = r.len();
    let mu = (m as f64 + 1.0) / 2.0;
    let ss = r.iter().map(|v| (v - mu) * (v - mu)).sum();
    let mut out = vec![0.0; n * n];
    for ((i, j), v) in pos.into_iter().zip(r) {
        out[i * n + j] = v - mu;
        out[j * n + i] = v - mu;
    }
    (out, ss, m)
}

struct Rsa {
    dx: Vec<f64>,
    dy: Vec<f64>,
    rx: Vec<f64>,
    ry: Vec<f64>,
    ssx: f64,
    ssy: f64,
    n: usize,
}

impl Rsa {
    fn new(x: MatRef<'_, f64>, y: MatRef<'_, f64>, kind: Rdm) -> Rsa {
        let n = x.nrows();
        let dx = rdm(x, kind);
        let dy = rdm(y, kind);
        let (rx, ssx, _) = rank_matrix(&dx, n, |_, _| true);
        let (ry, ssy, _) = rank_matrix(&dy, n, |_, _| true);
        Rsa {
            dx,
            dy,
            rx,
            ry,
            ssx,
            ssy,
            n,
        }
    }
}

impl Statistic for Rsa {
    fn value(&self) -> f64 {
        // Both rank matrices are symmetric with zero diagonal: the full sum is twice the upper triangle.
        0.5 * dot(&self.rx, &self.ry) / (self.ssx * self.ssy).sqrt()
    }
    fn permuted(&self, perm: &[usize], _inv: &[usize]) -> f64 {
        0.5 * permuted_dot(&self.rx, &self.ry, self.n, perm) / (self.ssx * self.ssy).sqrt()
    }
    fn resampled(&self, idx: &[usize]) -> Result<f64> {
        let m = idx.len();
        let dx = gather(&self.dx, self.n, idx);
        let dy = gather(&self.dy, self.n, idx);
        let keep = |a: usize, b: usize| idx[a] != idx[b];
        let (rx, ssx, _) = rank_matrix(&dx, m, keep);
        let (ry, ssy, _) = rank_matrix(&dy, m, keep);
        Ok(0.5 * dot(&rx, &ry) / (ssx * ssy).sqrt())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// kNN family

struct Knn {
    metric: Metric,
    sx: Vec<f64>,
    sy: Vec<f64>,
    na: Vec<u32>,
    nb: Vec<u32>,
    n: usize,
    k: usize,
}

impl Knn {
    fn new(metric: Metric, x: MatRef<'_, f64>, y: MatRef<'_, f64>, k: usize) -> Knn {
        let n = x.nrows();
        let sx = square_rows(&linalg::gram(x));
        let sy = square_rows(&linalg::gram(y));
        let na = knn::neighbours(n, k, |i, j| sx[i * n + j], |i, j| i == j);
        let nb = knn::neighbours(n, k, |i, j| sy[i * n + j], |i, j| i == j);
        Knn {
            metric,
            sx,
            sy,
            na,
            nb,
            n,
            k,
        }
    }

    fn eval(
        &self,
        na: &[u32],
        nb: &[u32],
        n: usize,
        kf: impl Fn(usize, usize) -> f64,
        lf: impl Fn(usize, usize) -> f64,
    ) -> f64 {
        match self.metric {
            Metric::MutualKnn => knn::mutual(na, nb, n, self.k),
            Metric::CycleKnn => knn::cycle(na, nb, n, self.k),
            _ => knn::cknna(na, nb, n, self.k, kf, lf),
        }
    }
}

impl Statistic for Knn {
    fn value(&self) -> f64 {
        let n = self.n;
        self.eval(
            &self.na,
            &self.nb,
            n,
            |i, j| self.sx[i * n + j],
            |i, j| self.sy[i * n + j],
        )
    }
    fn permuted(&self, perm: &[usize], inv: &[usize]) -> f64 {
        let n = self.n;
        let nb = knn::permute_lists(&self.nb, perm, inv, self.k);
        self.eval(
            &self.na,
            &nb,
            n,
            |i, j| self.sx[i * n + j],
            |i, j| self.sy[perm[i] * n + perm[j]],
        )
    }
    fn resampled(&self, idx: &[usize]) -> Result<f64> {
        let (n, m) = (self.n, idx.len());
        if m <= self.k {
            return Err(AlignError::TooFewItems {
                what: self.metric.name(),
                need: self.k + 1,
                got: m,
            });
        }
        let kf = |a: usize, b: usize| self.sx[idx[a] * n + idx[b]];
        let lf = |a: usize, b: usize| self.sy[idx[a] * n + idx[b]];
        let same = |a: usize, b: usize| idx[a] == idx[b];
        let na = knn::neighbours(m, self.k, kf, same);
        let nb = knn::neighbours(m, self.k, lf, same);
        Ok(self.eval(&na, &nb, m, kf, lf))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// CCA, SVCCA, PWCCA

struct CcaFamily {
    metric: Metric,
    variance: f64,
    x: Matrix,
    y: Matrix,
    xc: Matrix,
    yc: Matrix,
    qx: Matrix,
    qy: Matrix,
}

/// Orthonormal basis of the centred view: all directions above the rank tolerance (CCA), or the leading principal
/// directions whose cumulative variance first reaches `variance` (SVCCA).
fn view_basis(xc: MatRef<'_, f64>, metric: Metric, variance: f64) -> Result<Matrix> {
    let (u, s) = linalg::column_basis(xc)?;
    if metric != Metric::Svcca {
        return Ok(u);
    }
    let total: f64 = s.iter().map(|v| v * v).sum();
    let mut acc = 0.0;
    let mut keep = s.len();
    for (i, v) in s.iter().enumerate() {
        acc += v * v;
        if acc / total >= variance {
            keep = i + 1;
            break;
        }
    }
    Ok(u.as_ref().subcols(0, keep).to_owned())
}

/// Canonical correlations (descending) and, for PWCCA, the projection weights, between two orthonormal bases.
struct CcaResult {
    rho: Vec<f64>,
    pw: f64,
    weights: Vec<f64>,
}

fn cca_of_bases(
    qx: MatRef<'_, f64>,
    qy: MatRef<'_, f64>,
    xc: MatRef<'_, f64>,
    yc: MatRef<'_, f64>,
    weights: bool,
) -> Result<CcaResult> {
    let c = linalg::tmul(qx, qy);
    if !weights {
        let rho = linalg::singular_values(c.as_ref())?
            .into_iter()
            .map(|v| v.min(1.0))
            .collect();
        return Ok(CcaResult {
            rho,
            pw: f64::NAN,
            weights: Vec::new(),
        });
    }
    let (u, s, v) = linalg::thin_svd(c.as_ref())?;
    let rho: Vec<f64> = s.iter().map(|v| v.min(1.0)).collect();
    let m = rho.len();
    // The side that keeps fewer dimensions supplies the canonical variates and the activations (google/svcca picks
    // it the same way; its `else` branch projects X's activations where Y's belong).
    let (h, acts) = if qx.ncols() <= qy.ncols() {
        (linalg::mul(qx, u.as_ref().subcols(0, m)), xc)
    } else {
        (linalg::mul(qy, v.as_ref().subcols(0, m)), yc)
    };
    let proj = linalg::tmul(h.as_ref(), acts);
    let w: Vec<f64> = (0..m)
        .map(|i| (0..proj.ncols()).map(|j| proj[(i, j)].abs()).sum())
        .collect();
    let sw: f64 = w.iter().sum();
    let pw = w.iter().zip(&rho).map(|(a, r)| a * r).sum::<f64>() / sw;
    Ok(CcaResult {
        rho,
        pw,
        weights: w.iter().map(|a| a / sw).collect(),
    })
}

impl CcaFamily {
    fn new(metric: Metric, x: Matrix, y: Matrix, variance: f64) -> Result<CcaFamily> {
        let xc = linalg::centered(x.as_ref());
        let yc = linalg::centered(y.as_ref());
        let qx = view_basis(xc.as_ref(), metric, variance)?;
        let qy = view_basis(yc.as_ref(), metric, variance)?;
        Ok(CcaFamily {
            metric,
            variance,
            x,
            y,
            xc,
            yc,
            qx,
            qy,
        })
    }

    fn summary(&self, r: &CcaResult) -> f64 {
        match self.metric {
            Metric::Pwcca => r.pw,
            _ => r.rho.iter().sum::<f64>() / r.rho.len().max(1) as f64,
        }
    }

    fn full(&self) -> Result<CcaResult> {
        cca_of_bases(
            self.qx.as_ref(),
            self.qy.as_ref(),
            self.xc.as_ref(),
            self.yc.as_ref(),
            self.metric == Metric::Pwcca,
        )
    }
}

impl Statistic for CcaFamily {
    fn value(&self) -> f64 {
        self.full().map(|r| self.summary(&r)).unwrap_or(f64::NAN)
    }
    fn permuted(&self, perm: &[usize], _inv: &[usize]) -> f64 {
        let qy = linalg::select_rows(self.qy.as_ref(), perm);
        let yc = if self.metric == Metric::Pwcca {
            linalg::select_rows(self.yc.as_ref(), perm)
        } else {
            Mat::zeros(0, 0)
        };
        cca_of_bases(
            self.qx.as_ref(),
            qy.as_ref(),
            self.xc.as_ref(),
            yc.as_ref(),
            self.metric == Metric::Pwcca,
        )
        .map(|r| self.summary(&r))
        .unwrap_or(f64::NAN)
    }
    fn resampled(&self, idx: &[usize]) -> Result<f64> {
        let xc = linalg::centered(linalg::select_rows(self.x.as_ref(), idx).as_ref());
        let yc = linalg::centered(linalg::select_rows(self.y.as_ref(), idx).as_ref());
        let qx = view_basis(xc.as_ref(), self.metric, self.variance)?;
        let qy = view_basis(yc.as_ref(), self.metric, self.variance)?;
        let r = cca_of_bases(
            qx.as_ref(),
            qy.as_ref(),
            xc.as_ref(),
            yc.as_ref(),
            self.metric == Metric::Pwcca,
        )?;
        Ok(self.summary(&r))
    }
    fn extras(&self) -> Vec<(&'static str, serde_json::Value)> {
        let Ok(r) = self.full() else {
            return Vec::new();
        };
        let mut out = vec![
            ("coefficients", serde_json::json!(r.rho)),
            (
                "dims",
                serde_json::json!([self.qx.ncols(), self.qy.ncols()]),
            ),
        ];
        if self.metric == Metric::Pwcca {
            out.push(("weights", serde_json::json!(r.weights)));
            out.push((
                "weights_from",
                serde_json::json!(if self.qx.ncols() <= self.qy.ncols() {
                    "x"
                } else {
                    "y"
                }),
            ));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Shape metrics

/// netrep's partial whitening `Z = V diag(α + (1 − α) max(λ, 1e-7)^{-1/2}) Vᵀ` of centred `xc` (`λ`, `V`: eigen-pairs
/// of `xcᵀxc`), applied: returns `xc Z`. The variance-preserving rescale of netrep cancels in the angular score and
/// is left out; α > 1 − 1e-7 returns `xc` unchanged as netrep does.
pub fn partial_whiten(xc: MatRef<'_, f64>, alpha: f64) -> Result<Matrix> {
    if alpha > 1.0 - 1e-7 {
        return Ok(xc.to_owned());
    }
    let (lam, v) = linalg::eigh(linalg::tmul(xc, xc).as_ref())?;
    let d: Vec<f64> = lam
        .iter()
        .map(|l| alpha + (1.0 - alpha) * l.max(1e-7).powf(-0.5))
        .collect();
    let p = v.nrows();
    let vd = Mat::from_fn(p, p, |i, j| v[(i, j)] * d[j]);
    let z = linalg::mul(vd.as_ref(), v.transpose());
    Ok(linalg::mul(xc, z.as_ref()))
}

struct Shape {
    metric: Metric,
    alpha: f64,
    x: Matrix,
    y: Matrix,
    xw: Matrix,
    yw: Matrix,
}

fn shape_views(
    metric: Metric,
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    alpha: f64,
) -> Result<(Matrix, Matrix)> {
    let xc = linalg::centered(x);
    let yc = linalg::centered(y);
    Ok(match metric {
        Metric::Procrustes => {
            let nx = linalg::fro2(xc.as_ref()).sqrt();
            let ny = linalg::fro2(yc.as_ref()).sqrt();
            (
                Mat::from_fn(xc.nrows(), xc.ncols(), |i, j| xc[(i, j)] / nx),
                Mat::from_fn(yc.nrows(), yc.ncols(), |i, j| yc[(i, j)] / ny),
            )
        }
        _ => (
            partial_whiten(xc.as_ref(), alpha)?,
            partial_whiten(yc.as_ref(), alpha)?,
        ),
    })
}

fn shape_value(metric: Metric, xw: MatRef<'_, f64>, yw: MatRef<'_, f64>) -> Result<f64> {
    let nuc: f64 = linalg::singular_values(linalg::tmul(xw, yw).as_ref())?
        .iter()
        .sum();
    Ok(match metric {
        Metric::Procrustes => (2.0 - 2.0 * nuc).max(0.0).sqrt(),
        _ => {
            let c = nuc / (linalg::fro2(xw) * linalg::fro2(yw)).sqrt();
            c.clamp(-1.0, 1.0).acos()
        }
    })
}

impl Shape {
    fn new(metric: Metric, x: Matrix, y: Matrix, alpha: f64) -> Result<Shape> {
        let (xw, yw) = shape_views(metric, x.as_ref(), y.as_ref(), alpha)?;
        Ok(Shape {
            metric,
            alpha,
            x,
            y,
            xw,
            yw,
        })
    }
}

impl Statistic for Shape {
    fn value(&self) -> f64 {
        shape_value(self.metric, self.xw.as_ref(), self.yw.as_ref()).unwrap_or(f64::NAN)
    }
    fn permuted(&self, perm: &[usize], _inv: &[usize]) -> f64 {
        let yp = linalg::select_rows(self.yw.as_ref(), perm);
        shape_value(self.metric, self.xw.as_ref(), yp.as_ref()).unwrap_or(f64::NAN)
    }
    fn resampled(&self, idx: &[usize]) -> Result<f64> {
        let xs = linalg::select_rows(self.x.as_ref(), idx);
        let ys = linalg::select_rows(self.y.as_ref(), idx);
        let (xw, yw) = shape_views(self.metric, xs.as_ref(), ys.as_ref(), self.alpha)?;
        shape_value(self.metric, xw.as_ref(), yw.as_ref())
    }
}
