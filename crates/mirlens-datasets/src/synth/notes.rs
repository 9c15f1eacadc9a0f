//! `synth-notes`: NSynth-like single notes from eleven instrument families with genuinely different timbres.
//!
//! | family | synthesis |
//! |---|---|
//! | `bass` | steep harmonic spectrum (1/h^2.2) with a closing low-pass sweep, plucked envelope |
//! | `brass` | sawtooth spectrum whose upper partials rise with the envelope (brightness ∝ loudness), slow attack, late vibrato |
//! | `flute` | nearly sinusoidal, band-passed breath noise, 5 Hz vibrato |
//! | `guitar` | Karplus–Strong plucked string (fractional-delay tuned) |
//! | `keyboard` | piano-like: stretched (inharmonic) partials, per-partial decay, two detuned strings beating |
//! | `mallet` | bar modes at 1 : 3.93 : 9.54 : 16 with fast, mode-dependent decay and a strike click |
//! | `organ` | drawbar partials 1, 2, 3, 4, 6, 8 at fixed levels, flat envelope, tremolo |
//! | `reed` | clarinet-like odd-harmonic spectrum, breath noise, light vibrato |
//! | `string` | bowed sawtooth with 5.5 Hz vibrato, slow attack, bow noise |
//! | `synth_lead` | two detuned 1:1 FM voices with a decaying modulation index |
//! | `vocal` | glottal source through vowel formants (a, e, i, o, u), delayed vibrato |
//!
//! Every clip is generated from `(seed, clip index)` alone, so any clip can be produced independently and in
//! parallel, and the same seed always yields the same samples.

use super::dsp::{self, Adsr, Rng, midi_to_hz};
use super::{SynthClip, SynthDataset, assign_split};
use crate::manifest::{LabelSchema, LabelType};
use mirlens_core::{CoreError, LabelSet, LabelValue};
use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

/// Instrument family (NSynth's names and ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Plucked/electric bass.
    Bass,
    /// Brass.
    Brass,
    /// Flute.
    Flute,
    /// Plucked string (Karplus–Strong).
    Guitar,
    /// Piano-like keyboard.
    Keyboard,
    /// Struck bars.
    Mallet,
    /// Drawbar organ.
    Organ,
    /// Single reed.
    Reed,
    /// Bowed string.
    String,
    /// FM synthesiser lead.
    SynthLead,
    /// Sung vowel.
    Vocal,
}

impl Family {
    /// All families in NSynth id order.
    pub const ALL: [Family; 11] = [
        Family::Bass,
        Family::Brass,
        Family::Flute,
        Family::Guitar,
        Family::Keyboard,
        Family::Mallet,
        Family::Organ,
        Family::Reed,
        Family::String,
        Family::SynthLead,
        Family::Vocal,
    ];

    /// NSynth's family name.
    pub fn name(&self) -> &'static str {
        match self {
            Family::Bass => "bass",
            Family::Brass => "brass",
            Family::Flute => "flute",
            Family::Guitar => "guitar",
            Family::Keyboard => "keyboard",
            Family::Mallet => "mallet",
            Family::Organ => "organ",
            Family::Reed => "reed",
            Family::String => "string",
            Family::SynthLead => "synth_lead",
            Family::Vocal => "vocal",
        }
    }

    /// NSynth's family id (0 bass … 10 vocal).
    pub fn id(&self) -> i64 {
        Family::ALL.iter().position(|f| f == self).unwrap_or(0) as i64
    }

    /// The General MIDI program (0-based) written for this family in generated scores; its NSynth family under the
    /// mirlens GM convention is this family again.
    pub fn gm_program(&self) -> u8 {
        match self {
            Family::Bass => 33,      // Electric Bass (finger)
            Family::Brass => 61,     // Brass Section
            Family::Flute => 73,     // Flute
            Family::Guitar => 24,    // Acoustic Guitar (nylon)
            Family::Keyboard => 0,   // Acoustic Grand Piano
            Family::Mallet => 11,    // Vibraphone
            Family::Organ => 16,     // Drawbar Organ
            Family::Reed => 71,      // Clarinet
            Family::String => 48,    // String Ensemble 1
            Family::SynthLead => 80, // Lead 1 (square)
            Family::Vocal => 52,     // Choir Aahs
        }
    }

    /// Whether the partials are (near-)integer multiples of the fundamental. Only `mallet` is not.
    pub fn is_harmonic(&self) -> bool {
        !matches!(self, Family::Mallet)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Family {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace('-', "_");
        Family::ALL.iter().copied().find(|f| f.name() == t).ok_or(CoreError::Parse {
            what: "instrument family",
            input: s.to_string(),
            expected: "one of bass, brass, flute, guitar, keyboard, mallet, organ, reed, string, synth_lead, vocal",
        })
    }
}

