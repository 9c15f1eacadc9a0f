//! Linear maps from view X to view Y, fitted on training pairs and scored on held-out pairs: ridge regression
//! (unpenalised intercept, λ by K-fold CV on a log grid scaled by tr(XᵀX)/p), orthogonal Procrustes (centred or
//! centred + unit Frobenius norm), reduced-rank regression, CCA projection and contrastive linear heads (InfoNCE,
//! SigLIP; [`crate::contrastive`]).

use crate::contrastive::{self, ContrastiveLoss, ContrastiveParams, ContrastiveSummary};
use crate::error::{AlignError, Result};
use crate::linalg::{self, Matrix};
use crate::retrieval::{self, Retrieval};
use faer::{Mat, MatRef};
use serde::{Deserialize, Serialize};

/// Map family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapMethod {
    /// Ridge regression.
    Ridge,
    /// Orthogonal Procrustes.
    Procrustes,
    /// Reduced-rank (ridge) regression.
    Rrr,
    /// CCA projection of both views into their shared canonical space.
    Cca,
    /// Two linear heads trained with the symmetric InfoNCE loss.
    #[serde(rename = "infonce")]
    InfoNce,
    /// Two linear heads trained with the SigLIP sigmoid loss.
    #[serde(rename = "siglip")]
    Siglip,
}

impl MapMethod {
    /// CLI spelling.
    pub fn name(self) -> &'static str {
        match self {
            MapMethod::Ridge => "ridge",
            MapMethod::Procrustes => "procrustes",
            MapMethod::Rrr => "rrr",
            MapMethod::Cca => "cca",
            MapMethod::InfoNce => "infonce",
            MapMethod::Siglip => "siglip",
        }
    }
}

/// A fitted affine map `ŷ = (x − x_mean) W + y_mean` (Procrustes: `W = s R`).
#[derive(Debug, Clone)]
pub struct LinearMap {
    /// Column means of X on the training pairs.
    pub x_mean: Vec<f64>,
    /// Column means of Y on the training pairs.
    pub y_mean: Vec<f64>,
    /// Weights `[p, q]`.
    pub w: Matrix,
}

impl LinearMap {
    /// Apply the map to rows of X.
    pub fn apply(&self, x: MatRef<'_, f64>) -> Matrix {
        let xc = Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] - self.x_mean[j]);
        let mut y = linalg::mul(xc.as_ref(), self.w.as_ref());
        for i in 0..y.nrows() {
            for j in 0..y.ncols() {
                y[(i, j)] += self.y_mean[j];
            }
        }
        y
    }

    /// Intercept `y_mean − x_mean W` (scikit-learn's `intercept_`).
    pub fn intercept(&self) -> Vec<f64> {
        (0..self.w.ncols())
            .map(|j| {
                self.y_mean[j]
                    - (0..self.w.nrows())
                        .map(|i| self.x_mean[i] * self.w[(i, j)])
                        .sum::<f64>()
            })
            .collect()
    }
}

/// Eigen-decomposition of `XcᵀXc` and `XcᵀYc`, reused across λ.
struct RidgeCache {
    x_mean: Vec<f64>,
    y_mean: Vec<f64>,
    evals: Vec<f64>,
    evecs: Matrix,
    /// `Vᵀ XcᵀYc`.
    vtxty: Matrix,
}

