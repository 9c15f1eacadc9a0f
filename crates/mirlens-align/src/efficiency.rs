//! Sample efficiency of a cross-modal map (reference §10.2, X4): labels are abundant in modality Y and scarce in X.
//! A probe trained on Y's features of the whole training pool is applied to X features mapped into Y's space by a
//! map fitted on only `N` paired items, and compared with a probe trained directly on X with the same `N` labels.
//!
//! The probe is a one-vs-rest ridge classifier (scikit-learn `RidgeClassifier`: targets ±1 per class, prediction
//! the arg-max of the decision values) on features standardised with its training rows' means and standard
//! deviations, penalty `probe_lambda` (default 1, scikit-learn's `alpha`).

use crate::error::{AlignError, Result};
use crate::linalg;
use crate::maps::{self, LinearMap, MapMethod, ProcrustesScaling};
use faer::{Mat, MatRef};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One-vs-rest ridge classifier on standardised features.
#[derive(Debug, Clone)]
pub struct RidgeClassifier {
    mean: Vec<f64>,
    sd: Vec<f64>,
    map: LinearMap,
}

impl RidgeClassifier {
    /// Fit on rows `x` with classes `labels` (each `< n_classes`), penalty `lambda`.
    pub fn fit(
        x: MatRef<'_, f64>,
        labels: &[usize],
        n_classes: usize,
        lambda: f64,
    ) -> Result<RidgeClassifier> {
        if labels.len() != x.nrows() {
            return Err(AlignError::RowMismatch {
                x: x.nrows(),
                y: labels.len(),
            });
        }
        let mean = linalg::col_means(x);
        let n = x.nrows().max(1) as f64;
        let sd: Vec<f64> = (0..x.ncols())
            .map(|j| {
                let v = x.col(j).iter().map(|v| (v - mean[j]).powi(2)).sum::<f64>() / n;
                if v > 1e-24 { v.sqrt() } else { 1.0 }
            })
            .collect();
        let xs = Mat::from_fn(x.nrows(), x.ncols(), |i, j| (x[(i, j)] - mean[j]) / sd[j]);
        let t = Mat::from_fn(x.nrows(), n_classes, |i, k| {
            if labels[i] == k { 1.0 } else { -1.0 }
        });
        let map = maps::ridge(xs.as_ref(), t.as_ref(), lambda)?;
        Ok(RidgeClassifier { mean, sd, map })
    }

    /// Predicted class of each row (ties to the lower class).
    pub fn predict(&self, x: MatRef<'_, f64>) -> Vec<usize> {
        let xs = Mat::from_fn(x.nrows(), x.ncols(), |i, j| {
            (x[(i, j)] - self.mean[j]) / self.sd[j]
        });
        let d = self.map.apply(xs.as_ref());
        (0..d.nrows())
            .map(|i| {
                let mut best = 0;
                for k in 1..d.ncols() {
                    if d[(i, k)] > d[(i, best)] {
                        best = k;
                    }
                }
                best
            })
            .collect()
    }

    /// Fraction of rows predicted correctly.
    pub fn accuracy(&self, x: MatRef<'_, f64>, labels: &[usize]) -> f64 {
        accuracy(&self.predict(x), labels)
    }
}

fn accuracy(pred: &[usize], labels: &[usize]) -> f64 {
    let hits = pred.iter().zip(labels).filter(|(a, b)| a == b).count();
    hits as f64 / labels.len().max(1) as f64
}

/// Parameters of [`efficiency`] and [`transfer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfficiencyParams {
    /// Paired training sizes `N` (capped at the training pool; duplicates after capping are dropped).
    pub sizes: Vec<usize>,
    /// Repeats per size (different draws of the `N` items).
    pub seeds: usize,
    /// Map X → Y: ridge, procrustes or rrr.
    pub method: MapMethod,
    /// CV folds for the ridge / RRR λ (over the `N` items).
    pub folds: usize,
    /// Fixed map λ instead of the CV.
    pub lambda: Option<f64>,
    /// RRR rank (default 8).
    pub rank: Option<usize>,
    /// Procrustes variant.
    pub procrustes: ProcrustesScaling,
    /// Ridge-classifier penalty of the probes.
    pub probe_lambda: f64,
    /// Held-out fraction of items (of groups when groups are given).
    pub test_fraction: f64,
    /// Seed of the split and the draws.
    pub seed: u64,
}

