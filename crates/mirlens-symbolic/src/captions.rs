//! Paired corpora: a [`Score`] and 3–5 English captions for a synthetic clip, from its metadata.
//!
//! A clip is described by [`ClipMeta`] (what the built-in synthetic datasets know about each item: instrument,
//! notes or chord, key, tempo, dynamics, register). [`clip_score`] writes it as a score in the form every peer
//! parses identically (format 1, tpq 480, tempo / signatures in track 0, one program, no overlapping same-pitch
//! notes); [`captions`] phrases it with several templates and synonym choices picked by a seeded hash of the clip id,
//! in MidiCaps' field vocabulary, plus one attribute-free control caption. Tempo words (mirlens convention): < 60
//! Largo, 60–75 Adagio, 76–107 Andante, 108–119 Moderato, 120–167 Allegro, ≥ 168 Presto. Dynamics from the mean
//! velocity: < 40 pp, < 60 p, < 75 mp, < 90 mf, < 105 f, else ff. Register from the mean pitch: < 48 low, < 72
//! middle, else high.

use crate::gm::{gm_family_name, nsynth_family_name, program_name};
use crate::score::{KeySig, Note, Score, Tempo, TimeSig, Track};
use crate::smf::Division;
use serde::{Deserialize, Serialize};

/// What kind of clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipKind {
    /// One sustained note.
    Note,
    /// One chord (all notes together).
    Chord,
    /// A sequence of notes or chords.
    Sequence,
}

/// Metadata of a synthetic clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipMeta {
    /// Stable item id (seeds the phrasing).
    pub id: String,
    /// Kind of clip.
    pub kind: ClipKind,
    /// GM program (0-based).
    pub program: u8,
    /// Events: (onset in beats, duration in beats, pitches, velocity).
    pub events: Vec<(f64, f64, Vec<u8>, u8)>,
    /// Chord name when the clip is a chord (e.g. `C major`).
    pub chord: Option<String>,
    /// Key: (tonic pitch class, minor).
    pub key: Option<(u8, bool)>,
    /// Tempo in quarter notes per minute.
    pub qpm: f64,
    /// Time signature (numerator, denominator).
    pub time_sig: (u8, u8),
}

const TPQ: u64 = 480;

/// The clip as a score: format 1, tpq 480, track 0 conductor, one track with the program on channel 1.
pub fn clip_score(meta: &ClipMeta) -> Score {
    let tick = |beats: f64| (beats.max(0.0) * TPQ as f64).round() as u64;
    let mut notes = Vec::new();
    let mut order = 0u32;
    for (on, dur, pitches, vel) in &meta.events {
        for &p in pitches {
            notes.push(Note {
                start: tick(*on),
                end: tick(on + dur).max(tick(*on) + 1),
                pitch: p.min(127),
                velocity: (*vel).clamp(1, 127),
                order,
            });
            order += 1;
        }
    }
    let end_tick = notes.iter().map(|n| n.end).max().unwrap_or(0);
    let den = meta.time_sig.1.max(1);
    Score {
        format: 1,
        division: Division::Tpq(TPQ as u16),
        tempos: vec![Tempo {
            tick: 0,
            us_per_quarter: (6e7 / meta.qpm.clamp(1.0, 1000.0)).round() as u32,
        }],
        time_sigs: vec![TimeSig {
            tick: 0,
            numerator: meta.time_sig.0.max(1),
            denominator_exp: den.trailing_zeros() as u8,
            clocks_per_click: 24,
            n32_per_quarter: 8,
        }],
        key_sigs: meta
            .key
            .map(|(tonic, minor)| {
                vec![KeySig {
                    tick: 0,
                    sharps: sharps_of(tonic, minor),
                    minor,
                }]
            })
            .unwrap_or_default(),
        tracks: vec![Track {
            midi_track: 1,
            channel: 0,
            program: meta.program,
            is_drum: false,
            name: program_name(meta.program).to_string(),
            notes,
            controls: vec![],
            bends: vec![],
        }],
        end_tick,
        stats: Default::default(),
    }
}

