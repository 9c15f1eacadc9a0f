//! Resampling: agreement with soxr_hq (librosa's default) on sweeps and music-like signals, measured pass-band
//! ripple and stop-band attenuation, exact librosa lengths, streaming == whole-signal.

use mirlens_audio::resample::*;
use mirlens_core::Tolerance;
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{assert_close, golden_dir};
use std::sync::OnceLock;

const PAIRS: [(u32, u32); 6] = [
    (44_100, 16_000),
    (44_100, 22_050),
    (44_100, 24_000),
    (48_000, 24_000),
    (16_000, 24_000),
    (8_000, 16_000),
];

fn golden() -> &'static Golden {
    static G: OnceLock<Golden> = OnceLock::new();
    G.get_or_init(|| Golden::load(golden_dir("resample").join("reference.safetensors")))
}

/// SNR (dB) of `a` against reference `r` over the interior (edges excluded: `edge` samples each side).
fn snr_db(a: &[f32], r: &[f32], edge: usize) -> f64 {
    let (mut e, mut s) = (0f64, 0f64);
    for i in edge..r.len() - edge {
        e += (a[i] as f64 - r[i] as f64).powi(2);
        s += (r[i] as f64).powi(2);
    }
    10.0 * (s / e.max(1e-300)).log10()
}

fn max_abs(a: &[f32], r: &[f32], edge: usize) -> f64 {
    (edge..r.len() - edge)
        .map(|i| (a[i] as f64 - r[i] as f64).abs())
        .fold(0.0, f64::max)
}

/// Output amplitude of a unit sine at `fin` Hz resampled `f → t` (1 s, steady-state middle half): sine fit at `fin`
/// below the output Nyquist, otherwise √2·RMS of the whole output (aliases included). Same method as the
/// generator's soxr figures.
fn tone_gain(fin: f64, f: u32, t: u32, q: ResampleQuality) -> f64 {
    let n = f as usize;
    let x: Vec<f32> = (0..n)
        .map(|i| (2.0 * std::f64::consts::PI * fin * i as f64 / f as f64).sin() as f32)
        .collect();
    let y = resample(&x, f, t, q).unwrap();
    let m = y.len();
    let (a, b) = (m / 4, 3 * m / 4);
    if fin < t as f64 / 2.0 {
        let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, &v) in y.iter().enumerate().take(b).skip(a) {
            let ph = 2.0 * std::f64::consts::PI * fin * i as f64 / t as f64;
            let (s, c) = ph.sin_cos();
            ss += s * s;
            sc += s * c;
            cc += c * c;
            ys += v as f64 * s;
            yc += v as f64 * c;
        }
        let det = ss * cc - sc * sc;
        let cs = (ys * cc - yc * sc) / det;
        let cc_ = (yc * ss - ys * sc) / det;
        cs.hypot(cc_)
    } else {
        let e: f64 = y[a..b].iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / (b - a) as f64;
        (2.0 * e).sqrt()
    }
}

/// Tone-method figures, defined exactly as in the generator's `soxr_metrics.json`.
#[derive(Debug, Clone, Copy)]
struct Metrics {
    ripple_to_080: f64,
    ripple_to_090: f64,
    stop_db: Option<f64>,
}

fn measure(f: u32, t: u32, q: ResampleQuality) -> Metrics {
    let nyq = f.min(t) as f64 / 2.0;
    let tones: Vec<(f64, f64)> = (0..18)
        .map(|k| 0.05 + 0.85 * k as f64 / 17.0)
        .map(|r| (r, (20.0 * tone_gain(r * nyq, f, t, q).log10()).abs()))
        .collect();
    let rip = |hi: f64| {
        tones
            .iter()
            .filter(|(r, _)| *r <= hi + 1e-9)
            .map(|(_, d)| *d)
            .fold(0.0, f64::max)
    };
    let stop_db = (t < f).then(|| {
        let lo = t as f64 / 2.0;
        let hi = 0.95 * f as f64 / 2.0;
        let worst = (0..12)
            .map(|k| tone_gain(lo + (hi - lo) * k as f64 / 11.0, f, t, q))
            .fold(0.0, f64::max);
        -20.0 * worst.max(1e-12).log10()
    });
    Metrics {
        ripple_to_080: rip(0.80),
        ripple_to_090: rip(0.90),
        stop_db,
    }
}

