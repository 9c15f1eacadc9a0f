//! REMI and MIDI-Like tokenizers equal to miditok 3.1.0 with its default `TokenizerConfig` (`use_programs=False`:
//! one token sequence per track).
//!
//! The pipeline repeats miditok's: tracks in symusic order (MIDI track, then first note-on), notes sorted by onset
//! then note-on order; time signatures outside the supported set dropped and 4/4 added at tick 0 when missing;
//! resampling to `8 · max denominator / 4` ticks per quarter with onsets and durations rounded independently, half
//! up, durations at least 1 (symusic `resample(min_dur=1)`); time signatures moved to the next bar line and
//! de-duplicated; when the signatures mix denominators, times re-snapped per signature section (`np.round`, half to
//! even; MIDI-Like snaps offsets too); notes outside the pitch range deleted; velocities and (REMI) durations set to
//! the nearest bin, ties to the larger. Vocabulary ids follow miditok's order (specials, base vocabulary, drums,
//! time signatures). Decoding gives a Score at the tokenizer's resolution (16 ticks per quarter) with 120 qpm,
//! program 0 and no drum flag (miditok loses them with `use_programs=False`).
//!
//! Only metrical files can be tokenized: SMPTE timing has no beat grid and is refused.

use crate::error::{Result, SymbolicError};
use crate::score::{Note, Score, Tempo, TimeSig, Track};
use crate::smf::Division;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Token scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scheme {
    /// REMI: Bar / Position / Pitch / Velocity / Duration.
    Remi,
    /// MIDI-Like: NoteOn / Velocity / NoteOff / TimeShift.
    MidiLike,
}

impl Scheme {
    /// miditok's class name.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Remi => "REMI",
            Scheme::MidiLike => "MIDILike",
        }
    }
}

/// The subset of miditok's `TokenizerConfig` this implementation follows (defaults = miditok 3.1.0 defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenizerConfig {
    /// Pitch range, inclusive.
    pub pitch_range: (u8, u8),
    /// Beat ranges `[start, end)` and their positions per beat.
    pub beat_res: Vec<((u32, u32), u32)>,
    /// Number of velocity bins.
    pub num_velocities: u32,
    /// Special tokens (ids 0…).
    pub special_tokens: Vec<String>,
    /// Velocity tokens.
    pub use_velocities: bool,
    /// Time-signature tokens.
    pub use_time_signatures: bool,
    /// Supported time signatures: denominator → numerators (miditok's dict order).
    pub time_signature_range: Vec<(u32, Vec<u32>)>,
    /// Drum pitch range, inclusive.
    pub drums_pitch_range: (u8, u8),
    /// `PitchDrum` / `DrumOn` tokens for drum tracks.
    pub use_pitchdrum_tokens: bool,
    /// Remove notes with the same onset, pitch, duration and velocity (after sorting).
    pub remove_duplicated_notes: bool,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        TokenizerConfig {
            pitch_range: (21, 109),
            beat_res: vec![((0, 4), 8), ((4, 12), 4)],
            num_velocities: 32,
            special_tokens: ["PAD_None", "BOS_None", "EOS_None", "MASK_None"]
                .map(String::from)
                .to_vec(),
            use_velocities: true,
            use_time_signatures: true,
            time_signature_range: vec![(8, vec![3, 12, 6]), (4, vec![5, 6, 3, 2, 1, 4])],
            drums_pitch_range: (27, 88),
            use_pitchdrum_tokens: true,
            remove_duplicated_notes: false,
        }
    }
}

impl TokenizerConfig {
    /// Read a configuration saved by [`TokenizerConfig::save`].
    pub fn load(path: &Path) -> Result<TokenizerConfig> {
        let bytes = std::fs::read(path).map_err(|source| SymbolicError::Io {
            path: path.to_path_buf(),
            action: "cannot read tokenizer config",
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| SymbolicError::Tokens {
            what: path.display().to_string(),
            reason: format!("invalid tokenizer config: {e}"),
        })
    }
    /// Write the configuration as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| SymbolicError::Tokens {
            what: path.display().to_string(),
            reason: e.to_string(),
        })?;
        crate::write::write_atomic(path, &bytes)
    }
}

/// One encoded track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokSeq {
    /// Token strings (`Type_Value`).
    pub tokens: Vec<String>,
    /// Vocabulary ids.
    pub ids: Vec<u32>,
}

/// A `tokenizer.json` `TemplateProcessing` post-processor that puts the special token `bos` (id `id`) before a
/// sequence (and before the first of a pair).
pub fn bos_template(bos: &str, id: u32) -> serde_json::Value {
    let special = serde_json::json!({"SpecialToken": {"id": bos, "type_id": 0}});
    serde_json::json!({
        "type": "TemplateProcessing",
        "single": [special, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [special, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {bos: {"id": bos, "ids": [id], "tokens": [bos]}},
    })
}

/// One encoded track with the program it was played on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTrack {
    /// GM program 0–127 of the source track.
    pub program: u8,
    /// Whether the source track is a drum track.
    pub is_drum: bool,
    /// The track's tokens.
    pub tokens: TokSeq,
}

/// A REMI or MIDI-Like tokenizer.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    scheme: Scheme,
    config: TokenizerConfig,
    vocab: Vec<String>,
    index: HashMap<String, u32>,
    /// Duration / time-shift values (beat, pos, res).
    durations: Vec<(u32, u32, u32)>,
    velocities: Vec<u8>,
    time_sigs: Vec<(u32, u32)>,
    max_res: u32,
    /// Ticks per beat per denominator (the decoding resolution).
    tpb_per_ts: HashMap<u32, u32>,
    time_division: u32,
}

