//! Audio input benchmarks: decode a 60 s MP3 and FLAC (44.1 kHz stereo → mono), resample 60 s 44.1 kHz → 16 kHz
//! and → 24 kHz (High preset).
//!
//! `cargo bench -p mirlens-audio --bench io` runs criterion. The decode cases need `MIRLENS_BENCH_IO_DIR` pointing at
//! a folder with `music60.flac` and `music60.mp3` (written by `scripts/bench/peer_io.py`); without it only the
//! resampling cases and a 60 s WAV decode (written by the bench itself) run.
//!
//! With `MIRLENS_PEER_CASE` (`decode_mp3`, `decode_flac`, `resample16`, `resample24`) the binary instead times one
//! case on `MIRLENS_PEER_INPUT` (an audio file, or raw little-endian f32 mono at 44.1 kHz for resampling) for
//! `MIRLENS_PEER_REPS` repetitions (resampling preset from `MIRLENS_PEER_QUALITY`, default `high`) after one untimed warm-up, writes the output samples to `MIRLENS_PEER_OUTPUT` and
//! prints the times (seconds) as JSON — `scripts/bench/peer_io.py` interleaves that with soundfile and soxr.

use criterion::Criterion;
use mirlens_audio::decode::{DecodeOptions, decode_file};
use mirlens_audio::resample::{ResampleQuality, resample};
use mirlens_audio::wav::{WavFormat, write_wav};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// 60 s C-major chord + seeded noise at 44.1 kHz (the peer script's signal is generated the same way).
fn signal(sr: u32, seconds: f64) -> Vec<f32> {
    let n = (sr as f64 * seconds) as usize;
    let mut y = mirlens_test_support::signals::harmonic_chord(&[261.63, 329.63, 392.0], 5, sr, n);
    for (a, b) in y
        .iter_mut()
        .zip(mirlens_test_support::signals::noise(0, 0.01, n))
    {
        *a += b;
    }
    y
}

fn decode(path: &Path) -> Vec<f32> {
    decode_file(path, &DecodeOptions::default())
        .expect("decodable bench input")
        .waveform
        .samples
}

fn quality() -> ResampleQuality {
    std::env::var("MIRLENS_PEER_QUALITY")
        .ok()
        .and_then(|q| q.parse().ok())
        .unwrap_or_default()
}

fn run_case(case: &str, input: &Path, raw: &[f32]) -> Vec<f32> {
    match case {
        "decode_mp3" | "decode_flac" | "decode_wav" => decode(input),
        "resample16" => resample(raw, 44_100, 16_000, quality()).expect("valid"),
        "resample24" => resample(raw, 44_100, 24_000, quality()).expect("valid"),
        other => panic!(
            "unknown case {other:?}: expected decode_mp3, decode_flac, resample16 or resample24"
        ),
    }
}

fn peer_mode(case: &str) {
    let input = PathBuf::from(std::env::var("MIRLENS_PEER_INPUT").expect("MIRLENS_PEER_INPUT"));
    let reps: usize = std::env::var("MIRLENS_PEER_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let raw: Vec<f32> = if case.starts_with("resample") {
        let bytes = std::fs::read(&input).expect("read input");
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        Vec::new()
    };
    let out = run_case(case, &input, &raw); // warm-up (untimed)
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        black_box(run_case(case, black_box(&input), black_box(&raw)));
        times.push(t.elapsed().as_secs_f64());
    }
    if let Ok(p) = std::env::var("MIRLENS_PEER_OUTPUT") {
        let b: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(p, b).expect("write output");
    }
    println!(
        "{{\"case\": \"{case}\", \"times\": {times:?}, \"n_out\": {}}}",
        out.len()
    );
}

fn main() {
    if let Ok(case) = std::env::var("MIRLENS_PEER_CASE") {
        peer_mode(&case);
        return;
    }
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let y = signal(44_100, 60.0);
    let mut g = c.benchmark_group("resample_60s");
    g.bench_function("44k1_to_16k_high", |b| {
        b.iter(|| resample(black_box(&y), 44_100, 16_000, ResampleQuality::High))
    });
    g.bench_function("44k1_to_24k_high", |b| {
        b.iter(|| resample(black_box(&y), 44_100, 24_000, ResampleQuality::High))
    });
    g.bench_function("44k1_to_16k_fast", |b| {
        b.iter(|| resample(black_box(&y), 44_100, 16_000, ResampleQuality::Fast))
    });
    g.finish();
    let mut g = c.benchmark_group("decode_60s");
    let tmp = std::env::temp_dir().join(format!("mirlens-bench-io-{}.wav", std::process::id()));
    write_wav(&tmp, &y, 44_100, WavFormat::Pcm16).expect("write bench WAV");
    g.bench_function("wav_s16_mono", |b| b.iter(|| decode(black_box(&tmp))));
    match std::env::var("MIRLENS_BENCH_IO_DIR") {
        Ok(dir) => {
            let dir = PathBuf::from(dir);
            for (name, file) in [
                ("flac_stereo", "music60.flac"),
                ("mp3_stereo", "music60.mp3"),
            ] {
                let p = dir.join(file);
                g.bench_function(name, |b| b.iter(|| decode(black_box(&p))));
            }
        }
        Err(_) => eprintln!(
            "MIRLENS_BENCH_IO_DIR not set: skipping the FLAC/MP3 decode cases (run scripts/bench/peer_io.py)"
        ),
    }
    g.finish();
    let _ = std::fs::remove_file(&tmp);
    c.final_summary();
}
