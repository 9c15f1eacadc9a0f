//! Small signal-processing building blocks for the synthesisers: a portable seeded RNG, envelopes, oscillators,
//! a Karplus–Strong string, a resonator, and a light Schroeder reverb.
//!
//! The RNG is implemented here (SplitMix64 seeding a xoshiro256**) rather than taken from `rand`, so that the
//! generated data is bit-for-bit reproducible independently of dependency versions.

use std::f64::consts::PI;

/// SplitMix64 step; also used to derive per-clip seeds from `(seed, index)`.
pub fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Mixes a dataset seed, a stream tag and a clip index into one seed.
pub fn derive_seed(seed: u64, tag: u64, index: u64) -> u64 {
    let mut s = seed ^ tag.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let a = splitmix64(&mut s);
    let mut t = a ^ index.wrapping_mul(0xA076_1D64_78BD_642F);
    splitmix64(&mut t)
}

/// xoshiro256** pseudo-random generator.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// Seeds the generator (any seed, including 0, is fine).
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        Rng {
            s: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let r = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }

    /// Picks one element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// MIDI note number → frequency in Hz (A4 = 69 = 440 Hz).
pub fn midi_to_hz(midi: f64) -> f64 {
    440.0 * 2f64.powf((midi - 69.0) / 12.0)
}

/// Attack–decay–sustain–release envelope. Times in seconds; `hold` is when the release starts.
#[derive(Debug, Clone, Copy)]
pub struct Adsr {
    /// Linear attack time.
    pub attack: f64,
    /// Exponential decay time constant towards `sustain`.
    pub decay: f64,
    /// Sustain level in `[0, 1]`.
    pub sustain: f64,
    /// Exponential release time constant.
    pub release: f64,
}

impl Adsr {
    /// Envelope value at time `t` for a note released at `hold`.
    pub fn at(&self, t: f64, hold: f64) -> f64 {
        let pre = |t: f64| {
            if t < self.attack {
                t / self.attack.max(1e-6)
            } else {
                let td = t - self.attack;
                self.sustain + (1.0 - self.sustain) * (-td / self.decay.max(1e-6)).exp()
            }
        };
        if t < hold {
            pre(t)
        } else {
            pre(hold) * (-(t - hold) / self.release.max(1e-6)).exp()
        }
    }
}

/// Two-pole resonator (band-pass) applied in place.
pub fn resonate(x: &mut [f64], center_hz: f64, bandwidth_hz: f64, sr: f64) {
    let r = (-PI * bandwidth_hz / sr).exp();
    let w = 2.0 * PI * center_hz / sr;
    let a1 = 2.0 * r * w.cos();
    let a2 = -r * r;
    let g = 1.0 - r;
    let (mut y1, mut y2) = (0.0, 0.0);
    for v in x.iter_mut() {
        let y = g * *v + a1 * y1 + a2 * y2;
        y2 = y1;
        y1 = y;
        *v = y;
    }
}

/// One-pole low-pass in place (`alpha` in `(0, 1]`, 1 = no filtering).
pub fn lowpass1(x: &mut [f64], alpha: f64) {
    let mut y = 0.0;
    for v in x.iter_mut() {
        y += alpha * (*v - y);
        *v = y;
    }
}

/// Phase delay (samples) of the first-order all-pass `(c + z⁻¹) / (1 + c z⁻¹)` at angular frequency `w`.
fn allpass_phase_delay(c: f64, w: f64) -> f64 {
    // arg H = arg(c + e^{-jw}) - arg(1 + c e^{-jw})
    let num = (-w.sin()).atan2(c + w.cos());
    let den = (-c * w.sin()).atan2(1.0 + c * w.cos());
    let mut ph = num - den;
    while ph > 1e-12 {
        ph -= 2.0 * PI;
    }
    while ph <= -2.0 * PI {
        ph += 2.0 * PI;
    }
    -ph / w
}

