//! Rendering a [`Score`] to mono audio: SoundFont synthesis through rustysynth, or a dependency-free additive
//! synthesiser.
//!
//! **SoundFont** ([`render_soundfont`]): the synthesizer is driven block by block (64 samples) from the score, with
//! integer event times `s = round(sec · sr)`; before each block every event with `s ≤ block start` is applied, so a
//! note sounds from `s_eff = 64 · ceil(s / 64)` (reported per note). Reverb and chorus are off, polyphony 256;
//! mono = (left + right) / 2; a 1 s tail follows the last event.
//!
//! **Additive** ([`render_additive`], the mirlens convention): per note `g(v) · env(t) · Σ_k a_k sin(2π k f0 t)`,
//! `g = v/127`, 5 ms linear attack, exponential decay τ = 1 s (τ/3 for mallets), 50 ms linear release after the
//! note-off, partials below 0.45·sr, harmonic profile by NSynth family (keyboard, guitar, string, brass, bass `1/k`
//! (bass k ≤ 8); reed and synth lead odd `1/k`; flute and organ `1/k²`; mallet partials 1, 3.93, 9.54). Drums are
//! silent. Onsets are exact to the sample: `s_eff = s`.

use crate::error::{Result, SymbolicError};
use crate::gm::nsynth_family;
use crate::score::Score;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The SoundFont Debian's `timgm6mb-soundfont` installs.
pub const DEFAULT_SOUNDFONT: &str = "/usr/share/sounds/sf2/TimGM6mb.sf2";

/// rustysynth's block size (events take effect on block boundaries).
pub const BLOCK: usize = 64;

/// Rendered audio with the sample position of every note's onset.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Mono samples.
    pub samples: Vec<f32>,
    /// Sample rate.
    pub sample_rate: u32,
    /// For every pitched or drum note in score order (tracks, then notes sorted by onset): `(pitch, s, s_eff)` —
    /// the nominal onset sample and the sample from which the note actually sounds.
    pub onsets: Vec<(u8, usize, usize)>,
    /// Which synthesiser produced the audio (`soundfont:<path>` or `additive`).
    pub synth: String,
    /// Gain applied after synthesis (additive: 1/peak when the mix would clip, else 1).
    pub gain: f32,
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    Program(u8, u8),
    Control(u8, u8, u8),
    Bend(u8, i16),
    Off(u8, u8),
    On(u8, u8, u8),
}

/// Event list `(sample, class, event)`, sorted; classes order programs, controls, note-offs, note-ons.
/// `(sample, class, event)` and `(pitch, s, s_eff)` lists.
type Events = (Vec<(usize, u8, Ev)>, Vec<(u8, usize, usize)>);

fn events(score: &Score, sr: u32) -> Events {
    let map = score.tempo_map();
    let s = |t: u64| (map.sec(t) * sr as f64).round().max(0.0) as usize;
    let mut ev = Vec::new();
    let mut onsets = Vec::new();
    for t in &score.tracks {
        let ch = t.channel & 15;
        ev.push((0, 0, Ev::Program(ch, t.program)));
        for c in &t.controls {
            ev.push((s(c.tick), 1, Ev::Control(ch, c.controller, c.value)));
        }
        for b in &t.bends {
            ev.push((s(b.tick), 1, Ev::Bend(ch, b.value)));
        }
        for n in t.sorted_notes() {
            let (a, b) = (s(n.start), s(n.end));
            ev.push((b, 2, Ev::Off(ch, n.pitch)));
            ev.push((a, 3, Ev::On(ch, n.pitch, n.velocity)));
            onsets.push((n.pitch, a, a.div_ceil(BLOCK) * BLOCK));
        }
    }
    ev.sort_by_key(|e| (e.0, e.1));
    (ev, onsets)
}

fn check_sr(sr: u32, lo: u32, hi: u32) -> Result<()> {
    if sr < lo || sr > hi {
        return Err(SymbolicError::InvalidOption {
            what: "sample rate",
            value: sr.to_string(),
            expected: format!("{lo}–{hi} Hz"),
        });
    }
    Ok(())
}