/// Key signature sharps (−6…6) of a tonic pitch class (flats preferred from 6 sharps on).
pub fn sharps_of(tonic: u8, minor: bool) -> i8 {
    let major_tonic = if minor { (tonic + 3) % 12 } else { tonic % 12 };
    // sf with 7·sf ≡ tonic (mod 12), in −5…6
    (-5i8..=6)
        .find(|&sf| (7 * sf as i32).rem_euclid(12) as u8 == major_tonic)
        .unwrap_or(0)
}

/// Tempo word of a tempo.
pub fn tempo_word(qpm: f64) -> &'static str {
    match qpm {
        q if q < 60.0 => "Largo",
        q if q < 76.0 => "Adagio",
        q if q < 108.0 => "Andante",
        q if q < 120.0 => "Moderato",
        q if q < 168.0 => "Allegro",
        _ => "Presto",
    }
}

/// Dynamics marking of a mean velocity.
pub fn dynamics_word(velocity: f64) -> &'static str {
    match velocity {
        v if v < 40.0 => "pp",
        v if v < 60.0 => "p",
        v if v < 75.0 => "mp",
        v if v < 90.0 => "mf",
        v if v < 105.0 => "f",
        _ => "ff",
    }
}

fn dynamics_phrase(mark: &str) -> &'static str {
    match mark {
        "pp" => "very softly",
        "p" => "softly",
        "mp" => "moderately softly",
        "mf" => "moderately loudly",
        "f" => "loudly",
        _ => "very loudly",
    }
}

/// Register word of a mean pitch.
pub fn register_word(mean_pitch: f64) -> &'static str {
    match mean_pitch {
        p if p < 48.0 => "low",
        p if p < 72.0 => "middle",
        _ => "high",
    }
}

/// Note name with octave (C4 = 60).
pub fn pitch_name(p: u8) -> String {
    const N: [&str; 12] = [
        "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
    ];
    format!("{}{}", N[(p % 12) as usize], p as i32 / 12 - 1)
}

