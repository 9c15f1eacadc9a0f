//! Fuzz the MIDI parser: arbitrary bytes through both pairing rules, then everything a parsed score feeds (writer,
//! rolls, sustain). Any panic is a bug; `SymbolicError::Malformed` with an offset inside the input is expected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mirlens_symbolic::roll::{RollKind, RollOptions, Sustain, piano_roll};
use mirlens_symbolic::{MidiFile, ParseOptions, SymbolicError, write_smf};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    for opts in [ParseOptions::default(), ParseOptions::pretty_midi()] {
        match MidiFile::parse(Path::new("fuzz.mid"), data, &opts) {
            Ok(f) => {
                for s in &f.scores {
                    let _ = write_smf(s);
                    for kind in [RollKind::Frame, RollKind::Onset, RollKind::Chroma] {
                        let ro = RollOptions {
                            fs: 50.0,
                            kind,
                            sustain: if kind == RollKind::Onset {
                                Sustain::NoteSeq
                            } else {
                                Sustain::None
                            },
                            max_frames: 1 << 16,
                            ..Default::default()
                        };
                        let _ = piano_roll(s, &ro);
                    }
                }
            }
            Err(SymbolicError::Malformed { offset, .. }) => assert!(offset <= data.len() as u64),
            Err(e) => panic!("unexpected error kind: {e}"),
        }
    }
});