/// One note to render.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteSpec {
    /// Instrument family.
    pub family: Family,
    /// MIDI pitch (may be fractional for detuned notes; labels use integers).
    pub midi: f64,
    /// MIDI velocity 1–127: sets the peak level and, for several families, the brightness.
    pub velocity: u8,
    /// When the key is released, seconds.
    pub hold_secs: f64,
    /// Length of the rendered buffer, seconds.
    pub total_secs: f64,
}

/// Peak amplitude for a MIDI velocity: `0.9 · (v / 127)^1.5`.
pub fn velocity_gain(velocity: u8) -> f64 {
    0.9 * (velocity.clamp(1, 127) as f64 / 127.0).powf(1.5)
}

/// Renders one note; the output peaks at exactly [`velocity_gain`] (unless silent).
/// Randomness (phases, noise, small timbre variations) comes from `rng`.
pub fn render_note(spec: &NoteSpec, sample_rate: u32, rng: &mut Rng) -> Vec<f64> {
    let mut y = render_raw(spec, sample_rate, rng);
    let p = dsp::peak(&y);
    if p > 0.0 {
        let g = velocity_gain(spec.velocity) / p;
        y.iter_mut().for_each(|v| *v *= g);
    }
    y
}

/// Unnormalised rendering (used by the chord and sequence generators, which mix several notes).
pub(crate) fn render_raw(spec: &NoteSpec, sample_rate: u32, rng: &mut Rng) -> Vec<f64> {
    let sr = sample_rate as f64;
    let n = (spec.total_secs * sr).round().max(1.0) as usize;
    let f0 = midi_to_hz(spec.midi);
    let vel = spec.velocity.clamp(1, 127) as f64 / 127.0;
    let hold = spec.hold_secs;
    // Small per-clip timbre variation (brightness tilt) so that clips of one family are not identical.
    let tilt = rng.range(0.85, 1.15);
    let mut y = match spec.family {
        Family::Bass => {
            let parts: Vec<Partial> = (1..=24)
                .map(|h| {
                    Partial::harmonic(
                        h,
                        (1.0 / (h as f64).powf(2.2)) * tilt.powi(h as i32 - 1),
                        0.0,
                    )
                })
                .collect();
            let env = Adsr {
                attack: 0.005,
                decay: 0.6,
                sustain: 0.0,
                release: 0.05,
            };
            // closing low-pass: partial h decays at 2.5·(h−1)/s, faster for soft notes
            let parts: Vec<Partial> = parts
                .into_iter()
                .map(|mut p| {
                    p.decay = 2.5 * (p.ratio - 1.0) * (1.5 - vel);
                    p
                })
                .collect();
            additive(&parts, f0, n, sr, None, rng, |t| env.at(t, hold), 0.0)
        }
        Family::Brass => {
            let parts: Vec<Partial> = (1..=30)
                .map(|h| Partial::harmonic(h, 1.0 / h as f64, 0.0))
                .collect();
            let env = Adsr {
                attack: 0.06,
                decay: 0.2,
                sustain: 0.85,
                release: 0.08,
            };
            let vib = Vibrato {
                rate: 5.0,
                depth_semitones: 0.08,
                delay: 0.3,
            };
            // upper partials rise with loudness: gain env^(k (h-1)), k smaller when played loud
            additive(
                &parts,
                f0,
                n,
                sr,
                Some(vib),
                rng,
                |t| env.at(t, hold),
                0.5 * (1.6 - vel) * tilt,
            )
        }
        Family::Flute => {
            let amps = [1.0, 0.3, 0.12, 0.05, 0.02];
            let parts: Vec<Partial> = amps
                .iter()
                .enumerate()
                .map(|(i, &a)| Partial::harmonic(i + 1, a, 0.0))
                .collect();
            let env = Adsr {
                attack: 0.08,
                decay: 0.3,
                sustain: 0.9,
                release: 0.1,
            };
            let vib = Vibrato {
                rate: 5.0,
                depth_semitones: 0.12,
                delay: 0.15,
            };
            let mut y = additive(&parts, f0, n, sr, Some(vib), rng, |t| env.at(t, hold), 0.0);
            let mut noise: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            dsp::resonate(&mut noise, (2.0 * f0).min(0.4 * sr), 0.3 * f0 + 200.0, sr);
            let np = dsp::peak(&noise).max(1e-9);
            for (i, v) in y.iter_mut().enumerate() {
                *v += 0.06 * tilt * noise[i] / np * env.at(i as f64 / sr, hold);
            }
            y
        }
        Family::Guitar => {
            let tau = (1.2 * (110.0 / f0).powf(0.3)).clamp(0.3, 2.0);
            let mut y = dsp::karplus_strong(f0, sr, n, 0.3 + 0.6 * vel, tau, rng);
            let rel = Adsr {
                attack: 0.0005,
                decay: 10.0,
                sustain: 1.0,
                release: 0.05,
            };
            for (i, v) in y.iter_mut().enumerate() {
                *v *= rel.at(i as f64 / sr, hold);
            }
            y
        }
        Family::Keyboard => {
            let b = 1.5e-5 * tilt; // stretched partials: f_h = h f0 sqrt(1 + B h²)
            let parts: Vec<Partial> = (1..=30)
                .map(|h| {
                    let hf = h as f64;
                    Partial {
                        ratio: hf * (1.0 + b * hf * hf).sqrt(),
                        amp: (1.0 / hf.powf(1.3)) * (0.6 + 0.4 * vel).powi(h - 1).max(0.0),
                        decay: 1.2 + 0.5 * hf,
                    }
                })
                .collect();
            let env = Adsr {
                attack: 0.002,
                decay: 5.0,
                sustain: 1.0,
                release: 0.12,
            };
            let a = additive(
                &parts,
                f0 * 2f64.powf(0.8 / 1200.0),
                n,
                sr,
                None,
                rng,
                |t| env.at(t, hold),
                0.0,
            );
            let c = additive(
                &parts,
                f0 * 2f64.powf(-0.8 / 1200.0),
                n,
                sr,
                None,
                rng,
                |t| env.at(t, hold),
                0.0,
            );
            a.iter().zip(&c).map(|(x, z)| x + z).collect()
        }
        Family::Mallet => {
            let ratios = [1.0, 3.93, 9.54, 16.0];
            let amps = [1.0, 0.35 * tilt, 0.12, 0.05];
            let decays = [3.0, 9.0, 16.0, 28.0];
            let parts: Vec<Partial> = (0..4)
                .map(|i| Partial {
                    ratio: ratios[i],
                    amp: amps[i],
                    decay: decays[i],
                })
                .collect();
            let env = Adsr {
                attack: 0.001,
                decay: 10.0,
                sustain: 1.0,
                release: 0.05,
            };
            let mut y = additive(&parts, f0, n, sr, None, rng, |t| env.at(t, hold), 0.0);
            let click = (0.004 * sr) as usize;
            for (i, v) in y.iter_mut().take(click).enumerate() {
                *v += 0.3 * vel * rng.normal() * (1.0 - i as f64 / click as f64);
            }
            y
        }
        Family::Organ => {
            let bars = [
                (1.0, 1.0),
                (2.0, 0.8),
                (3.0, 0.5),
                (4.0, 0.45),
                (6.0, 0.3),
                (8.0, 0.25),
            ];
            let parts: Vec<Partial> = bars
                .iter()
                .map(|&(r, a)| Partial {
                    ratio: r,
                    amp: a * if r > 1.0 { tilt } else { 1.0 },
                    decay: 0.0,
                })
                .collect();
            let env = Adsr {
                attack: 0.01,
                decay: 0.1,
                sustain: 1.0,
                release: 0.03,
            };
            let trem_phase = rng.range(0.0, 2.0 * PI);
            additive(
                &parts,
                f0,
                n,
                sr,
                None,
                rng,
                |t| env.at(t, hold) * (1.0 + 0.1 * (2.0 * PI * 6.0 * t + trem_phase).sin()),
                0.0,
            )
        }
        Family::Reed => {
            let parts: Vec<Partial> = (1..=25)
                .map(|h| {
                    let a = if h % 2 == 1 {
                        1.0 / h as f64
                    } else {
                        0.06 / h as f64
                    };
                    Partial::harmonic(h, a * tilt.powi(h as i32 - 1), 0.0)
                })
                .collect();
            let env = Adsr {
                attack: 0.04,
                decay: 0.2,
                sustain: 0.9,
                release: 0.06,
            };
            let vib = Vibrato {
                rate: 4.5,
                depth_semitones: 0.05,
                delay: 0.2,
            };
            let mut y = additive(&parts, f0, n, sr, Some(vib), rng, |t| env.at(t, hold), 0.0);
            for (i, v) in y.iter_mut().enumerate() {
                *v += 0.02 * rng.normal() * env.at(i as f64 / sr, hold);
            }
            y
        }
        Family::String => {
            let parts: Vec<Partial> = (1..=30)
                .map(|h| Partial::harmonic(h, (1.0 / h as f64) * tilt.powi(h as i32 - 1), 0.0))
                .collect();
            let env = Adsr {
                attack: 0.15,
                decay: 0.3,
                sustain: 0.9,
                release: 0.15,
            };
            let vib = Vibrato {
                rate: 5.5,
                depth_semitones: 0.18,
                delay: 0.1,
            };
            let mut y = additive(&parts, f0, n, sr, Some(vib), rng, |t| env.at(t, hold), 0.0);
            let mut noise: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            dsp::resonate(&mut noise, (3.0 * f0).min(0.4 * sr), f0, sr);
            let np = dsp::peak(&noise).max(1e-9);
            for (i, v) in y.iter_mut().enumerate() {
                *v += 0.05 * noise[i] / np * env.at(i as f64 / sr, hold);
            }
            y
        }
        Family::SynthLead => {
            let env = Adsr {
                attack: 0.005,
                decay: 0.25,
                sustain: 0.8,
                release: 0.05,
            };
            let i0 = (1.0 + 1.6 * vel) * tilt;
            let mut y = vec![0.0; n];
            for detune in [-6.0f64, 6.0] {
                let f = f0 * 2f64.powf(detune / 1200.0);
                let (pc, pm) = (rng.range(0.0, 2.0 * PI), rng.range(0.0, 2.0 * PI));
                // index decays towards 0.7 so that the sound darkens after the attack
                for (i, v) in y.iter_mut().enumerate() {
                    let t = i as f64 / sr;
                    let idx = 0.7 + (i0 - 0.7) * (-t / 0.3).exp();
                    let ph = 2.0 * PI * f * t;
                    *v += (ph + pc + idx * (ph + pm).sin()).sin() * env.at(t, hold);
                }
            }
            y
        }
        Family::Vocal => {
            const VOWELS: [[(f64, f64, f64); 3]; 5] = [
                [
                    (800.0, 80.0, 1.0),
                    (1150.0, 90.0, 0.5),
                    (2900.0, 120.0, 0.1),
                ],
                [
                    (400.0, 60.0, 1.0),
                    (1700.0, 80.0, 0.3),
                    (2600.0, 100.0, 0.15),
                ],
                [
                    (250.0, 60.0, 1.0),
                    (1750.0, 90.0, 0.1),
                    (3000.0, 100.0, 0.1),
                ],
                [
                    (400.0, 40.0, 1.0),
                    (750.0, 80.0, 0.5),
                    (2400.0, 100.0, 0.05),
                ],
                [
                    (350.0, 40.0, 1.0),
                    (600.0, 80.0, 0.2),
                    (2400.0, 100.0, 0.03),
                ],
            ];
            let vowel = rng.pick(&VOWELS);
            let parts: Vec<Partial> = (1..=40)
                .map(|h| {
                    let f = h as f64 * f0;
                    let shape: f64 = vowel
                        .iter()
                        .map(|&(fc, bw, g)| g / (1.0 + ((f - fc) / (bw + 0.5 * f0)).powi(2)).sqrt())
                        .sum();
                    // glottal source roll-off, plus a floor so that the fundamental is always present
                    Partial::harmonic(h, (1.0 / (h as f64).powf(1.2)) * (0.15 + shape), 0.0)
                })
                .collect();
            let env = Adsr {
                attack: 0.1,
                decay: 0.3,
                sustain: 0.9,
                release: 0.1,
            };
            let vib = Vibrato {
                rate: 5.5,
                depth_semitones: 0.2,
                delay: 0.25,
            };
            additive(&parts, f0, n, sr, Some(vib), rng, |t| env.at(t, hold), 0.0)
        }
    };
    // remove DC
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    y.iter_mut().for_each(|v| *v -= mean);
    y
}