/// Limit on rendered length (one hour at the given rate), so a corrupt tempo map cannot allocate without bound.
fn check_len(n: usize, sr: u32) -> Result<()> {
    let limit = 3600 * sr as usize;
    if n > limit {
        return Err(SymbolicError::TooLarge {
            what: "rendered samples",
            value: n as u64,
            limit: limit as u64,
        });
    }
    Ok(())
}

/// Load a SoundFont (SF2) file.
pub fn load_soundfont(path: &Path) -> Result<Arc<rustysynth::SoundFont>> {
    let bytes = std::fs::read(path).map_err(|source| SymbolicError::Io {
        path: path.to_path_buf(),
        action: "cannot read SoundFont",
        source,
    })?;
    // rustysynth is not hardened against malformed files: contain a panic as an error.
    let parsed =
        std::panic::catch_unwind(|| rustysynth::SoundFont::new(&mut std::io::Cursor::new(&bytes)));
    match parsed {
        Ok(Ok(sf)) => Ok(Arc::new(sf)),
        Ok(Err(e)) => Err(SymbolicError::Render(format!(
            "{}: not a usable SF2 SoundFont: {e}",
            path.display()
        ))),
        Err(_) => Err(SymbolicError::Render(format!(
            "{}: malformed SF2 SoundFont",
            path.display()
        ))),
    }
}

/// The SoundFont to use: the given path, else [`DEFAULT_SOUNDFONT`] when it exists, else `None` (additive).
pub fn find_soundfont(given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_SOUNDFONT)).filter(|p| p.is_file()),
    }
}

/// Render with a SoundFont at `sr` (16,000–192,000 Hz).
pub fn render_soundfont(score: &Score, sr: u32, soundfont: &Path) -> Result<Rendered> {
    check_sr(sr, 16_000, 192_000)?;
    let sf = load_soundfont(soundfont)?;
    let mut settings = rustysynth::SynthesizerSettings::new(sr as i32);
    settings.block_size = BLOCK;
    settings.maximum_polyphony = 256;
    settings.enable_reverb_and_chorus = false;
    let mut synth = rustysynth::Synthesizer::new(&sf, &settings)
        .map_err(|e| SymbolicError::Render(e.to_string()))?;
    let (ev, onsets) = events(score, sr);
    let last = ev.last().map(|e| e.0).unwrap_or(0);
    let total = (last + sr as usize).div_ceil(BLOCK) * BLOCK;
    check_len(total, sr)?;
    let mut out = Vec::with_capacity(total);
    let (mut l, mut r) = (vec![0f32; BLOCK], vec![0f32; BLOCK]);
    let mut next = 0;
    let mut start = 0;
    while start < total {
        while next < ev.len() && ev[next].0 <= start {
            match ev[next].2 {
                Ev::Program(ch, p) => synth.process_midi_message(ch as i32, 0xC0, p as i32, 0),
                Ev::Control(ch, c, v) => {
                    synth.process_midi_message(ch as i32, 0xB0, c as i32, v as i32)
                }
                Ev::Bend(ch, b) => {
                    let v = (b as i32 + 8192).clamp(0, 16383);
                    synth.process_midi_message(ch as i32, 0xE0, v & 0x7F, v >> 7)
                }
                Ev::Off(ch, k) => synth.note_off(ch as i32, k as i32),
                Ev::On(ch, k, v) => synth.note_on(ch as i32, k as i32, v as i32),
            }
            next += 1;
        }
        synth.render(&mut l, &mut r);
        out.extend(l.iter().zip(&r).map(|(a, b)| 0.5 * (a + b)));
        start += BLOCK;
    }
    Ok(Rendered {
        samples: out,
        sample_rate: sr,
        onsets,
        synth: format!("soundfont:{}", soundfont.display()),
        gain: 1.0,
    })
}

