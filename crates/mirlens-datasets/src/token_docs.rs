//! Scores as text documents for music-token language models: the REMI / MIDI-Like tokens of a score, joined by
//! spaces, with per-token labels as word labels ([`crate::TextDocument::word_labels`]), so that
//! `mirlens extract` with a token model over the tokenizer's `tokenizer.json` stores every token with the pitch of
//! its note, its position in the bar and its track's instrument family (`mirlens_symbolic::remi_doc`).
//!
//! Word labels: `token_type` (string), `note_pitch`, `note_pitch_class`, `note_octave` (integers, on the
//! `Pitch`/`Velocity`/`Duration` tokens of pitched notes), `bar_position` (integer, the last `Position` value in
//! the bar), `track_family` (string, the instrument family of the token's track).

use crate::manifest::{LabelSchema, Manifest};
use crate::text::{TextDataset, TextDocument};
use mirlens_core::LabelValue;
use mirlens_symbolic::remi_doc::token_document;
use mirlens_symbolic::tokenize::Tokenizer;
use mirlens_symbolic::{ParseOptions, Score};
use std::path::Path;

/// The word-label names of a token document.
pub const TOKEN_DOC_LABELS: [&str; 6] = [
    "token_type",
    "note_pitch",
    "note_pitch_class",
    "note_octave",
    "bar_position",
    "track_family",
];

/// `score` as a document with id `id` and the word labels of the module docs (no document labels, no split).
pub fn score_document(
    id: impl Into<String>,
    score: &Score,
    tokenizer: &Tokenizer,
) -> mirlens_symbolic::Result<TextDocument> {
    let d = token_document(tokenizer, score)?;
    let int = |v: Option<i64>| v.map(LabelValue::Int);
    let pitch: Vec<Option<LabelValue>> =
        d.note_pitch.iter().map(|p| int(p.map(i64::from))).collect();
    let pc = d
        .note_pitch
        .iter()
        .map(|p| int(p.map(|p| i64::from(p % 12))))
        .collect();
    let octave = d
        .note_pitch
        .iter()
        .map(|p| int(p.map(|p| i64::from(p / 12) - 1)))
        .collect();
    let pos = d
        .bar_position
        .iter()
        .map(|p| int(p.map(i64::from)))
        .collect();
    let strings = |v: &[String]| -> Vec<Option<LabelValue>> {
        v.iter().map(|s| Some(LabelValue::Str(s.clone()))).collect()
    };
    Ok(TextDocument::new(id, d.text())
        .with_word_labels("token_type", strings(&d.token_type))
        .with_word_labels("note_pitch", pitch)
        .with_word_labels("note_pitch_class", pc)
        .with_word_labels("note_octave", octave)
        .with_word_labels("bar_position", pos)
        .with_word_labels("track_family", strings(&d.family)))
}

/// The clips of `manifest` that have a MIDI file, as token documents: id, split and labels of the clip, text and
/// word labels from its MIDI file. Returns the dataset and the clips left out with the reason (no MIDI file, or
/// one that cannot be read or tokenised, naming the file).
pub fn manifest_documents(
    manifest: &Manifest,
    tokenizer: &Tokenizer,
    origin: &Path,
) -> crate::Result<(TextDataset, Vec<(String, String)>)> {
    manifest_documents_with(manifest, tokenizer, origin, |_, e| {
        e.midi.as_ref().map(|m| {
            Score::read(m, &ParseOptions::default())
                .map_err(|err| format!("{}: {err}", m.display()))
        })
    })
}

/// [`manifest_documents`] with the score of entry `i` given by `score_of` (`None`: the clip has no score).
pub fn manifest_documents_with(
    manifest: &Manifest,
    tokenizer: &Tokenizer,
    origin: &Path,
    score_of: impl Fn(usize, &crate::ManifestEntry) -> Option<std::result::Result<Score, String>>,
) -> crate::Result<(TextDataset, Vec<(String, String)>)> {
    let mut docs = Vec::new();
    let mut skipped = Vec::new();
    for (i, e) in manifest.entries.iter().enumerate() {
        let Some(score) = score_of(i, e) else {
            skipped.push((e.id.clone(), "no MIDI file".to_string()));
            continue;
        };
        let doc = score.and_then(|s| {
            score_document(e.id.clone(), &s, tokenizer).map_err(|err| err.to_string())
        });
        match doc {
            Ok(mut d) => {
                d.split = e.split;
                d.labels = e.labels.clone();
                d.source = e.midi.clone();
                for name in TOKEN_DOC_LABELS {
                    if d.labels.contains_key(name) {
                        d.labels.remove(name);
                    }
                }
                docs.push(d);
            }
            Err(err) => skipped.push((e.id.clone(), err)),
        }
    }
    let mut schema = LabelSchema::new();
    for (k, t) in &manifest.label_schema.columns {
        if !TOKEN_DOC_LABELS.contains(&k.as_str()) {
            schema = schema.with(k.clone(), *t);
        }
    }
    Ok((TextDataset::from_documents(docs, schema, origin)?, skipped))
}

