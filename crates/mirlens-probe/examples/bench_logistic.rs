//! Times mirlens logistic regression on data written by `scripts/bench/peer_probe.py` (raw little-endian files)
//! and prints one JSON line per fit: `{"fit": name, "seconds": s, "iterations": n, "train_acc": a, "test_acc": b,
//! "nonzero_frac": f}`.
//!
//! Usage: `cargo run --release -p mirlens-probe --example bench_logistic -- DIR FIT [REPEATS]` with FIT one of
//! `l2`, `l1`.

use mirlens_probe::{LogisticParams, LogisticRegression, Matrix, Penalty};
use std::time::Instant;

fn read_f32(p: &std::path::Path) -> Vec<f32> {
    std::fs::read(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
fn read_u32(p: &std::path::Path) -> Vec<usize> {
    std::fs::read(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).expect("DIR"));
    let fit = args.get(2).map(String::as_str).unwrap_or("l2");
    let repeats: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let ytr = read_u32(&dir.join("y_train.u32"));
    let yte = read_u32(&dir.join("y_test.u32"));
    let xtr = read_f32(&dir.join("x_train.f32"));
    let xte = read_f32(&dir.join("x_test.f32"));
    let d = xtr.len() / ytr.len();
    let xtr = Matrix::new(ytr.len(), d, xtr).unwrap();
    let xte = Matrix::new(yte.len(), d, xte).unwrap();
    let params = match fit {
        "l2" => LogisticParams {
            c: 1.0,
            ..Default::default()
        },
        "l1" => LogisticParams {
            c: 0.1,
            penalty: Penalty::L1,
            max_iter: 500,
            ..Default::default()
        },
        other => panic!("unknown fit {other:?}; use l2 or l1"),
    };
    for _ in 0..repeats {
        let t = Instant::now();
        let m = LogisticRegression::fit(&xtr, &ytr, &params).unwrap();
        let s = t.elapsed().as_secs_f64();
        let nz = m.coef.iter().filter(|v| **v != 0.0).count() as f64 / m.coef.len() as f64;
        println!(
            "{{\"fit\": \"{fit}\", \"seconds\": {s}, \"iterations\": {}, \"train_acc\": {}, \"test_acc\": {}, \"nonzero_frac\": {nz}}}",
            m.iterations,
            m.score(&xtr, &ytr).unwrap(),
            m.score(&xte, &yte).unwrap()
        );
    }
}