impl RidgeCache {
    fn new(x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> Result<RidgeCache> {
        let x_mean = linalg::col_means(x);
        let y_mean = linalg::col_means(y);
        let xc = linalg::centered(x);
        let yc = linalg::centered(y);
        let (evals, evecs) = linalg::eigh(linalg::tmul(xc.as_ref(), xc.as_ref()).as_ref())?;
        let xty = linalg::tmul(xc.as_ref(), yc.as_ref());
        let vtxty = linalg::tmul(evecs.as_ref(), xty.as_ref());
        Ok(RidgeCache {
            x_mean,
            y_mean,
            evals,
            evecs,
            vtxty,
        })
    }

    fn weights(&self, lambda: f64) -> Matrix {
        let p = self.evals.len();
        let scaled = Mat::from_fn(p, self.vtxty.ncols(), |i, j| {
            let d = self.evals[i].max(0.0) + lambda;
            if d > 0.0 { self.vtxty[(i, j)] / d } else { 0.0 }
        });
        linalg::mul(self.evecs.as_ref(), scaled.as_ref())
    }

    fn map(&self, lambda: f64) -> LinearMap {
        LinearMap {
            x_mean: self.x_mean.clone(),
            y_mean: self.y_mean.clone(),
            w: self.weights(lambda),
        }
    }
}

/// Ridge map with penalty `lambda` (intercept unpenalised): `W = (XcᵀXc + λI)⁻¹ XcᵀYc`.
pub fn ridge(x: MatRef<'_, f64>, y: MatRef<'_, f64>, lambda: f64) -> Result<LinearMap> {
    check_pair(x, y, 2)?;
    Ok(RidgeCache::new(x, y)?.map(lambda))
}

/// Coefficient of determination per target column, scikit-learn's convention (a constant target scores 1 when
/// predicted exactly, else 0).
pub fn r2_per_dim(y: MatRef<'_, f64>, pred: MatRef<'_, f64>) -> (Vec<f64>, f64) {
    let mu = linalg::col_means(y);
    let mut per = Vec::with_capacity(y.ncols());
    let (mut res_all, mut tot_all) = (0.0, 0.0);
    for j in 0..y.ncols() {
        let mut res = 0.0;
        let mut tot = 0.0;
        for i in 0..y.nrows() {
            res += (y[(i, j)] - pred[(i, j)]).powi(2);
            tot += (y[(i, j)] - mu[j]).powi(2);
        }
        res_all += res;
        tot_all += tot;
        per.push(if tot > 0.0 {
            1.0 - res / tot
        } else if res == 0.0 {
            1.0
        } else {
            0.0
        });
    }
    let vw = if tot_all > 0.0 {
        1.0 - res_all / tot_all
    } else {
        0.0
    };
    (per, vw)
}

/// K-fold split: fold of each item. Without groups, contiguous folds as scikit-learn's `KFold(k)` (the first
/// `n mod k` folds one item larger); with groups, whole groups go to folds round-robin in order of appearance.
pub fn fold_ids(n: usize, k: usize, groups: Option<&[u32]>) -> Vec<usize> {
    match groups {
        None => {
            let base = n / k;
            let extra = n % k;
            let mut out = Vec::with_capacity(n);
            for f in 0..k {
                let size = base + usize::from(f < extra);
                out.extend(std::iter::repeat_n(f, size));
            }
            out
        }
        Some(g) => {
            let mut seen: std::collections::HashMap<u32, usize> = Default::default();
            g.iter()
                .map(|gi| {
                    let next = seen.len();
                    *seen.entry(*gi).or_insert(next) % k
                })
                .collect()
        }
    }
}

/// Ridge λ grid: `scale · 10^e` for `e` in 13 steps from −4 to 2, `scale = tr(XcᵀXc)/p`.
pub fn lambda_grid(x: MatRef<'_, f64>) -> Vec<f64> {
    let xc = linalg::centered(x);
    let scale = linalg::fro2(xc.as_ref()) / x.ncols() as f64;
    (0..13)
        .map(|i| scale * 10f64.powf(-4.0 + 0.5 * i as f64))
        .collect()
}

/// Result of the ridge cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RidgeCv {
    /// Grid searched.
    pub grid: Vec<f64>,
    /// Mean held-out R² (uniform over targets, averaged over folds) per grid value.
    pub cv_r2: Vec<f64>,
    /// Chosen λ (first maximum, as scikit-learn's `RidgeCV(cv=KFold(k))`).
    pub lambda: f64,
}

