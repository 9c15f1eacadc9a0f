//! # mirlens-report
//!
//! SVG plots and result tables for mirlens analyses.
