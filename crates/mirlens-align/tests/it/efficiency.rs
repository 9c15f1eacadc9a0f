//! Sample-efficiency curve on planted data: Y has a clean class structure, X is a noisy linear image of Y.

use crate::planted::randn;
use faer::Mat;
use mirlens_align::efficiency::{self, EfficiencyParams, RidgeClassifier};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `n` items of `k` classes: `Y = μ_c + 0.3 E` in 8 dims, `X = Y A + σ E'` in 40 dims.
pub fn planted(seed: u64, n: usize, k: usize, sigma: f64) -> (Mat<f64>, Mat<f64>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..k)).collect();
    let mu = randn(&mut rng, k, 8) * faer::Scale(2.0);
    let e = randn(&mut rng, n, 8);
    let y = Mat::from_fn(n, 8, |i, j| mu[(labels[i], j)] + 0.3 * e[(i, j)]);
    let a = randn(&mut rng, 8, 40);
    let x = &y * &a + randn(&mut rng, n, 40) * faer::Scale(sigma);
    (x, y, labels)
}

#[test]
fn ridge_classifier_separates_planted_classes() {
    let (_, y, l) = planted(1, 200, 4, 1.0);
    let c = RidgeClassifier::fit(y.as_ref(), &l, 4, 1.0).unwrap();
    assert!(c.accuracy(y.as_ref(), &l) > 0.95);
}

#[test]
fn mapped_probe_beats_direct_probe_at_small_n_and_converges() {
    let (x, y, l) = planted(2, 1500, 5, 4.0);
    let p = EfficiencyParams {
        sizes: vec![10, 30, 100, 300, 1000, 5000],
        seeds: 8,
        ..Default::default()
    };
    let r = efficiency::efficiency(x.as_ref(), y.as_ref(), &l, None, &p).unwrap();
    for row in &r.rows {
        eprintln!(
            "N = {:5}: mapped {:.3} [{:.3}, {:.3}]  direct {:.3} [{:.3}, {:.3}]",
            row.n,
            row.mapped_mean,
            row.mapped_min,
            row.mapped_max,
            row.direct_mean,
            row.direct_min,
            row.direct_max
        );
    }
    eprintln!(
        "Y probe {:.3}, chance {:.3}, pool {}",
        r.y_probe_accuracy, r.chance, r.n_pool
    );
    assert_eq!((r.n_pool, r.n_test, r.classes), (1200, 300, 5));
    assert_eq!(
        r.rows.last().unwrap().n,
        1200,
        "sizes are capped at the pool"
    );
    assert_eq!(r.rows.len(), 6);
    assert_eq!(r.rows[0].mapped.len(), 8);
    assert!(r.y_probe_accuracy > 0.99);
    // Small N: the map, fitted on N paired items with continuous 8-dim targets, beats a probe given N labels.
    for row in &r.rows[1..3] {
        assert!(
            row.mapped_mean > row.direct_mean + 0.025,
            "N = {}: {row:?}",
            row.n
        );
    }
    // Large N: both routes reach the same accuracy.
    for row in &r.rows[4..] {
        assert!(
            (row.mapped_mean - row.direct_mean).abs() < 0.015,
            "N = {}: {row:?}",
            row.n
        );
        assert!(row.direct_mean > 0.97);
    }
    for row in &r.rows {
        assert!(
            row.mapped_min <= row.mapped_mean + 1e-12 && row.mapped_mean <= row.mapped_max + 1e-12
        );
        assert!(
            row.direct_min <= row.direct_mean + 1e-12 && row.direct_mean <= row.direct_max + 1e-12
        );
    }
    // Same seed, same curve; the files carry it.
    let again = efficiency::efficiency(x.as_ref(), y.as_ref(), &l, None, &p).unwrap();
    assert_eq!(again, r);
    let dir = tempfile::tempdir().unwrap();
    r.write(dir.path()).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("efficiency.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7);
    assert!(csv.starts_with("n,mapped_mean,"));
    let svg = std::fs::read_to_string(dir.path().join("efficiency.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("probe on X"));
    // CCA does not map into Y's space.
    let bad = EfficiencyParams {
        method: mirlens_align::maps::MapMethod::Cca,
        ..p
    };
    assert!(efficiency::efficiency(x.as_ref(), y.as_ref(), &l, None, &bad).is_err());
}

#[test]
fn transfer_through_the_map_and_chance_for_unrelated_views() {
    let (x, y, l) = planted(3, 600, 4, 4.0);
    let p = EfficiencyParams::default();
    let r = efficiency::transfer(x.as_ref(), y.as_ref(), &l, None, &p).unwrap();
    eprintln!("{r:?}");
    assert_eq!((r.n_train, r.n_test, r.classes), (480, 120, 4));
    assert!(r.y_probe_on_y > 0.99);
    assert!(r.y_probe_on_mapped_x > 0.95 && r.x_probe_on_x > 0.95);
    assert!((r.transfer_gap - (r.y_probe_on_mapped_x - r.x_probe_on_x)).abs() < 1e-15);
    // X unrelated to Y: the transferred probe falls to about the majority-class share.
    let mut rng = StdRng::seed_from_u64(4);
    let noise = randn(&mut rng, 600, 40);
    let r = efficiency::transfer(noise.as_ref(), y.as_ref(), &l, None, &p).unwrap();
    eprintln!("{r:?}");
    assert!(r.y_probe_on_y > 0.99);
    assert!(r.y_probe_on_mapped_x < r.chance + 0.12, "{r:?}");
    assert!(r.x_probe_on_x < r.chance + 0.12, "{r:?}");
}

#[test]
fn integer_npy_labels_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.npy");
    let labels: [i64; 5] = [0, 2, 1, 2, 7];
    let mut header = "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in labels {
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(&path, &out).unwrap();
    assert_eq!(
        mirlens_align::npy::read_labels(&path).unwrap(),
        vec![0, 2, 1, 2, 7]
    );
    // A negative class is refused.
    let n = out.len();
    out[n - 8..].copy_from_slice(&(-3i64).to_le_bytes());
    std::fs::write(&path, &out).unwrap();
    assert!(mirlens_align::npy::read_labels(&path).is_err());
}
