//! # mirlens-symbolic
//!
//! Symbolic music as a first-class modality:
//!
//! * [`smf`] / [`score`] — Standard MIDI File framing with byte-exact errors, and the [`Score`] model (notes per
//!   track/channel/program, f64 tempo map, time and key signatures, controls, bends, sustain pedal) with explicit
//!   pairing rules (FIFO by default, pretty_midi's close-all as an option);
//! * [`write`] — a Score back to a MIDI file (parse → write → parse is the identity on notes, tempos, signatures);
//! * [`gm`] — GM program names, GM families and the NSynth-family convention;
//! * [`roll`] — piano rolls equal to pretty_midi's `get_piano_roll`, onset / offset / frame / velocity / chroma rolls
//!   and note_seq sustain extension at any frame rate;
//! * [`frames`] — frame-level labels on an encoder's grid: sounding pitches, onsets, chord, key, beat position;
//! * [`tokenize`] — REMI and MIDI-Like tokenizers equal to miditok 3.1.0 defaults;
//! * [`captions`] — a Score and English captions for synthetic clips (paired corpora);
//! * [`render`] — SoundFont synthesis (rustysynth) and a dependency-free additive fallback.
//!
//! Conventions and where the Python peers disagree are in `docs/symbolic.md`.

pub mod captions;
pub mod error;
pub mod frames;
pub mod gm;
pub mod remi_doc;
pub mod render;
pub mod roll;
pub mod score;
pub mod smf;
pub mod tokenize;
pub mod write;

pub use error::{Result, SymbolicError};
pub use score::{
    Bend, Control, KeySig, MidiFile, Note, Pairing, ParseOptions, ParseStats, Pedal, ProgramAt,
    Score, Tempo, TempoMap, TempoSource, TimeSig, Track,
};
pub use smf::{Division, SmpteFps};
pub use write::{write_midi_file, write_smf};