/// A working note: (time, duration, pitch, velocity) in resampled ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WNote {
    time: i64,
    dur: i64,
    pitch: u8,
    vel: u8,
}

#[derive(Debug, Clone)]
struct WTrack {
    is_drum: bool,
    program: u8,
    notes: Vec<WNote>,
}

/// Resampled tpq, time signatures `(tick, numerator, denominator)` and tracks.
type Preprocessed = (i64, Vec<(i64, u32, u32)>, Vec<WTrack>);

#[derive(Debug, Clone)]
struct Ev {
    ty: &'static str,
    val: String,
    time: i64,
}

fn closest(bins: &[i64], v: i64) -> i64 {
    // numpy searchsorted left; ties go to the larger bin.
    let i = bins.partition_point(|&b| b < v);
    if i == bins.len() {
        return bins[i - 1];
    }
    if i > 0 && (v - bins[i - 1]).abs() < (bins[i] - v).abs() {
        return bins[i - 1];
    }
    bins[i]
}

/// numpy `round` (half to even) of a / b for integers, b > 0.
fn round_half_even_div(a: i64, b: i64) -> i64 {
    let q = a.div_euclid(b);
    let r = a.rem_euclid(b);
    match (2 * r).cmp(&b) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => {
            if q % 2 == 0 {
                q
            } else {
                q + 1
            }
        }
    }
}

impl Tokenizer {
    /// A tokenizer of `scheme` with `config`.
    pub fn new(scheme: Scheme, config: TokenizerConfig) -> Result<Tokenizer> {
        let bad = |what: &str| SymbolicError::InvalidOption {
            what: "tokenizer config",
            value: what.to_string(),
            expected: "a miditok-compatible configuration".into(),
        };
        if config.beat_res.is_empty() || config.num_velocities == 0 || config.num_velocities > 127 {
            return Err(bad("beat_res / num_velocities"));
        }
        if config.pitch_range.0 > config.pitch_range.1 || config.pitch_range.1 > 127 {
            return Err(bad("pitch_range"));
        }
        if config.drums_pitch_range.0 > config.drums_pitch_range.1
            || config.drums_pitch_range.1 > 127
        {
            return Err(bad("drums_pitch_range"));
        }
        let max_res = config.beat_res.iter().map(|x| x.1).max().unwrap_or(8);
        if max_res == 0 || config.beat_res.iter().any(|x| x.1 == 0 || x.0.0 >= x.0.1) {
            return Err(bad("beat_res"));
        }
        let mut durations: Vec<(u32, u32, u32)> = Vec::new();
        for &((a, b), res) in &config.beat_res {
            for beat in a..b {
                for pos in 0..res {
                    durations.push((beat, pos, res));
                }
            }
        }
        // the largest range's end with its resolution, then drop the zero duration
        let last = config
            .beat_res
            .iter()
            .max_by_key(|x| x.0)
            .copied()
            .unwrap_or(((0, 4), 8));
        durations.push((last.0.1, 0, last.1));
        durations.remove(0);
        let velocities: Vec<u8> = (1..=config.num_velocities)
            .map(|k| (k as u64 * 127 / config.num_velocities as u64) as u8)
            .collect();
        let mut time_sigs = Vec::new();
        for (den, nums) in &config.time_signature_range {
            if !den.is_power_of_two() {
                return Err(bad("time_signature_range"));
            }
            for &n in nums {
                time_sigs.push((n, *den));
            }
        }
        if time_sigs.is_empty() {
            time_sigs.push((4, 4));
        }
        let max_den = time_sigs.iter().map(|t| t.1).max().unwrap_or(4);
        let tpb_per_ts: HashMap<u32, u32> = config
            .time_signature_range
            .iter()
            .map(|(den, _)| (*den, max_res * (max_den / den).max(1)))
            .chain(std::iter::once((4, max_res * (max_den / 4).max(1))))
            .collect();
        let time_division = tpb_per_ts[&4];
        let dur_str = |d: &(u32, u32, u32)| format!("{}.{}.{}", d.0, d.1, d.2);
        let mut vocab: Vec<String> = config.special_tokens.clone();
        let pitches = config.pitch_range.0..=config.pitch_range.1;
        let drums = config.drums_pitch_range.0..=config.drums_pitch_range.1;
        match scheme {
            Scheme::Remi => {
                vocab.push("Bar_None".into());
                vocab.extend(pitches.map(|p| format!("Pitch_{p}")));
                if config.use_velocities {
                    vocab.extend(velocities.iter().map(|v| format!("Velocity_{v}")));
                }
                vocab.extend(durations.iter().map(|d| format!("Duration_{}", dur_str(d))));
                let max_beats = if config.use_time_signatures {
                    time_sigs.iter().map(|t| t.0).max().unwrap_or(4)
                } else {
                    4
                };
                vocab.extend((0..max_res * max_beats).map(|i| format!("Position_{i}")));
                if config.use_pitchdrum_tokens {
                    vocab.extend(drums.map(|p| format!("PitchDrum_{p}")));
                }
            }
            Scheme::MidiLike => {
                vocab.extend(pitches.clone().map(|p| format!("NoteOn_{p}")));
                vocab.extend(pitches.map(|p| format!("NoteOff_{p}")));
                if config.use_velocities {
                    vocab.extend(velocities.iter().map(|v| format!("Velocity_{v}")));
                }
                vocab.extend(
                    durations
                        .iter()
                        .map(|d| format!("TimeShift_{}", dur_str(d))),
                );
                if config.use_pitchdrum_tokens {
                    vocab.extend(drums.clone().map(|p| format!("DrumOn_{p}")));
                    vocab.extend(drums.map(|p| format!("DrumOff_{p}")));
                }
            }
        }
        if config.use_time_signatures {
            vocab.extend(time_sigs.iter().map(|(n, d)| format!("TimeSig_{n}/{d}")));
        }
        let index = vocab
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Ok(Tokenizer {
            scheme,
            config,
            vocab,
            index,
            durations,
            velocities,
            time_sigs,
            max_res,
            tpb_per_ts,
            time_division,
        })
    }

