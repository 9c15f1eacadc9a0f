//! Criterion benchmark of layer × layer matrices (debiased CKA and mutual-kNN) on fixed-seed synthetic layers.
//! Named shape `1000x(6x256)x(8x384)`: 1,000 paired items, 6 X layers of width 256, 8 Y layers of width 384, each
//! layer a noisy linear image of one 16-dim latent. The Python peer on the same shape family:
//! `scripts/bench/align_peer.py`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, criterion_group, criterion_main};
use faer::Mat;
use mirlens_align::layers::layer_matrix;
use mirlens_align::measures::{MeasureParams, Metric};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn gauss(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn layers(seed: u64, z: &Mat<f64>, count: usize, width: usize) -> Vec<(String, Mat<f64>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|l| {
            let a = Mat::from_fn(z.ncols(), width, |_, _| gauss(&mut rng));
            let noise = 0.5 + l as f64;
            let m = z * &a + Mat::from_fn(z.nrows(), width, |_, _| noise * gauss(&mut rng));
            (format!("{l}"), m)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    let n = 1000;
    let z = Mat::from_fn(n, 16, |_, _| gauss(&mut rng));
    let xs = layers(1, &z, 6, 256);
    let ys = layers(2, &z, 8, 384);
    let params = MeasureParams::default();
    let mut g = c.benchmark_group("layers_1000x(6x256)x(8x384)");
    g.sample_size(10);
    g.bench_function("cka_debiased", |b| {
        b.iter(|| layer_matrix(&xs, &ys, Metric::CkaDebiased, &params).unwrap())
    });
    g.bench_function("mutual_knn", |b| {
        b.iter(|| layer_matrix(&xs, &ys, Metric::MutualKnn, &params).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
