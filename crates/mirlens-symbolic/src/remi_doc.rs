//! A score as a token-LM document: the REMI (or MIDI-Like) tokens of every track, track after track, joined by
//! single spaces — the text that the `tokenizer.json` of [`crate::tokenize::Tokenizer::hf_tokenizer_json`]
//! encodes to the tokenizer's ids — with labels for every token (one per whitespace-separated word).
//!
//! Token labels (each `None` where it does not apply):
//! - `token_type`: the part of the token before `_` (`Bar`, `TimeSig`, `Position`, `Pitch`, `Velocity`,
//!   `Duration`, …);
//! - `note_pitch`, `note_pitch_class`, `note_octave`: the MIDI pitch of the note a `Pitch` / `Velocity` /
//!   `Duration` token belongs to (`PitchDrum` notes excluded), its pitch class and octave (`pitch / 12 − 1`);
//! - `bar_position`: the value of the last `Position` token in the current bar (in the tokenizer's finest
//!   resolution), for every token after it up to the next `Bar`;
//! - `bar`: the bar index within the track (0-based; `None` before the first `Bar`);
//! - `family`: the NSynth family of the track's GM program under the mirlens convention
//!   ([`crate::gm::nsynth_family_name`]), `drums` for drum tracks, else the GM family name;
//! - `track`: the index of the sequence in the document.

use crate::Result;
use crate::score::Score;
use crate::tokenize::Tokenizer;

/// A score as a document of token strings with per-token labels.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TokenDocument {
    /// The token strings, in document order.
    pub tokens: Vec<String>,
    /// Their ids in the tokenizer's vocabulary.
    pub ids: Vec<u32>,
    /// Token type (text before the first `_`).
    pub token_type: Vec<String>,
    /// MIDI pitch of the note the token belongs to.
    pub note_pitch: Vec<Option<u8>>,
    /// Last `Position` value in the current bar.
    pub bar_position: Vec<Option<u32>>,
    /// Bar index within the track.
    pub bar: Vec<Option<u32>>,
    /// Instrument family of the track.
    pub family: Vec<String>,
    /// Sequence (track) index.
    pub track: Vec<u32>,
}

