//! Significance for every measure: a permutation null over the pairing and a percentile bootstrap CI over items.
//!
//! Permutation `b` (and bootstrap draw `b`) uses its own generator seeded from `(seed, b)`, so results do not
//! depend on the number of threads. With groups (e.g. clips), permutations shuffle pairs only within a group and
//! the bootstrap resamples whole groups.

use crate::error::{AlignError, Result};
use crate::measures::{self, MeasureParams, Metric, Statistic};
use faer::MatRef;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Parameters of the null and the CI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NullParams {
    /// Permutations of the pairing (0 = no p-value).
    pub permutations: usize,
    /// Bootstrap resamples of the items (0 = no CI).
    pub bootstrap: usize,
    /// Seed.
    pub seed: u64,
    /// Coverage of the CI.
    pub confidence: f64,
    /// Optional group of each item: permutations stay within groups, the bootstrap resamples groups.
    pub groups: Option<Vec<u32>>,
}

impl Default for NullParams {
    fn default() -> Self {
        NullParams {
            permutations: 1000,
            bootstrap: 1000,
            seed: 0,
            confidence: 0.95,
            groups: None,
        }
    }
}

impl NullParams {
    /// Validate for `n` items.
    pub fn check(&self, n: usize) -> Result<()> {
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(AlignError::InvalidParam {
                name: "confidence",
                reason: format!("{} is not in (0, 1)", self.confidence),
            });
        }
        if let Some(g) = &self.groups
            && g.len() != n
        {
            return Err(AlignError::InvalidParam {
                name: "groups",
                reason: format!("{} group labels for {n} items", g.len()),
            });
        }
        Ok(())
    }
}