/// Partials `(frequency ratio, amplitude)` and decay-time factor of a program's NSynth family.
fn profile(program: u8, f0: f64, sr: u32) -> (Vec<(f64, f64)>, f64) {
    let nyq = 0.45 * sr as f64;
    let harmonics = |f: &dyn Fn(usize) -> Option<f64>, kmax: usize| -> Vec<(f64, f64)> {
        (1..=kmax)
            .take_while(|&k| k as f64 * f0 < nyq)
            .filter_map(|k| f(k).map(|a| (k as f64, a)))
            .collect()
    };
    match nsynth_family(program).map(|f| crate::gm::NSYNTH_FAMILIES[f]) {
        Some("mallet") => (
            [1.0, 3.93, 9.54]
                .iter()
                .filter(|&&r| r * f0 < nyq)
                .map(|&r| (r, 1.0 / r))
                .collect(),
            1.0 / 3.0,
        ),
        Some("reed") | Some("synth_lead") => (
            harmonics(&|k| (k % 2 == 1).then(|| 1.0 / k as f64), usize::MAX),
            1.0,
        ),
        Some("flute") | Some("organ") => {
            (harmonics(&|k| Some(1.0 / (k * k) as f64), usize::MAX), 1.0)
        }
        Some("bass") => (harmonics(&|k| Some(1.0 / k as f64), 8), 1.0),
        _ => (harmonics(&|k| Some(1.0 / k as f64), usize::MAX), 1.0),
    }
}

/// Render with the additive synthesiser at any positive sample rate (see the module docs).
pub fn render_additive(score: &Score, sr: u32) -> Result<Rendered> {
    check_sr(sr, 1_000, 384_000)?;
    let map = score.tempo_map();
    let srf = sr as f64;
    let s = |t: u64| (map.sec(t) * srf).round().max(0.0) as usize;
    let release = (0.05 * srf).round() as usize;
    let attack = 0.005 * srf;
    let last = score.last_note_end();
    let total = s(last) + sr as usize;
    check_len(total, sr)?;
    let mut y = vec![0f64; total];
    let mut onsets = Vec::new();
    for t in &score.tracks {
        for n in t.sorted_notes() {
            let (a, b) = (s(n.start), s(n.end));
            onsets.push((n.pitch, a, a));
            if t.is_drum {
                continue;
            }
            let f0 = 440.0 * 2f64.powf((n.pitch as f64 - 69.0) / 12.0);
            let (partials, tau_factor) = profile(t.program, f0, sr);
            let tau = 1.0 * tau_factor;
            let g = n.velocity as f64 / 127.0;
            let held = b.saturating_sub(a);
            let end = (a + held + release).min(total);
            for (i, out) in y[a..end].iter_mut().enumerate() {
                let tt = i as f64 / srf;
                let mut env = (i as f64 / attack).min(1.0) * (-tt / tau).exp();
                if i >= held {
                    env *= 1.0 - (i - held) as f64 / release.max(1) as f64;
                }
                let mut v = 0.0;
                for &(ratio, amp) in &partials {
                    v += amp * (2.0 * std::f64::consts::PI * ratio * f0 * tt).sin();
                }
                *out += g * env * v;
            }
        }
    }
    let peak = y.iter().fold(0f64, |m, &x| m.max(x.abs()));
    let gain = if peak > 0.99 { 0.99 / peak } else { 1.0 };
    Ok(Rendered {
        samples: y.iter().map(|&x| (x * gain) as f32).collect(),
        sample_rate: sr,
        onsets,
        synth: "additive".into(),
        gain: gain as f32,
    })
}

/// Render with the SoundFont found by [`find_soundfont`], or additively when there is none.
pub fn render(score: &Score, sr: u32, soundfont: Option<&Path>) -> Result<Rendered> {
    match find_soundfont(soundfont) {
        Some(p) => render_soundfont(score, sr, &p),
        None => render_additive(score, sr),
    }
}
