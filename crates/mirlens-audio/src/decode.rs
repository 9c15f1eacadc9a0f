//! Decode (being built).