/// A measure with its null and CI: the result file of `mirlens align score`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Measure (CLI spelling).
    pub metric: Metric,
    /// Value on the given pairing.
    pub value: f64,
    /// Permutation p-value `(1 + #{null at least as extreme}) / (1 + permutations)`; one-sided towards "more
    /// similar" (larger for similarities, smaller for the distances). `None` without permutations.
    pub p_value: Option<f64>,
    /// Percentile bootstrap interval `[low, high]`; `None` without bootstrap.
    pub ci: Option<[f64; 2]>,
    /// Items.
    pub n: usize,
    /// Permutations run.
    pub permutations: usize,
    /// Bootstrap resamples run (failed resamples, e.g. a degenerate draw, are skipped and counted out).
    pub bootstrap: usize,
    /// Coverage of `ci`.
    pub confidence: f64,
    /// Seed.
    pub seed: u64,
    /// Mean of the permutation null.
    pub null_mean: Option<f64>,
    /// Standard deviation of the permutation null.
    pub null_sd: Option<f64>,
    /// Whether larger values mean more similar.
    pub higher_is_similar: bool,
    /// Measure parameters used.
    pub params: MeasureParams,
    /// Measure-specific values (canonical correlations, PWCCA weights, …).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn draw_seed(seed: u64, stream: u64, b: usize) -> u64 {
    seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F)
        ^ (b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Group members (items of each group, in order of first appearance).
fn group_members(groups: Option<&[u32]>, n: usize) -> Vec<Vec<usize>> {
    match groups {
        None => vec![(0..n).collect()],
        Some(g) => {
            let mut map: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
            for (i, &gi) in g.iter().enumerate() {
                map.entry(gi).or_default().push(i);
            }
            map.into_values().collect()
        }
    }
}

/// A random permutation of `0..n` that maps each item to an item of its own group.
pub fn permutation(members: &[Vec<usize>], n: usize, rng: &mut StdRng) -> Vec<usize> {
    let mut perm = vec![0usize; n];
    for m in members {
        let mut shuffled = m.clone();
        shuffled.shuffle(rng);
        for (&i, &j) in m.iter().zip(&shuffled) {
            perm[i] = j;
        }
    }
    perm
}

/// A bootstrap draw: groups drawn with replacement, all items of each drawn group (items when ungrouped).
pub fn resample(members: &[Vec<usize>], rng: &mut StdRng) -> Vec<usize> {
    use rand::Rng;
    if members.len() == 1 {
        let m = &members[0];
        return (0..m.len())
            .map(|_| m[rng.random_range(0..m.len())])
            .collect();
    }
    let mut out = Vec::new();
    for _ in 0..members.len() {
        out.extend_from_slice(&members[rng.random_range(0..members.len())]);
    }
    out
}

/// Linear-interpolated quantile of sorted values (numpy's default).
pub fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Permutation null values of a prepared statistic.
pub fn null_values(stat: &dyn Statistic, n: usize, params: &NullParams) -> Vec<f64> {
    let members = group_members(params.groups.as_deref(), n);
    (0..params.permutations)
        .into_par_iter()
        .map(|b| {
            let mut rng = StdRng::seed_from_u64(draw_seed(params.seed, 1, b));
            let perm = permutation(&members, n, &mut rng);
            let mut inv = vec![0usize; n];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            stat.permuted(&perm, &inv)
        })
        .collect()
}

/// Bootstrap values of a prepared statistic (draws whose measure fails are left out).
pub fn bootstrap_values(stat: &dyn Statistic, n: usize, params: &NullParams) -> Vec<f64> {
    let members = group_members(params.groups.as_deref(), n);
    (0..params.bootstrap)
        .into_par_iter()
        .filter_map(|b| {
            let mut rng = StdRng::seed_from_u64(draw_seed(params.seed, 2, b));
            let idx = resample(&members, &mut rng);
            stat.resampled(&idx).ok().filter(|v| v.is_finite())
        })
        .collect()
}

/// One-sided permutation p-value.
pub fn p_value(value: f64, null: &[f64], higher_is_similar: bool) -> f64 {
    // Tolerate last-bit differences between the identity permutation and the direct value.
    let tol = 1e-12 * value.abs().max(1.0);
    let extreme = null
        .iter()
        .filter(|&&v| {
            if higher_is_similar {
                v >= value - tol
            } else {
                v <= value + tol
            }
        })
        .count();
    (1 + extreme) as f64 / (1 + null.len()) as f64
}

/// The measure with its permutation p-value and bootstrap CI.
pub fn score(
    metric: Metric,
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    mparams: &MeasureParams,
    nparams: &NullParams,
) -> Result<Score> {
    nparams.check(x.nrows())?;
    let stat = measures::prepare(metric, x, y, mparams)?;
    score_prepared(metric, stat.as_ref(), x.nrows(), mparams, nparams)
}

/// [`score`] for an already prepared statistic.
pub fn score_prepared(
    metric: Metric,
    stat: &dyn Statistic,
    n: usize,
    mparams: &MeasureParams,
    nparams: &NullParams,
) -> Result<Score> {
    let value = stat.value();
    let null = null_values(stat, n, nparams);
    let (p, mean, sd) = if null.is_empty() {
        (None, None, None)
    } else {
        let m = null.iter().sum::<f64>() / null.len() as f64;
        let var =
            null.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (null.len().max(2) - 1) as f64;
        (
            Some(p_value(value, &null, metric.higher_is_similar())),
            Some(m),
            Some(var.sqrt()),
        )
    };
    let mut boot = bootstrap_values(stat, n, nparams);
    boot.sort_by(|a, b| a.total_cmp(b));
    let ci = if boot.is_empty() {
        None
    } else {
        let a = (1.0 - nparams.confidence) / 2.0;
        Some([quantile_sorted(&boot, a), quantile_sorted(&boot, 1.0 - a)])
    };
    Ok(Score {
        metric,
        value,
        p_value: p,
        ci,
        n,
        permutations: null.len(),
        bootstrap: boot.len(),
        confidence: nparams.confidence,
        seed: nparams.seed,
        null_mean: mean,
        null_sd: sd,
        higher_is_similar: metric.higher_is_similar(),
        params: *mparams,
        extra: stat
            .extras()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    })
}
