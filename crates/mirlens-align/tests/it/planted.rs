//! Planted structure: scores fall as noise grows, permuted statistics equal direct recomputation, p-values are
//! uniform under independence.

use faer::Mat;
use mirlens_align::measures::{MeasureParams, Metric, prepare};
use mirlens_align::null::{self, NullParams};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub fn gauss(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

pub fn randn(rng: &mut StdRng, r: usize, c: usize) -> Mat<f64> {
    Mat::from_fn(r, c, |_, _| gauss(rng))
}

/// Two views of one latent: `X = Z A`, `Y = Z B + σ E`.
pub fn two_views(seed: u64, n: usize, sigma: f64) -> (Mat<f64>, Mat<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let z = randn(&mut rng, n, 5);
    let a = randn(&mut rng, 5, 12);
    let b = randn(&mut rng, 5, 9);
    let e = randn(&mut rng, n, 9);
    let x = &z * &a;
    let y = &z * &b + e * faer::Scale(sigma);
    (x, y)
}

#[test]
fn scores_fall_monotonically_with_noise() {
    let sigmas = [0.05, 0.5, 2.0, 8.0, 40.0];
    for metric in Metric::ALL {
        let vals: Vec<f64> = sigmas
            .iter()
            .map(|&s| {
                let (x, y) = two_views(3, 150, s);
                prepare(metric, x.as_ref(), y.as_ref(), &MeasureParams::default())
                    .unwrap()
                    .value()
            })
            .collect();
        eprintln!("{metric}: {vals:?}");
        // Non-increasing similarity (bounded scores such as cycle-kNN saturate at 1 for small noise), and a clear
        // overall fall from the least to the most noisy pair.
        let sign = if metric.higher_is_similar() {
            1.0
        } else {
            -1.0
        };
        for w in vals.windows(2) {
            assert!(
                sign * (w[1] - w[0]) <= 0.0,
                "{metric} not monotone in noise: {vals:?}"
            );
        }
        assert!(
            sign * (vals[0] - vals[4]) > 0.3,
            "{metric} fell too little: {vals:?}"
        );
    }
}

#[test]
fn permuted_statistic_equals_recomputation_on_permuted_rows() {
    let (x, y) = two_views(5, 40, 0.7);
    let mut rng = StdRng::seed_from_u64(9);
    let members = vec![(0..40).collect::<Vec<_>>()];
    let perm = null::permutation(&members, 40, &mut rng);
    let mut inv = vec![0; 40];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    let yp = Mat::from_fn(40, y.ncols(), |i, j| y[(perm[i], j)]);
    let params = MeasureParams {
        k: 5,
        ..Default::default()
    };
    for metric in Metric::ALL {
        let stat = prepare(metric, x.as_ref(), y.as_ref(), &params).unwrap();
        let direct = prepare(metric, x.as_ref(), yp.as_ref(), &params)
            .unwrap()
            .value();
        let fast = stat.permuted(&perm, &inv);
        assert!(
            (fast - direct).abs() < 1e-10,
            "{metric}: permuted {fast} vs direct {direct}"
        );
        assert!(
            (stat.value() - direct).abs() > 1e-6,
            "{metric}: permutation changed nothing"
        );
    }
}

#[test]
fn resample_without_repeats_equals_measure_on_the_subset() {
    let (x, y) = two_views(6, 40, 0.7);
    let idx: Vec<usize> = (0..40).filter(|i| i % 3 != 1).rev().collect();
    let xs = Mat::from_fn(idx.len(), x.ncols(), |i, j| x[(idx[i], j)]);
    let ys = Mat::from_fn(idx.len(), y.ncols(), |i, j| y[(idx[i], j)]);
    let params = MeasureParams {
        k: 5,
        ..Default::default()
    };
    for metric in Metric::ALL {
        // The kNN measures clamp at the quantile of the full data; compare them without that step.
        let p = if metric.is_knn() {
            MeasureParams {
                quantile: 1.0,
                ..params
            }
        } else {
            params
        };
        let stat = prepare(metric, x.as_ref(), y.as_ref(), &p).unwrap();
        let direct = prepare(metric, xs.as_ref(), ys.as_ref(), &p)
            .unwrap()
            .value();
        let fast = stat.resampled(&idx).unwrap();
        assert!(
            (fast - direct).abs() < 1e-10,
            "{metric}: resampled {fast} vs direct {direct}"
        );
    }
}

/// Kolmogorov–Smirnov distance of a sample from U(0, 1).
fn ks_uniform(mut p: Vec<f64>) -> f64 {
    p.sort_by(|a, b| a.total_cmp(b));
    let n = p.len() as f64;
    p.iter()
        .enumerate()
        .map(|(i, &v)| (v - i as f64 / n).abs().max(((i + 1) as f64 / n - v).abs()))
        .fold(0.0, f64::max)
}

#[test]
fn p_values_are_uniform_under_independence() {
    // 150 independent pairs of views; the 1 % critical value of the one-sample KS distance at n = 150 is 0.133.
    let seeds = 150;
    for metric in [Metric::Cka, Metric::CkaDebiased, Metric::Rsa, Metric::Cca] {
        let ps: Vec<f64> = (0..seeds)
            .map(|s| {
                let mut rng = StdRng::seed_from_u64(1000 + s);
                let x = randn(&mut rng, 24, 4);
                let y = randn(&mut rng, 24, 3);
                let np = NullParams {
                    permutations: 199,
                    bootstrap: 0,
                    seed: s,
                    ..Default::default()
                };
                null::score(
                    metric,
                    x.as_ref(),
                    y.as_ref(),
                    &MeasureParams::default(),
                    &np,
                )
                .unwrap()
                .p_value
                .unwrap()
            })
            .collect();
        let d = ks_uniform(ps.clone());
        eprintln!("{metric}: KS distance {d:.3}");
        assert!(d < 0.133, "{metric}: p-values not uniform, KS distance {d}");
    }
    // The kNN statistics are discrete: their p-values are conservative, P(p ≤ α) ≤ α up to sampling error.
    let ps: Vec<f64> = (0..seeds)
        .map(|s| {
            let mut rng = StdRng::seed_from_u64(2000 + s);
            let x = randn(&mut rng, 30, 4);
            let y = randn(&mut rng, 30, 4);
            let np = NullParams {
                permutations: 99,
                bootstrap: 0,
                seed: s,
                ..Default::default()
            };
            let mp = MeasureParams {
                k: 3,
                ..Default::default()
            };
            null::score(Metric::MutualKnn, x.as_ref(), y.as_ref(), &mp, &np)
                .unwrap()
                .p_value
                .unwrap()
        })
        .collect();
    let small = ps.iter().filter(|&&p| p <= 0.1).count() as f64 / seeds as f64;
    assert!(small <= 0.2, "mutual_knn: {small} of p-values <= 0.1");
}

#[test]
fn planted_dependence_is_significant_with_a_ci_around_the_value() {
    let (x, y) = two_views(11, 80, 0.5);
    let np = NullParams {
        permutations: 200,
        bootstrap: 200,
        seed: 1,
        ..Default::default()
    };
    for metric in Metric::ALL {
        let s = null::score(
            metric,
            x.as_ref(),
            y.as_ref(),
            &MeasureParams::default(),
            &np,
        )
        .unwrap();
        let ci = s.ci.unwrap();
        assert_eq!(s.p_value, Some(1.0 / 201.0), "{metric}: {s:?}");
        assert!(ci[0] < ci[1], "{metric}: {ci:?}");
        assert!(
            s.bootstrap == 200,
            "{metric}: {} bootstrap draws",
            s.bootstrap
        );
        if metric.higher_is_similar() {
            assert!(s.null_mean.unwrap() < s.value, "{metric}");
        } else {
            assert!(s.null_mean.unwrap() > s.value, "{metric}");
        }
    }
}

#[test]
fn grouped_permutations_stay_within_groups() {
    let groups: Vec<u32> = (0..30).map(|i| (i / 7) as u32).collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); 5];
    for (i, &g) in groups.iter().enumerate() {
        members[g as usize].push(i);
    }
    let mut rng = StdRng::seed_from_u64(2);
    let perm = null::permutation(&members, 30, &mut rng);
    assert!(
        perm.iter()
            .enumerate()
            .all(|(i, &p)| groups[i] == groups[p])
    );
    assert!(perm.iter().enumerate().any(|(i, &p)| i != p));
    // Same seed, same result regardless of threads.
    let (x, y) = two_views(4, 30, 1.0);
    let np = NullParams {
        permutations: 50,
        bootstrap: 20,
        seed: 7,
        groups: Some(groups),
        ..Default::default()
    };
    let a = null::score(
        Metric::Cka,
        x.as_ref(),
        y.as_ref(),
        &MeasureParams::default(),
        &np,
    )
    .unwrap();
    let b = null::score(
        Metric::Cka,
        x.as_ref(),
        y.as_ref(),
        &MeasureParams::default(),
        &np,
    )
    .unwrap();
    assert_eq!(a, b);
}

#[test]
fn feature_forms_equal_gram_forms() {
    use mirlens_align::linalg;
    use mirlens_align::measures::{
        DebiasedView, cka_features, debiased_from_parts, debiased_trace_features,
    };
    let (x, y) = two_views(8, 50, 1.0);
    let xc = linalg::centered(x.as_ref());
    let yc = linalg::centered(y.as_ref());
    let gram = prepare(
        Metric::Cka,
        x.as_ref(),
        y.as_ref(),
        &MeasureParams::default(),
    )
    .unwrap()
    .value();
    assert!((cka_features(xc.as_ref(), yc.as_ref()) - gram).abs() < 1e-12);
    let a = DebiasedView::from_features(x.as_ref());
    let b = DebiasedView::from_features(y.as_ref());
    let t = debiased_trace_features(x.as_ref(), y.as_ref(), &a, &b);
    let feat = debiased_from_parts(&a, &b, t, 50);
    let gram = prepare(
        Metric::CkaDebiased,
        x.as_ref(),
        y.as_ref(),
        &MeasureParams::default(),
    )
    .unwrap()
    .value();
    assert!((feat - gram).abs() < 1e-12, "{feat} vs {gram}");
}
