//! # mirlens-datasets
//!
//! Dataset manifests and adapters (NSynth, GTZAN, GiantSteps, MAESTRO, MTG-Jamendo, folders) and built-in synthetic music.
