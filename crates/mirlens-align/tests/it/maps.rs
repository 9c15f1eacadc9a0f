//! Maps against scikit-learn Ridge/RidgeCV and scipy orthogonal_procrustes; planted rotation recovery; retrieval.

use crate::golden::{cases, f64s, mat};
use crate::planted::randn;
use faer::Mat;
use mirlens_align::maps::{self, MapMethod, MapParams, ProcrustesScaling};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn max_abs_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
    let mut m: f64 = 0.0;
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            m = m.max((a[(i, j)] - b[(i, j)]).abs());
        }
    }
    m
}

#[test]
fn ridge_matches_sklearn() {
    let all = cases();
    for (name, c) in all["cases"].as_object().unwrap() {
        let (x, y) = (mat(&c["x"]), mat(&c["y"]));
        let r = &c["ridge"];
        let m = maps::ridge(x.as_ref(), y.as_ref(), r["lambda"].as_f64().unwrap()).unwrap();
        let err = max_abs_diff(&m.w, &mat(&r["coef"]));
        let icpt = f64s(&r["intercept"]);
        let ierr = m
            .intercept()
            .iter()
            .zip(&icpt)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        eprintln!("{name}: ridge coef err {err:.2e}, intercept err {ierr:.2e}");
        assert!(err < 1e-12 && ierr < 2e-14, "{name}: {err} {ierr}");
        let cv = maps::ridge_cv(x.as_ref(), y.as_ref(), 5, None).unwrap();
        let grid = f64s(&r["cv_grid"]);
        for (a, b) in cv.grid.iter().zip(&grid) {
            assert!((a - b).abs() <= 1e-12 * b, "{name}: grid {a} vs {b}");
        }
        assert_eq!(
            cv.lambda,
            cv.grid[grid
                .iter()
                .position(|g| *g == r["cv_alpha"].as_f64().unwrap())
                .unwrap()],
            "{name}: RidgeCV chose {}",
            r["cv_alpha"]
        );
    }
}

#[test]
fn rrr_matches_numpy_formula() {
    let all = cases();
    for (name, c) in all["cases"].as_object().unwrap() {
        let (x, y) = (mat(&c["x"]), mat(&c["y"]));
        let m = maps::rrr(x.as_ref(), y.as_ref(), 2, 1.0).unwrap();
        let err = max_abs_diff(&m.w, &mat(&c["rrr_rank2_lam1"]));
        eprintln!("{name}: rrr err {err:.2e}");
        assert!(err < 2e-12, "{name}: {err}");
    }
}

#[test]
fn procrustes_matches_scipy_and_recovers_the_planted_rotation() {
    let all = cases();
    let c = &all["cases"]["rotated"];
    let (x, y) = (mat(&c["x"]), mat(&c["y"]));
    let m = maps::procrustes(x.as_ref(), y.as_ref(), ProcrustesScaling::Centred).unwrap();
    let err = max_abs_diff(&m.w, &mat(&c["procrustes"]["rotation"]));
    eprintln!("procrustes rotation vs scipy err {err:.2e}");
    assert!(err < 5e-15, "{err}");
    // The planted rotation, up to the noise (σ = 0.3 on unit-scale columns, n = 50).
    let rot_err = max_abs_diff(&m.w, &mat(&c["true_rotation"]));
    assert!(rot_err < 0.1, "{rot_err}");
}

#[test]
fn procrustes_recovery_improves_with_less_noise() {
    let mut rng = StdRng::seed_from_u64(21);
    let x = randn(&mut rng, 300, 6);
    let q = {
        let a = randn(&mut rng, 6, 6);
        a.as_ref().qr().compute_thin_Q()
    };
    let e = randn(&mut rng, 300, 6);
    let mut last = f64::INFINITY;
    for sigma in [1.0, 0.3, 0.1, 0.01, 0.0] {
        let y = &x * &q + &e * faer::Scale(sigma);
        let m = maps::procrustes(x.as_ref(), y.as_ref(), ProcrustesScaling::Centred).unwrap();
        let err = max_abs_diff(&m.w, &q);
        assert!(err < last, "sigma {sigma}: {err} !< {last}");
        last = err;
    }
    assert!(last < 1e-12, "exact recovery without noise: {last}");
}

#[test]
fn held_out_evaluation_of_every_map() {
    let mut rng = StdRng::seed_from_u64(4);
    let z = randn(&mut rng, 200, 4);
    let x = &z * &randn(&mut rng, 4, 10) + randn(&mut rng, 200, 10) * faer::Scale(0.1);
    let y = &z * &randn(&mut rng, 4, 10) + randn(&mut rng, 200, 10) * faer::Scale(0.1);
    for method in [
        MapMethod::Ridge,
        MapMethod::Procrustes,
        MapMethod::Rrr,
        MapMethod::Cca,
    ] {
        let p = MapParams {
            method,
            rank: Some(4),
            ..Default::default()
        };
        let (rep, _) = maps::fit_and_evaluate(x.as_ref(), y.as_ref(), None, &p).unwrap();
        eprintln!(
            "{method:?}: R2 {:?} x→y R@1 {} y→x R@1 {}",
            rep.r2_variance_weighted, rep.retrieval.x_to_y.r_at_1, rep.retrieval.y_to_x.r_at_1
        );
        assert_eq!(rep.n_test, 40);
        assert_eq!(rep.retrieval.x_to_y.queries, 40);
        assert!(
            rep.retrieval.x_to_y.r_at_10 > 0.5,
            "{method:?}: {:?}",
            rep.retrieval
        );
        if method == MapMethod::Ridge || method == MapMethod::Rrr {
            assert!(
                rep.r2_variance_weighted.unwrap() > 0.9,
                "{method:?}: {:?}",
                rep.r2_variance_weighted
            );
        }
        if method == MapMethod::Cca {
            assert!(rep.test_canonical_correlations.as_ref().unwrap()[0] > 0.95);
        }
    }
    // Independent views: retrieval at chance, R² not above 0.
    let y2 = randn(&mut rng, 200, 10);
    let (rep, _) =
        maps::fit_and_evaluate(x.as_ref(), y2.as_ref(), None, &MapParams::default()).unwrap();
    assert!(
        rep.r2_variance_weighted.unwrap() < 0.05,
        "{:?}",
        rep.r2_variance_weighted
    );
    assert!(rep.retrieval.x_to_y.r_at_1 < 0.2);
}