/// A sinusoidal partial: frequency `ratio · f0`, amplitude `amp`, extra exponential decay `decay` (1/s).
#[derive(Debug, Clone, Copy)]
struct Partial {
    ratio: f64,
    amp: f64,
    decay: f64,
}

impl Partial {
    fn harmonic(h: usize, amp: f64, decay: f64) -> Self {
        Partial {
            ratio: h as f64,
            amp,
            decay,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Vibrato {
    rate: f64,
    depth_semitones: f64,
    delay: f64,
}

/// Additive synthesis with optional vibrato. `env(t)` scales the sum; `dyn_bright > 0` scales partial `h` by
/// `env^(dyn_bright (h-1))` (upper partials grow with loudness).
#[allow(clippy::too_many_arguments)]
fn additive(
    parts: &[Partial],
    f0: f64,
    n: usize,
    sr: f64,
    vib: Option<Vibrato>,
    rng: &mut Rng,
    env: impl Fn(f64) -> f64,
    dyn_bright: f64,
) -> Vec<f64> {
    let max_mult = vib
        .map(|v| 2f64.powf(v.depth_semitones / 12.0))
        .unwrap_or(1.0);
    let parts: Vec<(Partial, f64)> = parts
        .iter()
        .filter(|p| p.ratio * f0 * max_mult < 0.45 * sr && p.amp > 0.0)
        .map(|p| (*p, rng.range(0.0, 2.0 * PI)))
        .collect();
    let vib_phase = rng.range(0.0, 2.0 * PI);
    let mut y = vec![0.0; n];
    let mut phase = 0.0;
    for (i, out) in y.iter_mut().enumerate() {
        let t = i as f64 / sr;
        let mult = match vib {
            Some(v) if t > v.delay => {
                let ramp = ((t - v.delay) / 0.2).min(1.0);
                2f64.powf(
                    ramp * v.depth_semitones * (2.0 * PI * v.rate * t + vib_phase).sin() / 12.0,
                )
            }
            _ => 1.0,
        };
        let e = env(t);
        let mut s = 0.0;
        for (h, (p, ph0)) in parts.iter().enumerate() {
            let mut a = p.amp;
            if p.decay > 0.0 {
                a *= (-p.decay * t).exp();
            }
            if dyn_bright > 0.0 && h > 0 {
                a *= e.max(1e-6).powf(dyn_bright * h as f64);
            }
            s += a * (p.ratio * phase + ph0).sin();
        }
        *out = s * e;
        phase += 2.0 * PI * f0 * mult / sr;
    }
    y
}

/// MIDI pitches used by [`NotesParams`]: `lo..=hi` in steps of `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PitchRange {
    /// Lowest MIDI pitch (≥ 21).
    pub lo: u8,
    /// Highest MIDI pitch (≤ 108).
    pub hi: u8,
    /// Step in semitones (≥ 1). A step coprime with 12 covers every pitch class.
    pub step: u8,
}

impl PitchRange {
    /// The pitches of the range.
    pub fn pitches(&self) -> Vec<u8> {
        (self.lo..=self.hi)
            .step_by(self.step.max(1) as usize)
            .collect()
    }
}

/// Parameters of `synth-notes`.
#[derive(Debug, Clone, PartialEq)]
pub struct NotesParams {
    /// Dataset seed.
    pub seed: u64,
    /// Sample rate in Hz (default 24000).
    pub sample_rate: u32,
    /// Clip duration in seconds (default 1.0); the key is released at 75 % of it.
    pub duration_secs: f64,
    /// Families to include (default: all eleven).
    pub families: Vec<Family>,
    /// Pitches (default MIDI 21–106 in steps of 5: 18 pitches covering all 12 pitch classes).
    pub pitches: PitchRange,
    /// Velocities (default 50 and 100).
    pub velocities: Vec<u8>,
    /// How many clips per (family, pitch, velocity) cell (default 1); each repeat has new random phases/variation.
    pub repeats: usize,
    /// Fractions of clips assigned to valid and test (default 0.1 and 0.1); the rest is train.
    pub valid_fraction: f64,
    /// See `valid_fraction`.
    pub test_fraction: f64,
}

impl Default for NotesParams {
    fn default() -> Self {
        NotesParams {
            seed: 0,
            sample_rate: 24000,
            duration_secs: 1.0,
            families: Family::ALL.to_vec(),
            pitches: PitchRange {
                lo: 21,
                hi: 106,
                step: 5,
            },
            velocities: vec![50, 100],
            repeats: 1,
            valid_fraction: 0.1,
            test_fraction: 0.1,
        }
    }
}

impl NotesParams {
    /// Validates the parameters.
    pub fn check(self) -> Result<SynthNotes, CoreError> {
        super::check_common(
            self.sample_rate,
            self.duration_secs,
            self.valid_fraction,
            self.test_fraction,
        )?;
        if self.families.is_empty() {
            return Err(CoreError::invalid("families", "[]", "at least one family"));
        }
        let p = self.pitches;
        if p.lo < 21 || p.hi > 108 || p.lo > p.hi || p.step == 0 {
            return Err(CoreError::invalid(
                "pitches",
                format!("{}..={} step {}", p.lo, p.hi, p.step),
                "21 <= lo <= hi <= 108 and step >= 1",
            ));
        }
        if self.velocities.is_empty() || self.velocities.iter().any(|&v| v == 0 || v > 127) {
            return Err(CoreError::invalid(
                "velocities",
                format!("{:?}", self.velocities),
                "a non-empty list of 1..=127",
            ));
        }
        if self.repeats == 0 {
            return Err(CoreError::invalid("repeats", 0, ">= 1"));
        }
        let pitches = p.pitches();
        Ok(SynthNotes {
            params: self,
            pitches,
        })
    }
}

/// The validated `synth-notes` generator.
#[derive(Debug, Clone)]
pub struct SynthNotes {
    params: NotesParams,
    pitches: Vec<u8>,
}

const NOTES_TAG: u64 = 0x4E4F_5445; // "NOTE"

impl SynthNotes {
    /// The parameters.
    pub fn params(&self) -> &NotesParams {
        &self.params
    }

    /// The (family, pitch, velocity, repeat) of clip `index`.
    pub fn cell(&self, index: usize) -> (Family, u8, u8, usize) {
        let p = &self.params;
        let nv = p.velocities.len();
        let np = self.pitches.len();
        let r = index % p.repeats;
        let rest = index / p.repeats;
        let v = rest % nv;
        let rest = rest / nv;
        let pi = rest % np;
        let fi = rest / np;
        (p.families[fi], self.pitches[pi], p.velocities[v], r)
    }
}

impl SynthDataset for SynthNotes {
    fn name(&self) -> &'static str {
        "synth-notes"
    }

    fn len(&self) -> usize {
        self.params.families.len()
            * self.pitches.len()
            * self.params.velocities.len()
            * self.params.repeats
    }

    fn sample_rate(&self) -> u32 {
        self.params.sample_rate
    }

    fn label_schema(&self) -> LabelSchema {
        LabelSchema::new()
            .with("pitch", LabelType::Int)
            .with("pitch_class", LabelType::Int)
            .with("octave", LabelType::Int)
            .with("family", LabelType::String)
            .with("family_id", LabelType::Int)
            .with("velocity", LabelType::Int)
    }

    fn score(&self, index: usize) -> Option<super::Score> {
        let (family, pitch, velocity, _) = self.cell(index);
        let note = super::TimedNote {
            onset: 0.0,
            offset: 0.75 * self.params.duration_secs,
            pitch,
            velocity,
            family,
        };
        Some(super::timed_score(&[note], 120.0, None))
    }

    fn clip(&self, index: usize) -> SynthClip {
        let p = &self.params;
        let (family, pitch, velocity, rep) = self.cell(index);
        let mut rng = Rng::new(dsp::derive_seed(p.seed, NOTES_TAG, index as u64));
        let spec = NoteSpec {
            family,
            midi: pitch as f64,
            velocity,
            hold_secs: 0.75 * p.duration_secs,
            total_secs: p.duration_secs,
        };
        let samples = render_note(&spec, p.sample_rate, &mut rng)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let mut labels = LabelSet::new();
        labels.insert("pitch".into(), LabelValue::Int(pitch as i64));
        labels.insert("pitch_class".into(), LabelValue::Int(pitch as i64 % 12));
        labels.insert("octave".into(), LabelValue::Int(pitch as i64 / 12 - 1));
        labels.insert("family".into(), LabelValue::Str(family.name().into()));
        labels.insert("family_id".into(), LabelValue::Int(family.id()));
        labels.insert("velocity".into(), LabelValue::Int(velocity as i64));
        let id = if p.repeats > 1 {
            format!("{}-{:03}-{:03}-r{rep}", family.name(), pitch, velocity)
        } else {
            format!("{}-{:03}-{:03}", family.name(), pitch, velocity)
        };
        SynthClip {
            id,
            samples,
            sample_rate: p.sample_rate,
            split: assign_split(p.seed, NOTES_TAG, index, p.valid_fraction, p.test_fraction),
            labels,
        }
    }
}