impl Default for EfficiencyParams {
    fn default() -> Self {
        EfficiencyParams {
            sizes: vec![10, 30, 100, 300, 1000],
            seeds: 5,
            method: MapMethod::Ridge,
            folds: 5,
            lambda: None,
            rank: None,
            procrustes: ProcrustesScaling::Centred,
            probe_lambda: 1.0,
            test_fraction: 0.2,
            seed: 0,
        }
    }
}

/// Accuracies at one training size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfficiencyRow {
    /// Paired items / labels used.
    pub n: usize,
    /// Y's probe on mapped held-out X, per seed.
    pub mapped: Vec<f64>,
    /// Probe trained on X with `n` labels, per seed.
    pub direct: Vec<f64>,
    /// Mean of `mapped`.
    pub mapped_mean: f64,
    /// Min of `mapped`.
    pub mapped_min: f64,
    /// Max of `mapped`.
    pub mapped_max: f64,
    /// Mean of `direct`.
    pub direct_mean: f64,
    /// Min of `direct`.
    pub direct_min: f64,
    /// Max of `direct`.
    pub direct_max: f64,
}

/// Result of [`efficiency`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfficiencyReport {
    /// Map family.
    pub method: MapMethod,
    /// Training pool (items Y's probe is trained on; the `N` items are drawn from it).
    pub n_pool: usize,
    /// Held-out items (accuracies are on these).
    pub n_test: usize,
    /// Classes.
    pub classes: usize,
    /// Share of the most frequent class among the held-out items.
    pub chance: f64,
    /// Y's probe on the true held-out Y features (the ceiling of the mapped route).
    pub y_probe_accuracy: f64,
    /// Ridge-classifier penalty.
    pub probe_lambda: f64,
    /// Seed.
    pub seed: u64,
    /// One row per size.
    pub rows: Vec<EfficiencyRow>,
}

fn check_labels(labels: &[usize], n: usize) -> Result<usize> {
    if labels.len() != n {
        return Err(AlignError::RowMismatch {
            x: n,
            y: labels.len(),
        });
    }
    let k = labels.iter().max().map_or(0, |m| m + 1);
    if k < 2 {
        return Err(AlignError::InvalidParam {
            name: "labels",
            reason: format!("{k} class(es); a probe needs at least 2"),
        });
    }
    Ok(k)
}

/// Fit the map X → Y of `method` on the rows `x`, `y`.
fn fit_map(x: MatRef<'_, f64>, y: MatRef<'_, f64>, p: &EfficiencyParams) -> Result<LinearMap> {
    let lambda = || -> Result<f64> {
        Ok(match p.lambda {
            Some(l) => l,
            None => maps::ridge_cv(x, y, p.folds, None)?.lambda,
        })
    };
    match p.method {
        MapMethod::Ridge => maps::ridge(x, y, lambda()?),
        MapMethod::Rrr => maps::rrr(x, y, p.rank.unwrap_or(8).min(y.ncols()), lambda()?),
        MapMethod::Procrustes => maps::procrustes(x, y, p.procrustes),
        other => Err(AlignError::InvalidParam {
            name: "method",
            reason: format!(
                "{} does not map X into Y's space; use ridge, procrustes or rrr",
                other.name()
            ),
        }),
    }
}

fn split(
    n: usize,
    groups: Option<&[u32]>,
    p: &EfficiencyParams,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(p.test_fraction > 0.0 && p.test_fraction < 1.0) {
        return Err(AlignError::InvalidParam {
            name: "test-fraction",
            reason: format!("{} is not in (0, 1)", p.test_fraction),
        });
    }
    Ok(maps::train_test_split(n, groups, p.test_fraction, p.seed))
}