impl TokenDocument {
    /// The tokens joined by single spaces.
    pub fn text(&self) -> String {
        self.tokens.join(" ")
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the document has no token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// The family name of a track: NSynth family where the program has one, `drums` for drum tracks, else the GM
/// family name (lower case).
pub fn track_family(program: u8, is_drum: bool) -> String {
    if is_drum {
        return "drums".into();
    }
    crate::gm::nsynth_family_name(program)
        .map(str::to_string)
        .unwrap_or_else(|| crate::gm::gm_family_name(program).to_lowercase())
}

/// Encode `score` with `tokenizer` as one document (tracks in the tokenizer's order) with per-token labels.
pub fn token_document(tokenizer: &Tokenizer, score: &Score) -> Result<TokenDocument> {
    let mut doc = TokenDocument::default();
    for (ti, tr) in tokenizer.encode_tracks(score)?.into_iter().enumerate() {
        let family = track_family(tr.program, tr.is_drum);
        let mut bar: Option<u32> = None;
        let mut pos: Option<u32> = None;
        let mut pitch: Option<u8> = None;
        for (tok, id) in tr.tokens.tokens.into_iter().zip(tr.tokens.ids) {
            let (ty, val) = tok.split_once('_').unwrap_or((tok.as_str(), ""));
            let ty = ty.to_string();
            let mut note = None;
            match ty.as_str() {
                "Bar" => {
                    bar = Some(bar.map_or(0, |b| b + 1));
                    pos = None;
                    pitch = None;
                }
                "Position" => {
                    pos = val.parse().ok();
                    pitch = None;
                }
                "Pitch" | "NoteOn" => {
                    pitch = val.parse().ok();
                    note = pitch;
                }
                "Velocity" | "Duration" => note = pitch,
                "PitchDrum" | "DrumOn" | "NoteOff" | "DrumOff" | "TimeShift" => pitch = None,
                _ => {}
            }
            doc.note_pitch.push(note);
            doc.bar_position.push(if ty == "Bar" { None } else { pos });
            doc.bar.push(bar);
            doc.token_type.push(ty);
            doc.family.push(family.clone());
            doc.track.push(ti as u32);
            doc.tokens.push(tok);
            doc.ids.push(id);
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::{Note, Tempo, TimeSig, Track};
    use crate::smf::Division;
    use crate::tokenize::Scheme;

    fn two_track_score() -> Score {
        let note = |start, end, pitch, order| Note {
            start,
            end,
            pitch,
            velocity: 80,
            order,
        };
        let track = |program, notes| Track {
            midi_track: 1,
            channel: 0,
            program,
            is_drum: false,
            name: String::new(),
            notes,
            controls: Vec::new(),
            bends: Vec::new(),
        };
        Score {
            format: 1,
            division: Division::Tpq(480),
            tempos: vec![Tempo {
                tick: 0,
                us_per_quarter: 500_000,
            }],
            time_sigs: vec![TimeSig {
                tick: 0,
                numerator: 3,
                denominator_exp: 2,
                clocks_per_click: 24,
                n32_per_quarter: 8,
            }],
            key_sigs: Vec::new(),
            // flute: C5 at beat 0, E5 at beat 1 of bar 0, G5 at beat 0 of bar 1; bass: C2 held for a bar
            tracks: vec![
                track(
                    73,
                    vec![
                        note(0, 480, 72, 0),
                        note(480, 960, 76, 1),
                        note(1440, 1920, 79, 2),
                    ],
                ),
                track(33, vec![note(0, 1440, 36, 3)]),
            ],
            end_tick: 1920,
            stats: Default::default(),
        }
    }

    #[test]
    fn labels_follow_the_tokens() {
        let tok = Tokenizer::miditok_default(Scheme::Remi);
        let doc = token_document(&tok, &two_track_score()).unwrap();
        assert_eq!(doc.tokens.len(), doc.note_pitch.len());
        assert_eq!(
            doc.ids,
            tok.encode(&two_track_score()).unwrap().concat_ids()
        );
        let flute: Vec<&str> = doc
            .tokens
            .iter()
            .zip(&doc.track)
            .filter(|(_, t)| **t == 0)
            .map(|(s, _)| s.as_str())
            .collect();
        assert_eq!(
            flute,
            [
                "Bar_None",
                "TimeSig_3/4",
                "Position_0",
                "Pitch_72",
                "Velocity_79",
                "Duration_1.0.8",
                "Position_8",
                "Pitch_76",
                "Velocity_79",
                "Duration_1.0.8",
                "Bar_None",
                "TimeSig_3/4",
                "Position_0",
                "Pitch_79",
                "Velocity_79",
                "Duration_1.0.8"
            ]
        );
        // per-token labels of the flute track
        let np: Vec<Option<u8>> = doc.note_pitch[..16].to_vec();
        assert_eq!(
            np,
            [
                None,
                None,
                None,
                Some(72),
                Some(72),
                Some(72),
                None,
                Some(76),
                Some(76),
                Some(76),
                None,
                None,
                None,
                Some(79),
                Some(79),
                Some(79)
            ]
        );
        assert_eq!(
            doc.bar_position[..16].to_vec(),
            [
                None,
                None,
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(8),
                Some(8),
                Some(8),
                Some(8),
                None,
                None,
                Some(0),
                Some(0),
                Some(0),
                Some(0)
            ]
        );
        assert_eq!(doc.bar[0], Some(0));
        assert_eq!(doc.bar[10], Some(1));
        assert!(doc.family[..16].iter().all(|f| f == "flute"));
        assert!(doc.family[16..].iter().all(|f| f == "bass"));
        assert_eq!(doc.note_pitch[16..].iter().flatten().next(), Some(&36));
        assert_eq!(doc.token_type[3], "Pitch");
        assert_eq!(doc.text().split(' ').count(), doc.len());
    }

    trait ConcatIds {
        fn concat_ids(self) -> Vec<u32>;
    }
    impl ConcatIds for Vec<crate::tokenize::TokSeq> {
        fn concat_ids(self) -> Vec<u32> {
            self.into_iter().flat_map(|s| s.ids).collect()
        }
    }
}
