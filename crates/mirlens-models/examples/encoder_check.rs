//! On-demand checks on large (not committed) checkpoints.
//!
//! Parity against goldens written next to a checkpoint (e.g. `tests/golden/encoders/generate.py --base OUT`):
//!
//! `cargo run --release -p mirlens-models --example encoder_check -- parity OUT/hubert_group_postln`
//!
//! Chunked vs full-context deviation (per layer max abs and mean per-frame cosine):
//!
//! `cargo run --release -p mirlens-models --example encoder_check -- chunk MODEL_DIR SECONDS WINDOW_S OVERLAP_S`

use mirlens_core::LayerSelection;
use mirlens_models::chunked::{ChunkParams, encode_chunked};
use mirlens_models::{CandleEncoder, EncodeOptions, Encoder, FinalNorm, LoadOptions};

type Tensors = Vec<(String, Vec<f32>)>;

fn read(path: &std::path::Path) -> Result<Tensors, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path)?;
    let st = safetensors::SafeTensors::deserialize(&bytes)?;
    Ok(st
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            (
                n,
                v.data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            )
        })
        .collect())
}

fn signal(n: usize, sr: f32) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let t = i as f32 / sr;
            let gain = 0.2 + 0.8 * ((t * 4.0).floor() * 0.618).fract();
            gain * (2.0 * std::f32::consts::PI * (200.0 + 60.0 * t) * t).sin() + 0.2 * noise
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("parity") if args.len() == 3 => {
            let dir = std::path::Path::new(&args[2]);
            let enc = CandleEncoder::load(dir, &LoadOptions::default())?;
            let mut files: Vec<_> = std::fs::read_dir(dir)?
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("hidden_len"))
                })
                .collect();
            files.sort();
            let mut overall = 0f32;
            for f in files {
                let g: std::collections::BTreeMap<_, _> = read(&f)?.into_iter().collect();
                let x = &g["input_values"];
                let a = enc.encode(x, &LayerSelection::All, &EncodeOptions::default())?;
                let b = enc.encode(
                    x,
                    &LayerSelection::Last,
                    &EncodeOptions {
                        final_norm: FinalNorm::After,
                        ..Default::default()
                    },
                )?;
                let mut line = format!("{}:", f.file_name().unwrap_or_default().to_string_lossy());
                for (l, v) in &a.layers {
                    let r = &g[&format!("hidden_states.{}", l.0)];
                    let m = v
                        .iter()
                        .zip(r)
                        .map(|(p, q)| (p - q).abs())
                        .fold(0f32, f32::max);
                    overall = overall.max(m);
                    line += &format!(" {}={m:.2e}", l.0);
                }
                let m = b.layers[0]
                    .1
                    .iter()
                    .zip(&g["last_hidden_state"])
                    .map(|(p, q)| (p - q).abs())
                    .fold(0f32, f32::max);
                overall = overall.max(m);
                println!("{line} last_hidden_state={m:.2e}");
            }
            println!("max abs error over every hidden state: {overall:.3e}");
            if overall > 1e-4 {
                return Err("parity above 1e-4".into());
            }
        }
        Some("chunk") if args.len() == 6 => {
            let enc = CandleEncoder::load(&args[2], &LoadOptions::default())?;
            let secs: f64 = args[3].parse()?;
            let sr = enc.spec().sample_rate;
            let geom = enc.geometry();
            let p = ChunkParams::from_seconds(args[4].parse()?, args[5].parse()?, sr, geom.hop);
            let x = signal((secs * sr as f64) as usize, sr as f32);
            let sel = LayerSelection::All;
            let opts = EncodeOptions::default();
            let t0 = std::time::Instant::now();
            let full = enc.encode(&x, &sel, &opts)?;
            let t1 = t0.elapsed().as_secs_f64();
            let t0 = std::time::Instant::now();
            let ch = encode_chunked(&enc, &geom, &x, &sel, &opts, &p)?;
            let t2 = t0.elapsed().as_secs_f64();
            println!(
                "{} s input, window {} / overlap {} samples: full {t1:.2} s, chunked {t2:.2} s, {} frames",
                secs, p.window, p.overlap, full.frames
            );
            let h = full.hidden;
            for ((l, a), (_, b)) in ch.layers.iter().zip(&full.layers) {
                let m = a
                    .iter()
                    .zip(b)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0f32, f32::max);
                let scale = b.iter().map(|q| q.abs()).fold(0f32, f32::max);
                let mut cos = 0f64;
                for (ra, rb) in a.chunks_exact(h).zip(b.chunks_exact(h)) {
                    let d: f64 = ra.iter().zip(rb).map(|(p, q)| *p as f64 * *q as f64).sum();
                    let na: f64 = ra.iter().map(|p| (*p as f64).powi(2)).sum::<f64>().sqrt();
                    let nb: f64 = rb.iter().map(|p| (*p as f64).powi(2)).sum::<f64>().sqrt();
                    cos += d / (na * nb).max(1e-30);
                }
                println!(
                    "layer {:2}: max abs {m:.3e} (max |full| {scale:.2}), mean cosine {:.6}",
                    l.0,
                    cos / full.frames as f64
                );
            }
        }
        _ => {
            return Err(
                "usage: encoder_check parity DIR | chunk MODEL_DIR SECONDS WINDOW_S OVERLAP_S"
                    .into(),
            );
        }
    }
    Ok(())
}
