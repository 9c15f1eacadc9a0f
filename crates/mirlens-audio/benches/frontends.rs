//! Front-end benchmarks on 60 s of a seeded chord + noise signal:
//! log-mel @22.05 kHz (2048/512/128), log-mel @16 kHz (400/160/80), CQT @22.05 kHz (84 bins, hop 512).
//!
//! `cargo bench -p mirlens-audio --bench frontends` runs criterion. With `MIRLENS_PEER_CASE` set, the binary instead
//! times one case on the raw little-endian f32 signal in `MIRLENS_PEER_INPUT` for `MIRLENS_PEER_REPS` repetitions
//! (after three untimed warm-up calls), writes the output to `MIRLENS_PEER_OUTPUT` and prints the times (seconds) as JSON —
//! `scripts/bench/peer_frontends.py` uses that to interleave mirlens and librosa in one run.

use criterion::Criterion;
use mirlens_audio::frontend::Spectrogram;
use mirlens_audio::frontend::cqt::{Cqt, CqtParams};
use mirlens_audio::frontend::db::{DbParams, power_to_db};
use mirlens_audio::frontend::mel::{MelSpectrogram, MelSpectrogramParams};
use std::hint::black_box;
use std::time::Instant;

/// C-major chord (5 harmonics) + seeded noise, like the golden fixtures.
fn signal(sr: u32, seconds: f64) -> Vec<f32> {
    let n = (sr as f64 * seconds) as usize;
    let mut y = mirlens_test_support::signals::harmonic_chord(&[261.63, 329.63, 392.0], 5, sr, n);
    let noise = mirlens_test_support::signals::noise(0, 0.01, n);
    for (a, b) in y.iter_mut().zip(noise) {
        *a += b;
    }
    y
}

fn logmel(sr: f64, n_fft: usize, hop: usize, n_mels: usize, y: &[f32]) -> Spectrogram {
    let m = MelSpectrogram::new(&MelSpectrogramParams::librosa(sr, n_fft, hop, n_mels))
        .expect("valid parameters");
    let mut s = m.compute(y).expect("finite input");
    power_to_db(&mut s.data, &DbParams::power()).expect("valid parameters");
    s
}

fn cqt(sr: f64, y: &[f32]) -> Spectrogram {
    Cqt::new(&CqtParams::librosa(sr))
        .expect("valid parameters")
        .magnitude(y)
        .expect("finite input")
}

fn run_case(case: &str, y: &[f32]) -> Spectrogram {
    match case {
        "logmel22" => logmel(22050.0, 2048, 512, 128, y),
        "logmel16" => logmel(16000.0, 400, 160, 80, y),
        "cqt22" => cqt(22050.0, y),
        other => panic!("unknown case {other:?}: expected logmel22, logmel16 or cqt22"),
    }
}

fn peer_mode(case: &str) {
    let input = std::env::var("MIRLENS_PEER_INPUT").expect("MIRLENS_PEER_INPUT");
    let reps: usize = std::env::var("MIRLENS_PEER_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let bytes = std::fs::read(&input).expect("read input");
    let y: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // three untimed warm-up calls (page faults of the first large allocations, CPU frequency)
    let out = run_case(case, &y);
    run_case(case, &y);
    run_case(case, &y);
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        black_box(run_case(case, black_box(&y)));
        times.push(t.elapsed().as_secs_f64());
    }
    if let Ok(p) = std::env::var("MIRLENS_PEER_OUTPUT") {
        let b: Vec<u8> = out.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(p, b).expect("write output");
    }
    println!(
        "{{\"case\": \"{case}\", \"shape\": [{}, {}], \"times\": {times:?}}}",
        out.n_bins, out.n_frames
    );
}

fn benches(c: &mut Criterion) {
    let y22 = signal(22050, 60.0);
    let y16 = signal(16000, 60.0);
    let mut g = c.benchmark_group("frontends_60s");
    g.sample_size(20);
    g.bench_function("logmel_22k_2048_512_128", |b| {
        b.iter(|| logmel(22050.0, 2048, 512, 128, black_box(&y22)))
    });
    g.bench_function("logmel_16k_400_160_80", |b| {
        b.iter(|| logmel(16000.0, 400, 160, 80, black_box(&y16)))
    });
    g.bench_function("cqt_22k_84_12_hop512", |b| {
        b.iter(|| cqt(22050.0, black_box(&y22)))
    });
    g.finish();
}

fn main() {
    if let Ok(case) = std::env::var("MIRLENS_PEER_CASE") {
        peer_mode(&case);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
