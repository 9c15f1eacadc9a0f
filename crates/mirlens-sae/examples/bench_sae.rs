//! Side-by-side benchmark driver used by `scripts/bench/peer_sae.py`: trains a TopK SAE on the rows of a
//! safetensors file (tensor `x [rows, d]`, pre-scaled) for a number of steps and prints one JSON line with the time
//! of every step and the held-out FVU.
//!
//! `cargo run --release -p mirlens-sae --example bench_sae -- DATA.safetensors N K BATCH STEPS THREADS LR SEED`

use mirlens_sae::io::TensorFile;
use mirlens_sae::train::{BDecInit, TrainParams, Trainer};
use mirlens_sae::{Architecture, Matrix, Normalization};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 9 {
        return Err("usage: bench_sae DATA N K BATCH STEPS THREADS LR SEED".into());
    }
    let mut f = TensorFile::read(std::path::Path::new(&a[1]))?;
    let shape = f.shape("x")?;
    let x = f.take("x", &shape)?;
    let m = Matrix::new(shape[0], shape[1], x)?;
    let (n, k, b, steps, threads): (usize, usize, usize, u64, usize) = (
        a[2].parse()?,
        a[3].parse()?,
        a[4].parse()?,
        a[5].parse()?,
        a[6].parse()?,
    );
    let lr: f32 = a[7].parse()?;
    let mut p = TrainParams::new(Architecture::TopK { k }, n);
    p.batch_size = b;
    p.total_tokens = steps * b as u64;
    p.lr = Some(lr);
    p.warmup_steps = Some(0);
    p.decay_fraction = 0.0;
    p.normalization = Normalization::None;
    p.b_dec_init = BDecInit::Mean;
    p.aux_k.coefficient = 0.0;
    p.eval_fraction = 4096.0 / shape[0] as f32;
    p.seed = a[8].parse()?;
    p.threads = threads;
    let t0 = Instant::now();
    let mut tr = Trainer::new(&m, &p)?;
    let init_s = t0.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let mut fvus = Vec::new();
    for _ in 0..steps {
        let t = Instant::now();
        fvus.push(tr.step()?);
        times.push(t.elapsed().as_secs_f64());
    }
    let ev = tr.evaluate()?;
    println!(
        "{}",
        serde_json::json!({"init_s": init_s, "step_s": times, "batch_fvu": fvus, "eval_fvu": ev.fvu, "eval_l0": ev.l0, "eval_rows": ev.n_tokens})
    );
    Ok(())
}