/// Run the sample-efficiency curve. `labels[i]` is the class of pair `i` (0-based); `groups` keeps whole groups
/// (clips) on one side of the train/test split.
pub fn efficiency(
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    labels: &[usize],
    groups: Option<&[u32]>,
    params: &EfficiencyParams,
) -> Result<EfficiencyReport> {
    if x.nrows() != y.nrows() {
        return Err(AlignError::RowMismatch {
            x: x.nrows(),
            y: y.nrows(),
        });
    }
    linalg::check_finite(x, "X")?;
    linalg::check_finite(y, "Y")?;
    let k = check_labels(labels, x.nrows())?;
    if params.seeds == 0 || params.sizes.is_empty() {
        return Err(AlignError::InvalidParam {
            name: "sizes/seeds",
            reason: "need at least one size and one seed".into(),
        });
    }
    let (pool, test) = split(x.nrows(), groups, params)?;
    let xte = linalg::select_rows(x, &test);
    let yte = linalg::select_rows(y, &test);
    let lte: Vec<usize> = test.iter().map(|&i| labels[i]).collect();
    let lpool: Vec<usize> = pool.iter().map(|&i| labels[i]).collect();
    let y_probe = RidgeClassifier::fit(
        linalg::select_rows(y, &pool).as_ref(),
        &lpool,
        k,
        params.probe_lambda,
    )?;
    let y_probe_accuracy = y_probe.accuracy(yte.as_ref(), &lte);
    let mut sizes: Vec<usize> = params.sizes.iter().map(|&s| s.min(pool.len())).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut rows = Vec::with_capacity(sizes.len());
    for &n in &sizes {
        if n < 2 {
            return Err(AlignError::TooFewItems {
                what: "efficiency size",
                need: 2,
                got: n,
            });
        }
        let mut mapped = Vec::with_capacity(params.seeds);
        let mut direct = Vec::with_capacity(params.seeds);
        for s in 0..params.seeds {
            // Nested draws: for one repeat, the items of a smaller N are a prefix of those of a larger N.
            let mut order = pool.clone();
            order.shuffle(&mut StdRng::seed_from_u64(
                params
                    .seed
                    .wrapping_mul(1_000_003)
                    .wrapping_add(s as u64 + 1),
            ));
            let pick = &order[..n];
            let xs = linalg::select_rows(x, pick);
            let ys = linalg::select_rows(y, pick);
            let ls: Vec<usize> = pick.iter().map(|&i| labels[i]).collect();
            let map = fit_map(xs.as_ref(), ys.as_ref(), params)?;
            mapped.push(y_probe.accuracy(map.apply(xte.as_ref()).as_ref(), &lte));
            let probe = RidgeClassifier::fit(xs.as_ref(), &ls, k, params.probe_lambda)?;
            direct.push(probe.accuracy(xte.as_ref(), &lte));
        }
        let stats = |v: &[f64]| {
            (
                v.iter().sum::<f64>() / v.len() as f64,
                v.iter().copied().fold(f64::INFINITY, f64::min),
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        };
        let (mapped_mean, mapped_min, mapped_max) = stats(&mapped);
        let (direct_mean, direct_min, direct_max) = stats(&direct);
        rows.push(EfficiencyRow {
            n,
            mapped,
            direct,
            mapped_mean,
            mapped_min,
            mapped_max,
            direct_mean,
            direct_min,
            direct_max,
        });
    }
    Ok(EfficiencyReport {
        method: params.method,
        n_pool: pool.len(),
        n_test: test.len(),
        classes: k,
        chance: majority_share(&lte, k),
        y_probe_accuracy,
        probe_lambda: params.probe_lambda,
        seed: params.seed,
        rows,
    })
}

fn majority_share(labels: &[usize], k: usize) -> f64 {
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l] += 1;
    }
    counts.into_iter().max().unwrap_or(0) as f64 / labels.len().max(1) as f64
}