/// The captions of `manifest`'s clips (their `text` field) as documents with the clip's id, split and labels:
/// the first caption of each clip, or with `all` every caption as its own document (ids `<clip>#<k>`). Returns
/// the dataset and the clips without a caption.
pub fn caption_documents(
    manifest: &Manifest,
    all: bool,
    origin: &Path,
) -> crate::Result<(TextDataset, Vec<String>)> {
    let mut docs = Vec::new();
    let mut skipped = Vec::new();
    for e in &manifest.entries {
        if e.text.is_empty() {
            skipped.push(e.id.clone());
        }
        let take = if all { e.text.len() } else { 1 };
        for (k, t) in e.text.iter().take(take).enumerate() {
            let id = if all {
                format!("{}#{k}", e.id)
            } else {
                e.id.clone()
            };
            let mut d = TextDocument::new(id, t.clone());
            d.split = e.split;
            d.labels = e.labels.clone();
            docs.push(d);
        }
    }
    Ok((
        TextDataset::from_documents(docs, manifest.label_schema.clone(), origin)?,
        skipped,
    ))
}

/// The first `n` pieces of `synth-pieces` (seed `seed`) as a manifest without audio: id, split, labels and
/// captions (the `path` is the piece id; nothing is read from it).
pub fn pieces_manifest(seed: u64, n: usize) -> crate::Result<Manifest> {
    use crate::manifest::{LabelType, ManifestEntry};
    let pieces = crate::synth::PiecesParams {
        seed,
        count: n.max(1),
        ..Default::default()
    }
    .check()
    .map_err(|e| crate::DatasetError::parse(Path::new("synth-pieces"), 0, e.to_string()))?;
    let mut m = Manifest {
        entries: Vec::new(),
        label_schema: LabelSchema::new()
            .with("key", LabelType::String)
            .with("key_tonic", LabelType::Int)
            .with("mode", LabelType::String)
            .with("tempo_bpm", LabelType::Float)
            .with("time_sig", LabelType::String)
            .with("n_bars", LabelType::Int)
            .with("melody_family", LabelType::String)
            .with("instruments", LabelType::Tags)
            .with("n_tracks", LabelType::Int),
    };
    for i in 0..pieces.len() {
        let mut e = ManifestEntry::new(pieces.id(i), pieces.id(i));
        e.split = Some(pieces.split(i));
        e.labels = pieces.labels(i);
        e.text = pieces.captions(i);
        m.entries.push(e);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{PiecesParams, SynthPieces};
    use mirlens_symbolic::tokenize::Scheme;

    #[test]
    fn piece_documents_carry_token_labels() {
        let c: SynthPieces = PiecesParams {
            seed: 3,
            count: 4,
            ..PiecesParams::default()
        }
        .check()
        .unwrap();
        let tok = Tokenizer::miditok_default(Scheme::Remi);
        let score = c.score(0);
        let doc = score_document("piece-0", &score, &tok).unwrap();
        let n = doc.word_count();
        for name in TOKEN_DOC_LABELS {
            assert_eq!(doc.word_labels[name].len(), n, "{name}");
        }
        // every Pitch token's label is its value; the melody track's family is the design's
        let words: Vec<&str> = doc.text.split_whitespace().collect();
        let mut pitched = 0;
        for (w, p) in words.iter().zip(&doc.word_labels["note_pitch"]) {
            if let Some(v) = w.strip_prefix("Pitch_") {
                assert_eq!(p, &Some(LabelValue::Int(v.parse().unwrap())));
                pitched += 1;
            }
        }
        assert_eq!(pitched, score.note_count());
        assert_eq!(
            doc.word_labels["track_family"][0],
            Some(LabelValue::Str(c.design(0).melody.name().into()))
        );
        let ds =
            TextDataset::from_documents(vec![doc], LabelSchema::new(), Path::new("x")).unwrap();
        assert_eq!(
            ds.word_label_schema.get("note_pitch"),
            Some(crate::LabelType::Int)
        );
        assert_eq!(
            ds.word_label_schema.get("track_family"),
            Some(crate::LabelType::String)
        );
    }
}
