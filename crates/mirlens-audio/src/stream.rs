//! Stream (being built).
