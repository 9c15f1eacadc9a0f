//! Integration tests of mirlens-symbolic: parser, writer, rolls, tokenizers and rendering against the goldens of
//! `tests/golden/symbolic` (pretty_midi 0.2.11, symusic 0.6.0, miditok 3.1.0) and planted structure.

mod parse;
mod render;
mod roll;
mod tokens;

use mirlens_symbolic::{MidiFile, ParseOptions, Score};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The golden JSON written by generate.py.
pub fn golden() -> &'static Value {
    static G: OnceLock<Value> = OnceLock::new();
    G.get_or_init(|| {
        let p = mirlens_test_support::golden_dir("symbolic").join("golden.json");
        serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
    })
}

/// Path of a golden MIDI file.
pub fn midi_path(name: &str) -> PathBuf {
    mirlens_test_support::golden_dir("symbolic")
        .join("midi")
        .join(format!("{name}.mid"))
}

/// Names of the golden MIDI files.
pub fn names() -> Vec<String> {
    let mut v: Vec<String> = golden()["files"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    v.sort();
    v
}

/// Parse a golden file (first score).
pub fn parse(name: &str, opts: &ParseOptions) -> Score {
    Score::read(&midi_path(name), opts).unwrap()
}

/// Parse a golden file (all scores).
pub fn parse_all(name: &str, opts: &ParseOptions) -> MidiFile {
    MidiFile::read(&midi_path(name), opts).unwrap()
}