/// Choose λ by K-fold CV (criterion: mean over folds of the uniform-average R², as scikit-learn's RidgeCV with
/// `cv=KFold(k)`).
pub fn ridge_cv(
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    k: usize,
    groups: Option<&[u32]>,
) -> Result<RidgeCv> {
    check_pair(x, y, 2 * k.max(2))?;
    if k < 2 {
        return Err(AlignError::InvalidParam {
            name: "folds",
            reason: format!("{k} folds; need at least 2"),
        });
    }
    let grid = lambda_grid(x);
    let folds = fold_ids(x.nrows(), k, groups);
    let mut sums = vec![0.0; grid.len()];
    let mut used = 0usize;
    for f in 0..k {
        let tr: Vec<usize> = (0..x.nrows()).filter(|&i| folds[i] != f).collect();
        let te: Vec<usize> = (0..x.nrows()).filter(|&i| folds[i] == f).collect();
        if te.is_empty() || tr.len() < 2 {
            continue;
        }
        used += 1;
        let cache = RidgeCache::new(
            linalg::select_rows(x, &tr).as_ref(),
            linalg::select_rows(y, &tr).as_ref(),
        )?;
        let xte = linalg::select_rows(x, &te);
        let yte = linalg::select_rows(y, &te);
        for (g, &lam) in grid.iter().enumerate() {
            let pred = cache.map(lam).apply(xte.as_ref());
            let (per, _) = r2_per_dim(yte.as_ref(), pred.as_ref());
            sums[g] += per.iter().sum::<f64>() / per.len() as f64;
        }
    }
    let cv_r2: Vec<f64> = sums.iter().map(|s| s / used.max(1) as f64).collect();
    let mut best = 0;
    for g in 1..grid.len() {
        if cv_r2[g] > cv_r2[best] {
            best = g;
        }
    }
    Ok(RidgeCv {
        lambda: grid[best],
        grid,
        cv_r2,
    })
}

/// Procrustes variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcrustesScaling {
    /// Centred only (size-and-shape): `ŷ = (x − x̄) R + ȳ`.
    Centred,
    /// Centred and both views scaled to unit Frobenius norm: `ŷ = (x − x̄) R ‖Yc‖/‖Xc‖ + ȳ`.
    Normalised,
}

/// Orthogonal Procrustes `R* = U Vᵀ` from `XcᵀYc = U Σ Vᵀ` (`p × q`; unequal widths give the zero-padded
/// solution, a semi-orthogonal `R`).
pub fn procrustes(
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    scaling: ProcrustesScaling,
) -> Result<LinearMap> {
    check_pair(x, y, 2)?;
    let xc = linalg::centered(x);
    let yc = linalg::centered(y);
    let (u, _, v) = linalg::thin_svd(linalg::tmul(xc.as_ref(), yc.as_ref()).as_ref())?;
    let mut w = linalg::mul(u.as_ref(), v.transpose());
    if scaling == ProcrustesScaling::Normalised {
        let s = (linalg::fro2(yc.as_ref()) / linalg::fro2(xc.as_ref())).sqrt();
        for j in 0..w.ncols() {
            for i in 0..w.nrows() {
                w[(i, j)] *= s;
            }
        }
    }
    Ok(LinearMap {
        x_mean: linalg::col_means(x),
        y_mean: linalg::col_means(y),
        w,
    })
}

/// Reduced-rank ridge regression: `W_r = W_λ V_r V_rᵀ`, `V_r` the top `rank` right singular vectors of the fitted
/// values `Xc W_λ`.
pub fn rrr(x: MatRef<'_, f64>, y: MatRef<'_, f64>, rank: usize, lambda: f64) -> Result<LinearMap> {
    let full = ridge(x, y, lambda)?;
    let xc = linalg::centered(x);
    let fitted = linalg::mul(xc.as_ref(), full.w.as_ref());
    let (_, _, v) = linalg::thin_svd(fitted.as_ref())?;
    let r = rank.min(v.ncols());
    if r == 0 {
        return Err(AlignError::InvalidParam {
            name: "rank",
            reason: "rank must be at least 1".into(),
        });
    }
    let vr = v.as_ref().subcols(0, r);
    let proj = linalg::mul(vr, vr.transpose());
    Ok(LinearMap {
        w: linalg::mul(full.w.as_ref(), proj.as_ref()),
        ..full
    })
}

