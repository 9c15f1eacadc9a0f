//! Planted-structure data: rows that are sparse non-negative combinations of a known unit-norm dictionary plus
//! Gaussian noise. Used by the planted-dictionary tests, the benchmarks and the CLI's `--synthetic` input.

use crate::source::{Matrix, RowMeta};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// Settings of a planted dictionary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlantedParams {
    /// Row width d.
    pub d: usize,
    /// Dictionary size (true latents).
    pub n_true: usize,
    /// Active true latents per row.
    pub k_true: usize,
    /// Rows.
    pub rows: usize,
    /// Standard deviation of the additive Gaussian noise per dimension.
    pub noise: f32,
    /// Seed.
    pub seed: u64,
    /// When true, each row draws a source (A or B) first and all its active latents from that half of the
    /// dictionary (source-specific features); when false, the source is the half of the row's strongest latent.
    pub source_exclusive: bool,
}

/// Planted data: the rows and the dictionary they were built from.
#[derive(Debug, Clone)]
pub struct Planted {
    /// `[rows, d]` activations (with metadata: clip id, time, `source` A/B by latent half, label `latent` of the
    /// strongest true latent).
    pub x: Matrix,
    /// `[n_true, d]` unit-norm true dictionary.
    pub dictionary: Vec<f32>,
}

/// Generate planted data. Coefficients are `1 + |N(0,1)|`; the `k_true` active latents of a row are drawn without
/// replacement. Rows whose strongest latent is in the first half of the dictionary get source `A`, others `B`.
pub fn planted(p: PlantedParams) -> Planted {
    let mut rng = StdRng::seed_from_u64(p.seed);
    let mut dict = vec![0.0f32; p.n_true * p.d];
    for v in dict.iter_mut() {
        *v = StandardNormal.sample(&mut rng);
    }
    crate::linalg::normalize_rows(&mut dict, p.d);
    let mut x = vec![0.0f32; p.rows * p.d];
    let mut meta = Vec::with_capacity(p.rows);
    for r in 0..p.rows {
        let row = &mut x[r * p.d..(r + 1) * p.d];
        for v in row.iter_mut() {
            let e: f32 = StandardNormal.sample(&mut rng);
            *v = e * p.noise;
        }
        let half = p.n_true / 2;
        let (offset, pool) = if p.source_exclusive && half > 0 {
            if rng.random::<bool>() {
                (0, half)
            } else {
                (half, p.n_true - half)
            }
        } else {
            (0, p.n_true)
        };
        let chosen = rand::seq::index::sample(&mut rng, pool, p.k_true.min(pool));
        let mut best = (0usize, 0.0f32);
        for i in chosen.iter().map(|i| i + offset) {
            let e: f32 = StandardNormal.sample(&mut rng);
            let c = 1.0 + e.abs();
            if c > best.1 {
                best = (i, c);
            }
            crate::linalg::axpy(c, &dict[i * p.d..(i + 1) * p.d], row);
        }
        let source = if best.0 < p.n_true / 2 { "A" } else { "B" };
        let mut labels = mirlens_core::LabelSet::new();
        labels.insert(
            "latent".into(),
            mirlens_core::LabelValue::Int(best.0 as i64),
        );
        meta.push(RowMeta {
            clip_id: format!("clip{:04}", r / 100),
            time: (r % 100) as f64 / 75.0,
            labels,
            source: Some(source.to_string()),
        });
    }
    let x = Matrix {
        rows: p.rows,
        cols: p.d,
        data: x,
        meta,
    };
    Planted {
        x,
        dictionary: dict,
    }
}

/// Mean over true latents of the maximum cosine between the true direction and any learned decoder row
/// (rows need not be unit norm).
pub fn mean_max_cosine(true_dict: &[f32], learned: &[f32], d: usize) -> f64 {
    let learned_n: Vec<Vec<f32>> = learned
        .chunks_exact(d)
        .map(|r| {
            let n = crate::linalg::norm2_f64(r).sqrt().max(1e-12) as f32;
            r.iter().map(|v| v / n).collect()
        })
        .collect();
    let t: Vec<f64> = true_dict
        .chunks_exact(d)
        .map(|t| {
            learned_n
                .iter()
                .map(|l| crate::linalg::dot(t, l) as f64)
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    t.iter().sum::<f64>() / t.len().max(1) as f64
}