impl EfficiencyReport {
    /// CSV: one row per size.
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "n,mapped_mean,mapped_min,mapped_max,direct_mean,direct_min,direct_max,y_probe_accuracy,chance\n",
        );
        for r in &self.rows {
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                r.n,
                r.mapped_mean,
                r.mapped_min,
                r.mapped_max,
                r.direct_mean,
                r.direct_min,
                r.direct_max,
                self.y_probe_accuracy,
                self.chance
            ));
        }
        s
    }

    /// SVG line chart: accuracy against N (log x), both routes with min–max bands, Y's ceiling and chance dashed.
    pub fn to_svg(&self) -> Result<String> {
        use mirlens_report::{ErrorDisplay, LineChart, Scale, Series};
        let pts = |f: &dyn Fn(&EfficiencyRow) -> f64| -> Vec<(f64, f64)> {
            self.rows.iter().map(|r| (r.n as f64, f(r))).collect()
        };
        let band = |lo: &dyn Fn(&EfficiencyRow) -> f64, hi: &dyn Fn(&EfficiencyRow) -> f64| {
            self.rows.iter().map(|r| (lo(r), hi(r))).collect()
        };
        let chart = LineChart {
            title: format!(
                "Y probe through the {} map vs a probe on X (min–max over seeds)",
                self.method.name()
            ),
            x_label: "paired items / labels N".into(),
            y_label: "held-out accuracy".into(),
            series: vec![
                Series::new("mapped X → Y probe", pts(&|r| r.mapped_mean)).with_interval(
                    band(&|r| r.mapped_min, &|r| r.mapped_max),
                    ErrorDisplay::Band,
                ),
                Series::new("probe on X", pts(&|r| r.direct_mean)).with_interval(
                    band(&|r| r.direct_min, &|r| r.direct_max),
                    ErrorDisplay::Band,
                ),
                Series::new("Y probe on Y", pts(&|_| self.y_probe_accuracy)).dashed(),
                Series::new("majority class", pts(&|_| self.chance)).dashed(),
            ],
            x_scale: Scale::Log10,
            y_range: Some((0.0, 1.0)),
        };
        Ok(chart.to_svg()?)
    }

    /// Write `efficiency.csv`, `efficiency.json` and `efficiency.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(crate::error::io_err(dir))?;
        mirlens_report::write_atomic(&dir.join("efficiency.csv"), self.to_csv().as_bytes())?;
        let json = serde_json::to_vec_pretty(self).expect("efficiency report serialises");
        mirlens_report::write_atomic(&dir.join("efficiency.json"), &json)?;
        mirlens_report::write_atomic(&dir.join("efficiency.svg"), self.to_svg()?.as_bytes())?;
        Ok(())
    }
}

/// Class index of each label string, classes numbered in sorted order of their names; also returns the names.
pub fn encode_labels(keys: &[String]) -> (Vec<usize>, Vec<String>) {
    let mut names: Vec<String> = keys.to_vec();
    names.sort();
    names.dedup();
    let idx = keys
        .iter()
        .map(|k| names.binary_search(k).expect("name is present"))
        .collect();
    (idx, names)
}

/// Paired views with a class per pair.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// The views and the group (clip) of each pair.
    pub paired: crate::pairing::Paired,
    /// Class of each pair.
    pub labels: Vec<usize>,
    /// Class names (store labels) or numbers (`.npy` labels), indexed by class.
    pub classes: Vec<String>,
}

/// Load two views with a class per pair: two `.npy` matrices with `labels_npy` (one non-negative integer per row),
/// or two store layers paired by `mode` (`Overlap` or `Order`) with the Y store's label `label` (an int or string
/// label, row- or clip-level; pairs whose Y row lacks it are dropped).
pub fn load_labelled(
    x: &crate::pairing::Source,
    y: &crate::pairing::Source,
    mode: crate::pairing::Pairing,
    label: Option<&str>,
    labels_npy: Option<&Path>,
) -> Result<Labelled> {
    use crate::pairing::{self, Paired, Pairing, Source, StorePairing};
    use mirlens_core::LabelValue;
    match (x, y) {
        (Source::Npy(_), Source::Npy(_)) => {
            let path = labels_npy.ok_or_else(|| AlignError::InvalidParam {
                name: "labels",
                reason: ".npy inputs need --labels FILE.npy (an integer class per row)".into(),
            })?;
            let paired = pairing::load_pair(x, y, mode)?;
            let labels = crate::npy::read_labels(path)?;
            if labels.len() != paired.x.nrows() {
                return Err(AlignError::RowMismatch {
                    x: paired.x.nrows(),
                    y: labels.len(),
                });
            }
            let k = labels.iter().max().map_or(0, |m| m + 1);
            Ok(Labelled {
                paired,
                labels,
                classes: (0..k).map(|c| c.to_string()).collect(),
            })
        }
        (Source::Store { dir: a, layer: la }, Source::Store { dir: b, layer: lb }) => {
            let name = label.ok_or_else(|| AlignError::InvalidParam {
                name: "label",
                reason: "store inputs need --label NAME (a label of the Y store)".into(),
            })?;
            if mode == Pairing::Pooled {
                return Err(AlignError::InvalidParam {
                    name: "pairing",
                    reason: "labels are per row; use --pairing overlap or order".into(),
                });
            }
            let xs = mirlens_store::reader::Store::open(a)?;
            let ys = mirlens_store::reader::Store::open(b)?;
            let p = StorePairing::new(&xs, &ys, mode)?;
            let values = ys.label_values(name)?;
            let mut keep = Vec::new();
            let mut keys = Vec::new();
            for (k, &row) in p.y_rows.iter().enumerate() {
                match &values[row] {
                    Some(LabelValue::Int(v)) => {
                        keep.push(k);
                        keys.push(format!("{v:020}"));
                    }
                    Some(LabelValue::Str(s)) => {
                        keep.push(k);
                        keys.push(s.clone());
                    }
                    Some(other) => {
                        return Err(AlignError::InvalidParam {
                            name: "label",
                            reason: format!(
                                "{name} is a {} label; a class needs an int or string label",
                                other.type_name()
                            ),
                        });
                    }
                    None => {}
                }
            }
            let xl = p.x_view(&pairing::read_layer(&xs, *la)?);
            let yl = p.y_view(&pairing::read_layer(&ys, *lb)?);
            let (labels, mut classes) = encode_labels(&keys);
            for c in &mut classes {
                if let Ok(v) = c.parse::<i64>() {
                    *c = v.to_string();
                }
            }
            Ok(Labelled {
                paired: Paired {
                    x: linalg::select_rows(xl.as_ref(), &keep),
                    y: linalg::select_rows(yl.as_ref(), &keep),
                    groups: keep.iter().map(|&k| p.groups[k]).collect(),
                    group_names: p.group_names.clone(),
                },
                labels,
                classes,
            })
        }
        _ => Err(AlignError::InvalidParam {
            name: "x/y",
            reason: "give two .npy files or two stores".into(),
        }),
    }
}