/// CCA projections of both views into their shared canonical space.
#[derive(Debug, Clone)]
pub struct CcaMap {
    /// Map of X to canonical variates `[p, m]`.
    pub x: LinearMap,
    /// Map of Y to canonical variates `[q, m]`.
    pub y: LinearMap,
    /// Training canonical correlations.
    pub rho: Vec<f64>,
}

fn whitener(xc: MatRef<'_, f64>) -> Result<Matrix> {
    // Xc = U S Vᵀ → Xc V S⁻¹ = U (orthonormal); dimensions below the rank tolerance are dropped.
    let (_, s, v) = linalg::thin_svd(xc)?;
    let smax = s.first().copied().unwrap_or(0.0);
    let r = s
        .iter()
        .take_while(|&&v| v > linalg::RANK_RTOL * smax)
        .count();
    Ok(Mat::from_fn(v.nrows(), r, |i, j| v[(i, j)] / s[j]))
}

/// Fit CCA directions (`dims` components; `None` = all).
pub fn cca(x: MatRef<'_, f64>, y: MatRef<'_, f64>, dims: Option<usize>) -> Result<CcaMap> {
    check_pair(x, y, 3)?;
    let xc = linalg::centered(x);
    let yc = linalg::centered(y);
    let ax = whitener(xc.as_ref())?;
    let ay = whitener(yc.as_ref())?;
    let qx = linalg::mul(xc.as_ref(), ax.as_ref());
    let qy = linalg::mul(yc.as_ref(), ay.as_ref());
    let (u, s, v) = linalg::thin_svd(linalg::tmul(qx.as_ref(), qy.as_ref()).as_ref())?;
    let m = dims.unwrap_or(s.len()).min(s.len());
    let wx = linalg::mul(ax.as_ref(), u.as_ref().subcols(0, m));
    let wy = linalg::mul(ay.as_ref(), v.as_ref().subcols(0, m));
    let zero = |k: usize| vec![0.0; k];
    Ok(CcaMap {
        x: LinearMap {
            x_mean: linalg::col_means(x),
            y_mean: zero(m),
            w: wx,
        },
        y: LinearMap {
            x_mean: linalg::col_means(y),
            y_mean: zero(m),
            w: wy,
        },
        rho: s[..m].iter().map(|r| r.min(1.0)).collect(),
    })
}

fn check_pair(x: MatRef<'_, f64>, y: MatRef<'_, f64>, need: usize) -> Result<()> {
    if x.nrows() != y.nrows() {
        return Err(AlignError::RowMismatch {
            x: x.nrows(),
            y: y.nrows(),
        });
    }
    linalg::check_finite(x, "X")?;
    linalg::check_finite(y, "Y")?;
    if x.nrows() < need {
        return Err(AlignError::TooFewItems {
            what: "map",
            need,
            got: x.nrows(),
        });
    }
    Ok(())
}

/// Parameters of [`fit_and_evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapParams {
    /// Map family.
    pub method: MapMethod,
    /// Fraction of items (or groups) held out for scoring.
    pub test_fraction: f64,
    /// CV folds for ridge / RRR λ.
    pub folds: usize,
    /// Fixed λ (skips the CV).
    pub lambda: Option<f64>,
    /// Rank of RRR / components of CCA / width of the contrastive heads.
    pub rank: Option<usize>,
    /// Procrustes variant.
    pub procrustes: ProcrustesScaling,
    /// Seed of the train/test split (and of the contrastive heads' initialisation and batches).
    pub seed: u64,
    /// Training epochs of the contrastive heads.
    pub epochs: usize,
    /// Adam step size of the contrastive heads.
    pub lr: f64,
    /// Mini-batch size of the contrastive heads.
    pub batch_size: usize,
}

