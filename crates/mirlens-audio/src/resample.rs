//! Resample (being built).
