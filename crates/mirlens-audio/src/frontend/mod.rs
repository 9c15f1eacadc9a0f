//! Front-ends (being built).
