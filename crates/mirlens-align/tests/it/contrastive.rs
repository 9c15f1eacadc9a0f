//! Contrastive heads: analytic gradients against central finite differences, loss values against numpy, planted
//! shared latent vs independent views, determinism under the seed.

use crate::golden::mat;
use crate::planted::randn;
use faer::Mat;
use mirlens_align::contrastive::{self, ContrastiveLoss, ContrastiveParams, Heads};
use mirlens_align::maps::{self, MapMethod, MapParams};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

fn flat(h: &Heads) -> Vec<f64> {
    let mut v: Vec<f64> = Vec::new();
    for m in [&h.wx, &h.wy] {
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                v.push(m[(i, j)]);
            }
        }
    }
    v.push(h.t);
    v.push(h.b);
    v
}

fn set(h: &Heads, k: usize, delta: f64) -> Heads {
    let mut h = h.clone();
    let nx = h.wx.nrows() * h.wx.ncols();
    let ny = h.wy.nrows() * h.wy.ncols();
    if k < nx {
        let (i, j) = (k % h.wx.nrows(), k / h.wx.nrows());
        h.wx[(i, j)] += delta;
    } else if k < nx + ny {
        let k = k - nx;
        let (i, j) = (k % h.wy.nrows(), k / h.wy.nrows());
        h.wy[(i, j)] += delta;
    } else if k == nx + ny {
        h.t += delta;
    } else {
        h.b += delta;
    }
    h
}

#[test]
fn gradients_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(11);
    let x = randn(&mut rng, 9, 5);
    let y = &x * &randn(&mut rng, 5, 4) * faer::Scale(0.3) + randn(&mut rng, 9, 4);
    for loss in [ContrastiveLoss::InfoNce, ContrastiveLoss::Siglip] {
        for (seed, t, b) in [(1, 2.659, 0.0), (2, 0.4, -2.0), (3, 1.2, 0.7)] {
            let mut h = contrastive::init_heads(loss, 5, 4, 3, seed);
            h.t = t;
            h.b = b;
            let (_, g) = contrastive::loss_and_grad(loss, &h, x.as_ref(), y.as_ref());
            let analytic = flat(&Heads {
                wx: g.wx,
                wy: g.wy,
                t: g.t,
                b: g.b,
            });
            let eps = 1e-5;
            let numeric: Vec<f64> = (0..analytic.len())
                .map(|k| {
                    let lp =
                        contrastive::loss_value(loss, &set(&h, k, eps), x.as_ref(), y.as_ref());
                    let lm =
                        contrastive::loss_value(loss, &set(&h, k, -eps), x.as_ref(), y.as_ref());
                    (lp - lm) / (2.0 * eps)
                })
                .collect();
            let diff: f64 = analytic
                .iter()
                .zip(&numeric)
                .map(|(a, n)| (a - n).powi(2))
                .sum::<f64>()
                .sqrt();
            let norm = analytic.iter().map(|a| a * a).sum::<f64>().sqrt();
            let worst = analytic
                .iter()
                .zip(&numeric)
                .map(|(a, n)| (a - n).abs() / (a.abs() + n.abs()).max(1e-3))
                .fold(0.0, f64::max);
            eprintln!(
                "{loss:?} t={t}: ‖g − fd‖/‖g‖ = {:.2e}, worst entry {worst:.2e}",
                diff / norm
            );
            assert!(diff / norm < 1e-5, "{loss:?} t={t}: {}", diff / norm);
            assert!(worst < 1e-5, "{loss:?} t={t}: {worst}");
            if loss == ContrastiveLoss::InfoNce {
                assert_eq!(analytic[analytic.len() - 1], 0.0, "InfoNCE has no bias");
            }
        }
    }
}

