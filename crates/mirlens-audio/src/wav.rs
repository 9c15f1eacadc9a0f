//! Wav (being built).
