//! Planted-structure tests: rows built from a known dictionary; the trained SAE must recover it.

use mirlens_sae::synthetic::{PlantedParams, mean_max_cosine, planted};
use mirlens_sae::train::{TrainParams, train_simple};
use mirlens_sae::{Architecture, Normalization};

pub fn data(seed: u64) -> mirlens_sae::synthetic::Planted {
    planted(PlantedParams {
        d: 32,
        n_true: 48,
        k_true: 3,
        rows: 6000,
        noise: 0.02,
        seed,
        source_exclusive: false,
    })
}

pub fn params(arch: Architecture, n: usize, tokens: u64) -> TrainParams {
    let mut p = TrainParams::new(arch, n);
    p.batch_size = 256;
    p.total_tokens = tokens;
    p.lr = Some(3e-3);
    p.normalization = Normalization::ExpectedNorm;
    p.seed = 1;
    p.threads = 2;
    p
}

#[test]
fn topk_recovers_the_planted_dictionary() {
    let pl = data(7);
    let t0 = std::time::Instant::now();
    let out = train_simple(&pl.x, &params(Architecture::TopK { k: 3 }, 96, 400_000)).unwrap();
    let mmc = mean_max_cosine(&pl.dictionary, &out.sae.w_dec, 32);
    let ev = out.eval.unwrap();
    eprintln!(
        "topk: mmc {mmc:.4} fvu {:.4} l0 {:.2} dead {:.3} in {:?}",
        ev.fvu,
        ev.l0,
        ev.dead_fraction,
        t0.elapsed()
    );
    assert!(mmc >= 0.9, "mean max cosine {mmc}");
    assert!(ev.fvu < 0.1, "fvu {}", ev.fvu);
}

#[test]
fn fvu_decreases_with_width_and_with_k() {
    let pl = data(11);
    let fvu = |n: usize, k: usize| {
        let mut p = params(Architecture::TopK { k }, n, 200_000);
        p.aux_k.coefficient = 1.0 / 32.0;
        let out = train_simple(&pl.x, &p).unwrap();
        out.eval.unwrap().fvu
    };
    let (w1, w2, w3) = (fvu(8, 2), fvu(24, 2), fvu(64, 2));
    let (k1, k2, k3) = (fvu(24, 1), fvu(24, 2), fvu(24, 4));
    eprintln!("width: {w1:.4} {w2:.4} {w3:.4}; k: {k1:.4} {k2:.4} {k3:.4}");
    assert!(w1 > w2 && w2 > w3, "FVU by width {w1} {w2} {w3}");
    assert!(k1 > k2 && k2 > k3, "FVU by k {k1} {k2} {k3}");
}

#[test]
fn other_architectures_recover_the_dictionary() {
    let pl = data(5);
    for (arch, tokens) in [
        (Architecture::BatchTopK { k: 3 }, 400_000u64),
        (Architecture::Relu, 600_000),
        (Architecture::JumpRelu, 600_000),
    ] {
        let p = params(arch, 96, tokens);
        let out = train_simple(&pl.x, &p).unwrap();
        let mmc = mean_max_cosine(&pl.dictionary, &out.sae.w_dec, 32);
        let ev = out.eval.unwrap();
        eprintln!(
            "{}: mmc {mmc:.4} fvu {:.4} l0 {:.2} dead {:.3} thr {:?}",
            arch.name(),
            ev.fvu,
            ev.l0,
            ev.dead_fraction,
            out.sae.threshold.first()
        );
        assert!(mmc >= 0.9, "{}: mean max cosine {mmc}", arch.name());
        assert!(ev.fvu < 0.15, "{}: fvu {}", arch.name(), ev.fvu);
        assert!(ev.l0 < 6.0, "{}: l0 {}", arch.name(), ev.l0);
    }
}