impl Default for MapParams {
    fn default() -> Self {
        MapParams {
            method: MapMethod::Ridge,
            test_fraction: 0.2,
            folds: 5,
            lambda: None,
            rank: None,
            procrustes: ProcrustesScaling::Centred,
            seed: 0,
            epochs: ContrastiveParams::default().epochs,
            lr: ContrastiveParams::default().lr,
            batch_size: ContrastiveParams::default().batch_size,
        }
    }
}

/// Held-out evaluation of a map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapReport {
    /// Map family.
    pub method: MapMethod,
    /// Training pairs.
    pub n_train: usize,
    /// Held-out pairs.
    pub n_test: usize,
    /// λ used (ridge, RRR).
    pub lambda: Option<f64>,
    /// Ridge CV trace.
    pub cv: Option<RidgeCv>,
    /// Rank (RRR) or components (CCA).
    pub rank: Option<usize>,
    /// Held-out R² per target dimension (regression maps; CCA: none).
    pub r2_per_dim: Option<Vec<f64>>,
    /// Mean of `r2_per_dim`.
    pub r2_mean: Option<f64>,
    /// Variance-weighted held-out R² `1 − Σ SS_res / Σ SS_tot`.
    pub r2_variance_weighted: Option<f64>,
    /// Held-out canonical correlations (CCA).
    pub test_canonical_correlations: Option<Vec<f64>>,
    /// Retrieval on the held-out pairs by cosine similarity in Y space (CCA: in canonical space; contrastive
    /// heads: in the shared space), both directions.
    pub retrieval: Retrieval,
    /// Training summary of the contrastive heads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contrastive: Option<ContrastiveSummary>,
}

/// Split items (or whole groups) into train and test at random.
pub fn train_test_split(
    n: usize,
    groups: Option<&[u32]>,
    test_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let keys: Vec<u32> = match groups {
        Some(g) => g.to_vec(),
        None => (0..n as u32).collect(),
    };
    let mut uniq: Vec<u32> = keys.clone();
    uniq.sort_unstable();
    uniq.dedup();
    uniq.shuffle(&mut rng);
    let n_test = ((uniq.len() as f64 * test_fraction).round() as usize)
        .clamp(1, uniq.len().saturating_sub(1).max(1));
    let test: std::collections::HashSet<u32> = uniq[..n_test].iter().copied().collect();
    let (mut tr, mut te) = (Vec::new(), Vec::new());
    for (i, k) in keys.iter().enumerate() {
        if test.contains(k) {
            te.push(i);
        } else {
            tr.push(i);
        }
    }
    (tr, te)
}