    /// miditok 3.1.0 `REMI()` / `MIDILike()` with the default `TokenizerConfig()`.
    pub fn miditok_default(scheme: Scheme) -> Tokenizer {
        Tokenizer::new(scheme, TokenizerConfig::default())
            .expect("the default configuration is valid")
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
    /// The configuration.
    pub fn config(&self) -> &TokenizerConfig {
        &self.config
    }
    /// Vocabulary, index = id.
    pub fn vocab(&self) -> &[String] {
        &self.vocab
    }

    /// The vocabulary as a Hugging Face `tokenizer.json` (a `WordLevel` model over whitespace-separated token
    /// strings with the same ids; the special tokens as added special tokens; no post-processor, so nothing is
    /// added around a sequence), so that a language model over these tokens loads its tokenizer like any text
    /// model's: `"Bar_None Position_0 Pitch_60 …"` encodes to the ids of [`Tokenizer::encode`]. A token outside
    /// the vocabulary is an encoding error (the unknown token `<unk>` is deliberately not in the vocabulary).
    pub fn hf_tokenizer_json(&self) -> serde_json::Value {
        let vocab: serde_json::Map<String, serde_json::Value> = self
            .vocab
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), serde_json::Value::from(i as u32)))
            .collect();
        let added: Vec<serde_json::Value> = self
            .config
            .special_tokens
            .iter()
            .filter_map(|t| {
                self.token_id(t).map(|id| {
                    serde_json::json!({"id": id, "content": t, "single_word": false, "lstrip": false,
                        "rstrip": false, "normalized": false, "special": true})
                })
            })
            .collect();
        serde_json::json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": {"type": "WhitespaceSplit"},
            "post_processor": null,
            "decoder": null,
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"},
        })
    }
    /// [`Tokenizer::hf_tokenizer_json`] with a post-processor that puts `BOS_None` before every sequence (as a
    /// Llama tokenizer's template does), for language models trained on `BOS … EOS` documents: encoding with
    /// special tokens then gives the model the input it was trained on. `None` when the vocabulary has no
    /// `BOS_None`.
    pub fn hf_tokenizer_json_with_bos(&self) -> Option<serde_json::Value> {
        let bos = self.token_id("BOS_None")?;
        let mut v = self.hf_tokenizer_json();
        v["post_processor"] = bos_template("BOS_None", bos);
        Some(v)
    }

    /// Id of a token.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }
    /// Tokens of ids.
    pub fn ids_to_tokens(&self, ids: &[u32]) -> Result<Vec<String>> {
        ids.iter()
            .map(|&i| {
                self.vocab
                    .get(i as usize)
                    .cloned()
                    .ok_or_else(|| SymbolicError::Tokens {
                        what: format!("id {i}"),
                        reason: format!("outside the vocabulary of {} tokens", self.vocab.len()),
                    })
            })
            .collect()
    }

    fn dur_ticks(d: (u32, u32, u32), tpb: i64) -> i64 {
        ((d.0 * d.2 + d.1) as i64 * tpb) / d.2 as i64
    }

    fn dur_token(&self, ticks: i64, tpb: i64) -> Option<String> {
        // the last of equal-tick values wins, like miditok's inverted dict
        self.durations
            .iter()
            .rev()
            .find(|&&d| Self::dur_ticks(d, tpb) == ticks)
            .map(|d| format!("{}.{}.{}", d.0, d.1, d.2))
    }

    fn dur_bins(&self, tpb: i64) -> Vec<i64> {
        self.durations
            .iter()
            .map(|&d| Self::dur_ticks(d, tpb))
            .collect()
    }

    fn ticks_per_beat(den: u32, tpq: i64) -> i64 {
        if den == 4 {
            tpq
        } else {
            (tpq as f64 * (4.0 / den as f64)) as i64
        }
    }

    /// miditok's `preprocess_score`: resampled tpq, processed time signatures and tracks.
    fn preprocess(&self, score: &Score) -> Result<Preprocessed> {
        let Division::Tpq(tpq) = score.division else {
            return Err(SymbolicError::Unsupported(
                "SMPTE-timed files have no beat grid: convert to metrical timing before tokenizing"
                    .into(),
            ));
        };
        let tpq = tpq as i64;
        let mut ts: Vec<(i64, u32, u32)> = Vec::new();
        let new_tpq: i64;
        if self.config.use_time_signatures {
            ts = score
                .time_sigs
                .iter()
                .map(|t: &TimeSig| (t.tick as i64, t.numerator as u32, t.denominator()))
                .filter(|t| self.time_sigs.contains(&(t.1, t.2)))
                .collect();
            if ts.first().is_none_or(|t| t.0 != 0) {
                ts.insert(0, (0, 4, 4));
            }
            let max_den = ts.iter().map(|t| t.2).max().unwrap_or(4);
            new_tpq = (self.max_res as f64 * max_den as f64 / 4.0) as i64;
        } else {
            ts.push((0, 4, 4));
            new_tpq = self.max_res as i64;
        }
        if new_tpq < 1 {
            return Err(SymbolicError::Unsupported(
                "tokenizer resolution below 1 tick per quarter".into(),
            ));
        }
        let rs = |t: i64| (2 * t * new_tpq + tpq).div_euclid(2 * tpq);
        if tpq != new_tpq {
            let f = new_tpq as f64 / tpq as f64;
            for t in ts.iter_mut() {
                t.0 = (t.0 as f64 * f) as i64;
            }
        }
        let mut tracks: Vec<WTrack> = score
            .tracks_in_source_order()
            .iter()
            .map(|t: &&Track| WTrack {
                is_drum: t.is_drum,
                program: t.program,
                notes: t
                    .sorted_notes()
                    .iter()
                    .map(|n: &Note| {
                        let (s, d) = (n.start as i64, n.duration() as i64);
                        if tpq == new_tpq {
                            WNote {
                                time: s,
                                dur: d,
                                pitch: n.pitch,
                                vel: n.velocity,
                            }
                        } else {
                            WNote {
                                time: rs(s),
                                dur: rs(d).max(1),
                                pitch: n.pitch,
                                vel: n.velocity,
                            }
                        }
                    })
                    .collect(),
            })
            .collect();
        if self.config.use_time_signatures {
            self.preprocess_time_sigs(&mut ts, new_tpq);
        }
        let end = tracks
            .iter()
            .flat_map(|t| t.notes.iter().map(|n| n.time + n.dur))
            .chain(ts.iter().map(|t| t.0))
            .max()
            .unwrap_or(0);
        // ticks per beat sections (REMI durations) and re-snapping steps (mixed denominators)
        let sections = |val: &dyn Fn(u32) -> i64| -> Vec<(i64, i64)> {
            let mut v: Vec<(i64, i64)> = (0..ts.len())
                .map(|i| {
                    let e = if i + 1 < ts.len() {
                        ts[i + 1].0
                    } else {
                        end + 1
                    };
                    (e, val(ts[i].2))
                })
                .collect();
            let mut i = v.len();
            while i > 1 {
                i -= 1;
                if v[i].1 == v[i - 1].1 {
                    v[i - 1].0 = v[i].0;
                    v.remove(i);
                }
            }
            v
        };
        let tpb_sections = sections(&|den| Self::ticks_per_beat(den, new_tpq));
        let mixed = {
            let mut d: Vec<u32> = ts.iter().map(|t| t.2).collect();
            d.sort_unstable();
            d.dedup();
            self.config.use_time_signatures && d.len() > 1
        };
        let steps = sections(&|den| {
            (new_tpq as f64 / (self.max_res as f64 * (den as f64 / 4.0))).floor() as i64
        });
        let vel_bins: Vec<i64> = self.velocities.iter().map(|&v| v as i64).collect();
        for t in tracks.iter_mut() {
            let (lo, hi) = if t.is_drum && self.config.use_pitchdrum_tokens {
                self.config.drums_pitch_range
            } else {
                self.config.pitch_range
            };
            t.notes.retain(|n| n.pitch >= lo && n.pitch <= hi);
            if t.notes.is_empty() {
                continue;
            }
            if self.config.use_velocities {
                for n in t.notes.iter_mut() {
                    n.vel = closest(&vel_bins, n.vel as i64) as u8;
                }
            }
            if mixed {
                let snap = |x: i64| -> i64 {
                    let k = steps.partition_point(|s| s.0 <= x).min(steps.len() - 1);
                    let (g, step) = (if k == 0 { 0 } else { steps[k - 1].0 }, steps[k].1);
                    if step == 1 || step <= 0 {
                        return x;
                    }
                    round_half_even_div(x - g, step) * step + g
                };
                match self.scheme {
                    Scheme::MidiLike => {
                        for n in t.notes.iter_mut() {
                            let on = snap(n.time);
                            let mut off = snap(n.time + n.dur);
                            if off <= on {
                                let k = steps.partition_point(|s| s.0 <= on).min(steps.len() - 1);
                                off = on + steps[k].1;
                            }
                            n.time = on;
                            n.dur = off - on;
                        }
                    }
                    Scheme::Remi => {
                        for n in t.notes.iter_mut() {
                            n.time = snap(n.time);
                        }
                    }
                }
            }
            if self.scheme == Scheme::Remi {
                // durations to the nearest table value of their section's ticks per beat
                let last_time = t.notes.last().map(|n| n.time).unwrap_or(0);
                let mut first = 0usize;
                for (si, &(sec_end, tpb)) in tpb_sections.iter().enumerate() {
                    let last = if si + 1 == tpb_sections.len() || sec_end > last_time {
                        t.notes.len()
                    } else {
                        first
                            + t.notes[first..]
                                .iter()
                                .position(|n| n.time >= sec_end)
                                .unwrap_or(0)
                    };
                    let bins = self.dur_bins(tpb);
                    for n in &mut t.notes[first..last] {
                        n.dur = closest(&bins, n.dur);
                    }
                    first = last;
                    if last == t.notes.len() {
                        break;
                    }
                }
            }
            if self.config.remove_duplicated_notes {
                t.notes.sort_by_key(|n| (n.time, n.pitch, n.dur, n.vel));
                t.notes.dedup();
            }
        }
        tracks.retain(|t| !t.notes.is_empty());
        Ok((new_tpq, ts, tracks))
    }

    /// miditok's `_preprocess_time_signatures`: changes delayed to the next bar line, repeats removed.
    fn preprocess_time_sigs(&self, ts: &mut Vec<(i64, u32, u32)>, tpq: i64) {
        let tpbar = |t: &(i64, u32, u32)| Self::ticks_per_beat(t.2, tpq) * t.1 as i64;
        let eq = |a: &(i64, u32, u32), b: &(i64, u32, u32)| (a.1, a.2) == (b.1, b.2);
        let mut i = 0usize;
        let mut ticks_per_bar = tpbar(&ts[0]);
        let mut previous_tick = 0i64;
        while i < ts.len() {
            if i >= 1 && eq(&ts[i], &ts[i - 1]) {
                ts.remove(i);
                continue;
            }
            if i >= 1 && ts[i].0 < ts[i - 1].0 {
                ts[i].0 = ts[i - 1].0;
            }
            let d = ts[i].0 - previous_tick;
            let (bar_offset, rest) = (d.div_euclid(ticks_per_bar), d.rem_euclid(ticks_per_bar));
            if rest > 0 {
                ts[i].0 = previous_tick + (bar_offset + 1) * ticks_per_bar;
            }
            ticks_per_bar = tpbar(&ts[i]);
            previous_tick = ts[i].0;
            if i >= 1 && ts[i].0 == ts[i - 1].0 {
                ts.remove(i - 1);
                if i >= 2 && eq(&ts[i - 1], &ts[i - 2]) {
                    ts.remove(i - 1);
                    ticks_per_bar = tpbar(&ts[i - 2]);
                    previous_tick = ts[i - 2].0;
                    i -= 1;
                }
                continue;
            }
            i += 1;
        }
        // delete_equal_successive_time_sig_changes is False by default
        if ts.first().is_none_or(|t| t.0 != 0) {
            ts.insert(0, (0, 4, 4));
        }
    }

    /// Encode a score: one sequence per track (tracks with no note in range are dropped).
    pub fn encode(&self, score: &Score) -> Result<Vec<TokSeq>> {
        Ok(self
            .encode_tracks(score)?
            .into_iter()
            .map(|t| t.tokens)
            .collect())
    }

    /// [`Tokenizer::encode`] with the program and drum flag of the track each sequence comes from (a score with
    /// no note in range gives one sequence of global tokens with program 0).
    pub fn encode_tracks(&self, score: &Score) -> Result<Vec<EncodedTrack>> {
        let (tpq, ts, tracks) = self.preprocess(score)?;
        let global: Vec<Ev> = if self.config.use_time_signatures {
            ts.iter()
                .map(|t| Ev {
                    ty: "TimeSig",
                    val: format!("{}/{}", t.1, t.2),
                    time: t.0,
                })
                .collect()
        } else {
            Vec::new()
        };
        let tpb_sections: Vec<(i64, i64)> = {
            let end = tracks
                .iter()
                .flat_map(|t| t.notes.iter().map(|n| n.time + n.dur))
                .chain(ts.iter().map(|t| t.0))
                .max()
                .unwrap_or(0);
            let mut v: Vec<(i64, i64)> = (0..ts.len())
                .map(|i| {
                    let e = if i + 1 < ts.len() {
                        ts[i + 1].0
                    } else {
                        end + 1
                    };
                    (e, Self::ticks_per_beat(ts[i].2, tpq))
                })
                .collect();
            let mut i = v.len();
            while i > 1 {
                i -= 1;
                if v[i].1 == v[i - 1].1 {
                    v[i - 1].0 = v[i].0;
                    v.remove(i);
                }
            }
            v
        };
        let mut seqs_events: Vec<Vec<Ev>> = Vec::new();
        if tracks.is_empty() {
            seqs_events.push(global.clone());
        }
        for t in &tracks {
            let mut ev = global.clone();
            for n in &t.notes {
                let end = n.time + n.dur;
                let (on_ty, off_ty) =
                    match (self.scheme, t.is_drum && self.config.use_pitchdrum_tokens) {
                        (Scheme::Remi, true) => ("PitchDrum", ""),
                        (Scheme::Remi, false) => ("Pitch", ""),
                        (Scheme::MidiLike, true) => ("DrumOn", "DrumOff"),
                        (Scheme::MidiLike, false) => ("NoteOn", "NoteOff"),
                    };
                ev.push(Ev {
                    ty: on_ty,
                    val: n.pitch.to_string(),
                    time: n.time,
                });
                if self.config.use_velocities {
                    ev.push(Ev {
                        ty: "Velocity",
                        val: n.vel.to_string(),
                        time: n.time,
                    });
                }
                match self.scheme {
                    Scheme::Remi => {
                        let k = tpb_sections
                            .iter()
                            .position(|s| n.time < s.0)
                            .unwrap_or(tpb_sections.len() - 1);
                        let tpb = tpb_sections[k].1;
                        let d =
                            self.dur_token(n.dur, tpb)
                                .ok_or_else(|| SymbolicError::Tokens {
                                    what: format!("note at tick {} pitch {}", n.time, n.pitch),
                                    reason: format!(
                                        "duration {} ticks has no token at {tpb} ticks per beat",
                                        n.dur
                                    ),
                                })?;
                        ev.push(Ev {
                            ty: "Duration",
                            val: d,
                            time: n.time,
                        });
                    }
                    Scheme::MidiLike => {
                        ev.push(Ev {
                            ty: off_ty,
                            val: n.pitch.to_string(),
                            time: end,
                        });
                    }
                }
            }
            ev.sort_by_key(|e| e.time);
            seqs_events.push(ev);
        }
        let mut out = Vec::with_capacity(seqs_events.len());
        for ev in seqs_events {
            let toks = match self.scheme {
                Scheme::Remi => self.remi_time_events(&ev, tpq),
                Scheme::MidiLike => self.midilike_time_events(&ev, tpq),
            };
            let tokens: Vec<String> = toks.iter().map(|e| format!("{}_{}", e.ty, e.val)).collect();
            let ids = tokens
                .iter()
                .map(|t| {
                    self.token_id(t).ok_or_else(|| SymbolicError::Tokens {
                        what: t.clone(),
                        reason: "not in the vocabulary".into(),
                    })
                })
                .collect::<Result<Vec<u32>>>()?;
            out.push(TokSeq { tokens, ids });
        }
        let mut sources: Vec<(u8, bool)> = tracks.iter().map(|t| (t.program, t.is_drum)).collect();
        if sources.is_empty() {
            sources.push((0, false));
        }
        Ok(out
            .into_iter()
            .zip(sources)
            .map(|(tokens, (program, is_drum))| EncodedTrack {
                program,
                is_drum,
                tokens,
            })
            .collect())
    }

    fn remi_time_events(&self, events: &[Ev], tpq: i64) -> Vec<Ev> {
        let mut all: Vec<Ev> = Vec::with_capacity(events.len() * 2);
        let mut current_bar: i64 = -1;
        let mut bar_at_last_ts_change: i64 = 0;
        let mut previous_tick: i64 = -1;
        let mut tick_at_last_ts_change: i64 = 0;
        let mut tick_at_current_bar: i64 = 0;
        let mut cur_ts: (u32, u32) = (4, 4);
        if self.config.use_time_signatures
            && let Some(e) = events.iter().find(|e| e.ty == "TimeSig")
        {
            cur_ts = parse_ts(&e.val).unwrap_or((4, 4));
        }
        let units = |ts: (u32, u32)| {
            let tpb = Self::ticks_per_beat(ts.1, tpq);
            (tpb * ts.0 as i64, tpb, (tpb / self.max_res as i64).max(1))
        };
        let (mut ticks_per_bar, _, mut ticks_per_pos) = units(cur_ts);
        for e in events {
            if e.time != previous_tick {
                // new bars
                let num_new = bar_at_last_ts_change
                    + (e.time - tick_at_last_ts_change).div_euclid(ticks_per_bar)
                    - current_bar;
                for i in 0..num_new.max(0) {
                    current_bar += 1;
                    tick_at_current_bar = tick_at_last_ts_change
                        + (current_bar - bar_at_last_ts_change) * ticks_per_bar;
                    all.push(Ev {
                        ty: "Bar",
                        val: "None".into(),
                        time: tick_at_current_bar,
                    });
                    if self.config.use_time_signatures && !(e.ty == "TimeSig" && i + 1 == num_new) {
                        all.push(Ev {
                            ty: "TimeSig",
                            val: format!("{}/{}", cur_ts.0, cur_ts.1),
                            time: tick_at_current_bar,
                        });
                    }
                }
                if e.ty != "TimeSig" {
                    let pos = (e.time - tick_at_current_bar).div_euclid(ticks_per_pos);
                    all.push(Ev {
                        ty: "Position",
                        val: pos.to_string(),
                        time: e.time,
                    });
                }
                previous_tick = e.time;
            }
            if e.ty == "TimeSig" {
                bar_at_last_ts_change +=
                    (e.time - tick_at_last_ts_change).div_euclid(ticks_per_bar);
                tick_at_last_ts_change = e.time;
                cur_ts = parse_ts(&e.val).unwrap_or((4, 4));
                (ticks_per_bar, _, ticks_per_pos) = units(cur_ts);
                previous_tick -= 1;
            }
            all.push(e.clone());
        }
        all
    }

    fn midilike_time_events(&self, events: &[Ev], tpq: i64) -> Vec<Ev> {
        let mut all: Vec<Ev> = Vec::with_capacity(events.len() * 2);
        let mut previous_tick: i64 = 0;
        let mut tpb = Self::ticks_per_beat(4, tpq);
        for e in events {
            if e.time != previous_tick {
                let mut shift = e.time - previous_tick;
                let bins = self.dur_bins(tpb);
                while shift >= bins[0] {
                    let Some(k) = bins.iter().rposition(|&b| b <= shift) else {
                        break;
                    };
                    let d = self.durations[k];
                    all.push(Ev {
                        ty: "TimeShift",
                        val: format!("{}.{}.{}", d.0, d.1, d.2),
                        time: previous_tick,
                    });
                    shift -= bins[k];
                    if bins[k] <= 0 {
                        break;
                    }
                }
                previous_tick = e.time;
            }
            if e.ty == "TimeSig" {
                tpb = Self::ticks_per_beat(parse_ts(&e.val).map_or(4, |t| t.1), tpq);
            }
            all.push(e.clone());
        }
        all
    }

    /// Decode token sequences (one per track) into a Score at the tokenizer's resolution.
    pub fn decode(&self, seqs: &[Vec<String>]) -> Result<Score> {
        let tpq = self.time_division as i64;
        let mut tracks = Vec::new();
        let mut time_sigs: Vec<(i64, u32, u32)> = Vec::new();
        let mut order: u32 = 0;
        for (si, seq) in seqs.iter().enumerate() {
            let parsed: Vec<(&str, &str)> = seq
                .iter()
                .map(|t| {
                    t.split_once('_').ok_or_else(|| SymbolicError::Tokens {
                        what: format!("sequence {si}: token {t:?}"),
                        reason: "expected Type_Value".into(),
                    })
                })
                .collect::<Result<_>>()?;
            let mut notes: Vec<(i64, i64, u8, u8)> = Vec::new();
            match self.scheme {
                Scheme::Remi => self.decode_remi(si, &parsed, tpq, &mut notes, &mut time_sigs)?,
                Scheme::MidiLike => {
                    self.decode_midilike(si, &parsed, tpq, &mut notes, &mut time_sigs)?
                }
            }
            if notes.is_empty() {
                continue;
            }
            tracks.push(Track {
                midi_track: tracks.len() + 1,
                channel: 0,
                program: 0,
                is_drum: false,
                name: String::new(),
                notes: notes
                    .iter()
                    .map(|&(t, d, p, v)| {
                        order += 1;
                        Note {
                            start: t.max(0) as u64,
                            end: (t + d).max(t).max(0) as u64,
                            pitch: p,
                            velocity: v,
                            order: order - 1,
                        }
                    })
                    .collect(),
                controls: vec![],
                bends: vec![],
            });
        }
        if time_sigs.is_empty() && self.config.use_time_signatures {
            time_sigs.push((0, 4, 4));
        }
        let end_tick = tracks
            .iter()
            .flat_map(|t: &Track| t.notes.iter().map(|n| n.end))
            .max()
            .unwrap_or(0);
        Ok(Score {
            format: 1,
            division: Division::Tpq(self.time_division as u16),
            tempos: vec![Tempo {
                tick: 0,
                us_per_quarter: 500_000,
            }],
            time_sigs: time_sigs
                .iter()
                .map(|&(t, n, d)| TimeSig {
                    tick: t.max(0) as u64,
                    numerator: n as u8,
                    denominator_exp: d.trailing_zeros() as u8,
                    clocks_per_click: 24,
                    n32_per_quarter: 8,
                })
                .collect(),
            key_sigs: vec![],
            tracks,
            end_tick,
            stats: Default::default(),
        })
    }

    fn tpb_of(&self, den: u32) -> i64 {
        self.tpb_per_ts
            .get(&den)
            .copied()
            .unwrap_or(self.time_division) as i64
    }

    fn dur_value(&self, val: &str, tpb: i64) -> Option<i64> {
        let mut it = val.split('.').map(|x| x.parse::<u32>());
        let (Some(Ok(b)), Some(Ok(p)), Some(Ok(r)), None) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return None;
        };
        let d = (b, p, r);
        self.durations.contains(&d).then(|| Self::dur_ticks(d, tpb))
    }

    fn decode_remi(
        &self,
        si: usize,
        seq: &[(&str, &str)],
        tpq: i64,
        notes: &mut Vec<(i64, i64, u8, u8)>,
        time_sigs: &mut Vec<(i64, u32, u32)>,
    ) -> Result<()> {
        if si == 0 {
            if self.config.use_time_signatures {
                for &(ty, val) in seq {
                    if ty == "TimeSig" {
                        if let Some((n, d)) = parse_ts(val) {
                            time_sigs.push((0, n, d));
                        }
                        break;
                    }
                    if matches!(ty, "Pitch" | "PitchDrum" | "Velocity" | "Duration") {
                        break;
                    }
                }
            }
            if time_sigs.is_empty() {
                time_sigs.push((0, 4, 4));
            }
        }
        let mut cur_ts = time_sigs.last().map(|t| (t.1, t.2)).unwrap_or((4, 4));
        let tpbar = |ts: (u32, u32)| Self::ticks_per_beat(ts.1, tpq) * ts.0 as i64;
        let mut ticks_per_bar = tpbar(cur_ts);
        let mut tpb = self.tpb_of(cur_ts.1);
        let mut ticks_per_pos = (tpb / self.max_res as i64).max(1);
        let (mut current_tick, mut tick_at_current_bar) = (0i64, 0i64);
        let mut current_bar: i64 = -1;
        let dur_offset = if self.config.use_velocities { 2 } else { 1 };
        for (ti, &(ty, val)) in seq.iter().enumerate() {
            match ty {
                "Bar" if val == "None" => {
                    current_bar += 1;
                    if current_bar > 0 {
                        current_tick = tick_at_current_bar + ticks_per_bar;
                    }
                    tick_at_current_bar = current_tick;
                }
                "Position" => {
                    if current_bar == -1 {
                        current_bar = 0;
                    }
                    let p: i64 = val.parse().map_err(|_| bad_token(si, ty, val))?;
                    current_tick = tick_at_current_bar + p * ticks_per_pos;
                }
                "Pitch" | "PitchDrum" => {
                    let pitch: u8 = val.parse().map_err(|_| bad_token(si, ty, val))?;
                    if pitch < self.config.pitch_range.0 || pitch > self.config.pitch_range.1 {
                        continue;
                    }
                    let vel = if self.config.use_velocities {
                        match seq.get(ti + 1) {
                            Some(&("Velocity", v)) => v.parse::<u8>().ok(),
                            _ => None,
                        }
                    } else {
                        Some(100)
                    };
                    let dur = match seq.get(ti + dur_offset) {
                        Some(&("Duration", d)) => self.dur_value(d, tpb),
                        _ => None,
                    };
                    if let (Some(v), Some(d)) = (vel, dur) {
                        notes.push((current_tick, d, pitch, v));
                    }
                }
                "TimeSig" => {
                    let (n, d) = parse_ts(val).ok_or_else(|| bad_token(si, ty, val))?;
                    if (n, d) != cur_ts {
                        cur_ts = (n, d);
                        if si == 0 {
                            time_sigs.push((current_tick, n, d));
                        }
                        ticks_per_bar = tpbar(cur_ts);
                        tpb = self.tpb_of(d);
                        ticks_per_pos = (tpb / self.max_res as i64).max(1);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn decode_midilike(
        &self,
        si: usize,
        seq: &[(&str, &str)],
        tpq: i64,
        notes: &mut Vec<(i64, i64, u8, u8)>,
        time_sigs: &mut Vec<(i64, u32, u32)>,
    ) -> Result<()> {
        let mut current_tick = 0i64;
        let mut tpb = tpq;
        let mut active: HashMap<u8, Vec<(i64, u8)>> = HashMap::new();
        for (ti, &(ty, val)) in seq.iter().enumerate() {
            match ty {
                "TimeShift" => {
                    current_tick += self
                        .dur_value(val, tpb)
                        .ok_or_else(|| bad_token(si, ty, val))?;
                }
                "NoteOn" | "DrumOn" | "NoteOff" | "DrumOff" => {
                    let pitch: u8 = val.parse().map_err(|_| bad_token(si, ty, val))?;
                    if pitch < self.config.pitch_range.0 || pitch > self.config.pitch_range.1 {
                        continue;
                    }
                    if ty == "NoteOn" || ty == "DrumOn" {
                        let vel = if !self.config.use_velocities {
                            100
                        } else if let Some(&(_, v)) = seq.get(ti + 1) {
                            match v.parse::<u8>() {
                                Ok(v) => v,
                                Err(_) => continue,
                            }
                        } else {
                            break;
                        };
                        active.entry(pitch).or_default().push((current_tick, vel));
                    } else if let Some(list) = active.get_mut(&pitch).filter(|l| !l.is_empty()) {
                        let (on, vel) = list.remove(0);
                        notes.push((on, current_tick - on, pitch, vel));
                    }
                }
                "TimeSig" => {
                    let (n, d) = parse_ts(val).ok_or_else(|| bad_token(si, ty, val))?;
                    tpb = self.tpb_of(d);
                    if si == 0 {
                        time_sigs.push((current_tick, n, d));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn bad_token(si: usize, ty: &str, val: &str) -> SymbolicError {
    SymbolicError::Tokens {
        what: format!("sequence {si}: token {ty}_{val}"),
        reason: "invalid value".into(),
    }
}

fn parse_ts(v: &str) -> Option<(u32, u32)> {
    let (n, d) = v.split_once('/')?;
    let (n, d) = (n.parse().ok()?, d.parse().ok()?);
    (n > 0 && d > 0).then_some((n, d))
}
