//! Deterministic test signals.

/// A pure sine of `freq` Hz, `amp` amplitude, `n` samples at `sr`.
pub fn sine(freq: f64, amp: f64, sr: u32, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / sr as f64).sin()) as f32)
        .collect()
}

/// A chord of harmonic tones: each fundamental gets `harmonics` partials with amplitude `1/h`, scaled to peak ≤ 1.
pub fn harmonic_chord(fundamentals: &[f64], harmonics: usize, sr: u32, n: usize) -> Vec<f32> {
    let mut y = vec![0f64; n];
    for &f0 in fundamentals {
        for h in 1..=harmonics {
            let f = f0 * h as f64;
            if f >= sr as f64 / 2.0 {
                break;
            }
            for (i, v) in y.iter_mut().enumerate() {
                *v += (2.0 * std::f64::consts::PI * f * i as f64 / sr as f64).sin() / h as f64;
            }
        }
    }
    let peak = y.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
    y.iter().map(|v| (0.9 * v / peak) as f32).collect()
}

/// Exponential sine sweep from `f0` to `f1` Hz over `n` samples.
pub fn log_sweep(f0: f64, f1: f64, sr: u32, n: usize) -> Vec<f32> {
    let t_total = n as f64 / sr as f64;
    let k = (f1 / f0).ln();
    (0..n)
        .map(|i| {
            let t = i as f64 / sr as f64;
            let phase =
                2.0 * std::f64::consts::PI * f0 * t_total / k * ((t / t_total * k).exp() - 1.0);
            (0.5 * phase.sin()) as f32
        })
        .collect()
}

/// Seeded uniform white noise in `[-amp, amp)` (SplitMix64; identical on every platform).
pub fn noise(seed: u64, amp: f32, n: usize) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let u = (z >> 40) as f32 / (1u64 << 24) as f32;
            amp * (2.0 * u - 1.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_has_expected_zero_crossings_and_peak() {
        let y = sine(100.0, 1.0, 8000, 8000);
        let crossings = y.windows(2).filter(|w| w[0] <= 0.0 && w[1] > 0.0).count();
        assert!((99..=101).contains(&crossings), "{crossings}");
        let peak = y.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!((peak - 1.0).abs() < 1e-3);
    }

    #[test]
    fn noise_is_deterministic_and_bounded() {
        let a = noise(7, 0.5, 1000);
        assert_eq!(a, noise(7, 0.5, 1000));
        assert_ne!(a, noise(8, 0.5, 1000));
        assert!(a.iter().all(|v| v.abs() <= 0.5));
        let mean: f32 = a.iter().sum::<f32>() / 1000.0;
        assert!(mean.abs() < 0.05);
    }
}
