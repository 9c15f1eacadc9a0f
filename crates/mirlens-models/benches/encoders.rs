//! Encoder forward benchmarks (random weights, f32, batch 1, every hidden state; thread count from
//! `RAYON_NUM_THREADS`, 2 on the reference machine):
//! - `hubert_base_10s_16k`: HuBERT-base size (768 × 12, FFN 3072, 7-layer conv), 10 s at 16 kHz;
//! - `mert_330m_10s_24k`: MERT-v1-330M size (1024 × 24, FFN 4096, pre-LN, group-norm conv), 10 s at 24 kHz.
//!
//! The PyTorch peer is timed in the same run by `scripts/bench/peer_encoders.py` (which drives
//! `examples/time_encoder.rs` on the very same checkpoint); this bench tracks mirlens alone.

#[path = "support/random_checkpoint.rs"]
mod random_checkpoint;

use criterion::{Criterion, criterion_main};
use mirlens_core::LayerSelection;
use mirlens_models::{CandleEncoder, EncodeOptions, Encoder, LoadOptions};
use std::time::Duration;

fn input(n: usize, sr: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / sr).sin() * 0.5)
        .collect()
}

fn bench(c: &mut Criterion) {
    let tmp = std::env::temp_dir().join(format!("mirlens-bench-encoders-{}", std::process::id()));
    let mut g = c.benchmark_group("encoders");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(5));
    for (name, h, layers, heads, ffn, pre_ln, sr) in [
        ("hubert_base_10s_16k", 768, 12, 12, 3072, false, 16_000u32),
        ("mert_330m_10s_24k", 1024, 24, 16, 4096, true, 24_000u32),
    ] {
        let dir = tmp.join(name);
        let size = random_checkpoint::Size {
            h,
            layers,
            heads,
            ffn,
            pre_ln,
            sample_rate: sr,
        };
        random_checkpoint::write(&dir, &size, 7);
        let enc = CandleEncoder::load(&dir, &LoadOptions::default()).unwrap();
        let x = input(10 * sr as usize, sr as f32);
        g.bench_function(name, |b| {
            b.iter(|| {
                enc.encode(&x, &LayerSelection::All, &EncodeOptions::default())
                    .unwrap()
            })
        });
        drop(enc);
        let _ = std::fs::remove_dir_all(&dir);
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&tmp);
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
