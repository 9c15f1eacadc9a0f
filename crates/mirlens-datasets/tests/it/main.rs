//! Integration tests of mirlens-datasets.

mod adapters;
mod spectrum;
mod synth_chords;
mod synth_notes;
mod synth_scores;
mod synth_sequences;
