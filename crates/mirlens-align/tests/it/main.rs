//! Integration tests of mirlens-align.

mod contrastive;
mod efficiency;
mod golden;
mod layers;
mod maps;
mod planted;
mod stores;