/// Result of [`transfer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferReport {
    /// Map family.
    pub method: MapMethod,
    /// Training pairs (the map, both probes).
    pub n_train: usize,
    /// Held-out pairs.
    pub n_test: usize,
    /// Classes.
    pub classes: usize,
    /// Share of the most frequent class among the held-out items.
    pub chance: f64,
    /// Probe trained on Y, applied to held-out Y.
    pub y_probe_on_y: f64,
    /// Probe trained on Y, applied to held-out X mapped into Y's space (the transfer).
    pub y_probe_on_mapped_x: f64,
    /// Probe trained on X, applied to held-out X (the direct route).
    pub x_probe_on_x: f64,
    /// `y_probe_on_mapped_x − x_probe_on_x`.
    pub transfer_gap: f64,
}

/// Probe transfer through a map (reference §10.2, X5): a probe trained on Y's features is applied to X mapped into
/// Y's space by a map fitted on the same training pairs, against a probe trained on X, a probe on Y itself and the
/// majority class. `params.sizes` and `params.seeds` are not used.
pub fn transfer(
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    labels: &[usize],
    groups: Option<&[u32]>,
    params: &EfficiencyParams,
) -> Result<TransferReport> {
    if x.nrows() != y.nrows() {
        return Err(AlignError::RowMismatch {
            x: x.nrows(),
            y: y.nrows(),
        });
    }
    linalg::check_finite(x, "X")?;
    linalg::check_finite(y, "Y")?;
    let k = check_labels(labels, x.nrows())?;
    let (tr, te) = split(x.nrows(), groups, params)?;
    let (xtr, ytr) = (linalg::select_rows(x, &tr), linalg::select_rows(y, &tr));
    let (xte, yte) = (linalg::select_rows(x, &te), linalg::select_rows(y, &te));
    let ltr: Vec<usize> = tr.iter().map(|&i| labels[i]).collect();
    let lte: Vec<usize> = te.iter().map(|&i| labels[i]).collect();
    let y_probe = RidgeClassifier::fit(ytr.as_ref(), &ltr, k, params.probe_lambda)?;
    let x_probe = RidgeClassifier::fit(xtr.as_ref(), &ltr, k, params.probe_lambda)?;
    let map = fit_map(xtr.as_ref(), ytr.as_ref(), params)?;
    let mapped = y_probe.accuracy(map.apply(xte.as_ref()).as_ref(), &lte);
    let direct = x_probe.accuracy(xte.as_ref(), &lte);
    Ok(TransferReport {
        method: params.method,
        n_train: tr.len(),
        n_test: te.len(),
        classes: k,
        chance: majority_share(&lte, k),
        y_probe_on_y: y_probe.accuracy(yte.as_ref(), &lte),
        y_probe_on_mapped_x: mapped,
        x_probe_on_x: direct,
        transfer_gap: mapped - direct,
    })
}
