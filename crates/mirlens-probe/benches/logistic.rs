//! Criterion benchmark of the logistic probes on a fixed-seed synthetic problem (named shape `5000x256x12`).

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, criterion_group, criterion_main};
use mirlens_probe::{LogisticParams, LogisticRegression, Matrix, Penalty};
use rand::{SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};

fn data(n: usize, d: usize, k: usize) -> (Matrix, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(42);
    let x: Vec<f32> = (0..n * d)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let w: Vec<f32> = (0..d * k)
        .map(|i| {
            if i % 10 == 0 {
                StandardNormal.sample(&mut rng)
            } else {
                0.0
            }
        })
        .collect();
    let y = (0..n)
        .map(|i| {
            let r = &x[i * d..(i + 1) * d];
            (0..k)
                .map(|c| {
                    r.iter()
                        .enumerate()
                        .map(|(j, v)| v * w[j * k + c])
                        .sum::<f32>()
                        + 0.5 * Distribution::<f32>::sample(&StandardNormal, &mut rng)
                })
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |a, (c, v)| if v > a.1 { (c, v) } else { a },
                )
                .0
        })
        .collect();
    (Matrix::new(n, d, x).unwrap(), y)
}

fn bench(c: &mut Criterion) {
    let (x, y) = data(5000, 256, 12);
    let mut g = c.benchmark_group("logistic_5000x256x12");
    g.sample_size(10);
    g.bench_function("l2_lbfgs", |b| {
        b.iter(|| LogisticRegression::fit(&x, &y, &LogisticParams::default()).unwrap())
    });
    g.bench_function("l1_owlqn_c0.1", |b| {
        b.iter(|| {
            LogisticRegression::fit(
                &x,
                &y,
                &LogisticParams {
                    c: 0.1,
                    penalty: Penalty::L1,
                    max_iter: 500,
                    ..Default::default()
                },
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
