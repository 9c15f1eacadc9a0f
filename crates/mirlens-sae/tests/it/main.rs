//! Integration tests of mirlens-sae.

mod files;
mod golden;
mod planted;
mod study;