fn soxr_metrics() -> serde_json::Value {
    let text = std::fs::read_to_string(golden_dir("resample").join("soxr_metrics.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Agreement with soxr_hq away from the signal edges (50 ms each side), where both resamplers are in steady state.
const SOXR_INTERIOR: Tolerance = Tolerance {
    name: "soxr-interior",
    atol: 5e-4,
    rtol: 0.0,
};
/// Agreement with soxr_hq over the whole signal: the first/last ~50 ms differ by the filters' different edge
/// transients (both resamplers zero-pad; their impulse responses differ in length).
const SOXR_WHOLE: Tolerance = Tolerance {
    name: "soxr-whole",
    atol: 4e-2,
    rtol: 0.0,
};

#[test]
fn high_preset_matches_soxr_hq_on_band_limited_signals() {
    for (f, t) in PAIRS {
        for kind in ["sweep", "music"] {
            let x = &golden().get(&format!("{kind}_{f}")).data;
            let r = &golden().get(&format!("{kind}_{f}_{t}")).data;
            let y = resample(x, f, t, ResampleQuality::High).unwrap();
            assert_eq!(y.len(), r.len(), "{kind} {f}->{t}: librosa length");
            let e = t as usize / 20;
            assert_close(&format!("{kind} {f}->{t} whole"), &y, r, SOXR_WHOLE);
            assert_close(
                &format!("{kind} {f}->{t} interior"),
                &y[e..y.len() - e],
                &r[e..r.len() - e],
                SOXR_INTERIOR,
            );
            let (si, sw) = (snr_db(&y, r, e), snr_db(&y, r, 0));
            println!(
                "SOXR {f}->{t} {kind}: SNR interior {si:.1} dB, whole {sw:.1} dB, max abs interior {:.2e}, whole {:.2e}",
                max_abs(&y, r, e),
                max_abs(&y, r, 0)
            );
            let floor = if t > f { 75.0 } else { 105.0 };
            assert!(
                si > floor,
                "{kind} {f}->{t}: interior SNR {si:.1} dB ≤ {floor}"
            );
            assert!(sw > 45.0, "{kind} {f}->{t}: whole SNR {sw:.1} dB");
        }
    }
}

#[test]
fn presets_meet_published_ripple_and_attenuation() {
    let soxr = soxr_metrics();
    for (f, t) in PAIRS {
        let sx = &soxr["metrics"][format!("{f}_{t}")];
        for q in [
            ResampleQuality::Fast,
            ResampleQuality::Balanced,
            ResampleQuality::High,
            ResampleQuality::VeryHigh,
        ] {
            let m = measure(f, t, q);
            println!(
                "METRIC {} {f}->{t}: ripple≤0.8 {:.5} dB, ripple≤0.9 {:.5} dB, stop-band {} | soxr_hq: {:.5} / {:.5} dB, {}",
                q.name(),
                m.ripple_to_080,
                m.ripple_to_090,
                m.stop_db.map_or("-".into(), |s| format!("{s:.1} dB")),
                sx["ripple_db_to_0.80"].as_f64().unwrap(),
                sx["ripple_db_to_0.90"].as_f64().unwrap(),
                sx["stopband_attenuation_db"]
                    .as_f64()
                    .map_or("-".into(), |s| format!("{s:.1} dB")),
            );
            if let Some(s) = m.stop_db {
                assert!(s > 135.0, "{q:?} {f}->{t}: stop-band {s:.1} dB");
            }
            match q {
                ResampleQuality::High | ResampleQuality::VeryHigh => {
                    assert!(
                        m.ripple_to_090 < 0.001,
                        "{q:?} {f}->{t}: ripple {:.5} dB",
                        m.ripple_to_090
                    );
                    let soxr_stop = sx["stopband_attenuation_db"].as_f64();
                    if let (Some(s), Some(x)) = (m.stop_db, soxr_stop) {
                        assert!(
                            s > x - 3.0,
                            "{q:?} {f}->{t}: stop-band {s:.1} dB vs soxr {x:.1} dB"
                        );
                    }
                }
                ResampleQuality::Fast | ResampleQuality::Balanced => {
                    assert!(
                        m.ripple_to_080 < 0.01,
                        "{q:?} {f}->{t}: ripple to 0.8 {:.5} dB",
                        m.ripple_to_080
                    );
                }
            }
        }
    }
}

#[test]
fn streaming_in_any_split_equals_whole_signal() {
    let x = &golden().get("music_44100").data;
    for q in [
        ResampleQuality::Fast,
        ResampleQuality::High,
        ResampleQuality::VeryHigh,
    ] {
        for (f, t) in [(44_100, 16_000), (44_100, 24_000)] {
            let whole = resample(x, f, t, q).unwrap();
            for split in [1usize, 7, 1000, 4410, 30_000] {
                let mut r = StreamingResampler::new(f, t, q).unwrap();
                let mut out = Vec::new();
                for c in x.chunks(split) {
                    r.process(c, &mut out).unwrap();
                }
                r.finish(&mut out).unwrap();
                assert_eq!(out.len(), whole.len());
                assert_close(
                    &format!("{q:?} {f}->{t} split {split}"),
                    &out,
                    &whole,
                    Tolerance::EXACT_F32,
                );
                // the resampler resets after finish: a second signal gives the same result
                r.process(x, &mut out).unwrap();
                let mut again = Vec::new();
                r.reset();
                r.process(x, &mut again).unwrap();
                r.finish(&mut again).unwrap();
                assert_close("reuse", &again, &whole, Tolerance::EXACT_F32);
            }
        }
    }
}

#[test]
fn equal_rates_copy_and_tones_keep_their_amplitude() {
    let x = mirlens_test_support::signals::sine(440.0, 0.5, 16_000, 4000);
    assert_eq!(
        resample(&x, 16_000, 16_000, ResampleQuality::High).unwrap(),
        x
    );
    // 1 kHz at 0.5 amplitude, 48 k → 16 k: exact sine samples at the new rate in the interior
    let x = mirlens_test_support::signals::sine(1000.0, 0.5, 48_000, 48_000);
    let y = resample(&x, 48_000, 16_000, ResampleQuality::High).unwrap();
    let e = mirlens_test_support::signals::sine(1000.0, 0.5, 16_000, 16_000);
    assert_close(
        "1 kHz tone",
        &y[1000..15_000],
        &e[1000..15_000],
        Tolerance {
            name: "tone",
            atol: 1e-5,
            rtol: 0.0,
        },
    );
}