/// Fit a map on a random training split and score it on the held-out pairs.
pub fn fit_and_evaluate(
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    groups: Option<&[u32]>,
    params: &MapParams,
) -> Result<(MapReport, Matrix)> {
    check_pair(x, y, 6)?;
    if !(params.test_fraction > 0.0 && params.test_fraction < 1.0) {
        return Err(AlignError::InvalidParam {
            name: "test-fraction",
            reason: format!("{} is not in (0, 1)", params.test_fraction),
        });
    }
    let (tr, te) = train_test_split(x.nrows(), groups, params.test_fraction, params.seed);
    let xtr = linalg::select_rows(x, &tr);
    let ytr = linalg::select_rows(y, &tr);
    let xte = linalg::select_rows(x, &te);
    let yte = linalg::select_rows(y, &te);
    let gtr: Option<Vec<u32>> = groups.map(|g| tr.iter().map(|&i| g[i]).collect());
    let mut report = MapReport {
        method: params.method,
        n_train: tr.len(),
        n_test: te.len(),
        lambda: None,
        cv: None,
        rank: None,
        r2_per_dim: None,
        r2_mean: None,
        r2_variance_weighted: None,
        test_canonical_correlations: None,
        retrieval: retrieval::retrieval(Mat::<f64>::zeros(0, 0).as_ref(), None),
        contrastive: None,
    };
    let choose_lambda = |report: &mut MapReport| -> Result<f64> {
        Ok(match params.lambda {
            Some(l) => l,
            None => {
                let cv = ridge_cv(xtr.as_ref(), ytr.as_ref(), params.folds, gtr.as_deref())?;
                let l = cv.lambda;
                report.cv = Some(cv);
                l
            }
        })
    };
    let (map, weights) = match params.method {
        MapMethod::Ridge => {
            let l = choose_lambda(&mut report)?;
            report.lambda = Some(l);
            let m = ridge(xtr.as_ref(), ytr.as_ref(), l)?;
            let w = m.w.clone();
            (Some(m), w)
        }
        MapMethod::Rrr => {
            let l = choose_lambda(&mut report)?;
            let rank = params.rank.unwrap_or(8).min(y.ncols());
            report.lambda = Some(l);
            report.rank = Some(rank);
            let m = rrr(xtr.as_ref(), ytr.as_ref(), rank, l)?;
            let w = m.w.clone();
            (Some(m), w)
        }
        MapMethod::Procrustes => {
            let m = procrustes(xtr.as_ref(), ytr.as_ref(), params.procrustes)?;
            let w = m.w.clone();
            (Some(m), w)
        }
        MapMethod::Cca => {
            let c = cca(xtr.as_ref(), ytr.as_ref(), params.rank)?;
            let zx = c.x.apply(xte.as_ref());
            let zy = c.y.apply(yte.as_ref());
            let rho: Vec<f64> = (0..zx.ncols())
                .map(|j| {
                    let a: Vec<f64> = zx.col(j).iter().copied().collect();
                    let b: Vec<f64> = zy.col(j).iter().copied().collect();
                    pearson(&a, &b)
                })
                .collect();
            report.rank = Some(zx.ncols());
            report.test_canonical_correlations = Some(rho);
            report.retrieval =
                retrieval::retrieval(retrieval::cosine(zx.as_ref(), zy.as_ref()).as_ref(), None);
            (None, c.x.w)
        }
        MapMethod::InfoNce | MapMethod::Siglip => {
            let cp = ContrastiveParams {
                loss: if params.method == MapMethod::InfoNce {
                    ContrastiveLoss::InfoNce
                } else {
                    ContrastiveLoss::Siglip
                },
                rank: params.rank,
                epochs: params.epochs,
                lr: params.lr,
                batch_size: params.batch_size,
                seed: params.seed,
            };
            let model = contrastive::train(xtr.as_ref(), ytr.as_ref(), &cp)?;
            let zx = model.project_x(xte.as_ref());
            let zy = model.project_y(yte.as_ref());
            report.rank = Some(zx.ncols());
            report.retrieval =
                retrieval::retrieval(retrieval::cosine(zx.as_ref(), zy.as_ref()).as_ref(), None);
            report.contrastive = Some(model.summary(&cp));
            (None, model.heads.wx)
        }
    };
    if let Some(m) = map {
        let pred = m.apply(xte.as_ref());
        let (per, vw) = r2_per_dim(yte.as_ref(), pred.as_ref());
        report.r2_mean = Some(per.iter().sum::<f64>() / per.len() as f64);
        report.r2_per_dim = Some(per);
        report.r2_variance_weighted = Some(vw);
        report.retrieval = retrieval::retrieval(
            retrieval::cosine(pred.as_ref(), yte.as_ref()).as_ref(),
            None,
        );
    }
    Ok((report, weights))
}

fn pearson(av: &[f64], bv: &[f64]) -> f64 {
    let n = av.len() as f64;
    let ma = av.iter().sum::<f64>() / n;
    let mb = bv.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in av.iter().zip(bv) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}
