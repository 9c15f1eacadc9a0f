//! Criterion benchmarks of SAE training steps and inference (fixed seeds, named shapes).
//!
//! * `topk_step/small`: d = 64, n = 1,024, k = 16, batch 1,024 (quick);
//! * `topk_step/d768_n12288_k32_b4096`: the peer shape of `scripts/bench/peer_sae.py` (2 threads);
//! * `encode_decode/d768_n12288_k32_b4096`: inference only.
//!
//! The side-by-side comparison with PyTorch is `scripts/bench/peer_sae.py` (it drives `examples/bench_sae.rs`).

use criterion::{Criterion, criterion_group, criterion_main};
use mirlens_sae::synthetic::{PlantedParams, planted};
use mirlens_sae::train::{BDecInit, TrainParams, Trainer};
use mirlens_sae::{Architecture, Normalization};
use std::hint::black_box;
use std::time::Duration;

fn params(n: usize, k: usize, b: usize) -> TrainParams {
    let mut p = TrainParams::new(Architecture::TopK { k }, n);
    p.batch_size = b;
    p.total_tokens = 1 << 40;
    p.warmup_steps = Some(0);
    p.normalization = Normalization::ExpectedNorm;
    p.b_dec_init = BDecInit::Mean;
    p.aux_k.coefficient = 0.0;
    p.threads = 2;
    p
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("topk_step");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let small = planted(PlantedParams {
        d: 64,
        n_true: 256,
        k_true: 8,
        rows: 8192,
        noise: 0.05,
        seed: 1,
        source_exclusive: false,
    });
    let mut t = Trainer::new(&small.x, &params(1024, 16, 1024)).unwrap();
    g.bench_function("small", |b| b.iter(|| black_box(t.step().unwrap())));
    let big = planted(PlantedParams {
        d: 768,
        n_true: 4096,
        k_true: 32,
        rows: 12288,
        noise: 0.05,
        seed: 2,
        source_exclusive: false,
    });
    let mut t = Trainer::new(&big.x, &params(12288, 32, 4096)).unwrap();
    g.bench_function("d768_n12288_k32_b4096", |b| {
        b.iter(|| black_box(t.step().unwrap()))
    });
    g.finish();
    let mut g = c.benchmark_group("encode_decode");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let sae = t.sae().clone();
    let x = big.x.data[..4096 * 768].to_vec();
    g.bench_function("d768_n12288_k32_b4096", |b| {
        b.iter(|| black_box(sae.reconstruct(&x).unwrap()))
    });
    g.finish();
}

#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, bench);
}
use group::benches;
criterion_main!(benches);
