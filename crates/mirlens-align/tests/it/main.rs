//! Integration tests of mirlens-align.

mod golden;
mod layers;
mod maps;
mod planted;
mod stores;