/// Karplus–Strong plucked string at `f0` Hz, `n` samples. The loop filter is a two-point average with weight `S`
/// (0.5 for low notes, less for high notes so that they can keep ringing); the fundamental decays with time constant
/// `tau_secs` whatever the pitch (loop gain compensated for the filter's loss); tuning is exact: a fractional-delay
/// all-pass is solved for the loop filter's and its own true phase delay at `f0`. The excitation is a triangular
/// pluck (position drawn from `rng`) plus a little noise; `brightness` in `(0, 1]` low-passes it.
pub fn karplus_strong(
    f0: f64,
    sr: f64,
    n: usize,
    brightness: f64,
    tau_secs: f64,
    rng: &mut Rng,
) -> Vec<f64> {
    let period = sr / f0;
    let w = 2.0 * PI * f0 / sr;
    let target = (-1.0 / (f0 * tau_secs.max(1e-3))).exp();
    // largest S ≤ 0.5 whose loss at f0 still allows the target decay: 2 S (1 - S) (1 - cos w) ≤ 1 - target²
    let q = (1.0 - target * target) / (2.0 * (1.0 - w.cos()).max(1e-12));
    let stretch = if q >= 0.25 {
        0.5
    } else {
        (0.5 * (1.0 - (1.0 - 4.0 * q).sqrt())).max(0.001)
    };
    // H(w) = (1 - S) + S e^{-jw}
    let (hr, hi_) = ((1.0 - stretch) + stretch * w.cos(), -stretch * w.sin());
    let filt_delay = -hi_.atan2(hr) / w;
    let filt_gain = (hr * hr + hi_ * hi_).sqrt();
    let total = (period - filt_delay).max(2.0);
    let mut nint = total.floor() as usize;
    let mut frac = total - nint as f64;
    if frac < 0.2 {
        nint -= 1;
        frac += 1.0;
    }
    // bisection on c: phase delay decreases monotonically as c goes from -1 to 1
    let (mut lo, mut hi) = (-0.999, 0.999);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if allpass_phase_delay(mid, w) > frac {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let c = 0.5 * (lo + hi);
    let decay = (target / filt_gain).min(0.99995);
    let pos = rng.range(0.18, 0.24);
    let mut line: Vec<f64> = (0..nint)
        .map(|i| {
            let x = i as f64 / nint as f64;
            let tri = if x < pos {
                x / pos
            } else {
                (1.0 - x) / (1.0 - pos)
            };
            tri + 0.15 * rng.range(-1.0, 1.0)
        })
        .collect();
    lowpass1(&mut line, brightness.clamp(0.05, 1.0));
    let mean = line.iter().sum::<f64>() / line.len() as f64;
    line.iter_mut().for_each(|v| *v -= mean);
    let mut out = Vec::with_capacity(n);
    let mut idx = 0usize;
    let mut prev = 0.0;
    let (mut ap_x1, mut ap_y1) = (0.0, 0.0);
    for _ in 0..n {
        let cur = line[idx];
        out.push(cur);
        let avg = (1.0 - stretch) * cur + stretch * prev;
        prev = cur;
        // first-order all-pass: y = c x + x1 - c y1
        let y = c * avg + ap_x1 - c * ap_y1;
        ap_x1 = avg;
        ap_y1 = y;
        line[idx] = decay * y;
        idx = (idx + 1) % nint;
    }
    out
}

/// A light Schroeder reverb (4 combs + 2 all-passes) mixed in with `wet` in `[0, 1]`. Causal.
pub fn reverb(x: &[f64], sr: f64, wet: f64, room: f64) -> Vec<f64> {
    let scale = sr / 44100.0;
    let combs = [1116.0, 1188.0, 1277.0, 1356.0].map(|d: f64| ((d * scale) as usize).max(1));
    let aps = [556.0, 441.0].map(|d: f64| ((d * scale) as usize).max(1));
    let fb = room.clamp(0.0, 0.95);
    let mut acc = vec![0.0; x.len()];
    for &d in &combs {
        let mut buf = vec![0.0; d];
        let mut i = 0;
        for (n, &v) in x.iter().enumerate() {
            let y = buf[i];
            buf[i] = v + fb * y;
            acc[n] += y * 0.25;
            i = (i + 1) % d;
        }
    }
    for &d in &aps {
        let mut buf = vec![0.0; d];
        let mut i = 0;
        for v in acc.iter_mut() {
            let b = buf[i];
            let y = -*v + b;
            buf[i] = *v + 0.5 * b;
            *v = y;
            i = (i + 1) % d;
        }
    }
    x.iter()
        .zip(&acc)
        .map(|(d, w)| (1.0 - wet) * d + wet * w)
        .collect()
}

/// Peak absolute value.
pub fn peak(x: &[f64]) -> f64 {
    x.iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_uniform_enough() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<f64> = (0..10_000).map(|_| a.uniform()).collect();
        let ys: Vec<f64> = (0..10_000).map(|_| b.uniform()).collect();
        assert_eq!(xs, ys);
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        assert_ne!(Rng::new(8).next_u64(), Rng::new(7).next_u64());
        assert_ne!(derive_seed(1, 0, 0), derive_seed(1, 0, 1));
    }

    #[test]
    fn karplus_strong_period_matches_requested_pitch() {
        // Autocorrelation peak of the string's steady part lies at sr / f0 (to within a sample).
        let sr = 24000.0;
        for f0 in [110.0, 261.63, 440.0, 1000.0, 2637.0] {
            let y = karplus_strong(f0, sr, 12000, 0.8, 1.0, &mut Rng::new(1));
            let seg = &y[2000..10000];
            let expected = sr / f0;
            let lo = (expected * 0.7) as usize;
            let hi = (expected * 1.3) as usize + 1;
            let best = (lo..=hi)
                .max_by(|&a, &b| {
                    let ca: f64 = seg[..seg.len() - hi]
                        .iter()
                        .zip(&seg[a..])
                        .map(|(p, q)| p * q)
                        .sum();
                    let cb: f64 = seg[..seg.len() - hi]
                        .iter()
                        .zip(&seg[b..])
                        .map(|(p, q)| p * q)
                        .sum();
                    ca.total_cmp(&cb)
                })
                .unwrap();
            let early = peak(&y[..1000]);
            let late = peak(&y[11000..]);
            assert!(
                (best as f64 - expected).abs() <= 1.0 && late > 0.05 * early,
                "f0 {f0}: lag {best} vs {expected}, level {early} -> {late}"
            );
        }
    }

    #[test]
    fn allpass_delay_is_solved_exactly() {
        // low frequency: the classic approximation d = (1 - c) / (1 + c)
        let c = (1.0 - 0.4) / (1.0 + 0.4);
        assert!((allpass_phase_delay(c, 1e-4) - 0.4).abs() < 1e-6);
        assert!((allpass_phase_delay(0.0, 1.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn adsr_shape() {
        let e = Adsr {
            attack: 0.1,
            decay: 0.2,
            sustain: 0.5,
            release: 0.1,
        };
        assert!((e.at(0.05, 1.0) - 0.5).abs() < 1e-12);
        assert!((e.at(0.1, 1.0) - 1.0).abs() < 1e-12);
        assert!(e.at(0.9, 1.0) > 0.5 && e.at(0.9, 1.0) < 0.52);
        assert!(e.at(1.5, 1.0) < 0.01);
    }
}