#[test]
fn loss_values_match_numpy() {
    let p = mirlens_test_support::golden_dir("align").join("contrastive.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let mut worst: f64 = 0.0;
    for c in all["cases"].as_array().unwrap() {
        let (x, y) = (mat(&c["x"]), mat(&c["y"]));
        let h = Heads {
            wx: mat(&c["wx"]),
            wy: mat(&c["wy"]),
            t: c["t"].as_f64().unwrap(),
            b: c["b"].as_f64().unwrap(),
        };
        for (loss, key) in [
            (ContrastiveLoss::InfoNce, "infonce"),
            (ContrastiveLoss::Siglip, "siglip"),
        ] {
            let got = contrastive::loss_value(loss, &h, x.as_ref(), y.as_ref());
            let want = c[key].as_f64().unwrap();
            let rel = (got - want).abs() / want.abs();
            worst = worst.max(rel);
            // Achieved 4.3e-16; tolerance 10× that rounded up.
            assert!(rel < 5e-15, "{} {key}: {got} vs {want}", c["name"]);
        }
    }
    eprintln!("worst relative error vs numpy: {worst:.2e}");
}

/// `X = Z A + σE`, `Y = Z B + σE'` (shared 4-dim latent), or Y independent of X.
fn views(seed: u64, n: usize, sigma: f64, independent: bool) -> (Mat<f64>, Mat<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let z = randn(&mut rng, n, 4);
    let x = &z * &randn(&mut rng, 4, 12) + randn(&mut rng, n, 12) * faer::Scale(sigma);
    let zy = if independent {
        randn(&mut rng, n, 4)
    } else {
        z
    };
    let y = &zy * &randn(&mut rng, 4, 9) + randn(&mut rng, n, 9) * faer::Scale(sigma);
    (x, y)
}

#[test]
fn planted_latent_is_retrieved_and_independent_views_are_not() {
    for method in [MapMethod::InfoNce, MapMethod::Siglip] {
        let p = MapParams {
            method,
            epochs: 150,
            ..Default::default()
        };
        let (x, y) = views(5, 300, 0.05, false);
        let (rep, w) = maps::fit_and_evaluate(x.as_ref(), y.as_ref(), None, &p).unwrap();
        let c = rep.contrastive.as_ref().unwrap();
        eprintln!(
            "{method:?} planted: R@1 x→y {} y→x {}, loss {} → {}, scale {}",
            rep.retrieval.x_to_y.r_at_1,
            rep.retrieval.y_to_x.r_at_1,
            c.initial_loss,
            c.final_loss,
            c.logit_scale
        );
        assert_eq!((w.nrows(), w.ncols()), (12, 9));
        assert_eq!(rep.rank, Some(9));
        assert_eq!(rep.n_test, 60);
        assert!(rep.retrieval.x_to_y.r_at_1 >= 0.9, "{:?}", rep.retrieval);
        assert!(rep.retrieval.y_to_x.r_at_1 >= 0.9, "{:?}", rep.retrieval);
        assert!(c.final_loss < 0.5 * c.initial_loss);
        let (x, y) = views(5, 300, 0.05, true);
        let (rep, _) = maps::fit_and_evaluate(x.as_ref(), y.as_ref(), None, &p).unwrap();
        eprintln!(
            "{method:?} independent: R@1 x→y {} y→x {}, R@10 {} (chance 10/60)",
            rep.retrieval.x_to_y.r_at_1, rep.retrieval.y_to_x.r_at_1, rep.retrieval.x_to_y.r_at_10
        );
        // Chance R@1 is 1/60; 6 hits of 60 would be p < 1e-3 under chance.
        assert!(rep.retrieval.x_to_y.r_at_1 <= 0.1, "{:?}", rep.retrieval);
        assert!(rep.retrieval.y_to_x.r_at_1 <= 0.1, "{:?}", rep.retrieval);
        assert!(rep.retrieval.x_to_y.r_at_10 <= 0.35, "{:?}", rep.retrieval);
    }
}

#[test]
fn training_is_deterministic_under_the_seed() {
    let (x, y) = views(8, 120, 0.3, false);
    for loss in [ContrastiveLoss::InfoNce, ContrastiveLoss::Siglip] {
        let p = ContrastiveParams {
            loss,
            epochs: 20,
            batch_size: 32,
            rank: Some(3),
            ..Default::default()
        };
        let a = contrastive::train(x.as_ref(), y.as_ref(), &p).unwrap();
        let b = contrastive::train(x.as_ref(), y.as_ref(), &p).unwrap();
        assert_eq!(a.heads, b.heads);
        assert_eq!(a.loss_trace, b.loss_trace);
        let c = contrastive::train(x.as_ref(), y.as_ref(), &ContrastiveParams { seed: 1, ..p })
            .unwrap();
        assert_ne!(a.heads.wx, c.heads.wx);
        assert_eq!((a.heads.wx.nrows(), a.heads.wx.ncols()), (12, 3));
    }
}

#[test]
fn infonce_scale_is_clamped_and_bad_options_are_refused() {
    let (x, y) = views(9, 60, 0.01, false);
    let p = ContrastiveParams {
        lr: 0.2,
        epochs: 100,
        ..Default::default()
    };
    let m = contrastive::train(x.as_ref(), y.as_ref(), &p).unwrap();
    assert!(m.heads.t <= contrastive::INFONCE_T_MAX);
    assert_eq!(m.heads.b, 0.0);
    for bad in [
        ContrastiveParams {
            rank: Some(0),
            ..Default::default()
        },
        ContrastiveParams {
            lr: -1.0,
            ..Default::default()
        },
        ContrastiveParams {
            batch_size: 1,
            ..Default::default()
        },
    ] {
        assert!(matches!(
            contrastive::train(x.as_ref(), y.as_ref(), &bad),
            Err(mirlens_align::AlignError::InvalidParam { .. })
        ));
    }
}
