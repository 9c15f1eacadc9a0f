//! Neuron-finding reports: ranking, accuracy vs k, random-complement baseline ("equivalent random multiple"),
//! L0 λ sweep with Spearman agreement, control-task selectivity, cross-task generalisation matrix, bootstrap CIs.

use crate::data::{Matrix, Split, Standardizer, grouped_split, n_classes, take};
use crate::error::{ProbeError, Result, param};
use crate::l0::{L0Params, L0Probe};
use crate::linear::{ClassWeight, LogisticParams, LogisticRegression};
use crate::metrics::accuracy;
use crate::ranking::{RankMethod, rank, scores, spearman, spearman_max};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Parameters of [`neuron_report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeuronReportParams {
    /// Ranking statistic (`WelchT` needs a binary label; `AnovaF` works for any).
    pub method: RankMethod,
    /// Values of k for the accuracy-vs-k sweep; empty = 1, 2, 4, … up to d (d included).
    pub ks: Vec<usize>,
    /// Probe trained on the selected neurons.
    pub probe: LogisticParams,
    /// Fraction of groups held out for testing.
    pub test_fraction: f64,
    /// Seed of the split, random draws and bootstrap.
    pub seed: u64,
    /// Size of the "top" set as a fraction of d (k₀ = max(1, round(fraction · d))).
    pub top_fraction: f64,
    /// Multiples of k₀ for the random-complement baseline.
    pub random_multiples: Vec<f64>,
    /// Random draws per multiple.
    pub random_draws: usize,
    /// λ values for the L0 sweep (binary labels only; empty = skip).
    pub l0_lambdas: Vec<f64>,
    /// L0 probe settings (λ is replaced by each sweep value).
    pub l0: L0Params,
    /// Bootstrap resamples for confidence intervals.
    pub bootstrap: usize,
    /// Number of top neurons listed in the ranking table (all are ranked).
    pub list_top: usize,
}

impl Default for NeuronReportParams {
    fn default() -> Self {
        NeuronReportParams {
            method: RankMethod::AnovaF,
            ks: Vec::new(),
            probe: LogisticParams {
                c: 1.0,
                class_weight: ClassWeight::Balanced,
                ..Default::default()
            },
            test_fraction: 0.25,
            seed: 0,
            top_fraction: 0.01,
            random_multiples: vec![1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0],
            random_draws: 10,
            l0_lambdas: Vec::new(),
            l0: L0Params::default(),
            bootstrap: 200,
            list_top: 50,
        }
    }
}

impl NeuronReportParams {
    /// Validate.
    pub fn check(self) -> Result<Self> {
        if !(self.top_fraction > 0.0 && self.top_fraction <= 1.0) {
            return Err(param("top_fraction", self.top_fraction, "in (0, 1]"));
        }
        if self.random_draws == 0 {
            return Err(param("random_draws", 0, ">= 1"));
        }
        if self.random_multiples.iter().any(|&m| m.is_nan() || m < 1.0) {
            return Err(param(
                "random_multiples",
                format!("{:?}", self.random_multiples),
                "all >= 1",
            ));
        }
        self.probe.check()?;
        Ok(self)
    }
}

/// One ranked neuron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedNeuron {
    /// Rank (1 = most informative).
    pub rank: usize,
    /// Neuron (column) index.
    pub neuron: usize,
    /// Score of the ranking statistic (|t|, F, …).
    pub score: f64,
}

/// Accuracy with a bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Point estimate.
    pub value: f64,
    /// 2.5 % bootstrap percentile.
    pub ci_low: f64,
    /// 97.5 % bootstrap percentile.
    pub ci_high: f64,
}

/// One point of the accuracy-vs-k sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KPoint {
    /// Number of neurons.
    pub k: usize,
    /// Fraction of all neurons.
    pub fraction: f64,
    /// Test accuracy of the probe on the top-k neurons.
    pub accuracy: Estimate,
}

/// One point of the random-complement baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomPoint {
    /// Multiple of k₀.
    pub multiple: f64,
    /// Subset size.
    pub k: usize,
    /// Mean test accuracy over the draws.
    pub mean: f64,
    /// Standard deviation over the draws.
    pub std: f64,
    /// Accuracy of each draw.
    pub draws: Vec<f64>,
}

/// The top-k₀ vs random-complement comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomComplement {
    /// Size of the top set.
    pub k0: usize,
    /// Accuracy of the probe on the top-k₀ neurons.
    pub top_accuracy: f64,
    /// Random subsets from the complement.
    pub points: Vec<RandomPoint>,
    /// M = k*/k₀ where random subsets first reach the top accuracy (log-k interpolation); `None` if never reached.
    pub equivalent_multiple: Option<f64>,
    /// The largest multiple tried (the report says "M ≥ this" when not reached).
    pub max_multiple: f64,
    /// Bootstrap 95 % interval of M over the draws (when reached in the resamples).
    pub multiple_ci: Option<(f64, f64)>,
}

/// One λ of the L0 sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct L0Point {
    /// λ.
    pub lambda: f64,
    /// Neurons with a non-zero test-time gate.
    pub neurons_used: usize,
    /// Test accuracy with the deterministic mask (plain accuracy, the metric of the dense and top-k probes).
    pub accuracy: f64,
    /// Spearman ρ between the ranking scores and the mask values (NaN when the mask is constant, e.g. empty).
    pub spearman: f64,
    /// The attainable maximum of ρ given the mask's ties.
    pub spearman_max: f64,
}

/// Control-task comparison (Hewitt & Liang): the same probe on labels assigned at random per type.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Selectivity {
    /// Task accuracy (dense probe).
    pub task_accuracy: f64,
    /// Control-task accuracy.
    pub control_accuracy: f64,
    /// `task − control`.
    pub selectivity: f64,
    /// Majority-class accuracy on the test set.
    pub chance: f64,
}

/// Everything `mirlens neurons` reports for one layer and label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeuronReport {
    /// Ranking method name.
    pub method: String,
    /// Number of neurons.
    pub n_neurons: usize,
    /// Number of classes.
    pub n_classes: usize,
    /// Train / test rows.
    pub n_train: usize,
    /// Test rows.
    pub n_test: usize,
    /// The top neurons.
    pub ranking: Vec<RankedNeuron>,
    /// Full scores in neuron order.
    pub scores: Vec<f64>,
    /// Dense probe accuracy (all neurons).
    pub dense_accuracy: Estimate,
    /// Accuracy vs k.
    pub k_sweep: Vec<KPoint>,
    /// Random-complement baseline.
    pub random_complement: RandomComplement,
    /// L0 λ sweep (empty when not requested or the label is not binary).
    pub l0_sweep: Vec<L0Point>,
    /// Control-task selectivity.
    pub control: Selectivity,
}

/// Percentile bootstrap 95 % interval of the mean of `correct` (0/1 per test row).
pub fn bootstrap_accuracy(correct: &[bool], resamples: usize, seed: u64) -> Estimate {
    let n = correct.len();
    let value = if n == 0 {
        0.0
    } else {
        correct.iter().filter(|c| **c).count() as f64 / n as f64
    };
    if n == 0 || resamples == 0 {
        return Estimate {
            value,
            ci_low: value,
            ci_high: value,
        };
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| (0..n).filter(|_| correct[rng.random_range(0..n)]).count() as f64 / n as f64)
        .collect();
    stats.sort_by(f64::total_cmp);
    let q = |p: f64| stats[((p * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    Estimate {
        value,
        ci_low: q(0.025),
        ci_high: q(0.975),
    }
}

/// Standardised train/test design for one split.
pub struct Prepared {
    /// Standardised training rows.
    pub x_train: Matrix,
    /// Standardised test rows.
    pub x_test: Matrix,
    /// Training labels.
    pub y_train: Vec<usize>,
    /// Test labels.
    pub y_test: Vec<usize>,
}

/// Split rows by group, standardise on the training part.
pub fn prepare(x: &Matrix, y: &[usize], split: &Split) -> Result<Prepared> {
    let xtr = x.select_rows(&split.train);
    let st = Standardizer::fit(&xtr, 1e-6);
    Ok(Prepared {
        x_train: st.transform(&xtr)?,
        x_test: st.transform(&x.select_rows(&split.test))?,
        y_train: take(y, &split.train),
        y_test: take(y, &split.test),
    })
}

fn probe_acc(
    p: &Prepared,
    cols: Option<&[usize]>,
    params: &LogisticParams,
) -> Result<(f64, Vec<bool>)> {
    let (xtr, xte) = match cols {
        Some(c) => (p.x_train.select_cols(c), p.x_test.select_cols(c)),
        None => (p.x_train.clone(), p.x_test.clone()),
    };
    let m = LogisticRegression::fit(&xtr, &p.y_train, params)?;
    let pred = m.predict(&xte)?;
    let correct: Vec<bool> = pred.iter().zip(&p.y_test).map(|(a, b)| a == b).collect();
    Ok((accuracy(&p.y_test, &pred), correct))
}

/// Default k grid: 1, 2, 4, … (< d) and d.
pub fn default_ks(d: usize) -> Vec<usize> {
    let mut ks = Vec::new();
    let mut k = 1;
    while k < d {
        ks.push(k);
        k *= 2;
    }
    ks.push(d);
    ks
}

/// Smallest k (log-interpolated) where the random curve reaches `target`, as a multiple of k₀.
fn equivalent_multiple(points: &[(f64, f64)], target: f64) -> Option<f64> {
    for (i, &(m, a)) in points.iter().enumerate() {
        if a >= target {
            if i == 0 {
                return Some(m);
            }
            let (m0, a0) = points[i - 1];
            let u = if a > a0 {
                (target - a0) / (a - a0)
            } else {
                1.0
            };
            return Some((m0.ln() + u * (m.ln() - m0.ln())).exp());
        }
    }
    None
}

/// Control labels: every type gets one label drawn from the empirical label distribution (fixed seed).
pub fn control_labels(y: &[usize], types: &[usize], seed: u64) -> Result<Vec<usize>> {
    if y.len() != types.len() {
        return Err(ProbeError::Shape {
            what: "control types vs labels".into(),
            expected: y.len(),
            got: types.len(),
        });
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0xC0_47_01);
    let mut map = std::collections::HashMap::new();
    let mut uniq: Vec<usize> = types.to_vec();
    uniq.sort_unstable();
    uniq.dedup();
    for t in uniq {
        map.insert(t, *y.choose(&mut rng).expect("non-empty"));
    }
    Ok(types.iter().map(|t| map[t]).collect())
}

/// Run the full neuron-finding report for one layer (`x`: rows × neurons) and one label.
///
/// `groups` (e.g. clip ids) keep the rows of one clip on one side of the split; `types` define the control task
/// (one random label per type; pass `groups` when in doubt).
pub fn neuron_report(
    x: &Matrix,
    y: &[usize],
    groups: &[usize],
    types: &[usize],
    params: &NeuronReportParams,
) -> Result<NeuronReport> {
    let p = params.clone().check()?;
    if x.rows != y.len() || x.rows != groups.len() {
        return Err(ProbeError::Shape {
            what: "rows vs labels/groups".into(),
            expected: x.rows,
            got: y.len().min(groups.len()),
        });
    }
    let k = n_classes(y, "neuron report")?;
    let d = x.cols;
    let split = grouped_split(groups, p.test_fraction, p.seed)?;
    let prep = prepare(x, y, &split)?;
    if n_classes(&prep.y_train, "training split").is_err() {
        return Err(ProbeError::Data {
            what: "neuron report".into(),
            reason: "training split has a single class".into(),
        });
    }
    // Rank on training rows only.
    let sc = scores(&prep.x_train, &prep.y_train, p.method)?;
    let order = rank(&sc);
    let ranking = order
        .iter()
        .take(p.list_top.min(d))
        .enumerate()
        .map(|(r, &j)| RankedNeuron {
            rank: r + 1,
            neuron: j,
            score: sc[j],
        })
        .collect();
    let (dense, dense_correct) = probe_acc(&prep, None, &p.probe)?;
    let dense_accuracy = Estimate {
        value: dense,
        ..bootstrap_accuracy(&dense_correct, p.bootstrap, p.seed)
    };
    let ks: Vec<usize> = if p.ks.is_empty() {
        default_ks(d)
    } else {
        p.ks.iter().copied().filter(|&k| k >= 1 && k <= d).collect()
    };
    let mut k_sweep = Vec::new();
    for (i, &kk) in ks.iter().enumerate() {
        let (acc, correct) = probe_acc(&prep, Some(&order[..kk]), &p.probe)?;
        k_sweep.push(KPoint {
            k: kk,
            fraction: kk as f64 / d as f64,
            accuracy: Estimate {
                value: acc,
                ..bootstrap_accuracy(&correct, p.bootstrap, p.seed + i as u64)
            },
        });
    }
    // Random complement.
    let k0 = ((p.top_fraction * d as f64).round() as usize).clamp(1, d);
    let (top_acc, _) = probe_acc(&prep, Some(&order[..k0]), &p.probe)?;
    let complement: Vec<usize> = order[k0..].to_vec();
    let mut rng = StdRng::seed_from_u64(p.seed.wrapping_add(7));
    let mut points = Vec::new();
    for &m in &p.random_multiples {
        let kk = ((m * k0 as f64).round() as usize).max(1);
        if kk > complement.len() {
            break;
        }
        let mut draws = Vec::new();
        for _ in 0..p.random_draws {
            let mut pool = complement.clone();
            pool.shuffle(&mut rng);
            pool.truncate(kk);
            draws.push(probe_acc(&prep, Some(&pool), &p.probe)?.0);
        }
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let std = (draws.iter().map(|a| (a - mean).powi(2)).sum::<f64>()
            / (draws.len() as f64 - 1.0).max(1.0))
        .sqrt();
        points.push(RandomPoint {
            multiple: m,
            k: kk,
            mean,
            std,
            draws,
        });
    }
    let curve: Vec<(f64, f64)> = points.iter().map(|pt| (pt.multiple, pt.mean)).collect();
    let equivalent = equivalent_multiple(&curve, top_acc);
    let mut boot = Vec::new();
    let mut brng = StdRng::seed_from_u64(p.seed.wrapping_add(11));
    for _ in 0..p.bootstrap.min(500) {
        let c: Vec<(f64, f64)> = points
            .iter()
            .map(|pt| {
                let s: f64 = (0..pt.draws.len())
                    .map(|_| pt.draws[brng.random_range(0..pt.draws.len())])
                    .sum();
                (pt.multiple, s / pt.draws.len() as f64)
            })
            .collect();
        if let Some(m) = equivalent_multiple(&c, top_acc) {
            boot.push(m);
        }
    }
    boot.sort_by(f64::total_cmp);
    let multiple_ci = if boot.len() >= 20 {
        Some((
            boot[(0.025 * (boot.len() - 1) as f64).round() as usize],
            boot[(0.975 * (boot.len() - 1) as f64).round() as usize],
        ))
    } else {
        None
    };
    let random_complement = RandomComplement {
        k0,
        top_accuracy: top_acc,
        max_multiple: points.last().map(|pt| pt.multiple).unwrap_or(1.0),
        points,
        equivalent_multiple: equivalent,
        multiple_ci,
    };
    // L0 sweep.
    let mut l0_sweep = Vec::new();
    if k == 2 {
        for &lam in &p.l0_lambdas {
            let probe = L0Probe::fit(
                &prep.x_train,
                &prep.y_train,
                &L0Params {
                    lambda: lam,
                    seed: p.seed,
                    // Weight the BCE like the dense and top-k probes it is compared with.
                    class_weight: p.probe.class_weight,
                    ..p.l0
                },
            )?;
            let mask = probe.mask();
            l0_sweep.push(L0Point {
                lambda: lam,
                neurons_used: probe.neurons_used(),
                accuracy: probe.score(&prep.x_test, &prep.y_test)?,
                spearman: spearman(&sc, &mask),
                spearman_max: spearman_max(&sc, &mask),
            });
        }
    }
    // Control task.
    let yc = control_labels(y, types, p.seed)?;
    let control_acc = match n_classes(&take(&yc, &split.train), "control") {
        Ok(_) => {
            let prep_c = Prepared {
                x_train: prep.x_train.clone(),
                x_test: prep.x_test.clone(),
                y_train: take(&yc, &split.train),
                y_test: take(&yc, &split.test),
            };
            probe_acc(&prep_c, None, &p.probe)?.0
        }
        Err(_) => {
            // A single control class in training: the probe predicts it everywhere.
            let c = yc[split.train[0]];
            accuracy(&take(&yc, &split.test), &vec![c; split.test.len()])
        }
    };
    let mut counts = vec![0usize; k];
    prep.y_test.iter().for_each(|&c| counts[c] += 1);
    let chance = *counts.iter().max().unwrap_or(&0) as f64 / prep.y_test.len().max(1) as f64;
    Ok(NeuronReport {
        method: p.method.name().into(),
        n_neurons: d,
        n_classes: k,
        n_train: split.train.len(),
        n_test: split.test.len(),
        ranking,
        scores: sc,
        dense_accuracy,
        k_sweep,
        random_complement,
        l0_sweep,
        control: Selectivity {
            task_accuracy: dense,
            control_accuracy: control_acc,
            selectivity: dense - control_acc,
            chance,
        },
    })
}

/// How the probes of the cross-task matrix select neurons.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CrossTaskProbe {
    /// All neurons, L2 logistic regression.
    Dense,
    /// Top-k neurons by |Welch t| of the training task.
    TopK {
        /// Number of neurons.
        k: usize,
    },
    /// L0 masked probe at this λ.
    L0 {
        /// λ.
        lambda: f64,
    },
}

/// Cross-task generalisation matrix: `accuracy[i][j]` = probe trained on binary task `i`, evaluated on the test rows
/// of task `j` (same rows, same split for every task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossTaskMatrix {
    /// Task names (rows = trained on, columns = evaluated on).
    pub tasks: Vec<String>,
    /// Row-major `tasks × tasks` accuracies.
    pub accuracy: Vec<f64>,
    /// Mean of each row (how general the training task is).
    pub row_mean: Vec<f64>,
    /// Mean of each column (how easy the evaluation task is).
    pub col_mean: Vec<f64>,
}

/// Compute the cross-task matrix for binary tasks `labels[t]` (each `0/1` per row).
pub fn cross_task_matrix(
    x: &Matrix,
    tasks: &[(String, Vec<usize>)],
    groups: &[usize],
    probe: CrossTaskProbe,
    params: &LogisticParams,
    test_fraction: f64,
    seed: u64,
) -> Result<CrossTaskMatrix> {
    let n = tasks.len();
    if n == 0 {
        return Err(ProbeError::Data {
            what: "cross-task matrix".into(),
            reason: "no tasks".into(),
        });
    }
    let split = grouped_split(groups, test_fraction, seed)?;
    let xtr = x.select_rows(&split.train);
    let st = Standardizer::fit(&xtr, 1e-6);
    let (xtr, xte) = (
        st.transform(&xtr)?,
        st.transform(&x.select_rows(&split.test))?,
    );
    let mut acc = vec![0.0; n * n];
    for (i, (name, yi)) in tasks.iter().enumerate() {
        if yi.len() != x.rows {
            return Err(ProbeError::Shape {
                what: format!("labels of task {name}"),
                expected: x.rows,
                got: yi.len(),
            });
        }
        let ytr = take(yi, &split.train);
        let pred: Vec<usize> = match probe {
            CrossTaskProbe::Dense => LogisticRegression::fit(&xtr, &ytr, params)?.predict(&xte)?,
            CrossTaskProbe::TopK { k } => {
                let sc = scores(&xtr, &ytr, RankMethod::WelchT)?;
                let cols: Vec<usize> = rank(&sc).into_iter().take(k.clamp(1, x.cols)).collect();
                LogisticRegression::fit(&xtr.select_cols(&cols), &ytr, params)?
                    .predict(&xte.select_cols(&cols))?
            }
            CrossTaskProbe::L0 { lambda } => L0Probe::fit(
                &xtr,
                &ytr,
                &L0Params {
                    lambda,
                    seed,
                    class_weight: params.class_weight,
                    ..Default::default()
                },
            )?
            .predict(&xte)?,
        };
        for (j, (_, yj)) in tasks.iter().enumerate() {
            acc[i * n + j] = accuracy(&take(yj, &split.test), &pred);
        }
    }
    let row_mean = (0..n)
        .map(|i| acc[i * n..(i + 1) * n].iter().sum::<f64>() / n as f64)
        .collect();
    let col_mean = (0..n)
        .map(|j| (0..n).map(|i| acc[i * n + j]).sum::<f64>() / n as f64)
        .collect();
    Ok(CrossTaskMatrix {
        tasks: tasks.iter().map(|t| t.0.clone()).collect(),
        accuracy: acc,
        row_mean,
        col_mean,
    })
}

impl CrossTaskMatrix {
    /// Element-wise `self − other` (e.g. sparse − dense probes), with recomputed row/column means.
    pub fn minus(&self, other: &CrossTaskMatrix) -> Result<CrossTaskMatrix> {
        if self.tasks != other.tasks {
            return Err(ProbeError::Shape {
                what: "cross-task matrices (tasks)".into(),
                expected: self.tasks.len(),
                got: other.tasks.len(),
            });
        }
        let n = self.tasks.len();
        let accuracy: Vec<f64> = self
            .accuracy
            .iter()
            .zip(&other.accuracy)
            .map(|(a, b)| a - b)
            .collect();
        let row_mean = (0..n)
            .map(|i| accuracy[i * n..(i + 1) * n].iter().sum::<f64>() / n as f64)
            .collect();
        let col_mean = (0..n)
            .map(|j| (0..n).map(|i| accuracy[i * n + j]).sum::<f64>() / n as f64)
            .collect();
        Ok(CrossTaskMatrix {
            tasks: self.tasks.clone(),
            accuracy,
            row_mean,
            col_mean,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_multiple_interpolates_in_log_k() {
        let pts = [(1.0, 0.5), (2.0, 0.6), (4.0, 0.8)];
        assert_eq!(equivalent_multiple(&pts, 0.45), Some(1.0));
        let m = equivalent_multiple(&pts, 0.7).unwrap();
        assert!((m - 8f64.sqrt()).abs() < 1e-12);
        assert_eq!(equivalent_multiple(&pts, 0.9), None);
    }

    #[test]
    fn bootstrap_interval_brackets_the_estimate() {
        let c: Vec<bool> = (0..200).map(|i| i % 4 != 0).collect();
        let e = bootstrap_accuracy(&c, 500, 1);
        assert_eq!(e.value, 0.75);
        assert!(e.ci_low < 0.75 && e.ci_high > 0.75 && e.ci_high - e.ci_low < 0.15);
    }

    #[test]
    fn control_labels_are_consistent_per_type() {
        let y = vec![0, 1, 2, 0, 1, 2, 0, 1];
        let types = vec![5, 5, 6, 6, 7, 7, 5, 9];
        let c = control_labels(&y, &types, 3).unwrap();
        assert_eq!(c[0], c[1]);
        assert_eq!(c[0], c[6]);
        assert_eq!(c[2], c[3]);
    }
}