fn key_name(tonic: u8, minor: bool) -> String {
    KeySig {
        tick: 0,
        sharps: sharps_of(tonic, minor),
        minor,
    }
    .name()
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// 3–5 captions of a clip: 2–4 descriptive phrasings (templates and synonyms chosen by the clip id) and, last, one
/// attribute-free control caption.
pub fn captions(meta: &ClipMeta) -> Vec<String> {
    let mut h = fnv(&meta.id);
    let mut pick = |n: usize| {
        h = h
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((h >> 33) % n as u64) as usize
    };
    let inst = program_name(meta.program).to_lowercase();
    let family = nsynth_family_name(meta.program).unwrap_or(gm_family_name(meta.program));
    let pitches: Vec<u8> = meta
        .events
        .iter()
        .flat_map(|e| e.2.iter().copied())
        .collect();
    let n = pitches.len().max(1) as f64;
    let mean_pitch = pitches.iter().map(|&p| p as f64).sum::<f64>() / n;
    let mean_vel = meta
        .events
        .iter()
        .flat_map(|e| e.2.iter().map(move |_| e.3 as f64))
        .sum::<f64>()
        / n;
    let dyn_mark = dynamics_word(mean_vel);
    let dynamics = dynamics_phrase(dyn_mark);
    let register = register_word(mean_pitch);
    let tw = tempo_word(meta.qpm);
    let bpm = meta.qpm.round() as i64;
    let ts = format!("{}/{}", meta.time_sig.0, meta.time_sig.1);
    let key = meta.key.map(|(t, m)| key_name(t, m));
    let subject = match meta.kind {
        ClipKind::Note => {
            let p = pitches.first().copied().unwrap_or(60);
            [
                format!("a single {} note", pitch_name(p)),
                format!("one sustained {}", pitch_name(p)),
                format!("the note {}", pitch_name(p)),
            ]
        }
        ClipKind::Chord => {
            let c = meta.chord.clone().unwrap_or_else(|| "chord".into());
            [
                format!("a {c} chord"),
                format!("the chord {c}"),
                format!("a sustained {c} chord"),
            ]
        }
        ClipKind::Sequence => {
            let k = key.clone().unwrap_or_else(|| "no fixed key".into());
            [
                format!("a short phrase in {k}"),
                format!("a {tw} passage in {k}"),
                format!("a melodic sequence in {k}"),
            ]
        }
    };
    let played = ["played", "performed", "sounded"][pick(3)];
    let mut out = vec![
        format!(
            "{} {played} {dynamics} on {} in the {register} register.",
            capitalize(&subject[pick(3)]),
            with_article(&inst)
        ),
        format!(
            "{} {family} sound at {bpm} BPM in {ts}, {dyn_mark} dynamics, {register} register{}.",
            capitalize(&with_article(&tw.to_lowercase())),
            key.as_ref()
                .map(|k| format!(", key of {k}"))
                .unwrap_or_default()
        ),
    ];
    let extra = [
        format!(
            "{} playing {}, {tw} ({bpm} BPM).",
            capitalize(&with_article(&inst)),
            subject[pick(3)]
        ),
        format!(
            "Solo {inst}: {}, {dynamics}, {register} range.",
            subject[pick(3)]
        ),
    ];
    let k = 1 + pick(2);
    out.extend(extra.into_iter().take(k));
    out.push("A short synthetic music clip.".to_string());
    out
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn with_article(s: &str) -> String {
    let an = s.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {s}", if an { "an" } else { "a" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chord() -> ClipMeta {
        ClipMeta {
            id: "chords/0007".into(),
            kind: ClipKind::Chord,
            program: 0,
            events: vec![(0.0, 4.0, vec![60, 64, 67], 100)],
            chord: Some("C major".into()),
            key: Some((0, false)),
            qpm: 120.0,
            time_sig: (4, 4),
        }
    }

    #[test]
    fn captions_name_the_attributes_and_vary_with_the_id() {
        let c = captions(&chord());
        assert!((3..=5).contains(&c.len()), "{c:?}");
        let all = c.join(" ");
        for w in [
            "C major",
            "piano",
            "120 BPM",
            "4/4",
            "f dynamics",
            "middle register",
            "allegro",
        ] {
            assert!(
                all.to_lowercase().contains(&w.to_lowercase()),
                "{w} missing from {c:?}"
            );
        }
        assert_eq!(
            c.last().map(String::as_str),
            Some("A short synthetic music clip.")
        );
        assert_eq!(captions(&chord()), c, "deterministic");
        let others: Vec<Vec<String>> = (0..20)
            .map(|i| {
                captions(&ClipMeta {
                    id: format!("chords/{i}"),
                    ..chord()
                })
            })
            .collect();
        assert!(
            others.iter().any(|o| o[0] != c[0]),
            "phrasing varies with the id"
        );
    }

    #[test]
    fn clip_scores_parse_back_with_their_key_tempo_and_notes() {
        let m = ClipMeta {
            id: "seq/1".into(),
            kind: ClipKind::Sequence,
            program: 73,
            events: vec![
                (0.0, 1.0, vec![62], 70),
                (1.0, 1.0, vec![66], 80),
                (2.0, 2.0, vec![69], 90),
            ],
            chord: None,
            key: Some((11, true)), // B minor: 2 sharps
            qpm: 90.0,
            time_sig: (3, 4),
        };
        let s = clip_score(&m);
        let bytes = crate::write_smf(&s).unwrap();
        let back = Score::parse(
            std::path::Path::new("clip.mid"),
            &bytes,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(back.key_sigs[0].name(), "B minor");
        assert_eq!(back.key_sigs[0].sharps, 2);
        assert!((back.tempos[0].qpm() - 90.0).abs() < 1e-3);
        let notes: Vec<(u64, u64, u8)> = back.tracks[0]
            .sorted_notes()
            .iter()
            .map(|n| (n.start, n.end, n.pitch))
            .collect();
        assert_eq!(notes, vec![(0, 480, 62), (480, 960, 66), (960, 1920, 69)]);
        assert_eq!(back.tracks[0].program, 73);
        let c = captions(&m).join(" ");
        assert!(
            c.contains("B minor") && c.to_lowercase().contains("andante"),
            "{c}"
        );
        assert_eq!(tempo_word(59.0), "Largo");
        assert_eq!(tempo_word(168.0), "Presto");
        assert_eq!(pitch_name(60), "C4");
        assert_eq!(sharps_of(3, false), -3); // E-flat major
    }
}
