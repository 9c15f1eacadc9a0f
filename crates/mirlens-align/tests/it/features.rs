//! Hungarian matching against brute force; planted shared and specific SAE features.

use crate::planted::randn;
use faer::Mat;
use mirlens_align::features::{self, FeatureParams};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn permutations(k: usize, n: usize) -> Vec<Vec<usize>> {
    // All injective maps of k rows into n columns.
    if k == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for prefix in permutations(k - 1, n) {
        for j in 0..n {
            if !prefix.contains(&j) {
                let mut p = prefix.clone();
                p.push(j);
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn hungarian_matches_brute_force() {
    let mut rng = StdRng::seed_from_u64(21);
    for (r, c) in [(1, 1), (3, 3), (5, 5), (6, 6), (4, 6), (6, 4), (2, 5)] {
        for _ in 0..10 {
            let cost = Mat::from_fn(r, c, |_, _| {
                rng.random_range(-5..5) as f64 + rng.random::<f64>()
            });
            let got = features::hungarian(cost.as_ref());
            let total: f64 = got.iter().map(|&(i, j)| cost[(i, j)]).sum();
            let (k, n, t) = if r <= c { (r, c, false) } else { (c, r, true) };
            let best = permutations(k, n)
                .iter()
                .map(|p| {
                    p.iter()
                        .enumerate()
                        .map(|(i, &j)| if t { cost[(j, i)] } else { cost[(i, j)] })
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min);
            assert_eq!(got.len(), r.min(c));
            let mut rows: Vec<usize> = got.iter().map(|p| p.0).collect();
            let mut cols: Vec<usize> = got.iter().map(|p| p.1).collect();
            rows.dedup();
            cols.sort_unstable();
            cols.dedup();
            assert_eq!((rows.len(), cols.len()), (r.min(c), r.min(c)), "one-to-one");
            assert!((total - best).abs() < 1e-12, "{r}x{c}: {total} vs {best}");
        }
    }
}

/// Sparse non-negative activations (ReLU of a shifted Gaussian).
fn sparse(rng: &mut StdRng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| (crate::planted::gauss(rng) - 1.0).max(0.0))
        .collect()
}

#[test]
fn planted_shared_and_specific_features() {
    let n = 2000;
    let mut rng = StdRng::seed_from_u64(5);
    let shared: Vec<Vec<f64>> = (0..6).map(|_| sparse(&mut rng, n)).collect();
    let only_a: Vec<Vec<f64>> = (0..4).map(|_| sparse(&mut rng, n)).collect();
    let only_b: Vec<Vec<f64>> = (0..3).map(|_| sparse(&mut rng, n)).collect();
    // A: shared 0..6 then its own; B: its own first, then the shared ones in reverse order, scaled and noisy.
    let noise_a = randn(&mut rng, n, 10);
    let noise_b = randn(&mut rng, n, 9);
    let a = Mat::from_fn(n, 10, |i, j| {
        let v = if j < 6 {
            shared[j][i]
        } else {
            only_a[j - 6][i]
        };
        v + 0.1 * noise_a[(i, j)].abs()
    });
    let b = Mat::from_fn(n, 9, |i, j| {
        let v = if j < 3 {
            only_b[j][i]
        } else {
            2.0 * shared[8 - j][i]
        };
        v + 0.1 * noise_b[(i, j)].abs()
    });
    let m = features::match_features(a.as_ref(), b.as_ref(), &FeatureParams::default()).unwrap();
    eprintln!(
        "threshold {:.3}; pairs {:?}",
        m.null_threshold,
        m.pairs
            .iter()
            .map(|p| (p.a, p.b, (p.correlation * 1000.0).round() / 1000.0))
            .collect::<Vec<_>>()
    );
    assert_eq!(m.pairs.len(), 9);
    assert_eq!(m.shared, 6);
    for p in m.pairs.iter().filter(|p| p.shared) {
        assert!(p.a < 6 && p.b == 8 - p.a, "{p:?}");
        assert!(p.correlation > 0.9);
    }
    assert!(m.null_threshold < 0.15 && m.null_threshold > 0.0);
    assert!((m.shared_fraction_a - 0.6).abs() < 1e-15);
    assert!((m.specific_fraction_b - 1.0 / 3.0).abs() < 1e-15);
    // Independent dictionaries: nothing (or almost nothing) above the null.
    let indep = Mat::from_fn(n, 9, |_, _| {
        (crate::planted::gauss(&mut rng) - 1.0).max(0.0)
    });
    let m =
        features::match_features(a.as_ref(), indep.as_ref(), &FeatureParams::default()).unwrap();
    eprintln!("independent: shared {}", m.shared);
    assert!(m.shared <= 1, "{}", m.shared);
}
